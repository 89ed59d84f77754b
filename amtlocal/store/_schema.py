"""The record schema: how tuning jobs and training jobs are laid out in an Optuna storage.

Only this package reads or writes these names; everyone else uses the dataclasses of ``_records.py`` and the
methods of :class:`~amtlocal.store.LocalStore`. The names on disk are those of earlier versions (homes made by them
open unchanged).

- A tuning job is an Optuna study named after it; its fields are study user attributes (JSON): ``TUNING_FIELDS``.
  Its creation is complete once ``request`` is written (it is written last).
- Stop requests: each StopHyperParameterTuningJob adds one study attribute ``stop_request.<uuid>`` (its time), so
  their count only grows, whatever the interleaving of writers.
- A tuning job's training job is a trial of that study with ``role`` ``own``; ``history`` trials are warm-start
  parents' evaluations. Trial user attributes: ``TRIAL_FIELDS``.
- A standalone training job (CreateTrainingJob) is a study of its own, named ``STANDALONE_PREFIX + name`` (no tuning
  job name holds ``:``), whose attribute ``training_job`` holds its record.
"""

from __future__ import annotations

# TuningJobRecord field -> study user attribute.
TUNING_FIELDS = {
    "request": "request",
    "base_dir": "base_dir",
    "status": "status",
    "creation_time": "creation_time",
    "end_time": "end_time",
    "last_modified": "last_modified",
    "failure_reason": "failure_reason",
    "origin": "origin",
    "completion_details": "completion_details",
    "runtime_used": "runtime_used",
    "run_stop_requests": "run_stop_requests",
    "worker_deaths": "worker_deaths",
}
STOP_REQUEST_PREFIX = "stop_request."

# TrainingJobRecord field -> trial user attribute.
TRIAL_FIELDS = {
    "summary": "summary",
    "final_metrics": "final_metrics",
    "role": "role",
    "interrupted": "interrupted",
    "process": "process",
    "stop_requested": "stop_requested",
}
PARENT = "parent"  # a history trial's parent tuning job
# Keys inside the ``process`` attribute (where a training job runs).
PROCESS_WORKER, PROCESS_PID, PROCESS_PID_START = "worker", "pid", "pid_start"

ROLE_OWN, ROLE_HISTORY = "own", "history"

STANDALONE_PREFIX = "training-job:"
STANDALONE_RECORD = "training_job"
STANDALONE_MODIFIED = "last_modified"

JOURNAL_FILE = "store.journal"  # the single journal of homes made before issue 18 (migrated on first open)
LEGACY_BACKUP = "store.journal.pre-sharding"  # that journal, kept as it was once migrated
STORE_DIR = "store"  # <home>/store/: the sharded store (index + a journal per study)
MIGRATING_DIR = "store.migrating"  # the sharded store being built from the single journal (renamed when complete)
INDEX_FILE = "index.sqlite"
JOURNALS_DIR = "journals"
JOURNAL_SUFFIX = ".journal"
JOURNAL_OPS = frozenset(range(11))  # op_code values of Optuna's JournalOperation (CREATE_STUDY .. DISCARD_TRIALS)
RESERVE_FILE = "store.reserve"  # space kept free for the records a tuner writes when the disk is full
RESERVE_BYTES = 128 * 1024  # a tuning job's end and its running training jobs' records take a few KiB each
DAMAGED_SUFFIX = ".damaged"  # <journal>.damaged: bytes taken out of the journal (never deleted), with their offsets
LOCK_FILE = "tuner.lock"
