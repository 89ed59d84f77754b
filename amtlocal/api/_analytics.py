"""HyperparameterTuningJobAnalytics with SDK v2's dataframe columns (``sagemaker.analytics``)."""

from __future__ import annotations

from typing import Any

from amtlocal.backends import Backend, get_backend


def _maybe_float(value: str) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class HyperparameterTuningJobAnalytics:
    """Analytics of one tuning job of either backend, read only through the AMT API shapes.

    Args:
        hyperparameter_tuning_job_name: the tuning job.
        sagemaker_session: accepted for SDK compatibility (unused).
        backend: where the job lives (default ``$AMTLOCAL_BACKEND`` or local).
    """

    def __init__(
        self, hyperparameter_tuning_job_name: str, sagemaker_session: Any = None, backend: str | Backend | None = None
    ):
        self.name = hyperparameter_tuning_job_name
        self.backend = get_backend(backend)
        self._summaries: list[dict] | None = None
        self._dataframe = None

    def description(self, force_refresh: bool = False) -> dict:
        """DescribeHyperParameterTuningJob."""
        return self.backend.describe(self.name)

    def training_job_summaries(self, force_refresh: bool = False) -> list[dict]:
        """Every HyperParameterTrainingJobSummary (all pages)."""
        if force_refresh or self._summaries is None:
            self._summaries = list(self.backend.all_training_jobs(self.name))
        return self._summaries

    @property
    def tuning_ranges(self) -> dict[str, dict]:
        """Range name -> its range dict, from the job's ParameterRanges."""
        ranges = self.description()["HyperParameterTuningJobConfig"].get("ParameterRanges") or {}
        return {r["Name"]: r for rs in ranges.values() for r in rs}

    def dataframe(self, force_refresh: bool = False):
        """One row per training job of this tuning job (warm-start parents' jobs are not included).

        Columns, in SDK v2's order: each tuned hyperparameter (cast to float when possible; quoted categoricals stay
        quoted), ``TrainingJobName``, ``TrainingJobStatus``, ``FinalObjectiveValue``, ``TrainingStartTime``,
        ``TrainingEndTime``, ``TrainingElapsedTimeSeconds``, and ``TrainingJobDefinitionName`` when present.
        """
        import pandas as pd

        if force_refresh or self._dataframe is None:
            rows = []
            for s in self.training_job_summaries(force_refresh):
                row: dict[str, Any] = {k: _maybe_float(v) for k, v in s.get("TunedHyperParameters", {}).items()}
                row["TrainingJobName"] = s["TrainingJobName"]
                row["TrainingJobStatus"] = s["TrainingJobStatus"]
                row["FinalObjectiveValue"] = s.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
                start, end = s.get("TrainingStartTime"), s.get("TrainingEndTime")
                row["TrainingStartTime"], row["TrainingEndTime"] = start, end
                row["TrainingElapsedTimeSeconds"] = (end - start).total_seconds() if start and end else None
                if "TrainingJobDefinitionName" in s:
                    row["TrainingJobDefinitionName"] = s["TrainingJobDefinitionName"]
                rows.append(row)
            self._dataframe = pd.DataFrame(rows)
        return self._dataframe

    def clear_cache(self) -> None:
        self._summaries, self._dataframe = None, None
