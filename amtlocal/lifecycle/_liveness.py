"""Liveness of the workers of a shared (PostgreSQL) tuning job: each worker heartbeats its running training jobs;
any worker recovers the training jobs of a worker that stopped heartbeating (recorded Stopped, "worker lost", their
configurations queued again). Built on Optuna's heartbeats (see ``amtlocal/store/_rdb.py``).

The bound: a lost worker's training job is recorded Stopped at most ``heartbeat interval + grace period + poll``
seconds after the worker's end (:func:`lost_bound_seconds`), as long as another worker runs the job (or a ``stop``
waits for it): its last heartbeat is at most one interval old, it is stale once the grace period has passed, and a
live worker looks for stale training jobs every poll (POLL_SECONDS).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amtlocal.store import LocalStore, TrainingJobRecord

log = logging.getLogger("amtlocal")

POLL_SECONDS = 1.0  # how often a worker looks for lost training jobs (and stop requests)


def lost_bound_seconds(store: LocalStore) -> float | None:
    """The longest a lost worker's training job stays InProgress while some worker polls (seconds), or None when
    the storage is not shared."""
    liveness = store.liveness()
    if liveness is None:
        return None
    interval, grace = liveness
    return interval + grace + POLL_SECONDS


def recover_lost(store: LocalStore, study) -> list[TrainingJobRecord]:
    """Fail the training jobs of ``study`` whose worker stopped heartbeating (each by exactly one caller), queue
    their configurations again, end their processes if that worker ran on this host and is gone; return them.
    They read Stopped with a FailureReason "Interrupted: worker lost ..." and do not count toward
    MaxNumberOfTrainingJobs. A no-op on a storage that is not shared."""
    from amtlocal.lifecycle._orphans import dead_worker_here, kill_orphan

    lost = store.fail_lost_trials(study)
    for rec in lost:
        if rec.pid and dead_worker_here(rec.worker):
            kill_orphan(rec.pid, rec.name, rec.pid_start)
        if rec.params:
            study.enqueue_trial(dict(rec.params))
        log.warning(
            "%s: worker %s lost (no heartbeat for the grace period); recorded Stopped, its configuration runs again",
            rec.name or f"trial {rec.trial_number}",
            rec.worker or "?",
        )
    return lost


class Heartbeat:
    """The heartbeat of this worker's running trials on a shared storage: :meth:`add` records one at once (a trial
    is never running without one), then a daemon thread records one for each every heartbeat interval until
    :meth:`discard`. A failed heartbeat (the database restarting) is logged and tried again at the next beat. A
    no-op on a storage that is not shared."""

    def __init__(self, store: LocalStore):
        self.store = store
        liveness = store.liveness()
        self.interval = liveness[0] if liveness else None
        self._ids: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, trial_id: int) -> None:
        """Heartbeat ``trial_id`` now and from now on (call before another worker may judge it)."""
        if self.interval is None:
            return
        self.store.heartbeat(trial_id)
        with self._lock:
            self._ids.add(trial_id)
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="amtlocal-heartbeat", daemon=True)
            self._thread.start()

    def discard(self, trial_id: int) -> None:
        """No more heartbeats for ``trial_id`` (its training job has ended)."""
        with self._lock:
            self._ids.discard(trial_id)

    def close(self) -> None:
        """Stop the thread (it ends at its next beat at the latest)."""
        self._stop.set()

    def _beat(self) -> None:
        assert self.interval is not None
        while not self._stop.wait(self.interval):
            with self._lock:
                ids = sorted(self._ids)
            for trial_id in ids:
                try:
                    self.store.heartbeat(trial_id)
                except Exception as e:  # noqa: BLE001 - the next beat tries again; the main loop reports the outage
                    log.debug("heartbeat of trial %d not recorded: %s", trial_id, e)
