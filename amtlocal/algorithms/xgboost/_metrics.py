r"""AMT's predefined metrics of the XGBoost algorithm.

Names and directions: aws/sagemaker-xgboost-container (Apache-2.0) at cb8df91, ``algorithm_mode/metrics.py`` and
``constants/xgb_constants.py``: one tunable metric ``validation:<m>`` per XGBoost metric the container knows (its
``_tuning_objective_metric`` hyperparameter accepts exactly these). Regexes: as AMT itself fills
``AlgorithmSpecification.MetricDefinitions`` of a built-in XGBoost tuning job (its DescribeHyperParameterTuningJob
response for ``sagemaker-xgboost:0.90-1`` lists ``train:<m>`` and ``validation:<m>`` with
``.*\[[0-9]+\].*#011validation-auc:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*``): a number, so that the value
stops before the next ``#011`` of the per-round line (the container's own ``(\S+)`` form would capture the rest of
the line). ``#011`` is the tab of the container's line as the SageMaker log shows it. ``train:<m>`` metrics are
scraped for FinalMetricDataList and learning curves but are not tuning objectives (the container rejects them).
"""

from __future__ import annotations

from amtlocal.algorithms._base import AlgorithmMetric

# xgb_constants.XGB_MAXIMIZE_METRICS / XGB_MINIMIZE_METRICS
MAXIMIZE_METRICS = (
    "accuracy",
    "auc",
    "aucpr",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "map",
    "ndcg",
    "precision",
    "r2",
    "recall",
    "precision_macro",
    "precision_micro",
    "recall_macro",
    "recall_micro",
)
MINIMIZE_METRICS = (
    "aft-nloglik",
    "cox-nloglik",
    "error",
    "gamma-deviance",
    "gamma-nloglik",
    "interval-regression-accuracy",
    "logloss",
    "mae",
    "mape",
    "merror",
    "mlogloss",
    "mphe",
    "mse",
    "poisson-nloglik",
    "rmse",
    "rmsle",
    "tweedie-nloglik",
)


NUMBER = "([-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def metric_regex(data: str, metric: str) -> str:
    """AMT's regex for ``<data>:<metric>``: ``.*\\[[0-9]+\\].*#011<data>-<metric>:<number>.*``."""
    return f".*\\[[0-9]+\\].*#011{data}-{metric}:{NUMBER}.*"


def _metrics(data: str, tunable: bool) -> list[AlgorithmMetric]:
    return [AlgorithmMetric(f"{data}:{m}", metric_regex(data, m), "Maximize", tunable) for m in MAXIMIZE_METRICS] + [
        AlgorithmMetric(f"{data}:{m}", metric_regex(data, m), "Minimize", tunable) for m in MINIMIZE_METRICS
    ]


METRICS: tuple[AlgorithmMetric, ...] = tuple(_metrics("validation", True) + _metrics("train", False))
TUNABLE_METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS if m.tunable)
