"""The placeholders a local-only spec carries for cloud fields the API requires but the local backend never uses.

One home for them: the API face writes them (a role or output path left out locally), the local backend reports ARNs
in the placeholder account (:func:`training_job_arn`, :func:`tuning_job_arn`, in :func:`region`), and the sagemaker
backend recognises and replaces them before sending a request.
"""

from __future__ import annotations

import os

LOCAL_ACCOUNT = "000000000000"
LOCAL_ROLE = f"arn:aws:iam::{LOCAL_ACCOUNT}:role/amtlocal-local"
PLACEHOLDER_BUCKET = "amtlocal-local"
LOCAL_OUTPUT = f"s3://{PLACEHOLDER_BUCKET}/output"
DEFAULT_REGION = "us-east-1"


def region() -> str:
    """The region reported in local ARNs and in ``sagemaker_region``: ``$AWS_REGION``, else ``$AWS_DEFAULT_REGION``,
    else ``us-east-1`` (the order boto3 reads them in)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def training_job_arn(name: str) -> str:
    """``arn:aws:sagemaker:<region>:000000000000:training-job/<name>`` (lower case, as AWS reports it)."""
    return f"arn:aws:sagemaker:{region()}:{LOCAL_ACCOUNT}:training-job/{name.lower()}"


def tuning_job_arn(name: str) -> str:
    """``arn:aws:sagemaker:<region>:000000000000:hyper-parameter-tuning-job/<name>`` (lower case, as AWS reports it)."""
    return f"arn:aws:sagemaker:{region()}:{LOCAL_ACCOUNT}:hyper-parameter-tuning-job/{name.lower()}"


__all__ = [
    "DEFAULT_REGION",
    "LOCAL_ACCOUNT",
    "LOCAL_OUTPUT",
    "LOCAL_ROLE",
    "PLACEHOLDER_BUCKET",
    "region",
    "training_job_arn",
    "tuning_job_arn",
]
