"""TrainingJobAnalytics with SDK v2's DataFrame (``sagemaker.analytics.TrainingJobAnalytics``)."""

from __future__ import annotations

import re
from typing import Any

from amtlocal.backends import Backend, get_backend

_CHILD = re.compile(r"^(?P<tuning>.+)-\d{3}-[0-9a-f]{8}$")  # a tuning job's training job: <tuning job>-NNN-<8 hex>


class TrainingJobAnalytics:
    """The metric series of one training job, read through ``Backend.metric_series`` (scraped values locally,
    CloudWatch's ``/aws/sagemaker/TrainingJobs`` namespace on SageMaker).

    Args:
        training_job_name: the training job.
        metric_names: metrics to include (default: every ``MetricDefinitions`` name of the job, as SDK v2).
        sagemaker_session: accepted for SDK compatibility (unused).
        start_time, end_time: keep only points in this interval (datetimes or epoch seconds).
        period: accepted for SDK compatibility; local series are not resampled.
        backend: where the job lives (default ``$AMTLOCAL_BACKEND`` or local).
    """

    CLOUDWATCH_NAMESPACE = "/aws/sagemaker/TrainingJobs"

    def __init__(
        self,
        training_job_name: str,
        metric_names: list[str] | None = None,
        sagemaker_session: Any = None,
        start_time: Any = None,
        end_time: Any = None,
        period: int | None = None,
        backend: str | Backend | None = None,
    ):
        self.name = training_job_name
        self.backend = get_backend(backend)
        self._metric_names = metric_names
        self._start, self._end, self._period = _epoch(start_time), _epoch(end_time), period
        self._dataframe = None

    def description(self) -> dict[str, Any]:
        """DescribeTrainingJob of the job."""
        return self.backend.describe_training_job(self.name)

    def _series(self) -> list[dict[str, Any]]:
        desc = self.description()
        names = self._metric_names or [
            m["Name"] for m in (desc.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []
        ]
        m = _CHILD.match(self.name) if desc.get("TuningJobArn") else None
        points = self.backend.metric_series(m["tuning"] if m else None, self.name)
        return [
            p
            for p in points
            if p["MetricName"] in names
            and (self._start is None or p["Timestamp"] >= self._start)
            and (self._end is None or p["Timestamp"] <= self._end)
        ]

    def dataframe(self, force_refresh: bool = False):
        """Columns ``timestamp`` (seconds since the metric's first point, as SDK v2), ``metric_name``, ``value``;
        rows grouped by metric (in MetricDefinitions order), each metric's rows in time order."""
        import pandas as pd

        if force_refresh or self._dataframe is None:
            data: dict[str, list] = {"timestamp": [], "metric_name": [], "value": []}
            by_metric: dict[str, list[dict[str, Any]]] = {}
            for p in self._series():
                by_metric.setdefault(p["MetricName"], []).append(p)
            for name, pts in by_metric.items():
                pts.sort(key=lambda p: p["Timestamp"])
                base = pts[0]["Timestamp"]
                for p in pts:
                    data["timestamp"].append(float(p["Timestamp"]) - float(base))
                    data["metric_name"].append(name)
                    data["value"].append(float(p["Value"]))
            self._dataframe = pd.DataFrame(data)
        return self._dataframe

    def export_csv(self, filename: str) -> None:
        """Write :meth:`dataframe` to ``filename`` (SDK v2's method)."""
        self.dataframe().to_csv(filename)

    def clear_cache(self) -> None:
        self._dataframe = None


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return float(value)
