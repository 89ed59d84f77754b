"""The records the store hands out: a tuning job and a training job as dataclasses (times as epoch seconds)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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
        worker_deaths: why each process that ran this job ended before it did, oldest first (one line each, e.g.
            ``the worker process (pid 123) was killed by SIGKILL``); what :mod:`amtlocal.lifecycle` counts to resume
            such a job once and then record it Failed.
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
    worker_deaths: list[str] = field(default_factory=list)


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


@dataclass
class TuningJobListing:
    """What ListHyperParameterTuningJobs shows of one tuning job, as the index keeps it (read without its journal).

    Attributes:
        record: its :class:`TuningJobRecord`, whose ``request`` holds only HyperParameterTuningJobName and
            HyperParameterTuningJobConfig's Strategy and ResourceLimits.
        status_counts: TrainingJobStatus -> how many of its own training jobs have it.
        objective_counts: ObjectiveStatus -> how many of its own training jobs have it (a missing one is Pending).
        interrupted: how many of its training jobs an interruption cut short (run again on resume).
    """

    record: TuningJobRecord
    status_counts: dict[str, int] = field(default_factory=dict)
    objective_counts: dict[str, int] = field(default_factory=dict)
    interrupted: int = 0


def digest_of(name: str, user_attrs: dict, trials: list) -> tuple[dict, list[str]]:
    """The index's digest of a study (a JSON object) and the names of its own training jobs.

    A tuning job's digest is a :class:`TuningJobListing` (``kind`` ``tuning``); a standalone training job's says only
    whether its creation completed (``kind`` ``training``). ``complete``: the creation's last record is written."""
    if name.startswith(K.STANDALONE_PREFIX):
        return {"kind": "training", "complete": K.STANDALONE_RECORD in user_attrs}, []
    request = user_attrs.get(K.TUNING_FIELDS["request"])
    if request is None:
        return {"kind": "tuning", "complete": False}, []
    rec = read_tuning_job(_Attrs(name, user_attrs))
    config = request.get("HyperParameterTuningJobConfig") or {}
    rec.request = {
        "HyperParameterTuningJobName": request.get("HyperParameterTuningJobName", name),
        "HyperParameterTuningJobConfig": {k: config[k] for k in ("Strategy", "ResourceLimits") if k in config},
    }
    status: dict[str, int] = {}
    objective: dict[str, int] = {}
    interrupted, owned = 0, []
    for t in trials:
        r = read_trial(t, name)
        if r.role != K.ROLE_OWN or not r.summary:
            continue
        owned.append(r.name)
        status[r.status] = status.get(r.status, 0) + 1
        o = r.summary.get("ObjectiveStatus", "Pending")
        objective[o] = objective.get(o, 0) + 1
        interrupted += r.interrupted
    listing = {
        "record": asdict(rec),
        "status_counts": status,
        "objective_counts": objective,
        "interrupted": interrupted,
    }
    return {"kind": "tuning", "complete": True, "listing": listing}, owned


# The fields of a training job's summary (or a standalone one's record) that ListTrainingJobs reads: its
# TrainingJobSummary (LastModifiedTime and SecondaryStatus derived from the others for a tuning job's training job).
LISTED_FIELDS = (
    "TrainingJobName",
    "TrainingJobArn",
    "CreationTime",
    "TrainingStartTime",
    "TrainingEndTime",
    "LastModifiedTime",
    "TrainingJobStatus",
    "SecondaryStatus",
    "FailureReason",
)


def training_rows_of(name: str, user_attrs: dict, trials: list) -> list[dict]:
    """What ListTrainingJobs shows of a study's training jobs, as the index keeps it (JSON objects): for a tuning
    job, each own training job's summary cut to :data:`LISTED_FIELDS`, in trial order; for a standalone training
    job, its record cut so. Empty for a study whose creation is not complete."""
    if name.startswith(K.STANDALONE_PREFIX):
        record = user_attrs.get(K.STANDALONE_RECORD)
        return [] if record is None else [_listed(record)]
    if K.TUNING_FIELDS["request"] not in user_attrs:
        return []
    out = []
    for t in trials:
        r = read_trial(t, name)
        if r.role == K.ROLE_OWN and r.summary:
            out.append(_listed(r.summary))
    return out


def listed_records(name: str, rows: list[dict]) -> list[TrainingJobRecord]:
    """The :class:`TrainingJobRecord` of each row of :func:`training_rows_of` of study ``name`` (summary: the row)."""
    if name.startswith(K.STANDALONE_PREFIX):
        return [TrainingJobRecord(name=row["TrainingJobName"], summary=row) for row in rows]
    return [TrainingJobRecord(name=row.get("TrainingJobName", ""), summary=row, tuning_job_name=name) for row in rows]


def _listed(summary: dict) -> dict:
    return {k: summary[k] for k in LISTED_FIELDS if k in summary}


def listing_of(digest: dict) -> TuningJobListing | None:
    """The :class:`TuningJobListing` in a digest of :func:`digest_of`, or None (no complete tuning job)."""
    data = digest.get("listing")
    if digest.get("kind") != "tuning" or not digest.get("complete") or data is None:
        return None
    return TuningJobListing(
        record=TuningJobRecord(**data["record"]),
        status_counts=data["status_counts"],
        objective_counts=data["objective_counts"],
        interrupted=data["interrupted"],
    )


class _Attrs:
    """A study's name and user attributes, shaped as :func:`read_tuning_job` reads a study."""

    def __init__(self, name: str, user_attrs: dict):
        self.study_name, self.user_attrs = name, user_attrs
