"""Following one job: a :class:`JobProgress` is fed by a backend's ``progress=`` callbacks, by a polling thread, or
both, and passes :class:`Snapshot` s to one :class:`ProgressDisplay`."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from amtlocal.progress._base import ProgressDisplay
from amtlocal.progress._snapshot import Snapshot

log = logging.getLogger("amtlocal")


class JobProgress:
    """The progress of one job on one display.

    Args:
        display: where it shows.
        describe: returns the job's Describe* response (DescribeHyperParameterTuningJob or DescribeTrainingJob).
        snapshot: that response -> :class:`Snapshot` (``Snapshot.from_tuning_job`` / ``from_training_job``).
        poll: seconds between describes, both for the polling thread and, at most, for enriching callbacks.

    Use it as a backend's ``progress=`` callable (it takes the ``Progress`` objects backends pass: name, finished,
    total, running, best, metric; failures and the best job's name come from a describe at most every ``poll`` s),
    and/or wrap a blocking wait in :meth:`following`. Display and describe errors are logged at DEBUG, never raised.
    """

    def __init__(
        self,
        display: ProgressDisplay,
        describe: Callable[[], dict[str, Any]],
        snapshot: Callable[[dict[str, Any]], Snapshot],
        poll: float = 1.0,
    ):
        self.display, self._describe, self._snapshot, self.poll = display, describe, snapshot, poll
        self._lock = threading.Lock()
        self._last: Snapshot | None = None
        self._described_at: float | None = None
        self._closed = False

    def _show(self, snap: Snapshot) -> None:
        with self._lock:
            if self._closed:
                return
            self._last = snap
            try:
                self.display.update(snap)
            except Exception:  # noqa: BLE001 - progress never fails a job
                log.debug("progress display failed", exc_info=True)

    def _described(self) -> Snapshot | None:
        try:
            snap = self._snapshot(self._describe())
        except Exception:  # noqa: BLE001 - e.g. the job is not in the store yet
            log.debug("describe for progress failed", exc_info=True)
            return None
        self._described_at = time.monotonic()
        return snap

    def refresh(self) -> Snapshot | None:
        """Describe the job now and show it; returns the snapshot (None when the describe failed)."""
        snap = self._described()
        if snap is not None:
            self._show(snap)
        return snap

    def __call__(self, progress: Any) -> None:
        """A backend's ``progress=`` callback (a ``Progress``)."""
        if self._described_at is None or time.monotonic() - self._described_at >= self.poll:
            snap = self._described()
            if snap is not None:  # the callback's counts are the newest; the describe adds failures and the job
                snap.done, snap.running, snap.best = progress.finished, progress.running, progress.best
                snap.total = progress.total if progress.total is not None else snap.total
                self._show(snap)
                return
        snap = Snapshot.from_progress(progress)
        last = self._last
        if last is not None:
            snap.failed, snap.stopped, snap.elapsed = last.failed, last.stopped, last.elapsed
            snap.best_job = last.best_job if last.best == progress.best else None
        self._show(snap)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The display out of the way while the body writes to the same medium (:meth:`ProgressDisplay.paused`)."""
        with self._lock:  # no redraw in between
            if self._closed:
                yield
                return
            with self.display.paused():  # displays never raise for their own problems (ProgressDisplay)
                yield

    @contextlib.contextmanager
    def following(self) -> Iterator[JobProgress]:
        """Poll the job every ``poll`` seconds in a daemon thread while the body blocks (only for a live display);
        then show the final state and close the display (with the summary line when the job ended)."""
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                self.refresh()
                stop.wait(self.poll)

        thread = None
        if self.display.live:
            thread = threading.Thread(target=run, name="amtlocal-progress", daemon=True)
            thread.start()
        else:
            self.refresh()  # the start line
        try:
            yield self
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=10)
            self.close()

    def close(self) -> None:
        """Describe once more, then close the display (idempotent)."""
        if self._closed:
            return
        snap = self.refresh() or self._last
        with self._lock:
            self._closed = True
            try:
                self.display.close(snap)
            except Exception:  # noqa: BLE001
                log.debug("progress display failed", exc_info=True)
