"""Storing a tuning job that ran elsewhere (``amtlocal pull``): the records the local backend would have written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from amtlocal.store import _schema as K

_REQUEST_KEYS = (
    "HyperParameterTuningJobName",
    "HyperParameterTuningJobConfig",
    "TrainingJobDefinition",
    "TrainingJobDefinitions",
    "WarmStartConfig",
    "Autotune",
)


def epoch(value: Any) -> Any:
    """A datetime as epoch seconds; anything else unchanged."""
    return value.timestamp() if isinstance(value, dt.datetime) else value


def stored_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A HyperParameterTrainingJobSummary as the store keeps it: datetimes as epoch seconds (JSON-safe)."""
    return {k: epoch(v) for k, v in summary.items()}


def _trial(summary: dict[str, Any], space: dict, final_metrics: dict[str, float]):
    from amtlocal.spec.summaries import summary_trial

    attrs = {
        K.TRIAL_FIELDS["role"]: K.ROLE_OWN,
        K.TRIAL_FIELDS["summary"]: stored_summary(summary),
        K.TRIAL_FIELDS["final_metrics"]: final_metrics,
    }
    return summary_trial(summary, space, attrs)


def import_tuning_job(
    store,
    desc: dict,
    summaries: list[dict],
    series: dict[str, list[dict]],
    final_metrics: dict[str, dict[str, float]],
    space: dict,
    base_dir: Path,
):
    """See :meth:`LocalStore.import_tuning_job`."""
    request = {k: desc[k] for k in _REQUEST_KEYS if desc.get(k) is not None}
    name = request["HyperParameterTuningJobName"]
    study = store.create(request, base_dir, origin="sagemaker")
    for s in summaries:
        study.add_trial(_trial(s, space, final_metrics.get(s["TrainingJobName"], {})))
    completion = {
        k: v for k, v in (desc.get("TuningJobCompletionDetails") or {}).items() if not isinstance(v, dt.datetime)
    }
    store.update_tuning_job(
        study,
        status=desc["HyperParameterTuningJobStatus"],
        creation_time=epoch(desc.get("CreationTime")),
        end_time=epoch(desc.get("HyperParameterTuningEndTime")),
        failure_reason=desc.get("FailureReason") or None,
        completion_details=completion or None,
    )
    modified = epoch(desc.get("LastModifiedTime") or desc.get("HyperParameterTuningEndTime"))
    study.set_user_attr(K.TUNING_FIELDS["last_modified"], modified)  # as SageMaker reported it, not now
    for training_name, points in series.items():
        if points:
            store.write_metric_series(name, training_name, points)
    return study
