"""The local store: the one place that knows how tuning jobs and training jobs are recorded.

Every writer and reader of local records goes through :class:`LocalStore` (the local backend and its scheduler, the
lifecycle, ``amtlocal pull``, the boto3-shaped client): records come out as :class:`TuningJobRecord` and
:class:`TrainingJobRecord`; the attribute names on disk stay inside this package.

- Storage: by default the sharded store ``<home>/store/`` (no server): an Optuna journal per study
  (``journals/<id>.journal``; flock-locked, a cut last line moved aside on opening, damaged lines skipped with a
  warning naming the file and line, ``check_journal``/``repair_journal`` for ``amtlocal doctor``) and an SQLite index
  (``index.sqlite``: which journal holds which job, and each tuning job's listing, so ``list`` reads no journal and
  ``describe`` one). A home's single ``store.journal`` of an earlier version is migrated to it on the first writable
  open (kept as ``store.journal.pre-sharding``). Or any Optuna RDB URL (``$AMTLOCAL_STORAGE``; PostgreSQL lets
  several workers run one job).
- A tuning job is a study; its training jobs are the study's trials; a standalone training job is a study of its own.
- Liveness (shared mode): Optuna's heartbeats on the RDB storage (:meth:`LocalStore.heartbeat`,
  :meth:`LocalStore.fail_lost_trials`); RDB calls retried across a dropped connection (``_rdb.py``).
- Locks: :class:`JobLock` (one live tuner per tuning job; handed over to a background worker), the PostgreSQL launch
  lock (:meth:`LocalStore.launch_lock`).
"""

from amtlocal.store._doctor import JournalCheck, check_journal, damaged_file, repair_journal
from amtlocal.store._import import stored_summary
from amtlocal.store._locks import INHERITED_LOCK_ENV, FlockJournalLock, JobLock
from amtlocal.store._records import (
    WORKER_LOST_REASON,
    TrainingJobRecord,
    TuningJobListing,
    TuningJobRecord,
    read_trial,
    read_tuning_job,
    summaries_of,
    trials_of,
)
from amtlocal.store._store import LocalStore, check_job_name, check_training_job_name, default_home, worker_id

__all__ = [
    "JournalCheck",
    "check_journal",
    "damaged_file",
    "repair_journal",
    "FlockJournalLock",
    "INHERITED_LOCK_ENV",
    "JobLock",
    "LocalStore",
    "TrainingJobRecord",
    "TuningJobListing",
    "TuningJobRecord",
    "WORKER_LOST_REASON",
    "check_job_name",
    "check_training_job_name",
    "default_home",
    "read_trial",
    "read_tuning_job",
    "stored_summary",
    "summaries_of",
    "trials_of",
    "worker_id",
]
