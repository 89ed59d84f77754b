"""AMT ParameterRanges <-> Optuna distributions, and Strategy -> Optuna sampler.

Scaling (AMT_REFERENCE.md "Scaling types"; documented choices):
- Linear: uniform on the range.
- Auto: AMT "chooses the best scale". Locally (documented choice): Logarithmic when ``0 < MinValue`` and the range spans
  at least three orders of magnitude (``MaxValue / MinValue >= 1000``), else Linear.
- Logarithmic: ``log=True`` (integers and continuous).
- ReverseLogarithmic (continuous, 0 <= min < max < 1): Optuna samples ``u = 1 - x`` on a log scale over
  ``[1 - max, 1 - min]``; the training job receives ``x = 1 - u``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Param:
    """One tunable hyperparameter.

    Attributes:
        name: the hyperparameter name (also the Optuna parameter name).
        kind: ``Integer`` | ``Continuous`` | ``Categorical`` (which ParameterRanges list it came from).
        scaling: ScalingType (``Auto`` for categoricals).
        low, high: numeric bounds (None for categoricals).
        values: categorical values exactly as in the spec (wire strings).
    """

    name: str
    kind: str
    scaling: str = "Auto"
    low: float | int | None = None
    high: float | int | None = None
    values: list[str] = field(default_factory=list)

    def distribution(self):
        """The Optuna distribution that Optuna samples for this parameter."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "Categorical":
            return CategoricalDistribution(list(self.values))
        if self.kind == "Integer":
            return IntDistribution(int(self.low), int(self.high), log=self.scaling == "Logarithmic")
        if self.scaling == "ReverseLogarithmic":
            return FloatDistribution(1.0 - float(self.high), 1.0 - float(self.low), log=True)
        return FloatDistribution(float(self.low), float(self.high), log=self.scaling == "Logarithmic")

    def suggest(self, trial, optuna_name: str) -> Any:
        """Ask a define-by-run trial for this parameter under ``optuna_name`` (several definitions)."""
        if self.kind == "Categorical":
            return trial.suggest_categorical(optuna_name, list(self.values))
        dist = self.distribution()
        if self.kind == "Integer":
            return trial.suggest_int(optuna_name, dist.low, dist.high, log=dist.log)
        return trial.suggest_float(optuna_name, dist.low, dist.high, log=dist.log)

    def to_wire(self, internal: Any) -> str:
        """Optuna's value -> the string AMT puts in the hyperparameters map (``17``, never ``17.0``)."""
        if self.kind == "Categorical":
            return str(internal)
        if self.kind == "Integer":
            return str(int(internal))
        x = 1.0 - float(internal) if self.scaling == "ReverseLogarithmic" else float(internal)
        return repr(x)

    def to_internal(self, wire: str) -> Any | None:
        """A wire value (e.g. from a parent job) -> Optuna's value, or None when outside this range."""
        if self.kind == "Categorical":
            return wire if wire in self.values else None
        try:
            x = float(wire)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(x) or not (float(self.low) <= x <= float(self.high)):
            return None
        if self.kind == "Integer":
            return int(round(x)) if float(x).is_integer() else None
        return 1.0 - x if self.scaling == "ReverseLogarithmic" else x

    def clip(self, wire: str) -> Any | None:
        """Like :meth:`to_internal`, but numeric values outside the range are clipped into it."""
        if self.kind == "Categorical":
            return self.to_internal(wire)
        try:
            x = min(max(float(wire), float(self.low)), float(self.high))
        except (TypeError, ValueError):
            return None
        if self.kind == "Integer":
            return int(round(x))
        return 1.0 - x if self.scaling == "ReverseLogarithmic" else x


AUTO_LOG_RATIO = 1000.0


def resolve_scaling(scaling: str, low: float, high: float) -> str:
    """The scaling actually used: ``Auto`` becomes Logarithmic or Linear (see the module docstring)."""
    if scaling != "Auto":
        return scaling
    return "Logarithmic" if low > 0 and high / low >= AUTO_LOG_RATIO else "Linear"


def search_space(parameter_ranges: dict | None) -> dict[str, Param]:
    """``HyperParameterTuningJobConfig.ParameterRanges`` (or a definition's HyperParameterRanges) -> name -> Param."""
    space: dict[str, Param] = {}
    pr = parameter_ranges or {}
    for r in pr.get("IntegerParameterRanges") or []:
        lo, hi = int(r["MinValue"]), int(r["MaxValue"])
        space[r["Name"]] = Param(r["Name"], "Integer", resolve_scaling(r.get("ScalingType", "Auto"), lo, hi), lo, hi)
    for r in pr.get("ContinuousParameterRanges") or []:
        lo, hi = float(r["MinValue"]), float(r["MaxValue"])
        space[r["Name"]] = Param(r["Name"], "Continuous", resolve_scaling(r.get("ScalingType", "Auto"), lo, hi), lo, hi)
    for r in pr.get("CategoricalParameterRanges") or []:
        space[r["Name"]] = Param(r["Name"], "Categorical", values=list(r["Values"]))
    return space


def grid_size(space: dict[str, Param]) -> int:
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


def make_sampler(config: dict, space: dict[str, Param], resumed_after: int = 0):
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
