"""The container-defined evaluation metrics (``accuracy``, ``f1``, ``mse``, ``r2``...), computed by a ``custom_metric``.

Port of aws/sagemaker-xgboost-container (Apache-2.0) at cb8df91, ``metrics/custom_metrics.py``. One deliberate
difference: the container turns predictions into class labels with ``prediction > 0``, written for the raw margins
older XGBoost versions handed a custom metric; XGBoost 2/3 hand it the objective's output (a probability for
``binary:logistic``), so here the threshold follows the objective: 0 for ``binary:logitraw`` margins, 0.5 for
probabilities and ``binary:hinge``'s 0/1, the class index itself for ``multi:softmax``, the arg-max of
``multi:softprob`` rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Metric = Callable[[Any, Any, str], float]


def _labels(preds: Any, objective: str) -> Any:
    import numpy as np

    if preds.ndim > 1:
        return np.argmax(preds, axis=-1)
    if objective == "multi:softmax":
        return preds.astype(int)
    return (preds > (0.0 if objective == "binary:logitraw" else 0.5)).astype(int)


def _classification(fn: Callable[[Any, Any], float]) -> Metric:
    def metric(preds: Any, dtrain: Any, objective: str) -> float:
        return float(fn(dtrain.get_label(), _labels(preds, objective))) if preds.size > 0 else 0.0

    return metric


def _regression(fn: Callable[[Any, Any], float]) -> Metric:
    return lambda preds, dtrain, objective: float(fn(dtrain.get_label(), preds))


def _table() -> dict[str, Metric]:
    import numpy as np
    from sklearn import metrics as m

    return {
        "accuracy": _classification(m.accuracy_score),
        "balanced_accuracy": _classification(m.balanced_accuracy_score),
        "f1": _classification(lambda y, p: m.f1_score(y, p, average="macro")),
        "f1_binary": _classification(lambda y, p: m.f1_score(y, p, average="binary")),
        "f1_macro": _classification(lambda y, p: m.f1_score(y, p, average="macro")),
        "mse": _regression(m.mean_squared_error),
        "rmse": _regression(lambda y, p: np.sqrt(m.mean_squared_error(y, p))),
        "mae": _regression(m.mean_absolute_error),
        "precision": _classification(m.precision_score),
        "precision_macro": _classification(lambda y, p: m.precision_score(y, p, average="macro")),
        "precision_micro": _classification(lambda y, p: m.precision_score(y, p, average="micro")),
        "r2": _regression(m.r2_score),
        "recall": _classification(m.recall_score),
        "recall_macro": _classification(lambda y, p: m.recall_score(y, p, average="macro")),
        "recall_micro": _classification(lambda y, p: m.recall_score(y, p, average="micro")),
    }


CUSTOM_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "mse",
    "rmse",
    "mae",
    "precision",
    "precision_macro",
    "precision_micro",
    "r2",
    "recall",
    "recall_macro",
    "recall_micro",
)


def configure_feval(
    names: list[str], objective: str = "reg:squarederror"
) -> Callable[[Any, Any], list[tuple[str, float]]]:
    """A ``custom_metric`` for ``xgboost.train`` computing ``names`` in order: ``[(name, value), ...]``; ``objective``
    is the training objective (it says what a prediction is)."""
    table = _table()

    def custom_feval(preds: Any, dtrain: Any) -> list[tuple[str, float]]:
        return [(name, table[name](preds, dtrain, objective)) for name in names]

    return custom_feval
