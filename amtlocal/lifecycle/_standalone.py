"""Transitions of a standalone training job (CreateTrainingJob): InProgress (SecondaryStatus Starting, then Training)
--> Completed | Failed | Stopped (Stopping between a stop request and the end; MaxRuntimeExceeded as Stopped with
SecondaryStatus MaxRuntimeExceeded). Its status is written only by the holder of its lock (the process running it);
a job whose holder died is recovered by the next reader: Failed, with a FailureReason saying why."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from amtlocal.exceptions import TuningJobBusy
from amtlocal.lifecycle._status import TERMINAL_STATUSES, SecondaryStatus, TrainingJobStatus

if TYPE_CHECKING:
    from amtlocal.lifecycle._training import TrainingJobOutcome
    from amtlocal.store import LocalStore

LAUNCHER_DIED = (
    "InternalServerError: the process running this training job ended before the job did (killed?); "
    "its process group was ended"
)
STOP_TAKEN_SECONDS = 5.0


def _transition(record: dict, status: str, now: float, message: str) -> None:
    """Close the open SecondaryStatusTransition and open ``status`` (epoch seconds)."""
    items = record.setdefault("SecondaryStatusTransitions", [])
    if items and "EndTime" not in items[-1]:
        items[-1]["EndTime"] = now
    items.append({"Status": status, "StartTime": now, "StatusMessage": message})


def created(record: dict[str, Any]) -> dict[str, Any]:
    """A new standalone training job's record: InProgress, Starting."""
    now = time.time()
    record.update(
        TrainingJobStatus=TrainingJobStatus.IN_PROGRESS.value,
        SecondaryStatus=SecondaryStatus.STARTING.value,
        CreationTime=now,
        LastModifiedTime=now,
    )
    _transition(record, SecondaryStatus.STARTING.value, now, "Preparing the instances for training")
    return record


def training(store: LocalStore, name: str, pid: int | None, start: float) -> None:
    """Its entry point runs (holder only): SecondaryStatus Training, TrainingStartTime, where it runs."""
    from amtlocal.lifecycle._orphans import process_start

    record = dict(store.find_training_job(name).summary)
    _transition(
        record, SecondaryStatus.TRAINING.value, start, "Training image download completed. Training in progress."
    )
    store.record_training_job_process(name, pid, process_start(pid))
    store.update_training_job(
        name,
        SecondaryStatus=SecondaryStatus.TRAINING.value,
        TrainingStartTime=start,
        LastModifiedTime=time.time(),
        SecondaryStatusTransitions=record["SecondaryStatusTransitions"],
    )


def stopping(store: LocalStore, name: str) -> None:
    """The holder took a stop request: Stopping until the entry point has ended; the open SecondaryStatusTransition
    (Starting or Training) ends now and a Stopping one opens (SecondaryStatusTransition.Status ``Stopping``)."""
    now = time.time()
    record = dict(store.find_training_job(name).summary)
    _transition(record, SecondaryStatus.STOPPING.value, now, "Stopping the training job")
    store.update_training_job(
        name,
        TrainingJobStatus=TrainingJobStatus.STOPPING.value,
        SecondaryStatus=SecondaryStatus.STOPPING.value,
        LastModifiedTime=now,
        SecondaryStatusTransitions=record["SecondaryStatusTransitions"],
    )


def ended(store: LocalStore, name: str, outcome: TrainingJobOutcome) -> dict[str, Any]:
    """The holder's last word: Completed | Failed | Stopped with FailureReason, FinalMetricDataList, times."""
    record = dict(store.find_training_job(name).summary)
    status = outcome.status
    secondary = status
    if outcome.stop_reason == "MaxRuntimeExceeded":
        secondary = SecondaryStatus.MAX_RUNTIME_EXCEEDED.value
    _transition(record, secondary, outcome.end_time, f"Training job {secondary}")
    record["SecondaryStatusTransitions"][-1]["EndTime"] = outcome.end_time
    fields: dict[str, Any] = {
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "TrainingEndTime": outcome.end_time,
        "LastModifiedTime": time.time(),
        "SecondaryStatusTransitions": record["SecondaryStatusTransitions"],
        "FinalMetricDataList": [
            {"MetricName": k, "Value": v, "Timestamp": outcome.end_time}
            for k, v in outcome.final_metrics.items()
            if math.isfinite(v)
        ],
    }
    if outcome.start_time:
        fields["TrainingStartTime"] = outcome.start_time
        fields["TrainingTimeInSeconds"] = fields["BillableTimeInSeconds"] = max(
            1, int(math.ceil(outcome.end_time - outcome.start_time))
        )
    if outcome.failure_reason:
        fields["FailureReason"] = outcome.failure_reason
    return store.update_training_job(name, **fields)


def recover(store: LocalStore, name: str) -> None:
    """A standalone job InProgress or Stopping whose holder is gone: end its process group and record it Failed
    (or Stopped, when a stop was requested) with the reason. A no-op while a live process holds the job."""
    from amtlocal.lifecycle._orphans import kill_orphan

    rec = store.find_training_job(name)
    if rec.tuning_job_name is not None or rec.status in TERMINAL_STATUSES:
        return
    try:
        lock = store.training_job_lock(rec.name).acquire()
    except TuningJobBusy:
        return  # its runner is alive
    try:
        rec = store.find_training_job(name)
        if rec.status in TERMINAL_STATUSES:
            return
        kill_orphan(rec.pid, rec.name, rec.pid_start)
        now = time.time()
        record = dict(rec.summary)
        stopped = rec.stop_requests > 0
        final = SecondaryStatus.STOPPED.value if stopped else SecondaryStatus.FAILED.value
        _transition(record, final, now, LAUNCHER_DIED)
        record["SecondaryStatusTransitions"][-1]["EndTime"] = now
        store.update_training_job(
            name,
            TrainingJobStatus=TrainingJobStatus.STOPPED.value if stopped else TrainingJobStatus.FAILED.value,
            SecondaryStatus=final,
            FailureReason=LAUNCHER_DIED,
            TrainingEndTime=now,
            LastModifiedTime=now,
            SecondaryStatusTransitions=record["SecondaryStatusTransitions"],
        )
    finally:
        lock.release()


def stop_training_job(store: LocalStore, name: str, taken_seconds: float = STOP_TAKEN_SECONDS) -> None:
    """StopTrainingJob of a standalone job: a stop request is counted; the holder sends SIGTERM (then SIGKILL after
    the grace period) and writes Stopping, then Stopped. Returns once it took the request (Stopping) or the job has
    ended; with no live holder the job is recovered at once (:func:`recover`). A job that ended is left as it is."""
    rec = store.find_training_job(name)
    if rec.status in TERMINAL_STATUSES:
        return
    store.add_training_job_stop_request(rec.name)
    deadline = time.monotonic() + taken_seconds
    while True:
        recover(store, rec.name)
        if store.find_training_job(rec.name).status != TrainingJobStatus.IN_PROGRESS or time.monotonic() >= deadline:
            return
        time.sleep(0.1)
