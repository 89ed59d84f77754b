"""Tuning job names as SDK v2 makes them, made collision-free."""

from __future__ import annotations

import itertools
import re
import secrets
import time

MAX_TUNING_NAME = 32
# The 4 hex digits: a random start per process, then one more per name, so names drawn in one process never repeat
# (65,536 of them) and two processes rarely meet (callers retry against existing names).
_suffixes = itertools.count(secrets.randbits(16))


def name_from_base(base: str, max_length: int = MAX_TUNING_NAME) -> str:
    """``<base>-<yymmdd>-<HHMM>-<4 hex>``, at most ``max_length`` characters (AMT's name pattern).

    SDK v2 uses ``<base>-%y%m%d-%H%M``, which collides when two tuners start in the same minute; the suffix makes
    two names drawn in the same second differ (before, 4 random hex digits repeated among 50 names 2% of the time).
    """
    suffix = time.strftime("%y%m%d-%H%M", time.localtime()) + f"-{next(_suffixes) % 65536:04x}"
    base = re.sub(r"[^a-zA-Z0-9-]", "-", base).strip("-") or "tuning"
    base = base[: max_length - len(suffix) - 1].rstrip("-")
    return f"{base}-{suffix}"


def base_name_from_image(image: str | None, default: str = "tuning") -> str:
    """The image's repository name (``.../sagemaker-scikit-learn:1.2-1-cpu-py3`` -> ``sagemaker-scikit-learn``)."""
    if not image:
        return default
    return image.split("/")[-1].split(":")[0] or default


def training_job_name_from_base(base: str, max_length: int = 63) -> str:
    """SDK v2's training job name: ``<base>-<YYYY-MM-DD-HH-MM-SS-mmm>`` (UTC, milliseconds), at most 63 characters
    (``sagemaker.utils.name_from_base``)."""
    moment = time.time()
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(moment)) + f"-{int((moment % 1) * 1000):03d}"
    base = re.sub(r"[^a-zA-Z0-9-]", "-", base).strip("-") or "training-job"
    return f"{base[: max_length - len(stamp) - 1]}-{stamp}"


def base_from_name(name: str) -> str:
    """The base of a name made by :func:`training_job_name_from_base` or :func:`name_from_base` (SDK v2's
    ``base_from_name``); other names come back unchanged."""
    m = re.match(r"^(.+)-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}|\d{6}-\d{4})", name)
    return m.group(1) if m else name
