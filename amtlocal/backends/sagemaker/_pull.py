"""``amtlocal pull NAME``: copy a finished SageMaker tuning job into the local store.

Afterwards the local backend answers ``describe`` / ``list_training_jobs`` for it offline (analytics, charts,
reports), and a local tuning job can warm-start from it (``WarmStartConfig.ParentHyperParameterTuningJobs``).

What is copied, through the store's :meth:`~amtlocal.store.LocalStore.import_tuning_job`, into the same records the
local backend writes:

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
import logging
from typing import Any

from amtlocal.exceptions import AmtLocalError, TuningJobExists
from amtlocal.lifecycle import TERMINAL_STATUSES

log = logging.getLogger("amtlocal")


def _epoch(value: Any) -> Any:
    return value.timestamp() if isinstance(value, dt.datetime) else value


def _final_metrics(backend: Any, training_job_name: str) -> dict[str, float]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        job = backend.sagemaker.describe_training_job(TrainingJobName=training_job_name)
    except (ClientError, BotoCoreError) as e:
        log.warning("final metrics of %s not copied: %s", training_job_name, e)
        return {}
    return {m["MetricName"]: float(m["Value"]) for m in job.get("FinalMetricDataList") or []}


def pull(
    name: Any, backend: Any = None, store: Any = None, overwrite: bool = False, metrics: bool = True
) -> dict[str, Any]:
    """Copy finished cloud tuning job ``name`` (spec, training-job summaries, final metrics) into ``store``.

    Args:
        name: the tuning job on SageMaker: its name, or an SDK v2/v3 tuner (its latest tuning job,
            :func:`tuning_job_name_of`).
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
    from amtlocal.backends.local import LocalBackend
    from amtlocal.backends.sagemaker._backend import SageMakerBackend
    from amtlocal.backends.sagemaker._sdk import tuning_job_name_of
    from amtlocal.spec.definitions import definitions, ranges_of
    from amtlocal.spec.ranges import search_space
    from amtlocal.store import LocalStore

    backend = backend or SageMakerBackend()
    store = store or LocalStore()
    desc = backend.describe(tuning_job_name_of(name))
    name = desc["HyperParameterTuningJobName"]
    status = desc["HyperParameterTuningJobStatus"]
    if status not in TERMINAL_STATUSES:
        raise AmtLocalError(
            f"tuning job {name} is {status} on SageMaker; pull it once it has ended "
            f"(amtlocal --backend sagemaker describe {name})"
        )
    existing = store.resolve_name(name)
    if existing is not None:
        if store.tuning_job(existing).origin != "sagemaker":
            raise TuningJobExists(
                f"a local tuning job named {existing!r} is in the local store; it is not replaced by a cloud job"
            )
        if not overwrite:
            raise TuningJobExists(
                f"tuning job {existing!r} was pulled before; pass --force (overwrite=True) to pull it again"
            )
        store.delete(existing)

    summaries = sorted(
        backend.all_training_jobs(name), key=lambda s: (_epoch(s.get("CreationTime")) or 0, s["TrainingJobName"])
    )
    space = search_space(ranges_of(desc, (definitions(desc) or [{}])[0]))
    final = {s["TrainingJobName"]: _final_metrics(backend, s["TrainingJobName"]) for s in summaries}
    series = (
        {s["TrainingJobName"]: backend.metric_series(name, s["TrainingJobName"]) for s in summaries} if metrics else {}
    )
    store.import_tuning_job(desc, summaries, series=series, final_metrics=final, space=space)
    log.info("pulled %s (%s, %d training jobs) into %s", name, status, len(summaries), store.home)
    return LocalBackend(store).describe(name)
