"""Where local tuning jobs live: one Optuna storage holding a study per tuning job, plus a folder per job.

- Folder: ``$AMTLOCAL_HOME`` or ``~/.amtlocal``. Training job folders: ``<home>/jobs/<tuning job>/<training job>/``.
- Storage: ``$AMTLOCAL_STORAGE`` (any Optuna storage URL, e.g. ``postgresql://...`` or ``sqlite:///...``) or the
  embedded default, which needs no server: Optuna's journal file ``<home>/store.journal`` (``JournalStorage`` with
  ``JournalFileBackend``; each change is one appended, fsynced line, about five times cheaper per training job than
  SQLite through SQLAlchemy), locked with ``flock`` so that a killed process never leaves the store locked.

AMT records are kept as study and trial user attributes (JSON), so any process that can open the storage can
describe and list jobs: the tuning job's request and status on the study, each training job's
HyperParameterTrainingJobSummary on its trial (times as epoch seconds).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import re
import time
from pathlib import Path
from typing import Any

from amtlocal.exceptions import AmtValidationError, TuningJobBusy, TuningJobNotFound

# The API model's pattern for HyperParameterTuningJobName: checked again here because names become folder names.
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}")
_TRAINING_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")

# Study user attributes.
A_REQUEST, A_BASE_DIR, A_STATUS, A_CREATED, A_ENDED, A_MODIFIED = "request", "base_dir", "status", "creation_time", "end_time", "last_modified"
A_FAILURE, A_N_HISTORY, A_ORIGIN, A_COMPLETION = "failure_reason", "n_history", "origin", "completion_details"
# Stop requests: each StopHyperParameterTuningJob adds one user attribute "stop_request.<id>" (its time), so their
# count only grows, whatever the interleaving; a run records the count it started from (A_RUN_STOPS) and honours
# only requests above it: never one that ended an earlier run, never one lost to a race with a resume.
A_STOP_PREFIX, A_RUN_STOPS = "stop_request.", "run_stop_requests"


def stop_requests(attrs: dict) -> int:
    """How many stop requests a study's user attributes record."""
    return sum(1 for key in attrs if key.startswith(A_STOP_PREFIX))


def add_stop_request(study) -> None:
    """Record one more stop request (one new attribute: concurrent requests never overwrite each other)."""
    import uuid

    update(study, **{f"{A_STOP_PREFIX}{uuid.uuid4().hex}": time.time()})


def update(study, **attrs) -> None:
    """Write a tuning job's user attributes and its LastModifiedTime. Status writes come only from the holder of
    the job's lock (see LocalBackend.stop)."""
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    study.set_user_attr(A_MODIFIED, time.time())


def mark_running(study, stops_seen: int) -> None:
    """InProgress for a run that started from stop-request count ``stops_seen`` (see LocalTuningJob.run)."""
    update(study, **{A_RUN_STOPS: stops_seen, A_STATUS: "InProgress", A_ENDED: None, A_FAILURE: None})


def mark_stopped(study) -> None:
    update(study, **{A_STATUS: "Stopped", A_ENDED: time.time()})
# Trial user attributes.
T_SUMMARY, T_METRICS, T_ROLE, T_PID, T_INTERRUPTED, T_DIR = "summary", "final_metrics", "role", "pid", "interrupted", "job_dir"
T_WORKER, T_PID_START, T_PROCESS = "worker", "pid_start", "process"

TERMINAL_STATUSES = ("Completed", "Failed", "Stopped")
JOURNAL_FILE = "store.journal"


def default_home() -> Path:
    """``$AMTLOCAL_HOME`` or ``~/.amtlocal``."""
    return Path(os.environ.get("AMTLOCAL_HOME") or Path.home() / ".amtlocal").expanduser()


def check_job_name(name: str, field: str = "HyperParameterTuningJobName") -> str:
    """Raise AmtValidationError unless ``name`` matches AMT's tuning-job name pattern (it becomes a folder name)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise AmtValidationError(field, f"name {name!r} must match [a-zA-Z0-9](-*[a-zA-Z0-9]){{0,31}} (1-32 characters)")
    return name


class LocalStore:
    """The local record store.

    Args:
        home: folder for the default storage and the job folders (default :func:`default_home`).
        storage_url: an Optuna RDB storage URL (default ``$AMTLOCAL_STORAGE``, else None: the journal file
            ``<home>/store.journal``).
    """

    def __init__(self, home: str | os.PathLike | None = None, storage_url: str | None = None):
        self.home = Path(home).expanduser() if home else default_home()
        self.storage_url: str | None = storage_url or os.environ.get("AMTLOCAL_STORAGE") or None
        self._storage = None

    @property
    def journal_path(self) -> Path | None:
        """The embedded journal file, or None when a storage URL is used."""
        return None if self.storage_url else self.home / JOURNAL_FILE

    @property
    def storage(self):
        """The Optuna storage (opened on first use)."""
        if self._storage is None:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            self.home.mkdir(parents=True, exist_ok=True)
            if self.storage_url is None:
                from optuna.storages import JournalStorage
                from optuna.storages.journal import JournalFileBackend

                path = str(self.home / JOURNAL_FILE)
                lock = FlockJournalLock(path + ".lock")
                _drop_partial_last_line(path, lock)
                self._storage = JournalStorage(JournalFileBackend(path, lock_obj=lock))
                return self._storage
            kwargs: dict[str, Any] = {}
            if self.storage_url.startswith("sqlite"):
                kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
            if self.storage_url.startswith("sqlite"):
                _sqlite_wal(self.storage_url)
            for attempt in range(5):
                try:
                    self._storage = optuna.storages.RDBStorage(self.storage_url, **kwargs)
                    break
                except Exception:  # noqa: BLE001 - two workers creating the schema at once: the loser retries
                    if attempt == 4:
                        raise
                    time.sleep(0.2 * (attempt + 1))
            if self.storage_url.startswith("sqlite"):
                from sqlalchemy import event

                def _synchronous_normal(dbapi_connection, _record) -> None:  # per connection; see _sqlite_wal
                    dbapi_connection.execute("PRAGMA synchronous=NORMAL")

                event.listen(self._storage.engine, "connect", _synchronous_normal)
                self._storage.engine.dispose()  # reconnect with the pragma
        return self._storage

    def job_dir(self, name: str) -> Path:
        """``<home>/jobs/<tuning job name>`` (name checked against AMT's pattern first)."""
        return self.home / "jobs" / check_job_name(name)

    def training_job_dir(self, tuning_name: str, training_name: str) -> Path:
        if not _TRAINING_NAME.fullmatch(training_name):
            raise AmtValidationError("TrainingJobName", f"name {training_name!r} must match [a-zA-Z0-9](-*[a-zA-Z0-9]){{0,62}}")
        return self.job_dir(tuning_name) / training_name

    def names(self) -> list[str]:
        """Names of every tuning job in the storage. A study whose creation never completed (no request recorded:
        its creator was killed in between, see :meth:`create`) is no tuning job."""
        return [s.study_name for s in self.storage.get_all_studies() if A_REQUEST in s.user_attrs]

    def drop_unused_job_dirs(self, names: list[str]) -> None:
        """Remove job folders that belong to no tuning job in ``names`` and hold only a free lock file: left by a
        tuner killed before it created its job. Nothing else is ever removed."""
        known = {n.lower() for n in names}
        try:
            folders = [f for f in (self.home / "jobs").iterdir() if f.is_dir() and f.name.lower() not in known]
        except OSError:
            return
        for folder in folders:
            lock = JobLock(folder / "tuner.lock")
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
            if self.resolve_name(name) is None and [p.name for p in folder.iterdir()] == ["tuner.lock"]:
                (folder / "tuner.lock").unlink()
                folder.rmdir()
        except Exception:  # noqa: BLE001 - tidying only; whatever error is being raised is what the caller needs
            pass

    def stops_to_honour_from(self, name: str) -> int:
        """The stop-request count a run of tuning job ``name`` starting now must exceed to stop: the count now (read
        before the run takes the job, so a stop racing the start is kept), or 0 for a job not created yet. A worker
        joining a running job on a shared storage takes the running count instead, so a pending stop ends it too."""
        stored = self.resolve_name(name)
        if stored is None:
            return 0
        attrs = self.load(stored).user_attrs
        if self.shared and attrs.get(A_STATUS) not in TERMINAL_STATUSES:
            return min(stop_requests(attrs), attrs.get(A_RUN_STOPS, 0))
        return stop_requests(attrs)

    def resolve_name(self, name: str) -> str | None:
        """The stored spelling of ``name`` (AMT names are unique case-insensitively), or None."""
        low = name.lower()
        return next((n for n in self.names() if n.lower() == low), None)

    def load(self, name: str):
        """The Optuna study of tuning job ``name``. Raises TuningJobNotFound."""
        import optuna

        stored = self.resolve_name(name)
        if stored is None:
            raise TuningJobNotFound(name)
        return optuna.load_study(study_name=stored, storage=self.storage, sampler=optuna.samplers.RandomSampler())

    def create(self, request: dict, base_dir: Path, origin: str = "local"):
        """Create the study for a new tuning job and record its request. Returns the study.

        The caller checked that no job of that name exists (see :meth:`resolve_name`).
        """
        import optuna

        from amtlocal.spec import objective_of

        objective = objective_of(request)
        direction = "maximize" if objective.get("Type", "Maximize") == "Maximize" else "minimize"
        name = request["HyperParameterTuningJobName"]
        for stale in self.storage.get_all_studies():
            if stale.study_name.lower() == name.lower() and A_REQUEST not in stale.user_attrs:
                # A creation cut short (its process killed between the study and its request): no tuning job, and
                # nothing of it ran; it must not take the name for good.
                optuna.delete_study(study_name=stale.study_name, storage=self.storage)
        study = optuna.create_study(study_name=name, storage=self.storage, direction=direction)
        now = time.time()
        # The request last: it marks the creation complete (see names()), so a tuning job never lacks the others.
        for key, value in ((A_BASE_DIR, str(base_dir)), (A_STATUS, "InProgress"), (A_CREATED, now), (A_MODIFIED, now),
                           (A_N_HISTORY, 0), (A_ORIGIN, origin), (A_REQUEST, request)):
            study.set_user_attr(key, value)
        return study

    @property
    def shared(self) -> bool:
        """True for a PostgreSQL storage: several worker processes, on one machine or many, may run one tuning job."""
        return bool(self.storage_url) and self.storage_url.startswith(("postgresql", "postgres"))

    @contextlib.contextmanager
    def launch_lock(self, name: str):
        """Serialise "may another training job start?" + "start it" across workers (a PostgreSQL advisory lock);
        a no-op for the embedded store, where one tuner process owns a tuning job."""
        if not self.shared:
            yield
            return
        from sqlalchemy import text

        key = int(hashlib.sha1(name.lower().encode()).hexdigest()[:15], 16)
        with self.storage.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    def lock(self, name: str) -> "JobLock | contextlib.nullcontext":
        """An exclusive lock that one live tuner process holds while it runs tuning job ``name`` (none for a shared
        storage, where several workers run it together)."""
        if self.shared:
            return contextlib.nullcontext()
        return JobLock(self.job_dir(name) / "tuner.lock")


def _sqlite_wal(url: str) -> None:
    """Put the embedded SQLite store in WAL mode with synchronous=NORMAL (persistent in the file).

    Every training job costs a few small transactions; in the default rollback-journal mode each one fsyncs several
    times. WAL keeps each commit atomic and durable across a crash of the tuner (power loss may drop the last few
    commits, never corrupt the file), and readers (``amtlocal describe``) no longer block the writer.
    """
    import sqlite3

    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:":
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=60)
    try:
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()


INHERITED_LOCK_ENV = "AMTLOCAL_JOB_LOCK_FD"  # a background worker's inherited job lock (see JobLock.hand_over)


def worker_id() -> str:
    """``<host>:<pid>`` of this process, recorded on the training jobs it starts."""
    return f"{socket.gethostname()}:{os.getpid()}"


class JobLock:
    """``flock`` on a file: released by the kernel when the holder dies, so a killed tuner never blocks a resume."""

    BUSY_SECONDS = 0.25  # how long acquire() retries a held lock before it calls the job busy

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> "JobLock":
        """Take the lock without waiting. Raises TuningJobBusy when another live process holds it.

        A background worker adopts the lock its caller handed over (descriptor number in ``$AMTLOCAL_JOB_LOCK_FD``,
        see :meth:`hand_over`) instead of taking it again."""
        inherited = self._adopt()
        if inherited is not None:
            self._fd = inherited
            return self
        # Held for a moment by others too: a probe (held_elsewhere) or a tidy (drop_unused_job_dirs), which may also
        # remove the folder. Only a holder that keeps it past BUSY_SECONDS is a tuner.
        deadline = time.monotonic() + self.BUSY_SECONDS
        while True:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except (FileNotFoundError, FileExistsError):  # the folder was being removed: make it again
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() >= deadline:
                    raise TuningJobBusy.running(self.path.parent.name) from None  # the lock is <home>/jobs/<name>/tuner.lock
                time.sleep(0.005)
                continue
            try:  # still the file at that path? (a tidy may have removed it meanwhile)
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)  # at the start, wherever a shared descriptor's offset is
        self._fd = fd
        return self

    def _adopt(self) -> int | None:
        """The inherited descriptor of this same lock file, if this process was handed it; the hand-over is used once."""
        value = os.environ.get(INHERITED_LOCK_ENV)
        if not value:
            return None
        try:
            fd = int(value)
            if os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                return None
        except (ValueError, OSError):
            return None
        del os.environ[INHERITED_LOCK_ENV]  # not for the training jobs this process starts
        os.set_inheritable(fd, False)
        try:  # still ours? (a no-op when the handed-over lock is held; it fails if the caller let go and another took it)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise TuningJobBusy.running(self.path.parent.name) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        return fd

    def fileno(self) -> int:
        assert self._fd is not None, "acquire() first"
        return self._fd

    def hand_over(self) -> None:
        """Let go of this process's descriptor without unlocking: a child started with it (``pass_fds``) holds the
        lock on (flock belongs to the open file, which lives on in the child)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def holder(self) -> int | None:
        """The pid the last holder wrote (it may have let go since), or None. Read without locking, so a reader never
        makes a tuner's acquire() fail."""
        try:
            return int(self.path.read_text() or "x")
        except (OSError, ValueError):
            return None

    def held_elsewhere(self) -> bool:
        """True when some live process holds the lock (a tuner is running this job)."""
        if not self.path.exists():
            return False
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "JobLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _drop_partial_last_line(path: str, lock: "FlockJournalLock") -> None:
    """A journal whose last line has no newline was cut mid-write (a writer killed during a write of more than a
    page, or power loss): that change never completed, so it is dropped. Left there, the next appended line would
    be glued to it and Optuna would refuse to read the whole journal."""
    if not os.path.exists(path):
        return
    lock.acquire()
    try:
        with open(path, "rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            keep, step = 0, 1 << 16
            pos = size
            while pos > 0:  # the last newline, read backwards a block at a time
                start = max(0, pos - step)
                f.seek(start)
                block = f.read(pos - start)
                cut = block.rfind(b"\n")
                if cut >= 0:
                    keep = start + cut + 1
                    break
                pos = start
            f.truncate(keep)
    finally:
        lock.release()


class FlockJournalLock:
    """The journal file's inter-process lock, as ``flock`` on a side file: the kernel releases it when its holder
    dies, where Optuna's default symlink lock would stay behind a killed process for its grace period.
    It has the interface of Optuna's ``BaseJournalFileLock`` (``acquire``/``release``); each acquire opens its own
    descriptor, so threads of one process exclude each other too."""

    def __init__(self, path: str):
        self.path = path
        self._fds: list[int] = []

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fds.append(fd)
        return True

    def release(self) -> None:
        fd = self._fds.pop()
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
