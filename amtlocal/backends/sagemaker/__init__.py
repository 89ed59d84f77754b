"""The SageMaker backend: the same tuning spec sent to SageMaker Automatic Model Tuning through boto3.

- :class:`SageMakerBackend`: create / describe / list / stop / wait / metric series, in the API's own shapes.
- ``build_request(request, base_dir, upload=False)``: the exact request AMT would get (``amtlocal tune --dry-run``).
- :func:`pull`: copy a finished cloud tuning job into the local store (warm start and reports offline).

boto3 and the optional sagemaker SDK (``amtlocal[sagemaker]``, for framework image URIs) are imported lazily.
"""
from amtlocal.backends.sagemaker._backend import SageMakerBackend
from amtlocal.backends.sagemaker._pull import pull
from amtlocal.backends.sagemaker._request import REWRITTEN_FIELDS, is_rewritten, plan_request
from amtlocal.exceptions import CloudTuningJobNotFound  # its old home; kept importable from here

__all__ = ["CloudTuningJobNotFound", "REWRITTEN_FIELDS", "SageMakerBackend", "is_rewritten", "plan_request", "pull"]
