"""Strategy -> Optuna sampler, over the search space of :mod:`amtlocal.spec.ranges` (one ``Range`` per tuned
hyperparameter: its Optuna distribution, scaling and wire conversions live there)."""

from __future__ import annotations

import math

from amtlocal.spec.ranges import Range


def grid_size(space: dict[str, Range]) -> int:
    """Number of combinations of a categorical-only space (Grid's MaxNumberOfTrainingJobs)."""
    return math.prod(len(p.values) for p in space.values()) if space else 0


def _grid_sampler_class():
    import optuna

    class AskTellGridSampler(optuna.samplers.GridSampler):
        """GridSampler whose ``after_trial`` does not call ``study.stop()`` (only legal inside ``optimize``); the
        tuning loop itself stops at MaxNumberOfTrainingJobs, which for Grid is the number of combinations."""

        def after_trial(self, study, trial, state, values) -> None:
            return None

    return AskTellGridSampler


def _AskTellGridSampler(*args, **kwargs):
    return _grid_sampler_class()(*args, **kwargs)


def make_sampler(config: dict, space: dict[str, Range], resumed_after: int = 0):
    """The Optuna sampler for ``HyperParameterTuningJobConfig.Strategy`` (DESIGN.md "Local backend, decided").

    - Random -> ``RandomSampler(seed=RandomSeed)``
    - Bayesian -> ``TPESampler(seed, multivariate=True, constant_liar=True)``: explicit, as Optuna 5 changed
      defaults; constant_liar keeps parallel training jobs from proposing the same point.
    - Grid -> ``GridSampler`` over the categorical values (every combination once).
    - Hyperband -> random proposals; the Hyperband pruner does the multi-fidelity work.

    ``resumed_after``: trials the study already has when a stopped or killed job resumes (0 for a fresh run, so the
    same RandomSeed gives the same sequence).
    """
    import optuna

    seed = config.get("RandomSeed")
    if seed is not None and resumed_after:
        # A resumed job must not replay the proposals its first run already made: same seed, a later stream.
        seed = int(seed) + int(resumed_after)
    strategy = config["Strategy"]
    if strategy == "Bayesian":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)
    if strategy == "Grid":
        return _AskTellGridSampler({n: list(p.values) for n, p in space.items()}, seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)
