"""The records the store hands out: a tuning job and a training job as dataclasses (times as epoch seconds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amtlocal.store import _schema as K

# The FailureReason of a training job whose worker was lost (shared mode): AMT's "Interrupted" kind, run again.
WORKER_LOST_REASON = (
    "Interrupted: worker lost: {worker} stopped sending heartbeats while this training job ran; its configuration "
    "runs again on a live worker."
)


@dataclass
class TuningJobRecord:
    """One stored tuning job.

    Attributes:
        name: HyperParameterTuningJobName as stored.
        request: the CreateHyperParameterTuningJob request.
        base_dir: folder its relative local paths are relative to.
        status: the stored HyperParameterTuningJobStatus (as its holder last wrote it; see amtlocal.lifecycle for the
            status a reader sees).
        creation_time, end_time, last_modified: epoch seconds (end_time None while it runs).
        failure_reason: FailureReason or None.
        origin: ``local`` or ``sagemaker`` (pulled).
        completion_details: TuningJobCompletionDetails (ConvergenceDetectedTime as epoch seconds) or None.
        runtime_used: seconds its runs have taken (summed over resumed runs), None before the first run ends.
        stop_requests: how many stop requests were ever made.
        run_stop_requests: the stop-request count the current (or last) run started from.
    """

    name: str
    request: dict[str, Any]
    base_dir: str | None = None
    status: str = "InProgress"
    creation_time: float | None = None
    end_time: float | None = None
    last_modified: float | None = None
    failure_reason: str | None = None
    origin: str = "local"
    completion_details: dict[str, Any] | None = None
    runtime_used: float | None = None
    stop_requests: int = 0
    run_stop_requests: int = 0


@dataclass
class TrainingJobRecord:
    """One stored training job: a tuning job's (a trial of its study) or a standalone one.

    Attributes:
        name: TrainingJobName.
        summary: for a tuning job's training job, its HyperParameterTrainingJobSummary (epoch seconds); for a
            standalone one, its DescribeTrainingJob record (epoch seconds).
        tuning_job_name: the tuning job it belongs to, or None for a standalone training job.
        final_metrics: metric name -> last scraped value (FinalMetricDataList).
        role: ``own`` (a training job of this tuning job), ``history`` (a warm-start parent's), or None.
        interrupted: cut short by its tuner's end (Stopped, run again on resume, not counted toward the limit).
        worker, pid, pid_start: where it runs: ``host:pid`` of the tuner, its process group id, and the pid's start
            time in clock ticks (pids get reused).
        trial_number, trial_id, trial_state, params: the Optuna trial (tuning jobs' training jobs only).
        stop_requests: StopTrainingJob requests made (standalone training jobs only; counted as for tuning jobs).
        stop_requested: a StopTrainingJob was made for this tuning job's training job (its tuner stops it).
    """

    name: str
    summary: dict[str, Any]
    tuning_job_name: str | None = None
    final_metrics: dict[str, float] = field(default_factory=dict)
    role: str | None = None
    interrupted: bool = False
    worker: str | None = None
    pid: int | None = None
    pid_start: int | None = None
    trial_number: int | None = None
    trial_id: int | None = None
    trial_state: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    stop_requests: int = 0
    stop_requested: bool = False

    @property
    def status(self) -> str:
        """Its stored TrainingJobStatus."""
        return self.summary.get("TrainingJobStatus", "InProgress")


def read_tuning_job(study) -> TuningJobRecord:
    """The :class:`TuningJobRecord` of an Optuna study of a tuning job."""
    attrs = study.user_attrs
    values = {f: attrs.get(k) for f, k in K.TUNING_FIELDS.items() if attrs.get(k) is not None}
    values.setdefault("run_stop_requests", 0)
    stops = sum(1 for key in attrs if key.startswith(K.STOP_REQUEST_PREFIX))
    return TuningJobRecord(name=study.study_name, stop_requests=stops, **values)


def read_trial(trial, tuning_job_name: str | None = None) -> TrainingJobRecord:
    """The :class:`TrainingJobRecord` of a trial (a FrozenTrial). Its summary is empty for a trial asked but not
    yet started as a training job. A training job whose worker was lost reads Stopped (see :func:`_summary`)."""
    attrs = trial.user_attrs
    summary = _summary(trial) or {}
    where = attrs.get(K.TRIAL_FIELDS["process"]) or {}
    return TrainingJobRecord(
        name=summary.get("TrainingJobName", ""),
        summary=dict(summary),
        tuning_job_name=tuning_job_name,
        final_metrics=dict(attrs.get(K.TRIAL_FIELDS["final_metrics"]) or {}),
        role=attrs.get(K.TRIAL_FIELDS["role"]),
        interrupted=bool(attrs.get(K.TRIAL_FIELDS["interrupted"])) or _lost(trial),
        worker=where.get(K.PROCESS_WORKER),
        pid=where.get(K.PROCESS_PID),
        pid_start=where.get(K.PROCESS_PID_START),
        trial_number=trial.number,
        trial_id=trial._trial_id,
        trial_state=trial.state.name,
        params=dict(trial.params),
        stop_requested=bool(attrs.get(K.TRIAL_FIELDS["stop_requested"])),
    )


def _lost(trial) -> bool:
    """A training job whose trial ended while its record still says InProgress: its worker stopped heartbeating and
    another worker failed the trial (:meth:`LocalStore.fail_lost_trials`). Every worker records a training job's end
    before it tells Optuna, and Optuna freezes a trial once it has ended, so nothing else leaves this state."""
    summary = trial.user_attrs.get(K.TRIAL_FIELDS["summary"])
    return bool(
        summary
        and trial.state.is_finished()
        and summary.get("TrainingJobStatus", "InProgress") == "InProgress"
        and trial.user_attrs.get(K.TRIAL_FIELDS["role"]) == K.ROLE_OWN
    )


def _summary(trial) -> dict | None:
    """The trial's stored summary, or for a lost training job (:func:`_lost`) its summary as AMT would show it:
    Stopped, objective Failed, FailureReason :data:`WORKER_LOST_REASON`, ended when the trial was failed."""
    summary = trial.user_attrs.get(K.TRIAL_FIELDS["summary"])
    if not _lost(trial):
        return summary
    worker = (trial.user_attrs.get(K.TRIAL_FIELDS["process"]) or {}).get(K.PROCESS_WORKER) or "its worker"
    lost = dict(summary)
    lost.update(
        TrainingJobStatus="Stopped",
        ObjectiveStatus="Failed",
        FailureReason=WORKER_LOST_REASON.format(worker=worker),
    )
    if trial.datetime_complete is not None:
        lost["TrainingEndTime"] = trial.datetime_complete.timestamp()
    lost.pop("FinalHyperParameterTuningJobObjectiveMetric", None)
    return lost


def trials_of(study, role: str | None = K.ROLE_OWN) -> list[TrainingJobRecord]:
    """Training job records of a tuning job's study, in creation order: ``role`` ``own`` (default; only trials that
    became training jobs), ``history`` (warm-start parents' evaluations), or None (every trial, also those asked
    but never started)."""
    out = []
    for t in study.get_trials(deepcopy=False):
        rec = read_trial(t, study.study_name)
        if role is None or (rec.role == role and rec.summary):
            out.append(rec)
    return out


def summaries_of(study, role: str = K.ROLE_OWN) -> list[dict]:
    """The stored summaries of :func:`trials_of` (shared dicts: copy before changing)."""
    key, role_key = K.TRIAL_FIELDS["summary"], K.TRIAL_FIELDS["role"]
    return [
        _summary(t) or {}
        for t in study.get_trials(deepcopy=False)
        if t.user_attrs.get(role_key) == role and key in t.user_attrs
    ]
