"""Backends: where a tuning job runs. ``local`` (Optuna + child processes) and ``sagemaker`` (AMT via boto3).

The backend is chosen by one argument or by the environment variable ``AMTLOCAL_BACKEND`` (default ``local``).
"""

from __future__ import annotations

import os

from amtlocal.backends._base import Backend, Progress
from amtlocal.exceptions import AmtValidationError

BACKENDS = ("local", "sagemaker")


def backend_name(name: str | None = None) -> str:
    """``name``, else ``$AMTLOCAL_BACKEND``, else ``local``. Raises AmtValidationError for an unknown name."""
    chosen = (name or os.environ.get("AMTLOCAL_BACKEND") or "local").lower()
    if chosen not in BACKENDS:
        raise AmtValidationError("backend", f"backend must be one of {', '.join(BACKENDS)}, not {chosen!r}")
    return chosen


def get_backend(name: str | Backend | None = None, **kwargs) -> Backend:
    """A backend instance by name (see :func:`backend_name`); a Backend instance is returned as is."""
    if isinstance(name, Backend):
        return name
    chosen = backend_name(name)
    if chosen == "local":
        from amtlocal.backends.local import LocalBackend

        return LocalBackend(**kwargs)
    from amtlocal.backends.sagemaker import SageMakerBackend

    return SageMakerBackend(**kwargs)


__all__ = ["Backend", "BACKENDS", "Progress", "backend_name", "get_backend"]
