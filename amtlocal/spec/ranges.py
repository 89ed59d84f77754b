"""A tuned hyperparameter's range: one model from the request's ParameterRanges to Optuna and to chart axes.

:class:`Range` is read from one entry of ``IntegerParameterRanges`` / ``ContinuousParameterRanges`` /
``CategoricalParameterRanges`` (AMT_REFERENCE.md "Scaling types") and gives what each reader needs: the local
backend's Optuna distribution and the conversions between Optuna's values and AMT's wire strings, and the charts'
axis scale and display values.

Scaling (documented choices where AMT is silent):

- Linear: uniform on the range.
- Auto: AMT "chooses the best scale". Here: Logarithmic when ``0 < MinValue`` and the range spans at least three
  orders of magnitude (``MaxValue / MinValue >= 1000``, :data:`AUTO_LOG_RATIO`), else Linear; charts draw the same.
- Logarithmic: Optuna's ``log=True`` (integers and continuous); a log axis.
- ReverseLogarithmic (continuous, ``0 <= MinValue < MaxValue < 1``): Optuna samples ``u = 1 - x`` on a log scale over
  ``[1 - max, 1 - min]``; the training job receives ``x = 1 - u``; a reversed log axis of ``1 - x``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from amtlocal.spec.definitions import definitions_with_paths
from amtlocal.spec.hyperparameters import hyperparameter_label

KINDS = ("Integer", "Continuous", "Categorical")
AUTO_LOG_RATIO = 1000.0


def resolve_scaling(scaling: str, low: float, high: float) -> str:
    """The ScalingType actually used: ``Auto`` becomes Logarithmic or Linear (see the module docstring)."""
    if scaling != "Auto":
        return scaling
    return "Logarithmic" if low > 0 and high / low >= AUTO_LOG_RATIO else "Linear"


@dataclass
class Range:
    """One tunable hyperparameter.

    Attributes:
        name: the hyperparameter name (also the Optuna parameter name of a single-definition job).
        kind: ``Integer`` | ``Continuous`` | ``Categorical`` (the ParameterRanges list it came from).
        scaling: the ScalingType in use, ``Auto`` resolved (:func:`resolve_scaling`): ``Linear`` | ``Logarithmic``
            | ``ReverseLogarithmic``; ``Auto`` for categoricals.
        low, high: numeric bounds, int for Integer and float for Continuous (None for categoricals).
        values: categorical values exactly as the request holds them (wire strings, JSON-quoted for a framework
            estimator); see :attr:`labels` for display.
    """

    name: str
    kind: str
    scaling: str = "Auto"
    low: float | int | None = None
    high: float | int | None = None
    values: list[str] = field(default_factory=list)

    @classmethod
    def from_request(cls, kind: str, entry: dict[str, Any]) -> Range:
        """A Range from one entry of ``<kind>ParameterRanges`` (``{"Name", "MinValue", "MaxValue", "ScalingType"}``
        or ``{"Name", "Values"}``). Raises KeyError/ValueError for an entry that validation would reject."""
        if kind == "Categorical":
            return cls(entry["Name"], kind, values=[str(v) for v in entry.get("Values") or []])
        lo: float
        hi: float
        if kind == "Integer":
            lo, hi = int(entry["MinValue"]), int(entry["MaxValue"])
        elif kind == "Continuous":
            lo, hi = float(entry["MinValue"]), float(entry["MaxValue"])
        else:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        return cls(entry["Name"], kind, resolve_scaling(entry.get("ScalingType", "Auto"), lo, hi), lo, hi)

    def _bounds(self) -> tuple[float, float]:
        """``(low, high)`` of a numeric range; TypeError when a bound is missing (as ``float(None)`` would raise)."""
        if self.low is None or self.high is None:
            raise TypeError(f"range {self.name!r} ({self.kind}) has no numeric bounds")
        return self.low, self.high

    # -- charts --------------------------------------------------------------------------------------------------
    @property
    def categorical(self) -> bool:
        return self.kind == "Categorical"

    @property
    def log(self) -> bool:
        """True for a Logarithmic range (sampled, and drawn, on a log scale)."""
        return self.scaling == "Logarithmic" and not self.categorical

    @property
    def reverse_log(self) -> bool:
        """True for a ReverseLogarithmic range (log scale of ``1 - x``)."""
        return self.scaling == "ReverseLogarithmic" and not self.categorical

    @property
    def axis_scale(self) -> str:
        """The chart axis: ``"categorical"`` | ``"log"`` | ``"reverse log"`` | ``"linear"``."""
        return (
            "categorical"
            if self.categorical
            else "log"
            if self.log
            else "reverse log"
            if self.reverse_log
            else "linear"
        )

    @property
    def labels(self) -> list[str]:
        """Categorical values for display, JSON quotes removed (``'"gini"'`` -> ``'gini'``), in the request's order."""
        return [str(hyperparameter_label(v)) for v in self.values]

    def cast(self, wire: Any) -> Any:
        """A ``TunedHyperParameters`` value -> int (Integer), float (Continuous) or its label (Categorical); None when
        missing or unreadable."""
        if wire is None:
            return None
        if self.categorical:
            return hyperparameter_label(wire)
        try:
            x = float(hyperparameter_label(wire))
        except (TypeError, ValueError):
            return None
        if self.kind == "Integer" and math.isfinite(x) and x.is_integer():
            return int(x)
        return x

    def merged(self, other: Range) -> Range:
        """The union of two ranges of the same name (a warm-start parent may have had a wider range): categorical
        values in first-seen order, numeric bounds widened (Continuous when the kinds differ), this one's scaling."""
        if self.categorical or other.categorical:
            values = list(self.values) + [v for v in other.values if v not in self.values]
            return Range(self.name, "Categorical", values=values)
        (low, high), (other_low, other_high) = self._bounds(), other._bounds()
        return Range(
            self.name,
            self.kind if self.kind == other.kind else "Continuous",
            self.scaling,
            min(low, other_low),
            max(high, other_high),
        )

    def display_distribution(self, observed: Sequence[Any] = ()):
        """An Optuna distribution over display values (:meth:`cast`), widened to hold every ``observed`` value: the
        labels for categoricals, a log scale for Logarithmic ranges above 0, otherwise linear (ReverseLogarithmic
        too: display values are ``x``, not ``1 - x``). Used to rebuild a study from finished training jobs."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.categorical:
            return CategoricalDistribution(list(dict.fromkeys([*self.labels, *(str(v) for v in observed)])))
        low, high = min([self.low, *observed]), max([self.high, *observed])
        log_scale = self.log and low > 0
        if self.kind == "Integer" and all(float(v).is_integer() for v in observed):
            return IntDistribution(math.floor(low), math.ceil(high), log=log_scale and low >= 1)
        return FloatDistribution(float(low), float(high), log=log_scale)

    # -- Optuna ----------------------------------------------------------------------------------------------------
    def distribution(self):
        """The Optuna distribution Optuna samples for this range (see the module docstring for the scalings)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.categorical:
            return CategoricalDistribution(list(self.values))
        if self.kind == "Integer":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        if self.reverse_log:
            return FloatDistribution(1.0 - float(self.high), 1.0 - float(self.low), log=True)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def suggest(self, trial, optuna_name: str | None = None) -> Any:
        """Ask a define-by-run Optuna trial for this parameter under ``optuna_name`` (default :attr:`name`)."""
        optuna_name = optuna_name or self.name
        if self.categorical:
            return trial.suggest_categorical(optuna_name, list(self.values))
        dist = self.distribution()
        if self.kind == "Integer":
            return trial.suggest_int(optuna_name, dist.low, dist.high, log=dist.log)
        return trial.suggest_float(optuna_name, dist.low, dist.high, log=dist.log)

    def to_wire(self, internal: Any) -> str:
        """Optuna's value -> the string AMT puts in the hyperparameters map (``17``, never ``17.0``)."""
        if self.categorical:
            return str(internal)
        if self.kind == "Integer":
            return str(int(internal))
        x = 1.0 - float(internal) if self.reverse_log else float(internal)
        return repr(x)

    def to_internal(self, wire: Any) -> Any | None:
        """A wire value (e.g. a parent job's TunedHyperParameters) -> Optuna's value, or None when it is outside
        this range or unreadable."""
        if self.categorical:
            return wire if wire in self.values else None
        try:
            x = float(wire)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(x):
            return None
        low, high = self._bounds()
        if not (float(low) <= x <= float(high)):
            return None
        if self.kind == "Integer":
            return round(x) if float(x).is_integer() else None
        return 1.0 - x if self.reverse_log else x

    def clip(self, wire: Any) -> Any | None:
        """Like :meth:`to_internal`, but a numeric value outside the range is clipped into it."""
        if self.categorical:
            return self.to_internal(wire)
        try:
            low, high = self._bounds()
            x = min(max(float(wire), float(low)), float(high))
        except (TypeError, ValueError):
            return None
        if self.kind == "Integer":
            return round(x)
        return 1.0 - x if self.reverse_log else x


def search_space(parameter_ranges: dict[str, Any] | None) -> dict[str, Range]:
    """``ParameterRanges`` (or a definition's ``HyperParameterRanges``) -> ``{name: Range}``, in the order Integer,
    Continuous, Categorical (``AutoParameters`` are not ranges and are left out)."""
    space: dict[str, Range] = {}
    for kind in KINDS:
        for entry in (parameter_ranges or {}).get(f"{kind}ParameterRanges") or []:
            space[entry["Name"]] = Range.from_request(kind, entry)
    return space


def merged_space(*spaces: dict[str, Range]) -> dict[str, Range]:
    """The union of search spaces: a name in several is :meth:`Range.merged`; first-seen order."""
    out: dict[str, Range] = {}
    for space in spaces:
        for name, rng in space.items():
            out[name] = out[name].merged(rng) if name in out else rng
    return out


def job_space(request: dict[str, Any]) -> dict[str, Range]:
    """Every range of a request or DescribeHyperParameterTuningJob: the config's ``ParameterRanges``, then each
    definition's ``HyperParameterRanges``, merged by name (:func:`merged_space`)."""
    blocks = [(request.get("HyperParameterTuningJobConfig") or {}).get("ParameterRanges")]
    blocks += [d.get("HyperParameterRanges") for _, d in definitions_with_paths(request)]
    return merged_space(*(search_space(b) for b in blocks))


__all__ = ["AUTO_LOG_RATIO", "KINDS", "Range", "job_space", "merged_space", "resolve_scaling", "search_space"]
