"""Local URIs: where a spec may name a local file or folder in place of an S3 URI (DESIGN.md, "Local code and data").

The code location (static hyperparameter ``sagemaker_submit_directory``) and the data channels
(``InputDataConfig[].DataSource.S3DataSource.S3Uri``) may be a ``file://`` URI or a plain path; a relative one is
relative to the spec's base folder (the spec file's folder). The local backend reads them where they are; the
sagemaker backend uploads them and rewrites them to ``s3://`` URIs.
"""

from __future__ import annotations

import os
from pathlib import Path

from amtlocal.exceptions import AmtValidationError

FILE_SCHEME = "file://"


def is_local_uri(uri: str) -> bool:
    """True for a ``file://`` URI or a plain path (no scheme); False for ``s3://``, ``https://`` and other schemes."""
    return uri.startswith(FILE_SCHEME) or "://" not in uri


def to_uri(location: str | os.PathLike) -> str:
    """A location as a spec holds it: URIs (``s3://``, ``file://``, ...) pass through; a local path becomes an
    absolute ``file://`` URI (``~`` expanded, relative to the working folder)."""
    s = str(location)
    if "://" in s:
        return s
    return FILE_SCHEME + str(Path(s).expanduser().resolve())


def resolve_local_uri(uri: str, base_dir: Path, field: str) -> Path:
    """``file://x``, ``file:///abs`` or a plain path -> an existing absolute Path (relative ones against ``base_dir``).

    Args:
        uri: the request's value.
        base_dir: the folder relative paths are relative to.
        field: the dotted request path of ``uri``, named in errors.

    Raises:
        AmtValidationError: an ``s3://``/``https://`` URI (the local backend reads local files only) or a path that
            does not exist.
    """
    if not is_local_uri(uri):
        raise AmtValidationError(field, f"the local backend reads local folders or file:// URIs only, not {uri!r}")
    path = uri.removeprefix(FILE_SCHEME)
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = Path(base_dir) / p
    p = p.resolve()
    if not p.exists():
        raise AmtValidationError(field, f"local path {str(p)!r} does not exist")
    return p


__all__ = ["FILE_SCHEME", "is_local_uri", "resolve_local_uri", "to_uri"]
