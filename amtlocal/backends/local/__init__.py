"""The local backend: an Optuna study per tuning job (the scheduler), training jobs run by ``amtlocal.runners``,
records in ``amtlocal.store``, statuses and transitions in ``amtlocal.lifecycle``."""

from amtlocal.backends._base import Progress
from amtlocal.backends.local._backend import LocalBackend
from amtlocal.backends.local._responses import describe, list_training_jobs
from amtlocal.backends.local._scheduler import LocalTuningJob, prestart_runners
from amtlocal.container import ScriptModeJob
from amtlocal.store import LocalStore, default_home

__all__ = [
    "LocalBackend",
    "LocalStore",
    "LocalTuningJob",
    "Progress",
    "ScriptModeJob",
    "default_home",
    "describe",
    "list_training_jobs",
    "prestart_runners",
]
