"""Recovery of a tuning job whose tuner died: its training jobs left InProgress are ended and recorded as AMT
would (Stopped, "Interrupted ..."), and their configurations are enqueued to run again under new names.

A training job is recognised by its pid and the pid's start time (pids get reused); on a shared storage only the
jobs of a dead worker on this machine are recovered here (a worker elsewhere may be alive); a lost worker anywhere is
found by its missing heartbeats (``_liveness.py``).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from amtlocal.lifecycle._status import TERMINAL_STATUSES

if TYPE_CHECKING:
    from amtlocal.store import LocalStore, TrainingJobRecord

ORPHAN_REASON = (
    "Interrupted: the tuner process ended while this training job ran; its configuration runs again on resume."
)


def recover_orphans(store: LocalStore, study, reason: str = ORPHAN_REASON) -> None:
    """Training jobs left InProgress by a tuner that died: end their processes, record them Stopped with FailureReason
    ``reason`` (default :data:`ORPHAN_REASON`), requeue.

    Called only by the holder of the job's lock (or, on a shared storage, for dead workers of this host)."""
    import optuna

    from amtlocal.lifecycle._training import finish_interrupted

    for rec in store.trials(study, role=None):
        if rec.trial_state != "RUNNING":
            continue
        if store.shared and not dead_worker_here(rec.worker):
            continue  # another worker's live job (or one on another machine: not ours to judge)
        if rec.role != "own" or not rec.summary:
            # Asked but never started (the tuner died in between): not a training job; run it later.
            study.tell(rec.trial_number, state=optuna.trial.TrialState.FAIL)
            if rec.params:
                study.enqueue_trial(dict(rec.params))
            continue
        if rec.status in TERMINAL_STATUSES:
            _finish_tell(study, rec)
            continue
        kill_orphan(rec.pid, rec.name, rec.pid_start)
        assert rec.trial_id is not None and rec.trial_number is not None  # trials_of reads them off the study's trials
        # It ran from its launch (the tuner starts the process right after creating the record) to now.
        try:
            finish_interrupted(
                store,
                study,
                rec.trial_id,
                rec.trial_number,
                rec.params,
                dict(rec.summary),
                reason,
                start=rec.summary.get("CreationTime"),
            )
        except optuna.exceptions.UpdateFinishedTrialError:  # shared: another worker recovered it first (lost)
            continue


def _finish_tell(study, rec: TrainingJobRecord) -> None:
    """The tuner died between recording the result and telling Optuna: finish the tell."""
    import optuna

    final = rec.summary.get("FinalHyperParameterTuningJobObjectiveMetric")
    if final:
        study.tell(rec.trial_number, final["Value"])
    else:
        study.tell(rec.trial_number, state=optuna.trial.TrialState.FAIL)


def dead_worker_here(worker: str | None) -> bool:
    """True when ``worker`` (``host:pid``) ran on this host and that process is gone."""
    import socket

    if not worker or ":" not in worker:
        return False
    host, pid = worker.rsplit(":", 1)
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
        return False
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False


def process_start(pid: int | None) -> int | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def kill_orphan(pid: int | None, training_job_name: str, start: int | None = None) -> None:
    """End the process group of an orphaned training job, if that pid still is that job (pids get reused).

    The job is recognised by its recorded start time; without one, by ``TRAINING_JOB_NAME`` in its environment
    (a job forked by the fork server shows the fork server's environment there, hence the start time first).
    """
    if not pid:
        return
    if start is not None:
        if process_start(pid) != start:
            return
    else:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            environ = None
        if environ is not None and f"TRAINING_JOB_NAME={training_job_name}".encode() not in environ.split(b"\0"):
            return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
