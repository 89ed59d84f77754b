"""What the charts show, gathered from any backend through the AMT API shapes only.

Only ``Backend.describe`` (DescribeHyperParameterTuningJob), ``Backend.all_training_jobs``
(HyperParameterTrainingJobSummary) and ``Backend.metric_series`` are read, so a local job, a cloud job and a pulled
job are drawn alike. Warm-start parents (``WarmStartConfig.ParentHyperParameterTuningJobs``) are followed at every
level and become tuning jobs of their own in the data.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from amtlocal.backends import Backend, get_backend
from amtlocal.exceptions import TuningJobNotFound, VizError
from amtlocal.spec.definitions import definitions_with_paths
from amtlocal.spec.definitions import objective_of as request_objective
from amtlocal.spec.hyperparameters import hyperparameter_label
from amtlocal.spec.ranges import Range, job_space, merged_space

log = logging.getLogger("amtlocal")

TIME_DTYPE = "datetime64[us, UTC]"  # every timestamp column of the data frames (microseconds, as the API's times)
#: Columns of the trials frame that are not hyperparameters (the objective column is named after the metric).
TRIAL_COLUMNS = (
    "TuningJobName",
    "TrainingJobName",
    "TrainingJobStatus",
    "ObjectiveStatus",
    "Strategy",
    "TrialIndex",
    "Rank",
    "FinalObjectiveValue",
    "CreationTime",
    "TrainingStartTime",
    "TrainingEndTime",
    "TrainingElapsedTimeSeconds",
    "TrainingJobDefinitionName",
    "FailureReason",
)


def parse_ranges(desc: dict[str, Any]) -> dict[str, Range]:
    """DescribeHyperParameterTuningJob -> name -> :class:`~amtlocal.spec.ranges.Range` (config ParameterRanges, then
    each definition's, merged by name)."""
    return job_space(desc)


def objective_of(desc: dict[str, Any]) -> tuple[str | None, str | None]:
    """(metric name, ``Maximize``|``Minimize``) of a tuning job; (None, None) when it has no objective (Autotune)."""
    obj = request_objective(desc)
    if not obj:
        return None, None
    return obj.get("MetricName"), obj.get("Type", "Maximize")


def metric_definitions_of(desc: dict[str, Any]) -> list[str]:
    """Names of every MetricDefinition of the job's training job definition(s), in order, without duplicates."""
    names: list[str] = []
    for _, d in definitions_with_paths(desc):
        for m in (d.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []:
            if m.get("Name") and m["Name"] not in names:
                names.append(m["Name"])
    return names


# -- which jobs --------------------------------------------------------------------------------------------------
def _other_backend(backend: Backend) -> Backend | None:
    other = "sagemaker" if getattr(backend, "name", "local") == "local" else "local"
    try:
        return get_backend(other)
    except Exception:  # noqa: BLE001 - e.g. no boto3 / no credentials: there is no other backend to ask
        return None


def _describe(name: str, backend: Backend, fallback: bool) -> tuple[dict[str, Any], Backend]:
    """describe() on ``backend``; with ``fallback``, a job not found there is looked up on the other backend."""
    try:
        return backend.describe(name), backend
    except TuningJobNotFound:
        if not fallback:
            raise
        other = _other_backend(backend)
        if other is not None:
            try:
                return other.describe(name), other
            except Exception:  # noqa: BLE001 - report the first backend's error, which names the job
                pass
        raise


def resolve_jobs(tuning_jobs: Any, backend: str | Backend | None = None) -> list[tuple[str, Backend | None]]:
    """Normalise amtviz's ``tuning_jobs`` argument to ``[(tuning job name, backend or None), ...]``.

    Accepts a name, an amtlocal ``HyperparameterTuner`` (its ``latest_tuning_job`` on its own backend), a SageMaker
    SDK v2 or v3 tuner (its latest tuning job: ``amtlocal.backends.sagemaker.tuning_job_name_of``; looked up on
    ``backend``, by default the sagemaker backend), or a list/tuple/set of these. ``None`` as backend
    means: the given ``backend`` argument, else ``$AMTLOCAL_BACKEND`` with a fallback to the other backend.
    """
    from amtlocal.backends.sagemaker import tuning_job_name_of

    items = list(tuning_jobs) if isinstance(tuning_jobs, (list, tuple, set)) else [tuning_jobs]
    out: list[tuple[str, Backend | None]] = []
    for item in items:
        if isinstance(item, str):
            out.append((item, None))
            continue
        try:  # SDK v2 / amtlocal tuners (latest_tuning_job.name), SDK v3 (.hyper_parameter_tuning_job_name)
            name = tuning_job_name_of(item)
        except TypeError:
            if not hasattr(item, "describe"):
                raise
            name = item.describe()["HyperParameterTuningJobName"]
        be = getattr(item, "backend", None)
        if not isinstance(be, Backend) and type(item).__module__.startswith("sagemaker") and backend is None:
            be = get_backend("sagemaker")
        out.append((name, be if isinstance(be, Backend) else None))
    if not out:
        raise VizError("no tuning jobs given")
    return out


@dataclass
class JobInfo:
    """One tuning job to draw: its name, DescribeHyperParameterTuningJob, backend, and the job that led to it."""

    name: str
    desc: dict[str, Any]
    backend: Backend
    parents: list[str]
    requested: bool  # named by the caller (not only reached as a warm-start parent)


def collect_jobs(tuning_jobs: Any, backend: str | Backend | None = None) -> list[JobInfo]:
    """The given tuning jobs and all their warm-start ancestors (recursively), each once, oldest first.

    amtviz's ``_get_tuning_job_names_with_parents`` resolved one level only; this follows every level.

    Raises:
        TuningJobNotFound: a named job (or a parent) exists on neither backend.
    """
    default = get_backend(backend)
    fallback = backend is None
    queue = [(name, be or default, True) for name, be in resolve_jobs(tuning_jobs, backend)]
    seen: dict[str, JobInfo] = {}
    while queue:
        name, be, requested = queue.pop(0)
        if name in seen:
            seen[name].requested = seen[name].requested or requested
            continue
        desc, where = _describe(name, be, fallback)
        parents = [
            p["HyperParameterTuningJobName"]
            for p in (desc.get("WarmStartConfig") or {}).get("ParentHyperParameterTuningJobs") or []
        ]
        seen[name] = JobInfo(name, desc, where, parents, requested)
        queue.extend((p, where, False) for p in parents)
    epoch = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return sorted(seen.values(), key=lambda j: (_aware(j.desc.get("CreationTime")) or epoch, j.name))


def _aware(t: Any) -> dt.datetime | None:
    """A datetime (naive = UTC) or epoch seconds -> an aware UTC datetime; None stays None."""
    if t is None:
        return None
    if isinstance(t, (int, float)):
        return dt.datetime.fromtimestamp(t, tz=dt.timezone.utc)
    if isinstance(t, str):
        t = dt.datetime.fromisoformat(t)
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


# -- the frames --------------------------------------------------------------------------------------------------
@dataclass
class TuningData:
    """Everything the charts and the report draw.

    Attributes:
        jobs: the tuning jobs, oldest first (warm-start parents included).
        objective: objective metric name (also the name of the objective column of ``trials``).
        minimize: True when the objective is minimized.
        space: the merged search space, name -> :class:`Range` (union over the jobs).
        spaces: per tuning job name, its own search space.
        trials: one row per training job (see :func:`trials_frame`).
        metrics: one row per scraped metric value (see :func:`metrics_frame`); empty with ``trials_only``.
        metric_names: metric names in MetricDefinitions order (objective first).
    """

    jobs: list[JobInfo]
    objective: str
    minimize: bool
    space: dict[str, Range]
    spaces: dict[str, dict[str, Range]]
    trials: Any
    metrics: Any
    metric_names: list[str]

    @property
    def parameters(self) -> list[str]:
        """Tuned hyperparameter names, in search-space order."""
        return list(self.space)

    @property
    def job_names(self) -> list[str]:
        return [j.name for j in self.jobs]


def trials_frame(jobs: Iterable[JobInfo], space: dict[str, Range], objective: str, minimize: bool):
    """One row per training job of every tuning job (pandas DataFrame).

    Columns: ``TuningJobName``, ``TrainingJobName``, ``TrainingJobStatus``, ``ObjectiveStatus``, ``Strategy``,
    ``TrialIndex`` (1-based, by creation within its tuning job), each tuned hyperparameter (int/float/str by its range
    type), ``FinalObjectiveValue`` and a copy named after the objective metric (amtviz's column; NaN when the job has
    no finite objective), ``Rank`` (1 = best over all jobs; NaN without objective), ``CreationTime``,
    ``TrainingStartTime``, ``TrainingEndTime`` (UTC timestamps), ``TrainingElapsedTimeSeconds``, and
    ``TrainingJobDefinitionName`` / ``FailureReason`` when any job has them.
    """
    import pandas as pd

    rows = []
    for job in jobs:
        strategy = (job.desc.get("HyperParameterTuningJobConfig") or {}).get("Strategy")
        summaries = list(job.backend.all_training_jobs(job.name))
        epoch = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        summaries.sort(
            key=lambda s: (
                _aware(s.get("CreationTime")) or _aware(s.get("TrainingStartTime")) or epoch,
                s["TrainingJobName"],
            )
        )
        for i, s in enumerate(summaries, 1):
            row: dict[str, Any] = {
                "TuningJobName": job.name,
                "TrainingJobName": s["TrainingJobName"],
                "TrainingJobStatus": s.get("TrainingJobStatus"),
                "ObjectiveStatus": s.get("ObjectiveStatus"),
                "Strategy": strategy,
                "TrialIndex": i,
            }
            tuned = s.get("TunedHyperParameters") or {}
            for name, rng in space.items():
                row[name] = rng.cast(tuned.get(name))
            for name, value in tuned.items():  # tuned but not in any range (e.g. Autotune): best effort
                if name not in space:
                    row[name] = hyperparameter_label(value)
            metric = s.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
            value = metric.get("Value")
            row["FinalObjectiveValue"] = float(value) if value is not None and math.isfinite(float(value)) else math.nan
            start, end = _aware(s.get("TrainingStartTime")), _aware(s.get("TrainingEndTime"))
            row["CreationTime"] = _aware(s.get("CreationTime"))
            row["TrainingStartTime"], row["TrainingEndTime"] = start, end
            row["TrainingElapsedTimeSeconds"] = (end - start).total_seconds() if start and end else math.nan
            if s.get("TrainingJobDefinitionName"):
                row["TrainingJobDefinitionName"] = s["TrainingJobDefinitionName"]
            if s.get("FailureReason"):
                row["FailureReason"] = s["FailureReason"]
            rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        cols = [
            "TuningJobName",
            "TrainingJobName",
            "TrainingJobStatus",
            "ObjectiveStatus",
            "Strategy",
            "TrialIndex",
            *space,
            "FinalObjectiveValue",
            objective,
            "Rank",
            "CreationTime",
            "TrainingStartTime",
            "TrainingEndTime",
            "TrainingElapsedTimeSeconds",
        ]
        return pd.DataFrame(columns=list(dict.fromkeys(cols)))
    for col in ("CreationTime", "TrainingStartTime", "TrainingEndTime"):
        # One unit for every time column: pandas infers it from the values (seconds when a column is all NaT or
        # whole seconds), and "now" for a running job's end could then not be stored in it.
        df[col] = pd.to_datetime(df[col], utc=True).astype(TIME_DTYPE)
    for name, rng in space.items():
        if rng.kind == "Integer" and df[name].notna().all():
            df[name] = df[name].astype("int64")
        elif not rng.categorical:
            df[name] = pd.to_numeric(df[name], errors="coerce")
    df[objective] = df["FinalObjectiveValue"]
    df["Rank"] = df["FinalObjectiveValue"].rank(method="first", ascending=minimize)
    return df


def metrics_frame(jobs: Iterable[JobInfo], trials, metric_names: list[str] | None = None):
    """Every scraped metric value of every training job (amtviz's ``full_df``), a pandas DataFrame.

    Columns: ``TuningJobName``, ``TrainingJobName``, ``label`` (metric name), ``value``, ``ts`` (UTC timestamp),
    ``rel_seconds`` (seconds since the training job started, else since its first value), ``step`` (1-based index of
    the value within its job and metric), then the training job's columns from ``trials``. ``metric_names`` keeps
    only those metrics (None: all).
    """
    import pandas as pd

    by_job = {j.name: j for j in jobs}
    rows = []
    for _, t in trials.iterrows():
        job = by_job.get(t["TuningJobName"])
        if job is None:
            continue
        try:
            series = job.backend.metric_series(job.name, t["TrainingJobName"])
        except Exception as e:  # noqa: BLE001 - a job's missing metrics must not lose the other charts
            log.warning("no metric series for %s: %s", t["TrainingJobName"], e)
            continue
        start = t["TrainingStartTime"]
        base = start.timestamp() if pd.notna(start) else None
        steps: dict[str, int] = {}
        for p in series:
            label = p.get("MetricName")
            value = p.get("Value")
            if metric_names is not None and label not in metric_names:
                continue
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(value):
                continue
            ts = _aware(p.get("Timestamp"))
            if base is None and ts is not None:
                base = ts.timestamp()
            steps[label] = steps.get(label, 0) + 1
            rows.append(
                {
                    "TrainingJobName": t["TrainingJobName"],
                    "label": label,
                    "value": value,
                    "ts": ts,
                    "rel_seconds": (ts.timestamp() - base) if ts is not None else math.nan,
                    "step": steps[label],
                }
            )
    cols = ["TuningJobName", "TrainingJobName", "label", "value", "ts", "rel_seconds", "step"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows)
    df["ts"] = pd.to_datetime(df["ts"], utc=True).astype(TIME_DTYPE)
    extra = trials.drop(columns=[c for c in trials.columns if c in ("label", "value", "ts", "rel_seconds", "step")])
    df = df.merge(extra, on="TrainingJobName", how="left")
    return df[cols + [c for c in df.columns if c not in cols]]


def gather(
    tuning_jobs: Any,
    backend: str | Backend | None = None,
    job_metrics: list[str] | None = None,
    trials_only: bool = False,
) -> TuningData:
    """Read the tuning jobs (and their warm-start ancestors) into a :class:`TuningData`.

    amtviz's ``get_job_analytics_data`` (trials) and ``_prepare_consolidated_df`` (metric series), over any backend.

    Args:
        tuning_jobs: name(s) or tuner(s), see :func:`resolve_jobs`.
        backend: where to look names up (default ``$AMTLOCAL_BACKEND`` or local, then the other backend).
        job_metrics: metric names for the learning curves (None: every metric with values).
        trials_only: skip the metric series (no learning curves; faster on SageMaker, where they come from CloudWatch).

    Raises:
        TuningJobNotFound: a job is on neither backend.
        VizError: the jobs have different objectives or optimization directions (amtviz's rule).
    """
    jobs = collect_jobs(tuning_jobs, backend)
    objective, otype = None, None
    for j in jobs:
        name, kind = objective_of(j.desc)
        if name is None:
            continue
        if objective is None:
            objective, otype = name, kind
        elif (name, kind) != (objective, otype):
            raise VizError(
                f"all tuning jobs must use the same objective and direction: {jobs[0].name} has "
                f"{otype} {objective}, {j.name} has {kind} {name}"
            )
    objective = objective or "FinalObjectiveValue"
    minimize = otype == "Minimize"
    spaces = {j.name: parse_ranges(j.desc) for j in jobs}
    space = merged_space(*spaces.values())
    trials = trials_frame(jobs, space, objective, minimize)
    names: list[str] = [objective] if objective != "FinalObjectiveValue" else []
    for j in jobs:
        names += [m for m in metric_definitions_of(j.desc) if m not in names]
    if trials_only or trials.empty:
        import pandas as pd

        metrics = pd.DataFrame(
            columns=["TuningJobName", "TrainingJobName", "label", "value", "ts", "rel_seconds", "step"]
        )
    else:
        wanted = None if job_metrics is None else list(dict.fromkeys([*names[:1], *job_metrics]))
        metrics = metrics_frame(jobs, trials, wanted)
        seen = set(metrics["label"].unique())
        names += sorted(m for m in seen if m not in names)
    metric_names = [m for m in names if job_metrics is None or m in job_metrics or m == objective]
    return TuningData(jobs, objective, minimize, space, spaces, trials, metrics, metric_names)
