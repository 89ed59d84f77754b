"""``amtlocal pull NAME``: copy a finished SageMaker tuning job into the local store.

Afterwards the local backend answers ``describe`` / ``list_training_jobs`` for it offline (analytics, charts,
reports), and a local tuning job can warm-start from it (``WarmStartConfig.ParentHyperParameterTuningJobs``).

What is copied, into the same records the local backend writes (``local/_store.py``):

- the study: request = the DescribeHyperParameterTuningJob echo of the request (config, definition(s), warm start,
  autotune; Tags are not returned by Describe), ``origin="sagemaker"``, status, creation / end / last-modified times
  and failure reason as Describe gives them;
- one finished Optuna trial per training job (all pages of ListTrainingJobsForHyperParameterTuningJob), user attrs
  ``role="own"``, ``summary`` = the HyperParameterTrainingJobSummary with times as epoch seconds, ``final_metrics`` =
  the job's ``FinalMetricDataList`` (DescribeTrainingJob) as ``{name: value}``; the trial carries the tuned values as
  Optuna params where they fall inside the job's ranges, and the objective as its value when it Succeeded;
- optionally each training job's CloudWatch metric series, as ``<home>/jobs/<tuning>/<training>/logs/metrics.jsonl``.

No credentials are read or written: only the API's responses are stored.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from amtlocal.exceptions import AmtLocalError, TuningJobExists

log = logging.getLogger("amtlocal")

_REQUEST_KEYS = ("HyperParameterTuningJobName", "HyperParameterTuningJobConfig", "TrainingJobDefinition",
                 "TrainingJobDefinitions", "WarmStartConfig", "Autotune")


def _epoch(value: Any) -> Any:
    return value.timestamp() if isinstance(value, dt.datetime) else value


def stored_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A HyperParameterTrainingJobSummary as the local store keeps it: datetimes as epoch seconds (JSON-safe)."""
    return {k: _epoch(v) for k, v in summary.items()}


def _final_metrics(backend: Any, training_job_name: str) -> dict[str, float]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        job = backend.sagemaker.describe_training_job(TrainingJobName=training_job_name)
    except (ClientError, BotoCoreError) as e:
        log.warning("final metrics of %s not copied: %s", training_job_name, e)
        return {}
    return {m["MetricName"]: float(m["Value"]) for m in job.get("FinalMetricDataList") or []}


def _trial(summary: dict[str, Any], space: dict, final_metrics: dict[str, float]):
    from amtlocal.backends.local import _store as S
    from amtlocal.spec.summaries import summary_trial

    return summary_trial(summary, space, {S.T_ROLE: "own", S.T_SUMMARY: stored_summary(summary), S.T_METRICS: final_metrics})


def pull(name: str, backend: Any = None, store: Any = None, overwrite: bool = False, metrics: bool = True) -> dict[str, Any]:
    """Copy finished cloud tuning job ``name`` (spec, training-job summaries, final metrics) into ``store``.

    Args:
        name: the tuning job on SageMaker.
        backend: a :class:`SageMakerBackend` (default: a new one from boto3's default chain).
        store: a LocalStore (default: the default store).
        overwrite: replace an earlier pulled copy of the same name (never a job that ran locally).
        metrics: also copy each training job's CloudWatch metric series (learning curves); skipped quietly when
            CloudWatch is unreachable.

    Returns:
        the local DescribeHyperParameterTuningJob of the copy.

    Raises:
        CloudTuningJobNotFound: no such job on SageMaker.
        AmtLocalError: the job has not ended yet.
        TuningJobExists: a job of that name is in the local store (and ``overwrite`` is not set, or it ran locally).
    """
    import optuna

    from amtlocal.backends.local import _records as R
    from amtlocal.backends.local import _store as S
    from amtlocal.backends.sagemaker._backend import SageMakerBackend
    from amtlocal.spec.definitions import definitions, ranges_of
    from amtlocal.spec.ranges import search_space

    backend = backend or SageMakerBackend()
    store = store or S.LocalStore()
    desc = backend.describe(name)
    name = desc["HyperParameterTuningJobName"]
    status = desc["HyperParameterTuningJobStatus"]
    if status not in S.TERMINAL_STATUSES:
        raise AmtLocalError(f"tuning job {name} is {status} on SageMaker; pull it once it has ended "
                            f"(amtlocal --backend sagemaker describe {name})")
    existing = store.resolve_name(name)
    if existing is not None:
        origin = store.load(existing).user_attrs.get(S.A_ORIGIN)
        if origin != "sagemaker":
            raise TuningJobExists(f"a local tuning job named {existing!r} is in the local store; it is not replaced by a cloud job")
        if not overwrite:
            raise TuningJobExists(f"tuning job {existing!r} was pulled before; pass --force (overwrite=True) to pull it again")
        optuna.delete_study(study_name=existing, storage=store.storage)
        shutil.rmtree(store.job_dir(existing), ignore_errors=True)

    request = {k: desc[k] for k in _REQUEST_KEYS if desc.get(k) is not None}
    summaries = sorted(backend.all_training_jobs(name), key=lambda s: (_epoch(s.get("CreationTime")) or 0, s["TrainingJobName"]))
    space = search_space(ranges_of(request, (definitions(request) or [{}])[0]))

    study = store.create(request, Path.cwd(), origin="sagemaker")
    for s in summaries:
        study.add_trial(_trial(s, space, _final_metrics(backend, s["TrainingJobName"])))
    completion = {k: v for k, v in (desc.get("TuningJobCompletionDetails") or {}).items() if not isinstance(v, dt.datetime)}
    for key, value in ((S.A_STATUS, status), (S.A_CREATED, _epoch(desc.get("CreationTime"))),
                       (S.A_ENDED, _epoch(desc.get("HyperParameterTuningEndTime"))),
                       (S.A_MODIFIED, _epoch(desc.get("LastModifiedTime") or desc.get("HyperParameterTuningEndTime"))),
                       (S.A_FAILURE, desc.get("FailureReason") or None), (S.A_COMPLETION, completion or None)):
        study.set_user_attr(key, value)

    if metrics:
        for s in summaries:
            series = backend.metric_series(name, s["TrainingJobName"])
            if series:
                logs = store.training_job_dir(name, s["TrainingJobName"]) / "logs"
                logs.mkdir(parents=True, exist_ok=True)
                with open(logs / "metrics.jsonl", "w", encoding="utf-8") as f:
                    for point in series:
                        f.write(json.dumps(point) + "\n")
    log.info("pulled %s (%s, %d training jobs) into %s", name, status, len(summaries), store.home)
    return R.describe(store.load(name))
