"""amtlocal: SageMaker Automatic Model Tuning on your machine, and in the cloud with one flag.

    from amtlocal import HyperparameterTuner, SKLearn, IntegerParameter, CategoricalParameter

The names and arguments are SageMaker Python SDK v2's; ``backend="local"`` (default) or ``"sagemaker"`` (or
``$AMTLOCAL_BACKEND``) chooses where tuning jobs run. Heavy modules (optuna, pandas, boto3, altair, sagemaker) load
only when used.
"""

import sys

from amtlocal.api import (
    CategoricalParameter,
    ContinuousParameter,
    Estimator,
    Framework,
    HuggingFace,
    HyperbandStrategyConfig,
    HyperparameterTuner,
    HyperparameterTuningJobAnalytics,
    IntegerParameter,
    ParameterRange,
    PyTorch,
    SKLearn,
    StrategyConfig,
    TensorFlow,
    TrainingInput,
    TrainingJobAnalytics,
    Tuner,
    TuningJobCompletionCriteriaConfig,
    WarmStartConfig,
    WarmStartTypes,
    XGBoost,
    create_identical_dataset_and_algorithm_tuner,
    create_transfer_learning_tuner,
)
from amtlocal.exceptions import (
    AmtLocalError,
    AmtValidationError,
    TuningJobBusy,
    TuningJobExists,
    TuningJobNotFound,
    UnexpectedStatusException,
)
from amtlocal.spec import TuningSpec, load_spec

__version__ = "0.1.0"

if "ipykernel" in sys.modules:  # in a notebook: no warning about a dependency's progress bar we never use
    from amtlocal.progress import quiet_notebook_dependencies

    quiet_notebook_dependencies()


def __getattr__(name: str):
    # amtlocal.client(): the boto3-shaped local client, imported on first use (it needs botocore).
    if name == "client":
        from amtlocal._client import client

        return client
    # amtlocal.endpoint(): the SageMaker API on a free loopback port (moto, werkzeug, botocore load then).
    if name == "endpoint":
        from amtlocal.server import endpoint

        return endpoint
    raise AttributeError(f"module 'amtlocal' has no attribute {name!r}")


__all__ = [
    "client",
    "endpoint",
    "AmtLocalError",
    "AmtValidationError",
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
    "XGBoost",
    "TuningJobBusy",
    "TuningJobExists",
    "TuningJobNotFound",
    "TuningSpec",
    "UnexpectedStatusException",
    "WarmStartConfig",
    "WarmStartTypes",
    "create_identical_dataset_and_algorithm_tuner",
    "create_transfer_learning_tuner",
    "load_spec",
]
