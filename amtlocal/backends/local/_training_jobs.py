"""DescribeTrainingJob and ListTrainingJobs responses for the local store's training jobs (botocore output shapes of
the same names). A tuning job's training job is described from its summary, its final metrics and its tuning job's
training job definition; times are stored as epoch seconds and returned as timezone-aware datetimes, as boto3 does.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

from amtlocal.lifecycle import SecondaryStatus, TrainingJobStatus
from amtlocal.spec.definitions import resource_config_of
from amtlocal.spec.placeholders import training_job_arn, tuning_job_arn
from amtlocal.store import LocalStore, TrainingJobRecord

SORT_KEYS = {"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus"}
_DEFINITION_KEYS = (
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "VpcConfig",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "Environment",
    "RetryStrategy",
)


def _ts(x: float | None) -> dt.datetime | None:
    return None if x is None else dt.datetime.fromtimestamp(x, tz=dt.timezone.utc)


def model_artifacts_uri(output_path: str | None, name: str) -> str:
    """``<output path>/<job>/output/model.tar.gz`` (ModelArtifacts.S3ModelArtifacts) as SageMaker names it, for a
    job whose output was not packed locally (an ``s3://`` output path, or not ended yet); a packed job's summary
    holds the absolute location written by ``amtlocal.container.pack_output``."""
    return f"{(output_path or 'file://model').rstrip('/')}/{name}/output/model.tar.gz"


def secondary_status(status: str, failure_reason: str | None) -> str:
    """The SecondaryStatus that goes with a TrainingJobStatus (MaxRuntimeExceeded and Interrupted as AMT names them)."""
    reason = failure_reason or ""
    if status == TrainingJobStatus.STOPPED and reason.startswith("MaxRuntimeExceeded"):
        return SecondaryStatus.MAX_RUNTIME_EXCEEDED.value
    if status == TrainingJobStatus.STOPPED and reason.startswith("Interrupted"):
        return SecondaryStatus.INTERRUPTED.value
    by_status: dict[str, SecondaryStatus] = {  # str enums: a plain status string finds its member
        TrainingJobStatus.IN_PROGRESS: SecondaryStatus.TRAINING,
        TrainingJobStatus.STOPPING: SecondaryStatus.STOPPING,
        TrainingJobStatus.COMPLETED: SecondaryStatus.COMPLETED,
        TrainingJobStatus.FAILED: SecondaryStatus.FAILED,
        TrainingJobStatus.STOPPED: SecondaryStatus.STOPPED,
    }
    return by_status.get(status, SecondaryStatus.TRAINING).value


def transitions(created: float | None, started: float | None, ended: float | None, final: str) -> list[dict[str, Any]]:
    """SecondaryStatusTransitions: Starting (creation to start), Training (start to end), then the final one."""
    out = [
        {
            "Status": SecondaryStatus.STARTING.value,
            "StartTime": _ts(created),
            "StatusMessage": "Preparing the instances for training",
        }
    ]
    if started is None:
        return out
    out[0]["EndTime"] = _ts(started)
    out.append(
        {
            "Status": SecondaryStatus.TRAINING.value,
            "StartTime": _ts(started),
            "StatusMessage": "Training image download completed. Training in progress.",
        }
    )
    if ended is not None and final != SecondaryStatus.TRAINING:
        out[-1]["EndTime"] = _ts(ended)
        out.append(
            {
                "Status": final,
                "StartTime": _ts(ended),
                "EndTime": _ts(ended),
                "StatusMessage": f"Training job {final.lower()}",
            }
        )
    return out


def with_service_defaults(out: dict[str, Any]) -> dict[str, Any]:
    """Fill the DescribeTrainingJob fields the service always returns when the request left them out (in place;
    returns ``out``): ``OutputDataConfig.KmsKeyId`` (``""`` when unset) and the flags ``EnableNetworkIsolation``,
    ``EnableInterContainerTrafficEncryption``, ``EnableManagedSpotTraining`` (``False``). SDK v2's
    ``Estimator.attach`` reads ``OutputDataConfig["KmsKeyId"]`` unguarded (sagemaker/estimator.py
    ``_prepare_init_params_from_job_description``)."""
    output = out.setdefault("OutputDataConfig", {})
    output.setdefault("KmsKeyId", "")
    for flag in ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining"):
        out.setdefault(flag, False)
    return out


def _definition(request: dict, summary: dict) -> dict:
    if request.get("TrainingJobDefinition"):
        return request["TrainingJobDefinition"]
    wanted = summary.get("TrainingJobDefinitionName")
    return next((d for d in request.get("TrainingJobDefinitions") or [] if d.get("DefinitionName") == wanted), {})


def _child_listed_fields(rec: TrainingJobRecord) -> dict[str, Any]:
    """What a tuning job's training job shows from its stored summary alone: name, ARN, status, SecondaryStatus and
    the Creation/TrainingEnd/LastModified times (DescribeTrainingJob's and its ListTrainingJobs summary's)."""
    s = rec.summary
    status = s.get("TrainingJobStatus", TrainingJobStatus.IN_PROGRESS.value)
    started, ended = s.get("TrainingStartTime"), s.get("TrainingEndTime")
    return {
        "TrainingJobName": rec.name,
        "TrainingJobArn": s.get("TrainingJobArn") or training_job_arn(rec.name),
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary_status(status, s.get("FailureReason")),
        "CreationTime": _ts(s.get("CreationTime")),
        "TrainingEndTime": _ts(ended),
        "LastModifiedTime": _ts(ended or started or s.get("CreationTime")),
    }


def describe_child(store: LocalStore, rec: TrainingJobRecord) -> dict[str, Any]:
    """DescribeTrainingJob of a tuning job's training job."""
    tuning = store.tuning_job(rec.tuning_job_name)
    d = _definition(tuning.request, rec.summary)
    s = rec.summary
    reason = s.get("FailureReason")
    started, ended = s.get("TrainingStartTime"), s.get("TrainingEndTime")
    listed = _child_listed_fields(rec)
    hyper = {k: v for k, v in (d.get("StaticHyperParameters") or {}).items()}
    hyper.update(s.get("TunedHyperParameters") or {})
    objective = (
        tuning.request["HyperParameterTuningJobConfig"].get("HyperParameterTuningJobObjective")
        or d.get("TuningObjective")
        or {}
    )
    if objective.get("MetricName"):
        hyper["_tuning_objective_metric"] = objective["MetricName"]
    out: dict[str, Any] = {
        **listed,
        "TuningJobArn": tuning_job_arn(tuning.name),
        "ModelArtifacts": s.get("ModelArtifacts")
        or {"S3ModelArtifacts": model_artifacts_uri((d.get("OutputDataConfig") or {}).get("S3OutputPath"), rec.name)},
        "HyperParameters": hyper,
        "StoppingCondition": copy.deepcopy(d.get("StoppingCondition") or {"MaxRuntimeInSeconds": 86400}),
        "TrainingStartTime": _ts(started),
        "SecondaryStatusTransitions": transitions(s.get("CreationTime"), started, ended, listed["SecondaryStatus"]),
    }
    for key in _DEFINITION_KEYS:
        if key in d and key not in out:
            out[key] = copy.deepcopy(d[key])
    if "ResourceConfig" not in out:  # required: the instance AMT picked from HyperParameterTuningResourceConfig
        out["ResourceConfig"] = resource_config_of(d.get("HyperParameterTuningResourceConfig") or {})
    if reason:
        out["FailureReason"] = reason
    if rec.final_metrics:
        out["FinalMetricDataList"] = [
            {"MetricName": k, "Value": v, "Timestamp": _ts(ended or s.get("CreationTime"))}
            for k, v in rec.final_metrics.items()
            if isinstance(v, (int, float)) and math.isfinite(v)
        ]
    if started is not None and ended is not None:
        seconds = max(1, int(math.ceil(ended - started)))
        out["TrainingTimeInSeconds"] = out["BillableTimeInSeconds"] = seconds
    return with_service_defaults({k: v for k, v in out.items() if v is not None})


def describe_standalone(rec: TrainingJobRecord) -> dict[str, Any]:
    """DescribeTrainingJob of a standalone training job (its stored record; epoch seconds -> datetimes)."""
    out = copy.deepcopy({k: v for k, v in rec.summary.items() if not k.startswith("_") and v is not None})
    for key in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"):
        if key in out:
            out[key] = _ts(out[key])
    for t in out.get("SecondaryStatusTransitions") or []:
        for key in ("StartTime", "EndTime"):
            if key in t:
                t[key] = _ts(t[key])
    for m in out.get("FinalMetricDataList") or []:
        m["Timestamp"] = _ts(m.get("Timestamp"))
    return with_service_defaults(out)


def describe_training_job(store: LocalStore, name: str) -> dict[str, Any]:
    """DescribeTrainingJob of any stored training job. Raises TrainingJobNotFound."""
    rec = store.find_training_job(name)
    return describe_child(store, rec) if rec.tuning_job_name else describe_standalone(rec)


_SUMMARY_KEYS = (
    "TrainingJobName",
    "TrainingJobArn",
    "CreationTime",
    "TrainingEndTime",
    "LastModifiedTime",
    "TrainingJobStatus",
    "SecondaryStatus",
)


def _summary(rec: TrainingJobRecord) -> dict[str, Any]:
    """TrainingJobSummary of a training job: the fields its DescribeTrainingJob gives (see :func:`describe_child`,
    :func:`describe_standalone`), from its summary alone (the store's listed fields, never its tuning job)."""
    d = describe_standalone(rec) if rec.tuning_job_name is None else _child_listed_fields(rec)
    return {k: d[k] for k in _SUMMARY_KEYS if d.get(k) is not None}


def list_training_jobs(
    store: LocalStore,
    NameContains: str | None = None,
    StatusEquals: str | None = None,
    CreationTimeAfter=None,
    CreationTimeBefore=None,
    LastModifiedTimeAfter=None,
    LastModifiedTimeBefore=None,
    SortBy: str = "CreationTime",
    SortOrder: str = "Ascending",
    MaxResults: int | None = None,
    NextToken: str | None = None,
) -> dict[str, Any]:
    """ListTrainingJobs response ``{"TrainingJobSummaries": [...], "NextToken"?}`` over standalone training jobs and
    every tuning job's own (read from the store's index where it is up to date: see
    :meth:`LocalStore.listed_training_jobs`). NameContains matches case-insensitively; NextToken is an opaque offset;
    MaxResults defaults to 10. With StatusEquals and MaxResults both given, as ListTrainingJobs' doc says, the page of
    MaxResults jobs is taken ignoring StatusEquals and then filtered by it: a page may be short, or empty, and still
    carry a NextToken.

    Raises:
        ValueError: SortBy, SortOrder, MaxResults (1-100) or NextToken outside the API's values.
    """
    from botocore.utils import parse_to_aware_datetime

    size = 10 if MaxResults is None else int(MaxResults)
    if SortBy not in SORT_KEYS or SortOrder not in ("Ascending", "Descending") or not 1 <= size <= 100:
        raise ValueError("SortBy must be Name|CreationTime|Status, SortOrder Ascending|Descending, MaxResults 1-100")
    status_after_page = StatusEquals if MaxResults is not None else None
    status = None if status_after_page else StatusEquals
    rows = [_summary(r) for r in _matching(iter(store.listed_training_jobs()), NameContains, status)]
    for arg, key, after in (
        (CreationTimeAfter, "CreationTime", True),
        (CreationTimeBefore, "CreationTime", False),
        (LastModifiedTimeAfter, "LastModifiedTime", True),
        (LastModifiedTimeBefore, "LastModifiedTime", False),
    ):
        if arg is not None:
            t = parse_to_aware_datetime(arg)
            rows = [r for r in rows if r.get(key) is not None and (r[key] > t if after else r[key] < t)]
    rows.sort(key=lambda r: r[SORT_KEYS[SortBy]], reverse=SortOrder == "Descending")
    start = int(NextToken) if NextToken else 0
    if start < 0:
        raise ValueError("Invalid pagination token")
    page = rows[start : start + size]
    if status_after_page:
        page = [r for r in page if r["TrainingJobStatus"] == status_after_page]
    out: dict[str, Any] = {"TrainingJobSummaries": page}
    if start + size < len(rows):
        out["NextToken"] = str(start + size)
    return out


def _matching(
    records: Iterator[TrainingJobRecord], name: str | None, status: str | None
) -> Iterator[TrainingJobRecord]:
    for r in records:
        if name and name.lower() not in r.name.lower():
            continue
        if status and r.status != status:
            continue
        yield r
