"""SageMaker's built-in algorithms that amtlocal runs locally in place of their containers (today: XGBoost).

A training job definition whose ``AlgorithmSpecification`` names a built-in algorithm's image (in algorithm mode:
no ``sagemaker_program``) needs no code and no MetricDefinitions: :func:`builtin_algorithm` recognises it, the spec
rules check its objective against the algorithm's predefined metrics and its tunable hyperparameters against the
algorithm's, and the local backend runs the algorithm's entry point (:meth:`BuiltinAlgorithm.command`) in the job's
folder, scraping the algorithm's metric regexes. Importing this package imports no algorithm library.
"""

from __future__ import annotations

from amtlocal.algorithms._base import AlgorithmMetric, BuiltinAlgorithm
from amtlocal.algorithms.xgboost import XGBOOST

ALGORITHMS: tuple[BuiltinAlgorithm, ...] = (XGBOOST,)


def builtin_algorithm(definition: dict) -> BuiltinAlgorithm | None:
    """The built-in algorithm a training job definition (or CreateTrainingJob request) runs, or None (script mode,
    or a custom image).

    Args:
        definition: a dict with ``AlgorithmSpecification`` and ``StaticHyperParameters`` (a tuning job's training
            job definition) or ``HyperParameters`` (a CreateTrainingJob request).
    """
    if not isinstance(definition, dict):
        return None
    spec = definition.get("AlgorithmSpecification")
    static = definition.get("StaticHyperParameters")
    if static is None:
        static = definition.get("HyperParameters")
    if not isinstance(spec, dict):
        return None
    for algorithm in ALGORITHMS:
        if algorithm.matches(spec, static if isinstance(static, dict) else {}):
            return algorithm
    return None


def metric_definitions_for(definition: dict) -> list[dict[str, str]]:
    """The MetricDefinitions that apply to a definition's training jobs: its own ``MetricDefinitions`` when given,
    else its built-in algorithm's predefined metrics (as AMT scrapes a built-in algorithm), else ``[]``."""
    own = ((definition or {}).get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []
    if own:
        return list(own)
    algorithm = builtin_algorithm(definition)
    return algorithm.metric_definitions() if algorithm is not None else []


__all__ = [
    "ALGORITHMS",
    "AlgorithmMetric",
    "BuiltinAlgorithm",
    "XGBOOST",
    "builtin_algorithm",
    "metric_definitions_for",
]
