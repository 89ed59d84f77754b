"""The S3 client (boto3's default session, imported lazily) and what its errors mean for a request field.

boto3's default session reads what the user's environment says: ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` (the
``amtlocal serve`` endpoint, a MinIO), credentials from the environment, a profile or the instance role, and the
region. Nothing here names an endpoint itself, so a local run reads the same S3 the user's other tools read.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from amtlocal.exceptions import AmtValidationError

log = logging.getLogger(__name__)

# What decides which S3 the default session reaches and as whom (a changed value gets a new client).
_ENV_KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
)
_clients: dict[tuple, Any] = {}


def _env_key() -> tuple:
    return tuple(os.environ.get(k) for k in _ENV_KEYS)


def s3_client() -> Any:
    """A boto3 S3 client of the default session as the environment configures it now (one per configuration and
    process; boto3 clients are thread-safe). Connection attempts time out after 10 s; 3 attempts in all."""
    key = _env_key()
    client = _clients.get(key)
    if client is None:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"})
        client = _clients[key] = boto3.session.Session().client("s3", config=config)
    return client


def endpoint_url() -> str:
    """The S3 endpoint the client talks to (for messages)."""
    try:
        return str(s3_client().meta.endpoint_url)
    except Exception:  # noqa: BLE001 - only for a message
        return "S3"


def s3_error(error: BaseException, field: str, what: str) -> AmtValidationError:
    """The request error an S3 failure means: ``field`` named, with the reason in words.

    Args:
        error: what boto3 raised (ClientError, NoCredentialsError, EndpointConnectionError, ...).
        field: the request field whose URI failed, e.g. ``InputDataConfig[0].DataSource.S3DataSource.S3Uri``.
        what: the URI (or object) that was being read or written.
    """
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        reason = (
            f"cannot read {what}: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a "
            "profile; for a local S3 such as `amtlocal serve` or MinIO also AWS_ENDPOINT_URL)"
        )
    elif isinstance(error, (EndpointConnectionError, ConnectTimeoutError)):
        reason = f"cannot reach the S3 endpoint {endpoint_url()} for {what}: {error}"
    elif isinstance(error, ClientError):
        err = error.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = err.get("Message") or ""
        bucket = what.split("/")[2] if what.startswith("s3://") else what
        if code == "NoSuchBucket":
            reason = f"bucket {bucket!r} does not exist ({what})"
        elif code in ("NoSuchKey", "404", "NotFound"):
            reason = f"no object {what} (NoSuchKey)"
        elif code in ("AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            reason = f"access to {what} denied ({code}{': ' + message if message else ''})"
        else:
            reason = f"S3 refused {what}: {code}{': ' + message if message else ''}"
    else:
        reason = f"S3 failed for {what}: {type(error).__name__}: {error}"
    return AmtValidationError(field, reason)


def s3_errors() -> tuple[type[BaseException], ...]:
    """The exception classes an S3 call raises for the reasons :func:`s3_error` words."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)
