"""Inter-process locks of the local store: the job lock one tuner holds while it runs a job, and the journal lock.

Both are ``flock`` locks: the kernel releases them when their holder dies, so a killed process never leaves a job or
the store locked.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from amtlocal.exceptions import TuningJobBusy

INHERITED_LOCK_ENV = "AMTLOCAL_JOB_LOCK_FD"  # a background worker's inherited job lock (see JobLock.hand_over)


class JobLock:
    """``flock`` on a file: released by the kernel when the holder dies, so a killed tuner never blocks a resume."""

    BUSY_SECONDS = 0.25  # how long acquire() retries a held lock before it calls the job busy

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> JobLock:
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
            fd = self._try_once(deadline)
            if fd is not None:
                break
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)  # at the start, wherever a shared descriptor's offset is
        self._fd = fd
        return self

    def _try_once(self, deadline: float) -> int | None:
        """One attempt: the locked descriptor of the file now at ``path``, or None to try again."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except (FileNotFoundError, FileExistsError):  # the folder was being removed: make it again
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise TuningJobBusy.running(
                    self.path.parent.name
                ) from None  # the lock is <home>/jobs/<name>/tuner.lock
            time.sleep(0.005)
            return None
        try:  # still the file at that path? (a tidy may have removed it meanwhile)
            if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
        return None

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
        """The locked descriptor (to hand over to a child with ``pass_fds``). Call after :meth:`acquire`."""
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
        """Unlock and close (a no-op when not held)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JobLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


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
