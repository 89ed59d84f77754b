"""Transitions of a tuning job's training jobs: launched (InProgress, objective Pending), started (its process
recorded), ended (Completed | Failed | Stopped with its objective), interrupted (Stopped, run again on resume)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from amtlocal.lifecycle._status import ObjectiveStatus, TrainingJobStatus

if TYPE_CHECKING:
    from amtlocal.store import LocalStore

log = logging.getLogger("amtlocal")

FAILURE_REASON_MAX = 1024  # FailureReason max length in the API model
STOPPED_FOR_FAILURE = "Stopped because the tuning job failed (no training job succeeded)"
INTERRUPTED_BY_STOP = "Interrupted: the tuning job was stopped; this configuration runs again on resume."


@dataclass
class TrainingJobOutcome:
    """How a training job ended, in AMT terms.

    Attributes:
        status: ``Completed`` | ``Failed`` | ``Stopped`` (TrainingJobStatus).
        failure_reason: FailureReason (at most 1024 characters) or None.
        exit_code: the entry point's exit code (negative: killed by that signal), None if it never started.
        start_time, end_time: epoch seconds (TrainingStartTime, TrainingEndTime).
        final_metrics: metric name -> last value (FinalMetricDataList).
        objective: the final objective value when usable, else None (ObjectiveStatus Failed).
        objective_reason: why ``objective`` is None.
        stop_reason: why the job was stopped, when it was.
    """

    status: str
    failure_reason: str | None
    exit_code: int | None
    start_time: float
    end_time: float
    final_metrics: dict[str, float] = field(default_factory=dict)
    objective: float | None = None
    objective_reason: str | None = None
    stop_reason: str | None = None

    @classmethod
    def failed(cls, reason: str) -> TrainingJobOutcome:
        """A job that failed before or outside its entry point (times: now)."""
        now = time.time()
        return cls(TrainingJobStatus.FAILED.value, reason[:FAILURE_REASON_MAX], None, now, now)


def launch(store: LocalStore, trial, summary: dict[str, Any]) -> None:
    """A trial becomes a training job: recorded InProgress with objective Pending, before its process starts."""
    summary.update(TrainingJobStatus=TrainingJobStatus.IN_PROGRESS.value, ObjectiveStatus=ObjectiveStatus.PENDING.value)
    store.record_launch(trial, summary)


def started(store: LocalStore, trial, pid: int | None) -> None:
    """Its process runs: record the pid and the pid's start time (for orphan recovery)."""
    from amtlocal.lifecycle._orphans import process_start

    store.record_process(trial, pid, process_start(pid))


def ended(
    store: LocalStore, study, trial, summary: dict, outcome: TrainingJobOutcome, objective: dict, pruned: bool = False
) -> dict:
    """Record a training job's end and tell Optuna (summary first: a told trial is frozen). Returns the summary.

    Args:
        summary: its stored summary (a copy; updated here).
        objective: ``{"Type", "MetricName"}`` of its definition.
        pruned: stopped early by the pruner (the trial is told PRUNED).
    """
    import optuna

    if outcome.stop_reason == "TuningJobFailed":  # stopped because the tuning job failed: it never ranks
        outcome.objective, outcome.failure_reason = None, STOPPED_FOR_FAILURE
    summary.update(
        TrainingStartTime=outcome.start_time, TrainingEndTime=outcome.end_time, TrainingJobStatus=outcome.status
    )
    reason = outcome.failure_reason or (outcome.objective_reason if outcome.objective is None else None)
    if reason:
        summary["FailureReason"] = reason[:FAILURE_REASON_MAX]
        if outcome.objective is None and outcome.status != TrainingJobStatus.FAILED:
            log.warning("%s: %s", summary["TrainingJobName"], reason)
    if outcome.objective is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective["Type"],
            "MetricName": objective["MetricName"],
            "Value": outcome.objective,
        }
        summary["ObjectiveStatus"] = ObjectiveStatus.SUCCEEDED.value
    else:
        summary["ObjectiveStatus"] = ObjectiveStatus.FAILED.value
    store.record_result(trial, summary, outcome.final_metrics)
    if pruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    elif outcome.objective is not None:
        study.tell(trial, outcome.objective)
    else:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return summary


def stop_child(store: LocalStore, rec, taken_seconds: float = 5.0) -> None:
    """StopTrainingJob of a tuning job's training job ``rec`` (a TrainingJobRecord): the request is recorded on it;
    the tuner running the tuning job sends SIGTERM (SIGKILL after the grace period) and records it Stopped; the tuning
    job goes on. Returns once it has ended, or after ``taken_seconds``. With no live tuner the training job is an
    orphan: the next run or stop of its tuning job ends and records it (see :func:`recover_orphans`)."""
    if rec.status != TrainingJobStatus.IN_PROGRESS or rec.trial_id is None:
        return
    if not store.request_trial_stop(rec.trial_id):
        return
    deadline = time.monotonic() + taken_seconds
    while time.monotonic() < deadline:
        if store.find_training_job(rec.name).status != TrainingJobStatus.IN_PROGRESS:
            return
        time.sleep(0.1)


def finish_interrupted(
    store: LocalStore,
    study,
    trial_id: int,
    number: int,
    params: dict,
    summary: dict,
    reason: str,
    end: float | None = None,
    start: float | None = None,
) -> dict:
    """Record a training job cut short by the tuner's end (Stopped, not counted toward MaxNumberOfTrainingJobs) and
    enqueue its configuration again. ``start``/``end``: its TrainingStartTime/TrainingEndTime (epoch seconds; end
    defaults to now), so that it keeps its place on timelines and in TrainingElapsedTimeSeconds. Returns the summary."""
    import optuna

    summary.update(
        TrainingJobStatus=TrainingJobStatus.STOPPED.value,
        FailureReason=reason,
        ObjectiveStatus=ObjectiveStatus.FAILED.value,
        TrainingEndTime=end or time.time(),
    )
    if start:
        summary["TrainingStartTime"] = start
    summary.pop("FinalHyperParameterTuningJobObjectiveMetric", None)
    store.record_result(trial_id, summary, interrupted=True)
    study.tell(number, state=optuna.trial.TrialState.FAIL)
    study.enqueue_trial(dict(params))
    return summary
