"""LocalBackend: the Backend interface over the local store, the lifecycle and the scheduler (:class:`LocalTuningJob`).

``create_tuning_job(wait=False)`` starts a detached worker process (``python -m amtlocal.backends.local._worker``)
in its own session: like a cloud tuning job, it keeps running when the Python process that launched it exits. Its
log is ``<home>/jobs/<name>/tuner.log``; stop it with ``amtlocal stop NAME`` or ``tuner.stop_tuning_job()``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from amtlocal import lifecycle
from amtlocal.backends._base import Backend
from amtlocal.backends.local import _responses
from amtlocal.backends.local._scheduler import LocalTuningJob
from amtlocal.exceptions import AmtLocalError, TuningJobNotFound
from amtlocal.lifecycle import TERMINAL_STATUSES, TuningJobStatus
from amtlocal.spec import TuningSpec
from amtlocal.store import INHERITED_LOCK_ENV, JobLock, LocalStore


class LocalBackend(Backend):
    """Runs tuning jobs on this machine.

    Args:
        store: a :class:`LocalStore`; or ``home`` / ``storage_url`` to make one (see LocalStore).
        stop_grace: seconds between SIGTERM and SIGKILL when stopping a training job (default: AMT's 120 s, or
            ``$AMTLOCAL_STOP_GRACE_SECONDS``).
    """

    name = "local"
    STOP_TAKEN_SECONDS = lifecycle.STOP_TAKEN_SECONDS  # how long stop() waits for the job's holder to take the request

    def __init__(
        self,
        store: LocalStore | None = None,
        home: str | os.PathLike | None = None,
        storage_url: str | None = None,
        stop_grace: float | None = None,
    ):
        self.store = store or LocalStore(home, storage_url)
        self.stop_grace = stop_grace
        self._workers: dict[str, subprocess.Popen] = {}  # background workers this backend started, by job name
        self._tuning_workers: set[str] = set()  # the names in _workers that are tuning jobs'
        self._settled: set[int] = set()  # pids of ended tuning-job workers take_over_ended_workers looked at

    def create_tuning_job(
        self, request: dict[str, Any], base_dir: Path, wait: bool = True, progress: Callable | None = None
    ) -> None:
        job = LocalTuningJob(
            TuningSpec(request, Path(base_dir)), self.store, progress=progress, stop_grace=self.stop_grace
        )
        if wait:
            try:
                job.run()
            except KeyboardInterrupt:
                # A Ctrl-C that cut this run's own stopping short (a third press): finish the stop, so the job is not
                # left InProgress or Stopping with no tuner. Only for a job this process ran: never another tuner's.
                if job.taken and not self.store.shared:
                    with contextlib.suppress(Exception):
                        if self.describe(job.spec.name)["HyperParameterTuningJobStatus"] in (
                            TuningJobStatus.IN_PROGRESS,
                            TuningJobStatus.STOPPING,
                        ):
                            self.stop(job.spec.name)
                raise
            return
        from amtlocal.backends.local._process import deferred_sigint

        job.spec.validate()  # every error a user can fix surfaces here, before the worker starts
        name = job.spec.name
        with deferred_sigint() as interrupted:
            lifecycle.start_in_background(
                self.store,
                name,
                job.prepare,
                lambda stops, lock: self._start_tuning_worker(name, stops, lock),
                interrupted,
            )

    def _start_tuning_worker(self, name: str, stops_seen: int, lock: JobLock | None) -> subprocess.Popen:
        worker = self._workers[name] = self._start_worker(name, stops_seen, lock)
        self._tuning_workers.add(name)
        return worker

    def _start_worker(
        self, name: str, stops_seen: int, lock: JobLock | None, kind: list[str] | None = None
    ) -> subprocess.Popen:
        """Start the background worker of tuning job ``name`` (or, with ``kind`` ``["--training-job"]``, of standalone
        training job ``name``), handing it the held job lock (its descriptor)."""
        folder = self.store.training_job_dir(None, name) if kind else self.store.job_dir(name)
        log_path = folder / ("worker.log" if kind else "tuner.log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, AMTLOCAL_HOME=str(self.store.home))
        env.pop("AMTLOCAL_STORAGE", None)
        if self.store.storage_url:
            env["AMTLOCAL_STORAGE"] = self.store.storage_url
        if self.stop_grace is not None:
            env["AMTLOCAL_STOP_GRACE_SECONDS"] = str(self.stop_grace)
        pass_fds: tuple[int, ...] = ()
        if lock is not None:
            env[INHERITED_LOCK_ENV] = str(lock.fileno())
            pass_fds = (lock.fileno(),)
        with open(log_path, "ab") as logf:
            return subprocess.Popen(
                [sys.executable, "-m", "amtlocal.backends.local._worker", *(kind or []), name, str(stops_seen)],
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                pass_fds=pass_fds,
            )

    def wait_until_started(self, name: str, timeout: float = 60.0) -> None:
        """Return once tuning job ``name`` has a training job, or has ended, or its background worker (started by
        this backend) has exited; at the latest after ``timeout`` seconds. Raises TuningJobNotFound."""
        worker = self._workers.get(name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            study = self.store.load(name)
            if self.store.tuning_job(study).status in TERMINAL_STATUSES or (
                worker is not None and worker.poll() is not None
            ):
                return
            if any(t.role == "own" for t in self.store.trials(study, role=None)):
                return
            time.sleep(0.05)

    def describe(self, name: str) -> dict[str, Any]:
        return _responses.describe(self.store.load(name))

    # -- a tuning job whose worker died -------------------------------------------------------------------------------
    def holder_lost(self, name: str) -> bool:
        """True when tuning job ``name`` is InProgress or Stopping but no process runs it any more (its tuner or
        background worker was killed); see :func:`amtlocal.lifecycle.holder_lost`. Raises TuningJobNotFound."""
        return lifecycle.holder_lost(self.store, name)

    def take_over(self, name: str) -> str | None:
        """Tuning job ``name`` whose tuner or background worker died while it ran: resumed in a new background worker
        the first time, recorded Failed (FailureReason naming each death's cause) the next, Stopped when a stop was
        asked for (:func:`amtlocal.lifecycle.take_over`). What the API does on reading such a job, as the service
        never loses its tuner. The cause is the worker's exit status when this backend started it, else
        "ended (killed?)".

        Returns:
            ``"Resumed"``, ``"Stopped"``, ``"Failed"``, or None when nothing was done (a live process runs the job,
            or it has ended).
        Raises:
            TuningJobNotFound: no tuning job of that name.
        """
        if not lifecycle.holder_lost(self.store, name):
            return None
        stored = self.store.tuning_job(name).name
        return lifecycle.take_over(
            self.store,
            stored,
            self._end_cause(stored),
            lambda stops, lock: self._start_tuning_worker(stored, stops, lock),
        )

    def tuning_workers(self) -> list[str]:
        """The names of the tuning jobs whose background worker this backend started (running or not), sorted."""
        return sorted(self._tuning_workers)

    def take_over_ended_workers(self) -> list[str]:
        """Look at the background workers of tuning jobs this backend started: each one that has exited (reaped
        here) while its job had not ended is taken over (:meth:`take_over`). Returns the names taken over."""
        done = []
        for name in sorted(self._tuning_workers):
            worker = self._workers.get(name)
            if worker is None or worker.pid in self._settled or worker.poll() is None:
                continue
            try:
                if self.take_over(name) is not None:
                    done.append(name)
            except TuningJobNotFound:
                pass
            self._settled.add(worker.pid)  # a resume started a new worker, watched from now on
        return done

    def _end_cause(self, name: str) -> str:
        """How the process that ran tuning job ``name`` ended (:func:`amtlocal.lifecycle.end_cause`)."""
        worker = self._workers.get(name)
        if worker is not None and name in self._tuning_workers and _exit_status(worker) is not None:
            log = self.store.job_dir(name) / "tuner.log"
            try:
                with open(log, "rb") as f:
                    f.seek(max(0, f.seek(0, os.SEEK_END) - 2000))
                    tail = f.read().decode(errors="replace")
            except OSError:
                tail = ""
            return lifecycle.end_cause(worker.pid, worker.returncode, tail)
        return lifecycle.end_cause(self.store.job_lock(name).holder(), None)

    def list_training_jobs(self, name: str, **kwargs: Any) -> dict[str, Any]:
        return _responses.list_training_jobs(self.store.load(name), **kwargs)

    def metric_series(self, tuning_job_name: str | None, training_job_name: str) -> list[dict[str, Any]]:
        """Read ``<home>/jobs/<tuning job>/<training job>/logs/metrics.jsonl`` (empty if the job has none)."""
        return self.store.metric_series(tuning_job_name, training_job_name)

    def list_tuning_jobs(self) -> list[dict[str, Any]]:
        """For each stored tuning job, newest first: ListHyperParameterTuningJobs' summary fields (name, ARN, status,
        strategy, times, training job and objective counters, ResourceLimits), plus amtlocal's
        ``InterruptedTrainingJobs``: how many of the Stopped ones an interruption cut short (they are run again on
        resume and do not count toward MaxNumberOfTrainingJobs)."""
        listings = self.store.tuning_job_listings()  # the sharded store's index: no journal read for an unchanged job
        if not self.store.shared:
            # folders of tuners killed before they created their job
            self.store.drop_unused_job_dirs([listing.record.name for listing in listings])
        out = [_responses.list_row(listing) for listing in listings]
        return sorted(out, key=lambda r: r["CreationTime"], reverse=True)

    def stop(self, name: str) -> None:
        """StopHyperParameterTuningJob. A live tuner is asked to stop (``describe`` shows Stopping until it has stopped
        its training jobs, then Stopped); with none, the training jobs a dead tuner left running are ended and
        recorded Stopped (run again on resume) and the job is Stopped now. A Completed or Failed job, or a Stopped one
        no tuner is taking up again, is left as it is. See :mod:`amtlocal.lifecycle` for the protocol.

        Raises:
            TuningJobNotFound: no tuning job of that name.
        """
        lifecycle.stop_tuning_job(self.store, name, self.STOP_TAKEN_SECONDS)

    # -- training jobs ------------------------------------------------------------------------------------------------
    def create_training_job(
        self, request: dict[str, Any], base_dir: Path, wait: bool = True, progress: Callable | None = None
    ) -> dict[str, Any]:
        """CreateTrainingJob on this machine: the script-mode entry point of ``HyperParameters`` (sagemaker_program,
        sagemaker_submit_directory) runs with ``InputDataConfig``'s local folders as channels, under
        ``StoppingCondition.MaxRuntimeInSeconds``. With ``wait`` it runs here (Ctrl-C stops it, records it Stopped
        and is raised again); else in a detached worker that survives this process. Returns DescribeTrainingJob.
        ``progress`` is not used (a training job has no progress counter).

        Raises:
            AmtValidationError: the request breaks botocore's input shape or a local rule (before anything starts).
            TrainingJobExists: a training job of that name exists (AMT: ResourceInUse).
        """
        from amtlocal.backends.local._process import deferred_sigint
        from amtlocal.backends.local._training import LocalTrainingJob
        from amtlocal.exceptions import TrainingJobExists, TrainingJobNotFound

        job = LocalTrainingJob(request, Path(base_dir), self.store, self.stop_grace)
        job.validate()
        try:
            self.store.find_training_job(job.name)
            raise TrainingJobExists(
                f"a training job named {job.name!r} already exists (AMT: ResourceInUse); pick another TrainingJobName"
            )
        except TrainingJobNotFound:
            pass
        with deferred_sigint() as interrupted:
            lock = self.store.training_job_lock(job.name).acquire()
            try:
                job.create()
                if wait:
                    job.run(interrupted)
                else:
                    self._workers[job.name] = self._start_worker(job.name, 0, lock, ["--training-job"])
                    lock.hand_over()  # the worker holds it now
            finally:
                lock.release()
        return self.describe_training_job(job.name)

    def describe_training_job(self, name: str) -> dict[str, Any]:
        """DescribeTrainingJob of a standalone training job or a tuning job's (with ``TuningJobArn``). A standalone
        job left InProgress by a process that died is recovered first (Failed, with the reason).
        Raises TrainingJobNotFound."""
        from amtlocal.backends.local import _training_jobs

        lifecycle.recover_training_job(self.store, name)
        return _training_jobs.describe_training_job(self.store, name)

    def stop_training_job(self, name: str) -> None:
        """StopTrainingJob of a standalone training job (:func:`amtlocal.lifecycle.stop_training_job`) or of a tuning
        job's (:func:`amtlocal.lifecycle.stop_child`: its tuner stops that job only; the tuning job goes on).

        Raises:
            TrainingJobNotFound: no such training job.
        """
        rec = self.store.find_training_job(name)
        if rec.tuning_job_name is not None:
            lifecycle.stop_child(self.store, rec, self.STOP_TAKEN_SECONDS)
            return
        lifecycle.stop_training_job(self.store, rec.name, self.STOP_TAKEN_SECONDS)

    def training_jobs(self, **kwargs: Any) -> dict[str, Any]:
        """ListTrainingJobs over every stored training job (see :func:`_training_jobs.list_training_jobs`)."""
        from amtlocal.backends.local import _training_jobs

        return _training_jobs.list_training_jobs(self.store, **kwargs)

    def training_job_logs(self, name: str) -> Iterator[str]:
        """The lines of ``logs/output.log`` of training job ``name`` so far. Raises TrainingJobNotFound."""
        rec = self.store.find_training_job(name)
        path = self.store.training_job_dir(rec.tuning_job_name, rec.name) / "logs" / "output.log"
        if not path.exists():
            return
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                yield line.rstrip("\n")

    def _check_alive(self, name: str, desc: dict[str, Any]) -> None:
        worker = self._workers.get(desc["HyperParameterTuningJobName"])
        if worker is not None and worker.poll() is not None:
            # The worker ended; give the store a moment, then the job must be terminal.
            time.sleep(0.5)
            if self.describe(name)["HyperParameterTuningJobStatus"] not in TERMINAL_STATUSES:
                log = self.store.job_dir(desc["HyperParameterTuningJobName"]) / "tuner.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise AmtLocalError(
                    f"the tuner process of {name} exited with code {worker.returncode} before the job ended; tuner.log ends:\n{tail}"
                )


def _exit_status(worker: subprocess.Popen, timeout: float = 5.0) -> int | None:
    """The exit status of a worker whose job lock is free (None if it still runs after ``timeout`` seconds): the
    kernel frees a dying process's locks before its parent can reap it, so a short wait."""
    try:
        return worker.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


__all__ = ["LocalBackend", "TuningJobNotFound"]
