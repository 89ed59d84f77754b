"""LocalStore: where local jobs live. One Optuna storage (see ``_storage.py``) holding a study per tuning job and per
standalone training job (by default the sharded store ``<home>/store/``: a journal per study and an index, see
``_sharded.py``), plus a folder per job under ``$AMTLOCAL_HOME`` (default ``~/.amtlocal``):
``<home>/jobs/<tuning job>/<training job>/`` and ``<home>/training-jobs/<training job>/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from amtlocal.exceptions import AmtValidationError, TrainingJobNotFound, TuningJobBusy, TuningJobNotFound
from amtlocal.store import _schema as K
from amtlocal.store._locks import JobLock
from amtlocal.store._records import (
    TrainingJobRecord,
    TuningJobListing,
    TuningJobRecord,
    digest_of,
    listed_records,
    listing_of,
    read_tuning_job,
    summaries_of,
    training_rows_of,
    trials_of,
)
from amtlocal.store._storage import open_storage

# The API model's patterns for the names: checked again here because names become folder names.
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}")
_TRAINING_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def default_home() -> Path:
    """``$AMTLOCAL_HOME`` or ``~/.amtlocal``."""
    return Path(os.environ.get("AMTLOCAL_HOME") or Path.home() / ".amtlocal").expanduser()


def check_job_name(name: str, field: str = "HyperParameterTuningJobName") -> str:
    """Raise AmtValidationError unless ``name`` matches AMT's tuning-job name pattern (it becomes a folder name)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise AmtValidationError(
            field, f"name {name!r} must match [a-zA-Z0-9](-*[a-zA-Z0-9]){{0,31}} (1-32 characters)"
        )
    return name


def check_training_job_name(name: str) -> str:
    """Raise AmtValidationError unless ``name`` matches the TrainingJobName pattern (1-63 characters)."""
    if not isinstance(name, str) or not _TRAINING_NAME.fullmatch(name):
        raise AmtValidationError("TrainingJobName", f"name {name!r} must match [a-zA-Z0-9](-*[a-zA-Z0-9]){{0,62}}")
    return name


def worker_id() -> str:
    """``<host>:<pid>`` of this process, recorded on the training jobs it starts."""
    return f"{socket.gethostname()}:{os.getpid()}"


class LocalStore:
    """The local record store: the only reader and writer of the record schema.

    Args:
        home: folder for the default storage and the job folders (default :func:`default_home`).
        storage_url: an Optuna RDB storage URL (default ``$AMTLOCAL_STORAGE``, else None: the sharded store
            ``<home>/store/``, a journal per study and an index; a home's single ``store.journal`` of an earlier
            version is migrated to it on the first writable open).
        read_only: open the journal without writing anything (for inspection: ``amtlocal doctor``).
    """

    def __init__(self, home: str | os.PathLike | None = None, storage_url: str | None = None, read_only: bool = False):
        self.home = Path(home).expanduser() if home else default_home()
        self.read_only = read_only
        self.storage_url: str | None = storage_url or os.environ.get("AMTLOCAL_STORAGE") or None
        self._storage = None

    # -- storage and folders ----------------------------------------------------------------------------------------
    @property
    def journal_path(self) -> Path | None:
        """The single journal of a home of an earlier version not migrated (yet) to the sharded store, else None
        (a storage URL, or the sharded store: see :meth:`journal_paths`)."""
        if self.storage_url or self.sharded is not None:
            return None
        return self.home / K.JOURNAL_FILE

    def journal_paths(self) -> list[Path]:
        """Every journal file of the embedded store (a journal per study, or the single journal of a home not
        migrated yet); empty for a storage URL."""
        if self.storage_url:
            return []
        sharded = self.sharded
        if sharded is None:
            return [self.home / K.JOURNAL_FILE]
        return [sharded.journal_path(i) for i in sharded.journal_ids()]

    def journal_of(self, name: str) -> Path | None:
        """The journal file of tuning job ``name`` (or, ``training-job:<name>``, of a standalone training job) in
        the sharded store; None when there is none (no such job, a storage URL, a home not migrated)."""
        sharded = self.sharded
        hit = sharded.index.by_name(name, exact=False) if sharded is not None else None
        return None if hit is None or sharded is None else sharded.journal_path(hit[0])

    @property
    def storage(self):
        """The Optuna storage (opened on first use)."""
        if self._storage is None:
            self._storage = open_storage(self.home, self.storage_url, self.read_only)
        return self._storage

    def unsynced(self) -> contextlib.AbstractContextManager:
        """A block whose writes by this thread to the embedded store are not fsynced one by one
        (``_journal.unsynced_appends``): each is written at once, visible to every reader and kept if this process
        dies; the next fsynced write to the same journal makes them durable (on a power cut the journal keeps a
        prefix, as if the tuner had been killed a moment earlier). For an RDB URL: no change (each commit is the
        database's)."""
        if self.storage_url:
            return contextlib.nullcontext()
        from amtlocal.store._journal import unsynced_appends

        return unsynced_appends()

    @property
    def sharded(self):
        """The storage when it is the sharded store (``_sharded.ShardedJournalStorage``), else None."""
        if self.storage_url:
            return None
        storage = self.storage  # imports Optuna, which _sharded imports too
        from amtlocal.store._sharded import ShardedJournalStorage

        return storage if isinstance(storage, ShardedJournalStorage) else None

    def keep_reserve(self) -> None:
        """Make sure ``<home>/store.reserve`` (RESERVE_BYTES) exists: space a tuner frees with :meth:`free_reserve`
        when the disk fills, to record its training jobs and its end. Best effort; nothing for an RDB storage."""
        if self.storage_url:
            return
        path = self.home / K.RESERVE_FILE
        try:
            if path.exists() and path.stat().st_size >= K.RESERVE_BYTES:
                return
            with open(path, "wb") as f:
                f.write(b"\0" * K.RESERVE_BYTES)  # written, not sparse: the blocks are really held
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            with contextlib.suppress(OSError):
                path.unlink()

    def free_reserve(self) -> bool:
        """The disk is full: free the reserve, and take back a journal line a refused write left cut (kept in the
        side file, see :func:`~amtlocal.store._storage.drop_partial_last_line`), so the next records append whole.
        True when a reserve was freed."""
        from amtlocal.store._storage import drop_partial_last_line, journal_lock

        freed = False
        with contextlib.suppress(OSError):
            (self.home / K.RESERVE_FILE).unlink()
            freed = True
        sharded = self.sharded if self._storage is not None else None
        paths = sharded.open_journal_paths() if sharded is not None else [self.home / K.JOURNAL_FILE]
        for path in [] if self.storage_url else paths:
            if path.exists():
                with contextlib.suppress(OSError):
                    drop_partial_last_line(str(path), journal_lock(str(path)))
        return freed

    @property
    def shared(self) -> bool:
        """True for a PostgreSQL storage: several worker processes, on one machine or many, may run one tuning job."""
        return self.storage_url is not None and self.storage_url.startswith(("postgresql", "postgres"))

    # -- liveness of shared-mode workers (Optuna's heartbeats; see _rdb.py) ------------------------------------------
    def liveness(self) -> tuple[int, int] | None:
        """``(heartbeat interval, grace period)`` in seconds on a shared storage, else None (one tuner per job)."""
        if not self.shared:
            return None
        from amtlocal.store._rdb import liveness_settings

        return liveness_settings()

    def heartbeat(self, trial_id: int) -> None:
        """Record that the worker running trial ``trial_id`` is alive (a no-op but on a shared storage)."""
        if self.shared:
            self.storage.record_heartbeat(trial_id)

    def fail_lost_trials(self, study) -> list[TrainingJobRecord]:
        """Fail the running trials of ``study`` whose heartbeat is older than the grace period (Optuna's
        ``fail_stale_trials``: each is failed by exactly one caller) and return the records of those this call
        failed. A training job failed so reads Stopped, "worker lost" (see :func:`~amtlocal.store.read_trial`)."""
        if not self.shared:
            return []
        import warnings

        import optuna

        from amtlocal.store._records import read_trial

        self.storage.take_lost()
        with warnings.catch_warnings():  # fail_stale_trials is "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        return [read_trial(t, study.study_name) for t in self.storage.take_lost()]

    def job_dir(self, name: str) -> Path:
        """``<home>/jobs/<tuning job name>`` (name checked against AMT's pattern first)."""
        return self.home / "jobs" / check_job_name(name)

    def training_job_dir(self, tuning_name: str | None, training_name: str) -> Path:
        """A training job's folder: ``<home>/jobs/<tuning job>/<training job>``, or for a standalone training job
        (``tuning_name`` None) ``<home>/training-jobs/<training job>``. Names are checked first."""
        check_training_job_name(training_name)
        if tuning_name is None:
            return self.home / "training-jobs" / training_name
        return self.job_dir(tuning_name) / training_name

    # -- tuning jobs --------------------------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Names of every tuning job in the storage. A study whose creation never completed (no request recorded:
        its creator was killed in between, see :meth:`create`) is no tuning job. The sharded store answers from its
        index (reading only journals changed since they were last indexed)."""
        if self.sharded is not None:
            return [listing.record.name for listing in self.tuning_job_listings()]
        request = K.TUNING_FIELDS["request"]
        return [s.study_name for s in self.storage.get_all_studies() if request in s.user_attrs]

    def tuning_job_listings(self) -> list[TuningJobListing]:
        """A :class:`TuningJobListing` of every tuning job, in creation order: what ListHyperParameterTuningJobs
        shows. The sharded store reads them from its index; another storage reads every study."""
        indexed = self._indexed_digests()
        digests = None if indexed is None else [d for _, _, d in indexed]
        sharded = self.sharded if digests is None else None
        if sharded is not None:
            digests = [d for _, _, d in sharded.digests(digest_of)]
        elif digests is None:
            digests = [
                digest_of(s.study_name, s.user_attrs, self.storage.get_all_trials(s._study_id, deepcopy=False))[0]
                for s in self.storage.get_all_studies()
                if K.TUNING_FIELDS["request"] in s.user_attrs
            ]
        return [listing for listing in map(listing_of, digests) if listing is not None]

    def _indexed_digests(self) -> list[dict] | None:
        """Every digest of the sharded store's index when all are up to date and the storage is not open yet: read
        without opening the storage (nor importing Optuna). None when anything needs the storage (a home not migrated,
        a journal changed or not indexed, no index yet)."""
        return self._read_index(lambda index, journals: index.current(journals))

    def _indexed_rows(self) -> list[tuple[int, str, list[dict]]] | None:
        """As :meth:`_indexed_digests`, the index's training-job rows of every study (``(study id, name, rows)``)."""
        return self._read_index(lambda index, journals: index.current_rows(journals))

    def _read_index(self, read) -> list | None:
        """``(study id, name, value)`` of ``read(index, journals folder)``'s ``(study id, name, stamp, value or
        None)`` when every value is there and up to date and every journal indexed, read without opening the storage;
        else None (a home not migrated, a journal changed or not indexed, no index yet, the storage open already)."""
        import sqlite3

        from amtlocal.store._index import JobIndex

        root = self.home / K.STORE_DIR
        path = root / K.INDEX_FILE
        if self._storage is not None or self.storage_url or (self.home / K.JOURNAL_FILE).exists() or not path.exists():
            return None
        index = JobIndex(path, read_only=True)
        try:
            current = read(index, root / K.JOURNALS_DIR)
            with os.scandir(root / K.JOURNALS_DIR) as entries:
                journals = sum(1 for e in entries if e.name.endswith(K.JOURNAL_SUFFIX))
        except (OSError, sqlite3.Error):
            return None
        finally:
            index.close()
        if journals != len(current) or any(v is None for _, _, _, v in current):
            return None
        return [(study_id, name, v) for study_id, name, _, v in current]

    def resolve_name(self, name: str) -> str | None:
        """The stored spelling of ``name`` (AMT names are unique case-insensitively), or None. The sharded store
        reads the index and that job's journal only."""
        sharded = self.sharded
        if sharded is None:
            low = name.lower()
            request = K.TUNING_FIELDS["request"]
            return next(
                (
                    s.study_name
                    for s in self.storage.get_all_studies()
                    if s.study_name.lower() == low and request in s.user_attrs
                ),
                None,
            )
        hit = sharded.index.by_name(name, exact=False)
        if hit is None or hit[1].startswith(K.STANDALONE_PREFIX):
            return None
        return hit[1] if K.TUNING_FIELDS["request"] in sharded.user_attrs(hit[0]) else None

    def load(self, name: str):
        """The Optuna study of tuning job ``name``. Raises TuningJobNotFound."""
        import optuna

        stored = self.resolve_name(name)
        if stored is None:
            raise TuningJobNotFound(name)
        return optuna.load_study(study_name=stored, storage=self.storage, sampler=optuna.samplers.RandomSampler())

    def create(self, request: dict, base_dir: Path, origin: str = "local", status: str = "InProgress"):
        """Create the study for a new tuning job and record its request. Returns the study.

        The caller checked that no job of that name exists (see :meth:`resolve_name`).
        """
        import optuna

        from amtlocal.spec import objective_of

        objective = objective_of(request)
        maximize = objective.get("Type", "Maximize") == "Maximize"
        direction: Literal["maximize", "minimize"] = "maximize" if maximize else "minimize"
        name = request["HyperParameterTuningJobName"]
        for stale in self._studies_named(name):
            if K.TUNING_FIELDS["request"] not in stale[1]:
                # A creation cut short (its process killed between the study and its request): no tuning job, and
                # nothing of it ran; it must not take the name for good.
                optuna.delete_study(study_name=stale[0], storage=self.storage)
        study = optuna.create_study(study_name=name, storage=self.storage, direction=direction)
        now = time.time()
        # The request last: it marks the creation complete (see names()), so a tuning job never lacks the others.
        with self.unsynced():  # made durable with the request, the last write, which is fsynced
            for field, value in (
                ("base_dir", str(base_dir)),
                ("status", status),
                ("creation_time", now),
                ("last_modified", now),
                ("origin", origin),
            ):
                study.set_user_attr(K.TUNING_FIELDS[field], value)
        study.set_user_attr(K.TUNING_FIELDS["request"], request)
        return study

    def _studies_named(self, name: str) -> list[tuple[str, dict]]:
        """``(study name, user attributes)`` of the studies named ``name`` case-insensitively."""
        sharded = self.sharded
        if sharded is None:
            low = name.lower()
            return [(s.study_name, s.user_attrs) for s in self.storage.get_all_studies() if s.study_name.lower() == low]
        hit = sharded.index.by_name(name, exact=False)
        return [] if hit is None else [(hit[1], sharded.user_attrs(hit[0]))]

    def rebuild_index(self) -> None:
        """Make the sharded store's index agree with its journals (the truth): journals it lacks are indexed again
        and every digest is recomputed (``amtlocal doctor --repair``). A no-op for another storage."""
        if self.sharded is not None:
            self.sharded.rebuild_index(digest_of)

    def owner_of(self, training_job_name: str) -> str | None:
        """The tuning job holding training job ``training_job_name`` as the sharded store's index last saw it
        (refreshed first when the index does not know it), or None (unknown, or another storage)."""
        sharded = self.sharded
        if sharded is None:
            return None
        study_id = sharded.index.owner(training_job_name)
        if study_id is None:
            sharded.digests(digest_of)  # journals changed since they were indexed: index them now
            study_id = sharded.index.owner(training_job_name)
        row = None if study_id is None else sharded.index.row(study_id)
        return None if row is None else row[0]

    def delete(self, name: str) -> None:
        """Delete tuning job ``name`` and its folder. Raises TuningJobNotFound."""
        import shutil

        import optuna

        stored = self.resolve_name(name)
        if stored is None:
            raise TuningJobNotFound(name)
        optuna.delete_study(study_name=stored, storage=self.storage)
        shutil.rmtree(self.job_dir(stored), ignore_errors=True)

    def tuning_job(self, study_or_name) -> TuningJobRecord:
        """The :class:`TuningJobRecord` of a study, or of tuning job ``name`` (raises TuningJobNotFound)."""
        study = self.load(study_or_name) if isinstance(study_or_name, str) else study_or_name
        return read_tuning_job(study)

    def update_tuning_job(self, study, **fields: Any) -> None:
        """Write fields of a tuning job (names of :class:`TuningJobRecord`) and its LastModifiedTime. Status writes
        follow the rules of :mod:`amtlocal.lifecycle` (only the holder of the job's lock writes them)."""
        with self.unsynced():  # made durable with LastModifiedTime, the last write, which is fsynced
            for name, value in fields.items():
                study.set_user_attr(K.TUNING_FIELDS[name], value)
        study.set_user_attr(K.TUNING_FIELDS["last_modified"], time.time())
        sharded = self.sharded
        if (
            sharded is not None and {"status", "runtime_used"} & fields.keys()
        ):  # a run starts or ends: list reads it from the index
            sharded.refresh_digest(study._study_id, digest_of, training_rows_of)

    def add_stop_request(self, study) -> None:
        """Record one more stop request (one new attribute: concurrent requests never overwrite each other)."""
        self.update_tuning_job(study)
        study.set_user_attr(f"{K.STOP_REQUEST_PREFIX}{uuid.uuid4().hex}", time.time())

    # -- a tuning job's training jobs ---------------------------------------------------------------------------------
    def trials(self, study, role: str | None = K.ROLE_OWN) -> list[TrainingJobRecord]:
        """See :func:`amtlocal.store.trials_of`."""
        return trials_of(study, role)

    def summaries(self, study, role: str = K.ROLE_OWN) -> list[dict]:
        """See :func:`amtlocal.store.summaries_of`."""
        return summaries_of(study, role)

    def record_launch(self, trial, summary: dict) -> None:
        """A trial becomes a training job: its summary first, then its role (a trial with role ``own`` always has a
        summary: what recovery after a kill relies on)."""
        with self.unsynced():
            self._set_trial(trial, summary=summary)
        self._set_trial(trial, role=K.ROLE_OWN)  # fsynced, and with it the summary

    def record_process(self, trial, pid: int | None, pid_start: int | None) -> None:
        """Where the training job runs (this worker, its pid and the pid's start time), in one write."""
        self._set_trial(
            trial, process={K.PROCESS_WORKER: worker_id(), K.PROCESS_PID: pid, K.PROCESS_PID_START: pid_start}
        )

    def record_result(
        self, trial, summary: dict, final_metrics: dict[str, float] | None = None, interrupted: bool = False
    ) -> None:
        """The training job's final summary (and metrics; ``interrupted``: cut short by the tuner's end). Written
        before the trial is told: a told trial is frozen."""
        fields: dict[str, Any] = {"summary": summary}
        if final_metrics is not None:
            fields["final_metrics"] = final_metrics
        if interrupted:
            fields["interrupted"] = True
        self._set_trial(trial, **fields)

    def request_trial_stop(self, trial_id: int) -> bool:
        """Ask the tuner to stop a tuning job's running training job (StopTrainingJob). False when the trial has
        finished meanwhile (nothing to stop)."""
        import optuna

        try:
            self._set_trial(trial_id, stop_requested=time.time())
            return True
        except optuna.exceptions.UpdateFinishedTrialError:
            return False

    def _set_trial(self, trial, **fields: Any) -> None:
        trial_id = trial if isinstance(trial, int) else trial._trial_id
        for name, value in fields.items():
            self.storage.set_trial_user_attr(trial_id, K.TRIAL_FIELDS[name], value)

    def add_history(self, study, summary: dict, parent: str, space: dict, static: dict | None = None) -> None:
        """Add a warm-start parent's evaluation as history: a finished trial, COMPLETE with its objective when that
        succeeded and its values lie in ``space`` (range objects of ``amtlocal.spec.ranges``), else FAIL (kept only
        for OverallBestTrainingJob). ``static``: the parent's static values, for hyperparameters it did not tune."""
        from amtlocal.spec.summaries import summary_trial

        attrs = {K.TRIAL_FIELDS["role"]: K.ROLE_HISTORY, K.TRIAL_FIELDS["summary"]: summary, K.PARENT: parent}
        study.add_trial(summary_trial(summary, space, attrs, static=static))

    # -- metric series --------------------------------------------------------------------------------------------
    def metrics_path(self, tuning_name: str | None, training_name: str) -> Path:
        """``<training job folder>/logs/metrics.jsonl``: every scraped value, one JSON object a line."""
        return self.training_job_dir(tuning_name, training_name) / "logs" / "metrics.jsonl"

    def metric_series(self, tuning_name: str | None, training_name: str) -> list[dict[str, Any]]:
        """``[{"MetricName", "Value", "Timestamp" (epoch seconds)}, ...]`` in time order; empty if none."""
        path = self.metrics_path(tuning_name, training_name)
        if not path.exists():
            return []
        out = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:  # a line cut short by a killed tuner
                    continue
        return out

    def write_metric_series(self, tuning_name: str | None, training_name: str, series: Iterable[dict]) -> None:
        """Replace a training job's metric series (see :meth:`metric_series`)."""
        path = self.metrics_path(tuning_name, training_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            for point in series:
                f.write(json.dumps(point) + "\n")

    # -- import (sagemaker pull) ----------------------------------------------------------------------------------
    def import_tuning_job(
        self,
        describe: dict,
        summaries: list[dict],
        series: dict[str, list[dict]] | None = None,
        final_metrics: dict[str, dict[str, float]] | None = None,
        space: dict | None = None,
        base_dir: Path | None = None,
    ):
        """Store a finished tuning job run elsewhere (SageMaker), as the local backend would have recorded it.

        Args:
            describe: its DescribeHyperParameterTuningJob response (datetimes or epoch seconds).
            summaries: every HyperParameterTrainingJobSummary (ListTrainingJobsForHyperParameterTuningJob).
            series: training job name -> metric series (see :meth:`metric_series`).
            final_metrics: training job name -> ``{metric name: value}`` (DescribeTrainingJob's FinalMetricDataList).
            space: hyperparameter name -> range (``amtlocal.spec.ranges``), to give each trial the tuned values as
                Optuna params (omitted for a job whose values fall outside).
            base_dir: recorded as the job's base folder (default: the working directory).

        Returns the new study. The caller checked that no tuning job of that name exists.
        """
        from amtlocal.store._import import import_tuning_job

        return import_tuning_job(
            self, describe, summaries, series or {}, final_metrics or {}, space or {}, base_dir or Path.cwd()
        )

    # -- training jobs by name ------------------------------------------------------------------------------------
    def find_training_job(self, name: str) -> TrainingJobRecord:
        """The record of training job ``name``, standalone or a tuning job's. Raises TrainingJobNotFound."""
        from amtlocal.store import _standalone

        found = _standalone.find(self, name)
        if found is None:
            raise TrainingJobNotFound(name)
        return found

    def all_training_jobs(self) -> Iterator[TrainingJobRecord]:
        """Every training job (standalone ones and every tuning job's own), in no particular order."""
        from amtlocal.store import _standalone

        yield from _standalone.all_standalone(self)
        for name in self.names():
            yield from self.trials(self.load(name))

    def listed_training_jobs(self) -> list[TrainingJobRecord]:
        """What ListTrainingJobs reads of every training job, in the order of :meth:`all_training_jobs` (standalone
        ones, then each tuning job's own, in creation order): records whose ``summary`` holds only
        :data:`~amtlocal.store._records.LISTED_FIELDS`. The sharded store reads them from its index, replaying only
        the journals changed since they were indexed (a running job's) or not indexed yet (an index of an earlier
        version: filled on demand); another storage or a home not migrated reads every study
        (:meth:`all_training_jobs`)."""
        rows = self._indexed_rows()
        if rows is None:
            sharded = self.sharded
            if sharded is None:
                return list(self.all_training_jobs())
            rows = sharded.training_rows(training_rows_of)
        solo = [r for r in rows if r[1].startswith(K.STANDALONE_PREFIX)]
        tuning = [r for r in rows if not r[1].startswith(K.STANDALONE_PREFIX)]
        return [rec for _, name, study_rows in solo + tuning for rec in listed_records(name, study_rows)]

    def create_training_job(self, record: dict[str, Any]):
        """Store a new standalone training job; ``record`` is its DescribeTrainingJob record (epoch seconds) with at
        least TrainingJobName. Returns its study. Raises TrainingJobExists when the name is taken (any training job,
        case-insensitively)."""
        from amtlocal.store import _standalone

        return _standalone.create(self, record)

    def update_training_job(self, name: str, **fields: Any) -> dict[str, Any]:
        """Merge DescribeTrainingJob fields into standalone training job ``name``'s record; returns the new record.
        Raises TrainingJobNotFound."""
        from amtlocal.store import _standalone

        return _standalone.update(self, name, fields)

    def record_training_job_process(self, name: str, pid: int | None, pid_start: int | None) -> None:
        """Where standalone training job ``name`` runs (this worker, its pid and the pid's start time)."""
        from amtlocal.store import _standalone

        _standalone.set_process(
            self, name, {K.PROCESS_WORKER: worker_id(), K.PROCESS_PID: pid, K.PROCESS_PID_START: pid_start}
        )

    def add_training_job_stop_request(self, name: str) -> None:
        """Record one more StopTrainingJob request for standalone training job ``name`` (counted, never overwritten)."""
        from amtlocal.store import _standalone

        _standalone.add_stop_request(self, name)

    def training_job_names(self) -> list[str]:
        """Names of every standalone training job."""
        from amtlocal.store import _standalone

        return _standalone.names(self)

    def training_job_lock(self, name: str) -> JobLock:
        """The lock one live process holds while it runs standalone training job ``name`` (see :meth:`lock`)."""
        return JobLock(self.training_job_dir(None, name) / "job.lock")

    # -- locks ----------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def creation_lock(self, name: str):
        """Serialise "does tuning job ``name`` exist? if not, create it" across processes: the launch lock in shared
        mode; for the embedded store an exclusive ``flock`` on ``<home>/.create.lock`` (blocking; held for one
        creation, milliseconds). Without it a second tuner started at the same moment saw the first one's study
        before its request was written, took it for a creation cut short and deleted it."""
        if self.shared:
            with self.launch_lock(name):
                yield
            return
        import fcntl

        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.home / ".create.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    @contextlib.contextmanager
    def launch_lock(self, name: str):
        """Serialise "may another training job start?" + "start it" across workers (a PostgreSQL advisory lock);
        a no-op for the embedded store, where one tuner process owns a tuning job."""
        if not self.shared:
            yield
            return
        from sqlalchemy import text

        key = int(hashlib.sha1(name.lower().encode()).hexdigest()[:15], 16)

        def locked():
            conn = self.storage.engine.connect()
            try:
                self._keepalives(conn)
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            except BaseException:
                conn.close()
                raise
            return conn

        conn = self.storage.call_with_retry(locked)  # the database may be restarting
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
                conn.close()
            except Exception:  # noqa: BLE001 - the connection dropped (the lock went with its session)
                conn.invalidate()  # closed for good, never back to the pool: the lock cannot outlive it

    def _keepalives(self, conn) -> None:
        """On the launch lock's session (TCP only): the server probes a silent client after the grace period and
        ends its session after 3 unanswered probes, so a worker whose machine vanished while it held the lock frees
        it in about twice the grace period (the kernel's default is two hours)."""
        from sqlalchemy import text

        liveness = self.liveness()
        if liveness is None:
            return
        grace = liveness[1]
        for setting, value in (("idle", grace), ("interval", max(1, grace // 3)), ("count", 3)):
            conn.execute(text(f"SET tcp_keepalives_{setting} = {int(value)}"))

    def lock(self, name: str) -> JobLock | contextlib.nullcontext:
        """An exclusive lock that one live tuner process holds while it runs tuning job ``name`` (none for a shared
        storage, where several workers run it together)."""
        if self.shared:
            return contextlib.nullcontext()
        return self.job_lock(name)

    def job_lock(self, name: str) -> JobLock:
        """The file lock of tuning job ``name`` on a local (not shared) storage: what :meth:`lock` returns there."""
        return JobLock(self.job_dir(name) / K.LOCK_FILE)

    def drop_unused_job_dirs(self, names: list[str]) -> None:
        """Remove job folders that belong to no tuning job in ``names`` and hold only a free lock file: left by a
        tuner killed before it created its job. Nothing else is ever removed."""
        known = {n.lower() for n in names}
        try:
            folders = [f for f in (self.home / "jobs").iterdir() if f.is_dir() and f.name.lower() not in known]
        except OSError:
            return
        for folder in folders:
            lock = JobLock(folder / K.LOCK_FILE)
            try:
                lock.acquire()  # held while removing: a tuner taking it meanwhile retries on a new file
            except (OSError, TuningJobBusy):
                continue
            try:
                self.drop_unused_job_dir(folder.name)
            finally:
                lock.release()

    def drop_unused_job_dir(self, name: str) -> None:
        """Remove ``jobs/<name>`` if it holds nothing but the lock file and no tuning job of that name exists (a new
        job refused, or interrupted, before it was created). The caller holds the job's lock."""
        folder = self.home / "jobs" / name
        try:
            if self.resolve_name(name) is None and [p.name for p in folder.iterdir()] == [K.LOCK_FILE]:
                (folder / K.LOCK_FILE).unlink()
                folder.rmdir()
        except Exception:  # noqa: BLE001 - tidying only; whatever error is being raised is what the caller needs
            pass
