"""Pruners for Hyperband and for ``TrainingJobEarlyStoppingType: Auto`` (AMT_REFERENCE.md section 2).

Intermediate values are the objective metric's scraped values in order: the k-th value a training job prints is
step k (its k-th epoch). A pruned training job is stopped (SIGTERM, grace, SIGKILL) and ends ``Stopped``; its last
objective value still counts, as for AMT's early-stopped jobs.
"""

from __future__ import annotations

import statistics

from amtlocal.spec.hyperparameters import decode_hyperparameter

EPOCH_HYPERPARAMETERS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")  # AMT's MaxResource inference
MEDIAN_RULE_MIN_TRIALS = 3  # earlier training jobs needed before the median rule may stop one (documented choice)


def _median_pruner_class():
    from optuna.pruners import BasePruner
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    class MedianRunningAveragePruner(BasePruner):
        """AMT's early stopping: at step k, take each earlier training job's running average of its objective up
        to step k, and stop this job if its value at step k is worse than the median of those averages.

        Args:
            min_trials: earlier jobs with values at or before step k needed before any job is stopped.
        """

        def __init__(self, min_trials: int = MEDIAN_RULE_MIN_TRIALS):
            self.min_trials = min_trials

        def prune(self, study, trial) -> bool:
            step = trial.last_step
            if step is None:
                return False
            value = trial.intermediate_values[step]
            averages = []
            for other in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
                upto = [v for s, v in other.intermediate_values.items() if s <= step]
                if upto and other.number != trial.number:
                    averages.append(sum(upto) / len(upto))
            if len(averages) < self.min_trials:
                return False
            median = statistics.median(averages)
            return value < median if study.direction == StudyDirection.MAXIMIZE else value > median

    return MedianRunningAveragePruner


def make_pruner(config: dict, static_hyperparameters: dict[str, str]):
    """The Optuna pruner for the tuning config, or None.

    - Strategy Hyperband -> ``HyperbandPruner(min_resource=MinResource (default 1), max_resource=MaxResource or the
      epochs-like static hyperparameter)``.
    - TrainingJobEarlyStoppingType Auto -> :class:`MedianRunningAveragePruner`.
    """
    import optuna

    if config["Strategy"] == "Hyperband":
        hb = (config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
        max_resource = hb.get("MaxResource") or max_resource_from_static(static_hyperparameters)
        return optuna.pruners.HyperbandPruner(
            min_resource=int(hb.get("MinResource", 1)), max_resource=int(max_resource), reduction_factor=3
        )
    if config.get("TrainingJobEarlyStoppingType") == "Auto":
        return _median_pruner_class()()
    return None


def max_resource_from_static(static: dict[str, str]) -> int:
    """MaxResource from the first epochs-like static hyperparameter. Raises ValueError if there is none."""
    for key in EPOCH_HYPERPARAMETERS:
        if key in static:
            return int(float(decode_hyperparameter(static[key])))
    raise ValueError(
        f"Hyperband needs HyperbandStrategyConfig.MaxResource or one of the static hyperparameters {', '.join(EPOCH_HYPERPARAMETERS)}"
    )


__all__ = ["EPOCH_HYPERPARAMETERS", "make_pruner", "max_resource_from_static"]
