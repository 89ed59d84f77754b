"""The local backend: an Optuna study per tuning job, training jobs as script-mode child processes."""
from amtlocal.backends.local._backend import LocalBackend
from amtlocal.backends.local._container import ScriptModeJob
from amtlocal.backends.local._records import describe, list_training_jobs
from amtlocal.backends.local._store import LocalStore, default_home
from amtlocal.backends.local._tuning import LocalTuningJob, Progress

__all__ = ["LocalBackend", "LocalStore", "LocalTuningJob", "Progress", "ScriptModeJob", "default_home", "describe",
           "list_training_jobs"]
