"""SageMaker's built-in XGBoost algorithm (image ``sagemaker-xgboost:<version>``, algorithm mode), run locally.

- :data:`XGBOOST`: the :class:`~amtlocal.algorithms.BuiltinAlgorithm` (recognition, AMT's predefined metrics, the
  tunable hyperparameters, the entry point's argv);
- ``python -m amtlocal.algorithms.xgboost``: the entry point (imports ``xgboost``, the optional extra
  ``amtlocal[xgboost]``; nothing else in amtlocal imports it);
- :func:`validate_hyperparameters`: the container's hyperparameter validation (pure Python).
"""

from __future__ import annotations

import sys

from amtlocal.algorithms._base import AlgorithmMetric, BuiltinAlgorithm
from amtlocal.algorithms.xgboost._hyperparameters import (
    ALIASES,
    HYPERPARAMETERS,
    TUNABLE_HYPERPARAMETERS,
    validate_hyperparameters,
)
from amtlocal.algorithms.xgboost._metrics import METRICS, TUNABLE_METRIC_NAMES, metric_regex

REPOSITORY = "sagemaker-xgboost"


class XGBoostAlgorithm(BuiltinAlgorithm):
    """SageMaker's XGBoost algorithm (aws/sagemaker-xgboost-container) in algorithm mode.

    A training job is this algorithm when its ``AlgorithmSpecification.TrainingImage`` is the ``sagemaker-xgboost``
    repository (any registry or region, or none: ``sagemaker-xgboost:1.7-1``) and its static hyperparameters carry
    no ``sagemaker_program``: the container itself runs script mode when they do (the XGBoost framework estimator).
    """

    name = "xgboost"
    aliases = ALIASES  # learning_rate -> eta, ... (the container accepts both names)

    def matches(self, algorithm_specification: dict, static_hyperparameters: dict) -> bool:
        from amtlocal.image_uris import parse_image

        image = (algorithm_specification or {}).get("TrainingImage")
        if not isinstance(image, str) or not image:
            return False
        return parse_image(image).repository == REPOSITORY and "sagemaker_program" not in (static_hyperparameters or {})

    @property
    def metrics(self) -> tuple[AlgorithmMetric, ...]:
        return METRICS

    def tunable_hyperparameters(self) -> frozenset[str]:
        return TUNABLE_HYPERPARAMETERS

    def command(self) -> list[str]:
        return [sys.executable, "-m", "amtlocal.algorithms.xgboost"]


XGBOOST = XGBoostAlgorithm()

__all__ = [
    "HYPERPARAMETERS",
    "METRICS",
    "REPOSITORY",
    "TUNABLE_HYPERPARAMETERS",
    "TUNABLE_METRIC_NAMES",
    "XGBOOST",
    "XGBoostAlgorithm",
    "metric_regex",
    "validate_hyperparameters",
]
