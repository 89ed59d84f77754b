"""AMT response shapes from the local store: DescribeHyperParameterTuningJob and
ListTrainingJobsForHyperParameterTuningJob (botocore model shapes of the same names).

Times are stored as epoch seconds and returned as timezone-aware ``datetime`` objects, as boto3 returns them.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from amtlocal.lifecycle import TrainingJobStatus, visible_status
from amtlocal.spec import objective_of
from amtlocal.spec.definitions import resource_config_of
from amtlocal.spec.placeholders import tuning_job_arn
from amtlocal.spec.summaries import objective_succeeded as _succeeded
from amtlocal.store import TuningJobListing, read_tuning_job, summaries_of

_TIME_KEYS = ("CreationTime", "TrainingStartTime", "TrainingEndTime")
SORT_KEYS = ("Name", "CreationTime", "Status", "FinalObjectiveMetricValue")


def _ts(x: float | None) -> dt.datetime | None:
    return None if x is None else dt.datetime.fromtimestamp(x, tz=dt.timezone.utc)


def summary_out(stored: dict) -> dict:
    """A stored summary -> HyperParameterTrainingJobSummary (times as datetimes, empty fields dropped)."""
    out = {k: v for k, v in copy.deepcopy(stored).items() if v is not None}
    for k in _TIME_KEYS:
        if k in out:
            out[k] = _ts(out[k])
    return out


def best_of(summaries: Iterable[dict], objective_type: str) -> dict | None:
    """The summary with the best final objective among ObjectiveStatus Succeeded (ties: the earliest)."""
    best: dict | None = None
    best_v = math.nan  # read only once best is set
    sign = 1.0 if objective_type == "Maximize" else -1.0
    for s in summaries:
        if not _succeeded(s):
            continue
        v = s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        if not math.isfinite(v):
            continue
        if best is None or sign * v > sign * best_v:
            best, best_v = s, v
    return best


def counters(summaries: list[dict]) -> tuple[dict, dict]:
    """(TrainingJobStatusCounters, ObjectiveStatusCounters) for the given summaries."""
    status: dict[str, int] = {}
    objective: dict[str, int] = {}
    for s in summaries:
        status[s["TrainingJobStatus"]] = status.get(s["TrainingJobStatus"], 0) + 1
        o = s.get("ObjectiveStatus", "Pending")
        objective[o] = objective.get(o, 0) + 1
    return counters_from(status, objective)


def counters_from(status_counts: dict[str, int], objective_counts: dict[str, int]) -> tuple[dict, dict]:
    """(TrainingJobStatusCounters, ObjectiveStatusCounters) from how many training jobs have each TrainingJobStatus
    and each ObjectiveStatus."""
    tj = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    obj = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for st, n in status_counts.items():
        if st == TrainingJobStatus.FAILED:
            tj["NonRetryableError"] += n  # a script error is a client error in AMT terms
        elif st in (TrainingJobStatus.IN_PROGRESS, TrainingJobStatus.STOPPING):
            tj["InProgress"] += n
        elif st in tj:
            tj[st] += n
    for o, n in objective_counts.items():
        obj[o] += n
    return tj, obj


def list_row(listing: TuningJobListing) -> dict[str, Any]:
    """A HyperParameterTuningJobSummary (ListHyperParameterTuningJobs) of a stored tuning job's listing, plus
    amtlocal's ``InterruptedTrainingJobs``: how many of its Stopped training jobs an interruption cut short."""
    rec = listing.record
    config = rec.request["HyperParameterTuningJobConfig"]
    tj, obj = counters_from(listing.status_counts, listing.objective_counts)
    return {
        "InterruptedTrainingJobs": listing.interrupted,
        "HyperParameterTuningJobName": rec.request["HyperParameterTuningJobName"],
        "HyperParameterTuningJobArn": tuning_job_arn(rec.request["HyperParameterTuningJobName"]),
        "HyperParameterTuningJobStatus": visible_status(rec),
        "Strategy": config["Strategy"],
        "CreationTime": _ts(rec.creation_time),
        "HyperParameterTuningEndTime": _ts(rec.end_time) if rec.end_time else None,
        "LastModifiedTime": _ts(rec.last_modified),
        "TrainingJobStatusCounters": tj,
        "ObjectiveStatusCounters": obj,
        "ResourceLimits": config["ResourceLimits"],
    }


def describe(study) -> dict[str, Any]:
    """DescribeHyperParameterTuningJob response for a stored tuning job (an Optuna study of the store).

    ``OverallBestTrainingJob`` is added for IdenticalDataAndAlgorithm warm starts and covers the parents' jobs
    (read from the history trials, which carry the parents' summaries).
    """
    rec = read_tuning_job(study)
    req = rec.request
    summaries = summaries_of(study)
    tj, obj = counters(summaries)
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": req["HyperParameterTuningJobName"],
        "HyperParameterTuningJobArn": tuning_job_arn(req["HyperParameterTuningJobName"]),
        "HyperParameterTuningJobConfig": copy.deepcopy(req["HyperParameterTuningJobConfig"]),
    }
    for key in ("TrainingJobDefinition", "TrainingJobDefinitions", "WarmStartConfig", "Autotune"):
        if key in req:
            out[key] = copy.deepcopy(req[key])
    _add_objective_hyperparameter(out)
    _add_service_defaults(out)
    out["HyperParameterTuningJobStatus"] = visible_status(rec)
    out["CreationTime"] = _ts(rec.creation_time)
    if rec.end_time:
        out["HyperParameterTuningEndTime"] = _ts(rec.end_time)
    out["LastModifiedTime"] = _ts(rec.last_modified)
    out["TrainingJobStatusCounters"] = tj
    out["ObjectiveStatusCounters"] = obj
    _add_best(out, study, req, summaries)
    if rec.failure_reason:
        out["FailureReason"] = rec.failure_reason
    if rec.completion_details:
        details = copy.deepcopy(rec.completion_details)
        if "ConvergenceDetectedTime" in details:
            details["ConvergenceDetectedTime"] = _ts(details["ConvergenceDetectedTime"])
        out["TuningJobCompletionDetails"] = details
    if rec.runtime_used is not None:  # seconds the tuner actually ran (summed over resumed runs)
        out["ConsumedResources"] = {"RuntimeInSeconds": int(rec.runtime_used)}
    return out


def _add_objective_hyperparameter(out: dict) -> None:
    """Add the static hyperparameter ``_tuning_objective_metric`` (= the definition's objective MetricName) to each
    definition of a DescribeHyperParameterTuningJob response ``out``, in place, as AMT does (the service returns it
    in ``StaticHyperParameters``; SDK v2's ``HyperparameterTuner.attach`` deletes it unguarded). Only the response
    carries it: the stored request, and so what a script receives through the scheduler, is unchanged."""
    single = out.get("TrainingJobDefinition")
    for d in ([single] if single else []) + list(out.get("TrainingJobDefinitions") or []):
        metric = objective_of(out, d).get("MetricName")
        if metric:
            d.setdefault("StaticHyperParameters", {})["_tuning_objective_metric"] = metric


def _add_service_defaults(out: dict) -> None:
    """What the service returns when the request left it out (in place): ``TrainingJobEarlyStoppingType`` ``"Off"``,
    each of the three ``*ParameterRanges`` lists (``[]``) of every ParameterRanges / HyperParameterRanges, and each
    definition's ``ResourceConfig`` where it gave ``HyperParameterTuningResourceConfig`` only.
    SDK v2's ``HyperparameterTuner.attach`` reads all of them unguarded (sagemaker/tuner.py)."""
    config = out["HyperParameterTuningJobConfig"]
    config.setdefault("TrainingJobEarlyStoppingType", "Off")
    single = out.get("TrainingJobDefinition")
    ranges = [config.get("ParameterRanges")] + [
        d.get("HyperParameterRanges")
        for d in ([single] if single else []) + list(out.get("TrainingJobDefinitions") or [])
    ]
    for r in ranges:
        if isinstance(r, dict):
            for kind in ("Categorical", "Continuous", "Integer"):
                r.setdefault(f"{kind}ParameterRanges", [])
    # A definition given HyperParameterTuningResourceConfig (what SDK v2's tuner.fit always sends) also answers
    # ResourceConfig, the instance its training jobs run on: SDK v2's HyperparameterTuner.attach reads
    # ResourceConfig unguarded (estimator.py _prepare_init_params_from_job_description), so the service must return it.
    for d in ([single] if single else []) + list(out.get("TrainingJobDefinitions") or []):
        if "ResourceConfig" not in d and isinstance(d.get("HyperParameterTuningResourceConfig"), dict):
            d["ResourceConfig"] = resource_config_of(d["HyperParameterTuningResourceConfig"])


def _add_best(out: dict, study, req: dict, summaries: list[dict]) -> None:
    """BestTrainingJob, and OverallBestTrainingJob (parents' jobs too) for an IdenticalDataAndAlgorithm warm start."""
    otype = objective_of(req).get("Type", "Maximize")
    best = best_of(summaries, otype)
    if best:
        out["BestTrainingJob"] = summary_out(best)
    ws = req.get("WarmStartConfig")
    if ws and ws.get("WarmStartType") == "IdenticalDataAndAlgorithm":
        overall = best_of(summaries + summaries_of(study, "history"), otype)
        if overall:
            out["OverallBestTrainingJob"] = summary_out(overall)


def list_training_jobs(
    study,
    StatusEquals: str | None = None,
    SortBy: str = "Name",
    SortOrder: str = "Ascending",
    MaxResults: int = 10,
    NextToken: str | None = None,
) -> dict[str, Any]:
    """ListTrainingJobsForHyperParameterTuningJob response: ``{"TrainingJobSummaries": [...], "NextToken"?}``.

    Args mirror the API: SortBy ``Name|CreationTime|Status|FinalObjectiveMetricValue`` (the last omits jobs with no
    objective value), SortOrder ``Ascending|Descending``, MaxResults 1-100, NextToken from a previous page.

    Raises:
        ValueError: an argument outside the API's allowed values.
    """
    if SortBy not in SORT_KEYS:
        raise ValueError(f"SortBy must be one of {', '.join(SORT_KEYS)}")
    if SortOrder not in ("Ascending", "Descending"):
        raise ValueError("SortOrder must be Ascending or Descending")
    if not 1 <= int(MaxResults) <= 100:
        raise ValueError("MaxResults must be between 1 and 100")
    rows = summaries_of(study)
    if StatusEquals:
        rows = [r for r in rows if r["TrainingJobStatus"] == StatusEquals]
    if SortBy == "FinalObjectiveMetricValue":
        rows = [r for r in rows if "FinalHyperParameterTuningJobObjectiveMetric" in r]
        key = lambda r: r["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]  # noqa: E731
    elif SortBy == "CreationTime":
        key = lambda r: r["CreationTime"]  # noqa: E731
    elif SortBy == "Status":
        key = lambda r: r["TrainingJobStatus"]  # noqa: E731
    else:
        key = lambda r: r["TrainingJobName"]  # noqa: E731
    rows = sorted(rows, key=key, reverse=SortOrder == "Descending")
    start = int(NextToken) if NextToken else 0
    page = rows[start : start + int(MaxResults)]
    out: dict[str, Any] = {"TrainingJobSummaries": [summary_out(r) for r in page]}
    if start + int(MaxResults) < len(rows):
        out["NextToken"] = str(start + int(MaxResults))
    return out
