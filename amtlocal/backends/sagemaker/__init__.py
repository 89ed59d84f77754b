"""The SageMaker backend: the same tuning spec sent to SageMaker Automatic Model Tuning through boto3.

- :class:`SageMakerBackend`: create / describe / list / stop / wait / metric series, in the API's own shapes, for
  tuning jobs and for training jobs (``create_training_job``, ``describe_training_job``, ``training_jobs``,
  ``stop_training_job``, ``training_job_logs`` from CloudWatch Logs).
- ``build_request(request, base_dir, upload=False)``: the exact request AMT would get (``amtlocal tune --dry-run``);
  ``build_training_request`` likewise for CreateTrainingJob (:func:`plan_training_request`).
- :func:`pull`: copy a finished cloud tuning job into the local store (warm start and reports offline).
- :func:`tuning_job_name_of`: the tuning job name an SDK v2/v3 tuner (or a name) stands for;
  :func:`image_uris_module`: the installed SDK's ``image_uris`` (v2 ``sagemaker.image_uris``, v3
  ``sagemaker.core.image_uris``).

boto3 and the optional sagemaker SDK (``amtlocal[sagemaker]``, for framework image URIs) are imported lazily.
"""

from amtlocal.backends.sagemaker._backend import SageMakerBackend
from amtlocal.backends.sagemaker._images import image_uris_module
from amtlocal.backends.sagemaker._pull import pull
from amtlocal.backends.sagemaker._request import (
    REWRITTEN_FIELDS,
    TRAINING_REWRITTEN_FIELDS,
    is_rewritten,
    is_training_rewritten,
    plan_request,
    plan_training_request,
)
from amtlocal.backends.sagemaker._sdk import tuning_job_name_of
from amtlocal.exceptions import CloudTuningJobNotFound  # its old home; kept importable from here

__all__ = [
    "CloudTuningJobNotFound",
    "REWRITTEN_FIELDS",
    "SageMakerBackend",
    "TRAINING_REWRITTEN_FIELDS",
    "image_uris_module",
    "is_rewritten",
    "is_training_rewritten",
    "plan_request",
    "plan_training_request",
    "pull",
    "tuning_job_name_of",
]
