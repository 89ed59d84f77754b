"""SDK v2's tuning-job configuration objects (``sagemaker.tuner``): HyperbandStrategyConfig, StrategyConfig and
TuningJobCompletionCriteriaConfig, with the same constructor arguments, attributes, ``to_input_req()`` and
``from_job_desc()``, so that code written for SDK v2 imports them from amtlocal unchanged."""

from __future__ import annotations

from typing import Any


class HyperbandStrategyConfig:
    """``HyperParameterTuningJobConfig.StrategyConfig.HyperbandStrategyConfig`` (SDK v2 ``HyperbandStrategyConfig``).

    Args:
        max_resource: MaxResource, the most resource units (epochs: the ``epoch`` count the job reports) a training
            job may use; it is stopped there.
        min_resource: MinResource, the units a job always gets before Hyperband may stop it.
    """

    def __init__(self, max_resource: int, min_resource: int):
        self.min_resource = min_resource
        self.max_resource = max_resource

    @classmethod
    def from_job_desc(cls, hyperband_strategy_config: dict[str, Any]) -> HyperbandStrategyConfig:
        """From the ``HyperbandStrategyConfig`` of a DescribeHyperParameterTuningJob response."""
        return cls(
            min_resource=hyperband_strategy_config["MinResource"],
            max_resource=hyperband_strategy_config["MaxResource"],
        )

    def to_input_req(self) -> dict[str, Any]:
        """``{"MinResource": ..., "MaxResource": ...}``, as SDK v2 sends it."""
        return {"MinResource": self.min_resource, "MaxResource": self.max_resource}


class StrategyConfig:
    """``HyperParameterTuningJobConfig.StrategyConfig`` (SDK v2 ``StrategyConfig``): only valid with the Hyperband
    strategy.

    Args:
        hyperband_strategy_config: a :class:`HyperbandStrategyConfig`.
    """

    def __init__(self, hyperband_strategy_config: HyperbandStrategyConfig):
        self.hyperband_strategy_config = hyperband_strategy_config

    @classmethod
    def from_job_desc(cls, strategy_config: dict[str, Any]) -> StrategyConfig:
        """From the ``StrategyConfig`` of a DescribeHyperParameterTuningJob response."""
        return cls(HyperbandStrategyConfig.from_job_desc(strategy_config["HyperbandStrategyConfig"]))

    def to_input_req(self) -> dict[str, Any]:
        """``{"HyperbandStrategyConfig": {...}}``, as SDK v2 sends it."""
        return {"HyperbandStrategyConfig": self.hyperband_strategy_config.to_input_req()}


class TuningJobCompletionCriteriaConfig:
    """``HyperParameterTuningJobConfig.TuningJobCompletionCriteria`` (SDK v2 ``TuningJobCompletionCriteriaConfig``).

    Args:
        max_number_of_training_jobs_not_improving: BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving.
        complete_on_convergence: ConvergenceDetected.CompleteOnConvergence (``Enabled``/``Disabled``).
        target_objective_metric_value: TargetObjectiveMetricValue.

    Members left None are not sent.
    """

    def __init__(
        self,
        max_number_of_training_jobs_not_improving: int | None = None,
        complete_on_convergence: bool | None = None,
        target_objective_metric_value: float | None = None,
    ):
        self.max_number_of_training_jobs_not_improving = max_number_of_training_jobs_not_improving
        self.complete_on_convergence = complete_on_convergence
        self.target_objective_metric_value = target_objective_metric_value

    @classmethod
    def from_job_desc(cls, completion_criteria_config: dict[str, Any]) -> TuningJobCompletionCriteriaConfig:
        """From the ``TuningJobCompletionCriteria`` of a DescribeHyperParameterTuningJob response (as SDK v2 reads
        it: a missing or empty member is None)."""
        convergence = (completion_criteria_config.get("ConvergenceDetected") or {}).get("CompleteOnConvergence")
        not_improving = (completion_criteria_config.get("BestObjectiveNotImproving") or {}).get(
            "MaxNumberOfTrainingJobsNotImproving"
        )
        return cls(
            max_number_of_training_jobs_not_improving=not_improving or None,
            complete_on_convergence=convergence == "Enabled" if convergence else None,
            target_objective_metric_value=completion_criteria_config.get("TargetObjectiveMetricValue"),
        )

    def to_input_req(self) -> dict[str, Any]:
        """The request member, with only the criteria that are set, as SDK v2 sends it."""
        out: dict[str, Any] = {}
        if self.max_number_of_training_jobs_not_improving is not None:
            out["BestObjectiveNotImproving"] = {
                "MaxNumberOfTrainingJobsNotImproving": self.max_number_of_training_jobs_not_improving
            }
        if self.target_objective_metric_value is not None:
            out["TargetObjectiveMetricValue"] = self.target_objective_metric_value
        if self.complete_on_convergence is not None:
            out["ConvergenceDetected"] = {
                "CompleteOnConvergence": "Enabled" if self.complete_on_convergence else "Disabled"
            }
        return out
