"""Transitions of a tuning job: run (InProgress), stop requests, Stopping, the end (Completed | Failed | Stopped),
the hand-over of the job's lock to a background worker, and stopping a job whose tuner is gone."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from amtlocal.exceptions import TuningJobBusy
from amtlocal.lifecycle._status import FINAL_STATUSES, TERMINAL_STATUSES, TuningJobStatus

if TYPE_CHECKING:
    from amtlocal.store import LocalStore, TuningJobRecord

STOP_TAKEN_SECONDS = 5.0  # how long stop_tuning_job waits for the job's holder to take the request or let go


def visible_status(record: TuningJobRecord) -> str:
    """The HyperParameterTuningJobStatus a reader sees: the stored one, except Stopping for a running job asked to
    stop (its tuner writes Stopping when it takes the request, Stopped when its training jobs have ended)."""
    if record.status == TuningJobStatus.IN_PROGRESS and record.stop_requests > record.run_stop_requests:
        return TuningJobStatus.STOPPING.value
    return record.status


def stops_to_honour_from(store: LocalStore, name: str) -> int:
    """The stop-request count a run of tuning job ``name`` starting now must exceed to stop: the count now (read
    before the run takes the job, so a stop racing the start is kept), or 0 for a job not created yet. A worker
    joining a running job on a shared storage takes the running count instead, so a pending stop ends it too."""
    stored = store.resolve_name(name)
    if stored is None:
        return 0
    rec = store.tuning_job(stored)
    if store.shared and rec.status not in TERMINAL_STATUSES:
        return min(rec.stop_requests, rec.run_stop_requests)
    return rec.stop_requests


def stop_requested(store: LocalStore, study, stops_seen: int) -> bool:
    """A stop request made since the run that started from count ``stops_seen`` was asked for (read fresh)."""
    return store.tuning_job(study).stop_requests > stops_seen


def mark_running(store: LocalStore, study, stops_seen: int) -> None:
    """InProgress for a run that started from stop-request count ``stops_seen``."""
    store.update_tuning_job(
        study,
        run_stop_requests=stops_seen,
        status=TuningJobStatus.IN_PROGRESS.value,
        end_time=None,
        failure_reason=None,
    )


def mark_stopping(store: LocalStore, study) -> None:
    """The holder took a stop (or a Ctrl-C): it is stopping the training jobs."""
    store.update_tuning_job(study, status=TuningJobStatus.STOPPING.value)


def mark_stopped(store: LocalStore, study) -> None:
    """Stopped (resumable)."""
    store.update_tuning_job(study, status=TuningJobStatus.STOPPED.value, end_time=time.time())


def finish(store: LocalStore, study, status: str, failure_reason: str | None, completion_details: dict | None) -> None:
    """The run's last word: Completed, Failed or Stopped, with FailureReason and TuningJobCompletionDetails."""
    fields = {"status": str(status), "end_time": time.time(), "failure_reason": failure_reason}
    if completion_details is not None:
        fields["completion_details"] = completion_details
    store.update_tuning_job(study, **fields)


def add_runtime(store: LocalStore, study, seconds: float) -> None:
    """Add a run's duration to ConsumedResources.RuntimeInSeconds."""
    used = store.tuning_job(study).runtime_used or 0.0
    store.update_tuning_job(study, runtime_used=used + seconds)


def begin_run(store: LocalStore, study, stops_seen: int) -> bool:
    """Under the job's lock, before a run: False when the job must not run (Completed or Failed, or a stop request
    came before the run got going: then it is Stopped); else orphans of a dead tuner are recovered and the job is
    InProgress for this run."""
    from amtlocal.lifecycle._liveness import recover_lost
    from amtlocal.lifecycle._orphans import recover_orphans

    if store.tuning_job(study).status in FINAL_STATUSES:
        return False
    recover_orphans(store, study)  # this process holds the job: whatever is still RUNNING was a dead tuner's
    recover_lost(store, study)  # shared: training jobs of workers that stopped heartbeating
    if stop_requested(store, study, stops_seen):
        mark_stopped(store, study)
        return False
    mark_running(store, study, stops_seen)
    return True


def stop_tuning_job(store: LocalStore, name: str, taken_seconds: float = STOP_TAKEN_SECONDS) -> None:
    """StopHyperParameterTuningJob (see the package docstring for what it promises). Raises TuningJobNotFound."""
    study = store.load(name)
    if store.tuning_job(study).status in FINAL_STATUSES:
        return
    if store.shared:  # no job lock: every worker, wherever it runs, sees the request and stops
        store.add_stop_request(study)
        _stop_shared(store, study, taken_seconds)
        return
    if _stop_here(store, study):
        return
    # Someone holds the job. A tuner read its starting count before it took the job, so this request (made after
    # finding the job taken) is above it, and it says it took it by writing Stopping. A holder that will not run
    # the job (a refused or finished `tune`, a `stop`) lets go soon: then the job is stopped here.
    store.add_stop_request(study)
    deadline = time.monotonic() + taken_seconds
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if store.tuning_job(study.study_name).status in (TuningJobStatus.STOPPING, *TERMINAL_STATUSES):
            return
        if _stop_here(store, study):
            return


def _stop_shared(store: LocalStore, study, taken_seconds: float) -> None:
    """Shared mode, after the request: return once a live worker has taken it (Stopping) or the job has ended.
    With no live worker, end it here: recover the lost workers' training jobs (waiting until they are stale, at
    most :func:`lost_bound_seconds`), then write Stopped."""
    from amtlocal.lifecycle._liveness import POLL_SECONDS, lost_bound_seconds, recover_lost

    deadline = time.monotonic() + taken_seconds
    while time.monotonic() < deadline:
        if store.tuning_job(study.study_name).status in (TuningJobStatus.STOPPING, *TERMINAL_STATUSES):
            return
        time.sleep(0.1)
    give_up = time.monotonic() + (lost_bound_seconds(store) or 0.0) + POLL_SECONDS
    while True:
        if store.tuning_job(study.study_name).status in (TuningJobStatus.STOPPING, *TERMINAL_STATUSES):
            return  # a worker took it meanwhile
        recover_lost(store, study)
        running = [t for t in store.trials(study, role=None) if t.trial_state == "RUNNING" and t.role == "own"]
        if not running or time.monotonic() >= give_up:
            break
        time.sleep(POLL_SECONDS)
    mark_stopped(store, study)


def _stop_here(store: LocalStore, study) -> bool:
    """With no tuner holding the job: end what a dead tuner left running, mark the job Stopped; True. False when
    a tuner holds the job. Also raises the request count, so a worker started before this stop never runs."""
    from amtlocal.lifecycle._orphans import recover_orphans

    try:
        lock = store.job_lock(study.study_name).acquire()  # not shared: stop_tuning_job checked
    except TuningJobBusy:
        return False
    try:
        status = store.tuning_job(study).status
        if status in FINAL_STATUSES:
            return True
        store.add_stop_request(study)  # also for a Stopped job: a background worker about to resume it must not
        if status == TuningJobStatus.STOPPED:
            return True
        recover_orphans(store, study)
        mark_stopped(store, study)
        return True
    finally:
        lock.release()


def start_in_background(store: LocalStore, name: str, prepare: Callable, start_worker: Callable, interrupted) -> None:
    """Create (or find) tuning job ``name`` and hand it to a background worker, holding the job's lock throughout.

    Every error a user can fix surfaces here, in the caller, before the worker starts; under the job's lock, so that
    a job another tuner runs is refused here (TuningJobBusy) and two callers never create it twice. The worker
    inherits the lock itself (the locked descriptor): there is no moment when the job is free between this caller
    and its worker. A Ctrl-C meanwhile (``interrupted`` set) is taken once the job is consistent: Stopped, no worker.

    Args:
        prepare: ``() -> study`` (validates, creates or finds the study).
        start_worker: ``(stops_seen, lock or None) -> worker`` starts the worker, handing it the lock.
    Returns the worker.
    """
    stops_seen = stops_to_honour_from(store, name)  # before the lock: a stop from now on ends the run
    lock = None if store.shared else store.job_lock(name).acquire()
    spawning = False
    try:
        try:
            study = prepare()
        except BaseException:
            store.drop_unused_job_dir(name)  # under the lock: nobody is between its checks and removal
            raise
        rec = store.tuning_job(study)
        if interrupted.is_set():
            if lock is not None and rec.status == TuningJobStatus.IN_PROGRESS:
                mark_stopped(store, study)
            raise KeyboardInterrupt
        if lock is not None and rec.status == TuningJobStatus.STOPPED and rec.stop_requests <= stops_seen:
            # Resumed in the background: InProgress from now on (what the worker's run writes), so that a describe
            # or wait() right after this call never sees the old Stopped and returns.
            mark_running(store, study, stops_seen)
        spawning = True
        return start_worker(stops_seen, lock)
    finally:
        if lock is not None and spawning:
            # The worker holds the lock now (or, if the start failed, nobody else has the descriptor): this process
            # only lets go of its own; unlocking would unlock the worker's too (one open file).
            lock.hand_over()
        elif lock is not None:
            lock.release()
