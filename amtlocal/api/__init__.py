"""The SDK-v2-compatible face: estimators, tuner, parameter ranges, warm start, analytics."""

from amtlocal.api._analytics import HyperparameterTuningJobAnalytics
from amtlocal.api._estimator import Estimator, Framework
from amtlocal.api._frameworks import HuggingFace, PyTorch, SKLearn, TensorFlow, XGBoost
from amtlocal.api._inputs import TrainingInput
from amtlocal.api._parameter import CategoricalParameter, ContinuousParameter, IntegerParameter, ParameterRange
from amtlocal.api._strategy import HyperbandStrategyConfig, StrategyConfig, TuningJobCompletionCriteriaConfig
from amtlocal.api._training_analytics import TrainingJobAnalytics
from amtlocal.api._tuner import (
    HyperparameterTuner,
    Tuner,
    create_identical_dataset_and_algorithm_tuner,
    create_transfer_learning_tuner,
)
from amtlocal.api._warm_start import WarmStartConfig, WarmStartTypes

__all__ = [
    "CategoricalParameter",
    "ContinuousParameter",
    "Estimator",
    "Framework",
    "HuggingFace",
    "HyperbandStrategyConfig",
    "HyperparameterTuner",
    "HyperparameterTuningJobAnalytics",
    "IntegerParameter",
    "ParameterRange",
    "PyTorch",
    "SKLearn",
    "StrategyConfig",
    "TensorFlow",
    "TrainingInput",
    "TrainingJobAnalytics",
    "Tuner",
    "TuningJobCompletionCriteriaConfig",
    "WarmStartConfig",
    "WarmStartTypes",
    "XGBoost",
    "create_identical_dataset_and_algorithm_tuner",
    "create_transfer_learning_tuner",
]
