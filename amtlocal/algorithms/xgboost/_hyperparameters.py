"""The XGBoost container's hyperparameters: names, types, ranges, dependencies and its error messages.

Ported from aws/sagemaker-xgboost-container (Apache-2.0) at cb8df91: ``algorithm_mode/hyperparameter_validation.py``
(the declarations) and ``sagemaker_algorithm_toolkit/hyperparameter_validation.py`` (the validation steps and their
messages). Validation runs as the container's does: aliases replaced, required ones checked, values parsed, ranges
checked, then dependencies; the first problem raises :class:`~amtlocal.exceptions.BuiltinAlgorithmError` with the
container's message (``Missing required hyperparameter: num_round``, ``Hyperparameter max_depth: -1 is not in
[0, +inf)``). Pure Python: the spec rules import it without xgboost.

One deliberate difference: ``monotone_constraints`` is parsed with ``ast.literal_eval`` (the container uses ``eval``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amtlocal.algorithms.xgboost._metrics import MAXIMIZE_METRICS, MINIMIZE_METRICS, TUNABLE_METRIC_NAMES
from amtlocal.exceptions import BuiltinAlgorithmError


def _user_error(message: str) -> BuiltinAlgorithmError:
    return BuiltinAlgorithmError(message, kind="UserError")


@dataclass(frozen=True)
class Interval:
    """A numeric range as the toolkit's ``Interval``: open/closed bounds, printed ``[0, +inf)``."""

    min_open: float | None = None
    min_closed: float | None = None
    max_open: float | None = None
    max_closed: float | None = None

    def __contains__(self, value: float) -> bool:
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )

    def __str__(self) -> str:
        lo = (
            f"({self.min_open}, "
            if self.min_open is not None
            else f"[{self.min_closed}, "
            if self.min_closed is not None
            else "(-inf, "
        )
        hi = (
            f"{self.max_open})"
            if self.max_open is not None
            else f"{self.max_closed}]"
            if self.max_closed is not None
            else "+inf)"
        )
        return lo + hi


class _Choices:
    """A range given by a predicate (the toolkit's ``range_validator``); printed as its list of options."""

    def __init__(self, options: list[str], accept: Callable[[list[str], Any], bool] | None = None):
        self.options = options
        self.accept = accept or (lambda options, value: value in options)

    def __contains__(self, value: Any) -> bool:
        return self.accept(self.options, value)

    def __str__(self) -> str:
        return str(self.options)


@dataclass
class Hyperparameter:
    """One declared hyperparameter. ``kind``: integer | continuous | categorical | list (comma-separated) |
    nested (list of lists) | tuple. ``dependencies``: names whose validated values ``check`` receives."""

    name: str
    kind: str
    range: Any
    required: bool = False
    tunable: bool = False
    dependencies: tuple[str, ...] = ()
    check: Callable[[Any, dict[str, Any]], None] | None = None

    def parse(self, value: Any) -> Any:
        if self.kind == "integer":
            return int(value)
        if self.kind == "continuous":
            return float(value)
        if self.kind == "list":
            return value.split(",") if isinstance(value, str) else value
        if self.kind in ("nested", "tuple"):
            if isinstance(value, str):
                parsed = ast.literal_eval(value)
            else:
                parsed = value
            if self.kind == "tuple" and isinstance(parsed, list):
                parsed = tuple(parsed)
            return parsed
        return value

    def validate_range(self, value: Any) -> None:
        if self.kind == "list":
            if any(v not in self.range for v in value):
                raise _user_error(f"Hyperparameter {self.name}: value {value} not in range {self.range}")
        elif self.kind == "nested":
            if any(e not in self.range for outer in value for e in outer):
                raise _user_error(f"Hyperparameter {self.name}: value {value} not in range {self.range}")
        elif self.kind == "tuple":
            if any(e not in self.range for e in value):
                raise _user_error(f"Hyperparameter {self.name}: value {value} not in range {self.range}")
        elif value not in self.range:
            raise _user_error(f"Hyperparameter {self.name}: {value} is not in {self.range}")


# --- the container's dependency validators ---------------------------------------------------------------------------

_TREE_PLUGINS = [
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    "grow_skmaker",
    "sync",
    "refresh",
    "prune",
    "grow_quantile_histmaker",
]
_TREE_BUILD_PLUGINS = ["grow_colmaker", "distcol", "grow_histmaker", "grow_colmaker", "grow_quantile_histmaker"]
_LINEAR_PLUGINS = ["shotgun", "coord_descent"]
_PROCESS_UPDATE_PLUGINS = ["refresh", "prune"]


def _updater(value: list[str], deps: dict[str, Any]) -> None:
    if deps.get("booster") == "gblinear":
        if not (len(value) == 1 and value[0] in _LINEAR_PLUGINS):
            raise _user_error("Linear updater should be one of these options: 'shotgun', 'coord_descent'.")
    elif deps.get("process_type") == "update":
        if not all(x in _PROCESS_UPDATE_PLUGINS for x in value):
            raise _user_error("process_type 'update' can only be used with updater 'refresh' and 'prune'")
    else:
        if not all(x in _TREE_PLUGINS for x in value):
            raise _user_error(
                "Tree updater should be selected from these options: 'grow_colmaker', 'distcol', "
                "'grow_histmaker', 'grow_skmaker', 'grow_quantile_histmaker', 'sync', 'refresh', "
                "'prune', 'shortgun', 'coord_descent'."
            )
        if sum(1 for x in value if x in _TREE_BUILD_PLUGINS) > 1:
            raise _user_error(
                "Only one tree grow plugin can be selected. Choose one from thefollowing: "
                "'grow_colmaker', 'distcol', 'grow_histmaker', 'grow_skmaker'"
            )


def _objective(value: Any, deps: dict[str, Any]) -> None:
    num_class = deps.get("num_class")
    if value in ("multi:softmax", "multi:softprob") and num_class is None:
        raise _user_error("Require input for parameter 'num_class' for multi-classification")
    if value is None and num_class is not None:
        raise _user_error(
            "Do not need to setup parameter 'num_class' for learning task other than multi-classification."
        )


def _eval_metric_in_range(supported: list[str], metric: str) -> bool:
    if "<function" in metric:
        raise _user_error(f"User defined evaluation metric {metric} is not supported yet.")
    if "@" in metric:
        name, threshold = (part.strip() for part in metric.split("@", 1))
        if name not in ("error", "ndcg", "map"):
            raise _user_error(
                f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized threshold "
                "should be one of these options: 'error', 'ndcg', 'map'."
            )
        try:
            float(threshold)
        except ValueError:
            raise _user_error(f"Threshold value 't' in '{name}@t' expects float input.") from None
        return True
    return metric in supported


def _eval_metric(value: list[str], deps: dict[str, Any]) -> None:
    objective = deps.get("objective") or ""
    if "auc" in value and not any(objective.startswith(t) for t in ("binary:", "rank:")):
        raise _user_error("Metric 'auc' can only be applied for classification and ranking problems.")
    if "aft-nloglik" in value and objective not in ("survival:aft",):
        raise _user_error("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")


def _monotone(value: Any, deps: dict[str, Any]) -> None:
    if value is not None and deps.get("tree_method") not in ("exact", "hist"):
        raise _user_error(
            "monotone_constraints can be used only when the tree_method parameter is set to either 'exact' or 'hist'."
        )


def _interaction(value: Any, deps: dict[str, Any]) -> None:
    if value is not None and deps.get("tree_method") not in ("exact", "hist", "approx"):
        raise _user_error(
            "interaction_constraints can be used only when the tree_method parameter is set to either "
            "'exact', 'hist' or 'approx'."
        )


def _hp(name: str, kind: str, rng: Any, **kw: Any) -> Hyperparameter:
    return Hyperparameter(name, kind, rng, **kw)


INT, C, CAT = "integer", "continuous", "categorical"
_UPDATERS = [
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    "grow_skmaker",
    "sync",
    "refresh",
    "prune",
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    "grow_colmaker",
    "shotgun",
    "coord_descent",
    "refresh",
    "prune",
]
OBJECTIVES = [
    "aft_loss_distribution",
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:pairwise",
    "rank:ndcg",
    "rank:map",
    "reg:linear",
    "reg:squarederror",
    "reg:logistic",
    "reg:gamma",
    "reg:pseudohubererror",
    "reg:squaredlogerror",
    "reg:absoluteerror",
    "reg:tweedie",
    "survival:aft",
    "survival:cox",
]

HYPERPARAMETERS: dict[str, Hyperparameter] = {
    h.name: h
    for h in [
        _hp("num_round", INT, Interval(min_closed=1), required=True, tunable=True),
        _hp("csv_weights", INT, Interval(min_closed=0, max_closed=1)),
        _hp("early_stopping_rounds", INT, Interval(min_closed=1)),
        _hp("booster", CAT, ["gbtree", "gblinear", "dart"]),
        _hp("verbosity", INT, Interval(min_closed=0, max_closed=3)),
        _hp("nthread", INT, Interval(min_closed=1)),
        _hp("eta", C, Interval(min_closed=0, max_closed=1), tunable=True),
        _hp("gamma", C, Interval(min_closed=0), tunable=True),
        _hp("max_depth", INT, Interval(min_closed=0), tunable=True),
        _hp("min_child_weight", C, Interval(min_closed=0), tunable=True),
        _hp("max_delta_step", C, Interval(min_closed=0), tunable=True),
        _hp("subsample", C, Interval(min_open=0, max_closed=1), tunable=True),
        _hp("colsample_bytree", C, Interval(min_open=0, max_closed=1), tunable=True),
        _hp("colsample_bylevel", C, Interval(min_open=0, max_closed=1), tunable=True),
        _hp("colsample_bynode", C, Interval(min_open=0, max_closed=1), tunable=True),
        _hp("lambda", C, Interval(min_closed=0), tunable=True),
        _hp("alpha", C, Interval(min_closed=0), tunable=True),
        _hp("tree_method", CAT, _Choices(["auto", "exact", "approx", "hist", "gpu_hist"])),
        _hp("sketch_eps", C, Interval(min_open=0, max_open=1)),
        _hp("scale_pos_weight", C, Interval(min_open=0)),
        _hp("updater", "list", _UPDATERS, dependencies=("booster", "process_type"), check=_updater),
        _hp("dsplit", CAT, ["row", "col"]),
        _hp("refresh_leaf", INT, Interval(min_closed=0, max_closed=1)),
        _hp("process_type", CAT, ["default", "update"]),
        _hp("grow_policy", CAT, ["depthwise", "lossguide"]),
        _hp("max_leaves", INT, Interval(min_closed=0)),
        _hp("max_bin", INT, Interval(min_closed=0)),
        _hp("predictor", CAT, _Choices(["auto", "cpu_predictor", "gpu_predictor"])),
        _hp("monotone_constraints", "tuple", [-1, 0, 1], dependencies=("tree_method",), check=_monotone),
        _hp(
            "interaction_constraints",
            "nested",
            Interval(min_closed=1),
            dependencies=("tree_method",),
            check=_interaction,
        ),
        _hp("sample_type", CAT, ["uniform", "weighted"]),
        _hp("normalize_type", CAT, ["tree", "forest"]),
        _hp("rate_drop", C, Interval(min_closed=0, max_closed=1)),
        _hp("one_drop", INT, Interval(min_closed=0, max_closed=1)),
        _hp("skip_drop", C, Interval(min_closed=0, max_closed=1)),
        _hp("lambda_bias", C, Interval(min_closed=0, max_closed=1)),
        _hp("tweedie_variance_power", C, Interval(min_open=1, max_open=2)),
        _hp("objective", CAT, OBJECTIVES, dependencies=("num_class",), check=_objective),
        _hp("num_class", INT, Interval(min_closed=2)),
        _hp("base_score", C, Interval(min_closed=0)),
        _hp("_kfold", INT, Interval(min_closed=2)),
        _hp("_num_cv_round", INT, Interval(min_closed=1)),
        _hp("_tuning_objective_metric", CAT, list(TUNABLE_METRIC_NAMES)),
        _hp(
            "eval_metric",
            "list",
            _Choices(list(MAXIMIZE_METRICS + MINIMIZE_METRICS), _eval_metric_in_range),
            dependencies=("objective",),
            check=_eval_metric,
        ),
        _hp("seed", INT, Interval(min_open=-(2**31), max_open=2**31 - 1)),
        _hp("num_parallel_tree", INT, Interval(min_closed=1)),
        _hp("save_model_on_termination", CAT, ["true", "false"]),
        _hp("aft_loss_distribution", CAT, ["normal", "logistic", "extreme"]),
        _hp("aft_loss_distribution_scale", C, Interval(min_closed=0)),
        _hp("deterministic_histogram", CAT, ["true", "false"]),
        _hp("sampling_method", CAT, ["uniform", "gradient_based"]),
        _hp("prob_buffer_row", INT, Interval(min_open=1.0)),
        _hp("use_dask_gpu_training", CAT, ["true", "false"]),
    ]
}
ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}
TUNABLE_HYPERPARAMETERS = frozenset(n for n, h in HYPERPARAMETERS.items() if h.tunable)


def _dependency_order(names: list[str]) -> list[str]:
    """The toolkit's order: a hyperparameter after those it depends on (depth-first, stack popped from the end)."""
    stack: list[str] = []
    visited = {n: False for n in names}

    def visit(name: str) -> None:
        visited[name] = True
        for dep in HYPERPARAMETERS[name].dependencies:
            if dep in visited and not visited[dep]:
                visit(dep)
        stack.insert(0, name)

    for n in names:
        if not visited[n]:
            visit(n)
    return stack


def validate_hyperparameters(user: dict[str, Any]) -> dict[str, Any]:
    """Validate ``hyperparameters.json`` as the container does, in its order; returns the parsed values.

    Args:
        user: name -> value (strings as AMT sends them; already-typed values are accepted too).

    Returns:
        name -> parsed value (ints, floats, strings, lists), aliases (``learning_rate``...) replaced by their names.

    Raises:
        BuiltinAlgorithmError: ``kind="UserError"`` with the container's message.
    """
    values = {ALIASES.get(k, k): v for k, v in user.items()}
    for name, hp in HYPERPARAMETERS.items():
        if name not in values and hp.required:
            raise _user_error(f"Missing required hyperparameter: {name}")
    parsed: dict[str, Any] = {}
    for name, value in values.items():
        declared = HYPERPARAMETERS.get(name)
        if declared is None:
            raise _user_error(f"Extraneous hyperparameter found: {name}")
        try:
            parsed[name] = declared.parse(value)
        except (ValueError, SyntaxError, TypeError):
            raise _user_error(f"Hyperparameter {name}: could not parse value (caused by ValueError)") from None
    for name, value in parsed.items():
        HYPERPARAMETERS[name].validate_range(value)
    order = _dependency_order(list(parsed))
    validated: dict[str, Any] = {}
    while order:
        name = order.pop()
        hp = HYPERPARAMETERS[name]
        if hp.check is not None:
            hp.check(parsed[name], {d: validated[d] for d in hp.dependencies if d in validated})
        validated[name] = parsed[name]
    return validated
