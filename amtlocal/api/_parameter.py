"""Parameter ranges with the names and request shapes of SDK v2's ``sagemaker.parameter``."""

from __future__ import annotations

from typing import Any

from amtlocal.spec.hyperparameters import encode_hyperparameter

SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")


class ParameterRange:
    """A numeric range (SDK v2 ``ParameterRange``): ``min_value``, ``max_value``, ``scaling_type``.

    Raises:
        ValueError: an unknown scaling_type.
    """

    __all_types__ = ("Continuous", "Categorical", "Integer")
    __name__ = "Base"

    def __init__(self, min_value: Any, max_value: Any, scaling_type: str = "Auto"):
        if scaling_type not in SCALING_TYPES:
            raise ValueError(f"scaling_type must be one of {', '.join(SCALING_TYPES)}, not {scaling_type!r}")
        self.min_value, self.max_value, self.scaling_type = min_value, max_value, scaling_type

    def as_tuning_range(self, name: str) -> dict[str, str]:
        """``{"Name", "MinValue", "MaxValue", "ScalingType"}`` with string bounds, as the SDK sends them."""
        return {
            "Name": name,
            "MinValue": str(self.min_value),
            "MaxValue": str(self.max_value),
            "ScalingType": self.scaling_type,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.min_value!r}, {self.max_value!r}, scaling_type={self.scaling_type!r})"


class ContinuousParameter(ParameterRange):
    """A continuous range -> ``ContinuousParameterRanges``."""

    __name__ = "Continuous"


class IntegerParameter(ParameterRange):
    """An integer range -> ``IntegerParameterRanges``."""

    __name__ = "Integer"


class CategoricalParameter(ParameterRange):
    """A categorical range -> ``CategoricalParameterRanges`` (values become strings, as in SDK v2).

    With a framework estimator (SKLearn, Framework) the values are sent JSON-quoted (``'"gini"'``), see
    :meth:`as_json_range`; with a plain Estimator they are sent as ``str(value)``.
    """

    __name__ = "Categorical"

    def __init__(self, values: Any):
        values = list(values) if isinstance(values, (list, tuple, set)) else [values]
        self.values = [v if isinstance(v, str) else str(v) for v in values]
        self.scaling_type = "Auto"

    def as_tuning_range(self, name: str) -> dict[str, Any]:
        return {"Name": name, "Values": list(self.values)}

    def as_json_range(self, name: str) -> dict[str, Any]:
        """Values JSON-encoded, as SDK v2 sends them for framework estimators."""
        return {"Name": name, "Values": [encode_hyperparameter(v) for v in self.values]}

    def __repr__(self) -> str:
        return f"CategoricalParameter({self.values!r})"
