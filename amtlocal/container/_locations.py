"""Where a request's locations become local paths: the one place that knows ``file://``, plain paths and ``s3://``.

- inputs (code, channels): a local folder/file as it is, or an ``s3://`` URI fetched through :mod:`amtlocal.s3`'s
  cache in the tuner (once per definition, before any job starts);
- outputs and checkpoints: a local folder, or an ``s3://`` prefix written through boto3 when the default session has
  credentials (:func:`amtlocal.s3.writes_to_s3`); its bucket is checked before any job starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from amtlocal.exceptions import AmtValidationError
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


def check_output_location(uri: str | None, field: str) -> str | None:
    """An ``S3OutputPath`` as the job will write it: a local one as given; an ``s3://`` one when S3 is written to
    (its bucket checked now), else None (no credentials: nothing is written to S3, as before S3 support; and for the
    estimators' placeholder ``spec.placeholders.LOCAL_OUTPUT``, which the callers map to ``<home>/output``).

    Raises:
        AmtValidationError: the bucket does not exist or cannot be reached, naming ``field``.
    """
    from amtlocal.spec.placeholders import LOCAL_OUTPUT

    if not uri or not is_s3(uri):
        return uri or None
    if uri == LOCAL_OUTPUT:  # an estimator's "no output_path": the callers map it to <home>/output
        return None
    from amtlocal.s3 import S3Folder, writes_to_s3

    if not writes_to_s3(uri):
        return None
    S3Folder(uri, field).check()
    return uri


def check_checkpoint_location(uri: str, base_dir: Path, field: str) -> None:
    """``CheckpointConfig.S3Uri``: a local folder, or an ``s3://`` prefix whose bucket answers.

    Raises:
        AmtValidationError: naming ``field``: an S3 one without credentials, a missing bucket, another scheme.
    """
    if is_s3(uri):
        from amtlocal.s3 import S3Folder, has_credentials

        if not has_credentials():
            raise AmtValidationError(
                field, f"checkpoints at {uri} need S3: no AWS credentials found (or give a local folder)"
            )
        S3Folder(uri, field).check()
        return
    from amtlocal.container._output import resolve_local_location

    resolve_local_location(uri, base_dir, field)
