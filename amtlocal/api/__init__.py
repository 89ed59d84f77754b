"""The SDK-v2-compatible face: tuner, estimators, parameter ranges, warm start, analytics."""
from amtlocal.api._analytics import HyperparameterTuningJobAnalytics
from amtlocal.api._estimator import Estimator, Framework, SKLearn, TrainingInput
from amtlocal.api._parameter import CategoricalParameter, ContinuousParameter, IntegerParameter, ParameterRange
from amtlocal.api._tuner import (HyperparameterTuner, Tuner, create_identical_dataset_and_algorithm_tuner,
                                 create_transfer_learning_tuner)
from amtlocal.api._warm_start import WarmStartConfig, WarmStartTypes

__all__ = [
    "CategoricalParameter", "ContinuousParameter", "Estimator", "Framework", "HyperparameterTuner",
    "HyperparameterTuningJobAnalytics", "IntegerParameter", "ParameterRange", "SKLearn", "TrainingInput", "Tuner",
    "WarmStartConfig", "WarmStartTypes", "create_identical_dataset_and_algorithm_tuner", "create_transfer_learning_tuner",
]
