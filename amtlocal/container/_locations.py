"""Where a request's locations become local paths: the one place that knows ``file://``, plain paths and ``s3://``.

- inputs (code, channels): a local folder/file as it is, or an ``s3://`` URI fetched through :mod:`amtlocal.s3`'s
  cache in the tuner (once per definition, before any job starts);
- outputs and checkpoints: a local folder, or an ``s3://`` prefix written through boto3; its bucket is checked before
  any job starts. An ``s3://`` output path is written only when the run uses S3 (:func:`output_goes_to_s3`), so a
  spec written for both backends (local code and data, an ``s3://`` output for the cloud) still runs offline.
"""

from __future__ import annotations

import os
from pathlib import Path

from amtlocal.spec.uris import resolve_local_uri


def _cache(home: str | os.PathLike | None):
    from amtlocal.s3 import S3Cache

    if home is None:
        from amtlocal.store import default_home

        home = default_home()
    return S3Cache(home)


def is_s3(uri: str | None) -> bool:
    """True for an ``s3://`` URI."""
    return bool(uri) and str(uri)[:5].lower() == "s3://"


def input_path(
    uri: str, base_dir: Path, field: str, home: str | os.PathLike | None = None, data_type: str = "S3Prefix"
) -> Path:
    """A channel's data as a local file or folder: a local path as it is; ``s3://`` fetched into the cache (a folder
    laid out as File mode lays out the channel).

    Raises:
        AmtValidationError: naming ``field``: a missing local path, or an S3 failure (see :class:`amtlocal.s3.S3Cache`).
    """
    if is_s3(uri):
        return _cache(home).channel(uri, field, data_type)
    return resolve_local_uri(uri, base_dir, field)


def code_path(uri: str, base_dir: Path, field: str, home: str | os.PathLike | None = None) -> Path:
    """``sagemaker_submit_directory`` as a local folder or ``.tar.gz``; an ``s3://`` archive unpacked in the cache.

    Raises:
        AmtValidationError: naming ``field``.
    """
    if is_s3(uri):
        return _cache(home).code(uri, field)
    return resolve_local_uri(uri, base_dir, field)


def endpoint_configured() -> bool:
    """Whether the environment names an S3 endpoint (``AWS_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL_S3``: the
    ``amtlocal serve`` endpoint, a MinIO, ...)."""
    return bool(os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_S3"))


def reads_s3(definition: dict) -> bool:
    """Whether a training job definition (or a CreateTrainingJob request with ``StaticHyperParameters`` set to its
    ``HyperParameters``) reads its code or a channel from ``s3://``."""
    from amtlocal.spec.hyperparameters import decode_hyperparameter

    code = (definition.get("StaticHyperParameters") or {}).get("sagemaker_submit_directory")
    if code is not None and is_s3(str(decode_hyperparameter(code))):
        return True
    for ch in definition.get("InputDataConfig") or []:
        if is_s3(((ch.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri")):
            return True
    return False


def output_goes_to_s3(definition: dict, uri: str | None) -> bool:
    """Whether the ``s3://`` output path ``uri`` is written to S3 in a local run: when the run uses S3, i.e. an S3
    endpoint is configured (:func:`endpoint_configured`) or the definition reads code or data from ``s3://``
    (:func:`reads_s3`: then S3 is evidently reachable, as for a local run on cloud data). Else (local code and data,
    no endpoint: a spec written for both backends, run offline) nothing is written to S3, as before S3 support. The
    estimators' placeholder (``spec.placeholders.LOCAL_OUTPUT``) is never S3: it means ``<home>/output``."""
    from amtlocal.spec.placeholders import LOCAL_OUTPUT

    if not uri or not is_s3(uri) or uri == LOCAL_OUTPUT:
        return False
    return endpoint_configured() or reads_s3(definition)


def check_output_location(definition: dict, uri: str | None, field: str) -> str | None:
    """An ``S3OutputPath`` as the job will write it: a local one as given; an ``s3://`` one when
    :func:`output_goes_to_s3` (its bucket checked now), else None (nothing is written; for the estimators' placeholder
    the callers map it to ``<home>/output``).

    Raises:
        AmtValidationError: naming ``field``: the bucket does not exist, no credentials, an unreachable endpoint.
    """
    if not uri or not is_s3(uri):
        return uri or None
    if not output_goes_to_s3(definition, uri):
        return None
    from amtlocal.s3 import S3Folder

    S3Folder(uri, field).check()
    return uri


def check_checkpoint_location(uri: str, base_dir: Path, field: str) -> None:
    """``CheckpointConfig.S3Uri``: a local folder, or an ``s3://`` prefix whose bucket answers.

    Raises:
        AmtValidationError: naming ``field``: an S3 one that cannot be reached or has no bucket, another scheme.
    """
    if is_s3(uri):
        from amtlocal.s3 import S3Folder

        S3Folder(uri, field).check()  # no credentials or no endpoint: the error says so
        return
    from amtlocal.container._output import resolve_local_location

    resolve_local_location(uri, base_dir, field)
