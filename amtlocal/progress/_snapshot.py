"""What a progress display shows: one :class:`Snapshot` of a tuning job or a training job, and its text lines."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from amtlocal.lifecycle import TERMINAL_STATUSES


def _seconds_since(t: Any) -> float | None:
    if t is None:
        return None
    if isinstance(t, (int, float)):
        return max(0.0, dt.datetime.now(dt.timezone.utc).timestamp() - float(t))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (dt.datetime.now(dt.timezone.utc) - t).total_seconds())


def _span(start: Any, end: Any) -> float | None:
    if start is None or end is None:
        return None
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        return max(0.0, float(end) - float(start))
    return max(0.0, (end - start).total_seconds())


def clock(seconds: float | None) -> str:
    """``h:mm:ss`` (``-`` when unknown)."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _value(v: float | None) -> str:
    return "-" if v is None else f"{v:.6g}"


@dataclass
class Snapshot:
    """One moment of one job, for a progress display.

    Attributes:
        name: the tuning job's or training job's name.
        kind: ``"tuning job"`` or ``"training job"``.
        status: HyperParameterTuningJobStatus / TrainingJobStatus (``InProgress`` while a Progress callback runs).
        done: training jobs finished (counted toward MaxNumberOfTrainingJobs); None for a training job.
        total: MaxNumberOfTrainingJobs (None when AMT derives it, or for a training job).
        running, failed, stopped: training jobs by status (TrainingJobStatusCounters: failed = RetryableError +
            NonRetryableError).
        best: best objective value so far (BestTrainingJob's FinalHyperParameterTuningJobObjectiveMetric.Value),
            or for a training job the last value of its first metric (FinalMetricDataList).
        best_job: the training job that holds ``best``.
        metric: the objective metric's name (or the training job's metric name).
        elapsed: seconds since the job was created (to its end once it ended).
        detail: a training job's SecondaryStatus, or a failure reason.
    """

    name: str
    kind: str = "tuning job"
    status: str = "InProgress"
    done: int | None = None
    total: int | None = None
    running: int = 0
    failed: int = 0
    stopped: int = 0
    best: float | None = None
    best_job: str | None = None
    metric: str | None = None
    elapsed: float | None = None
    detail: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_progress(cls, p: Any, elapsed: float | None = None) -> Snapshot:
        """From the ``Progress`` a backend passes to ``progress=`` (name, finished, total, running, best, metric)."""
        return cls(
            p.name, done=p.finished, total=p.total, running=p.running, best=p.best, metric=p.metric, elapsed=elapsed
        )

    @classmethod
    def from_tuning_job(cls, desc: dict[str, Any]) -> Snapshot:
        """From a DescribeHyperParameterTuningJob response."""
        c = desc.get("TrainingJobStatusCounters") or {}
        cfg = desc.get("HyperParameterTuningJobConfig") or {}
        objective = cfg.get("HyperParameterTuningJobObjective") or {}
        best = desc.get("BestTrainingJob") or {}
        metric = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        failed = c.get("RetryableError", 0) + c.get("NonRetryableError", 0)
        ended = desc.get("HyperParameterTuningEndTime")
        elapsed = _span(desc.get("CreationTime"), ended) if ended else _seconds_since(desc.get("CreationTime"))
        return cls(
            desc["HyperParameterTuningJobName"],
            status=desc.get("HyperParameterTuningJobStatus", "InProgress"),
            done=c.get("Completed", 0) + failed + c.get("Stopped", 0),
            total=(cfg.get("ResourceLimits") or {}).get("MaxNumberOfTrainingJobs"),
            running=c.get("InProgress", 0),
            failed=failed,
            stopped=c.get("Stopped", 0),
            best=metric.get("Value"),
            best_job=best.get("TrainingJobName"),
            metric=metric.get("MetricName") or objective.get("MetricName"),
            elapsed=elapsed,
            detail=desc.get("FailureReason"),
        )

    @classmethod
    def from_training_job(cls, desc: dict[str, Any]) -> Snapshot:
        """From a DescribeTrainingJob response (metrics: FinalMetricDataList, the last value of each metric)."""
        metrics = {m["MetricName"]: float(m["Value"]) for m in desc.get("FinalMetricDataList") or [] if "Value" in m}
        ended = desc.get("TrainingEndTime")
        start = desc.get("CreationTime")
        elapsed = _span(start, ended) if ended else _seconds_since(start)
        first = next(iter(metrics.items()), (None, None))
        return cls(
            desc["TrainingJobName"],
            kind="training job",
            status=desc.get("TrainingJobStatus", "InProgress"),
            best=first[1],
            metric=first[0],
            elapsed=elapsed,
            detail=desc.get("FailureReason") or desc.get("SecondaryStatus"),
            metrics=metrics,
        )

    # -- text ----------------------------------------------------------------------------------------------------
    def line(self) -> str:
        """The live line: for a tuning job ``<name>: 3/6 training jobs done, 2 running, 1 failed, best f1 0.93
        (<job>), 0:00:41`` (the CLI's line, plus failures, the best job and the time); for a training job
        ``<name>: InProgress (Training), f1 0.93, 0:00:12``."""
        if self.kind == "training job":
            parts = [f"{self.name}: {self.status}" + (f" ({self.detail})" if self.detail and not self.ended else "")]
            parts += [f"{k} {_value(v)}" for k, v in self.metrics.items()]
            return ", ".join(parts + [clock(self.elapsed)])
        total = "?" if self.total is None else str(self.total)
        parts = [f"{self.name}: {self.done or 0}/{total} training jobs done", f"{self.running} running"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        best = f"best {self.metric} {_value(self.best)}" + (f" ({self.best_job})" if self.best_job else "")
        return ", ".join(parts + [best, clock(self.elapsed)])

    def summary(self) -> str:
        """The one-line summary at the end: ``<name>: Completed in 0:00:41; 6 training jobs (5 completed, 1 failed);
        best f1 0.93 (<job>)``."""
        if self.kind == "training job":
            text = f"{self.name}: {self.status} in {clock(self.elapsed)}"
            if self.metrics:
                text += "; " + ", ".join(f"{k} {_value(v)}" for k, v in self.metrics.items())
            return text + (f"; {self.detail}" if self.status == "Failed" and self.detail else "")
        done = self.done or 0
        completed = done - self.failed - self.stopped
        counts = (
            [f"{completed} completed"]
            + ([f"{self.failed} failed"] if self.failed else [])
            + ([f"{self.stopped} stopped"] if self.stopped else [])
        )
        text = f"{self.name}: {self.status} in {clock(self.elapsed)}; {done} training jobs ({', '.join(counts)})"
        if self.best is not None:
            text += f"; best {self.metric} {_value(self.best)}" + (f" ({self.best_job})" if self.best_job else "")
        return text + (f"; {self.detail}" if self.status == "Failed" and self.detail else "")
