"""Recovery of a tuning job whose tuner died: its training jobs left InProgress are ended and recorded as AMT
would (Stopped, "Interrupted ..."), and their configurations are enqueued to run again under new names.

A training job is recognised by its pid and the pid's start time (pids get reused); on a shared storage only the
jobs of a dead worker on this machine are recovered (a worker elsewhere may be alive).
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from amtlocal.backends.local import _store as S


def recover_orphans(study, store: S.LocalStore) -> None:
    """Training jobs left InProgress by a tuner that died: end their processes, record them Stopped, requeue."""
    import optuna

    for t in study.get_trials(deepcopy=False):
        if t.state.name != "RUNNING":
            continue
        where = t.user_attrs.get(S.T_PROCESS) or {}
        if store.shared and not dead_worker_here(where.get(S.T_WORKER)):
            continue  # another worker's live job (or one on another machine: not ours to judge)
        if t.user_attrs.get(S.T_ROLE) != "own" or S.T_SUMMARY not in t.user_attrs:
            # Asked but never started (the tuner died in between): not a training job; run it later.
            study.tell(t.number, state=optuna.trial.TrialState.FAIL)
            if t.params:
                study.enqueue_trial(dict(t.params))
            continue
        summary = dict(t.user_attrs[S.T_SUMMARY])
        if summary["TrainingJobStatus"] in S.TERMINAL_STATUSES:
            # The tuner died between recording the result and telling Optuna: finish the tell.
            final = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
            if final:
                study.tell(t.number, final["Value"])
            else:
                study.tell(t.number, state=optuna.trial.TrialState.FAIL)
            continue
        kill_orphan(where.get(S.T_PID), summary["TrainingJobName"], where.get(S.T_PID_START))
        # It ran from its launch (the tuner starts the process right after creating the record) to now.
        finish_interrupted(study, store, t, summary, "Interrupted: the tuner process ended while this training job ran; its configuration runs again on resume.",
                           start=summary.get("CreationTime"))


def finish_interrupted(study, store: S.LocalStore, trial, summary: dict, reason: str, end: float | None = None,
                       start: float | None = None) -> None:
    """Record a training job cut short by the tuner's end (Stopped, not counted toward MaxNumberOfTrainingJobs) and
    enqueue its configuration again. ``start``/``end``: its TrainingStartTime/TrainingEndTime (epoch seconds; end
    defaults to now), so that it keeps its place on timelines and in TrainingElapsedTimeSeconds."""
    import optuna

    summary.update(TrainingJobStatus="Stopped", FailureReason=reason, ObjectiveStatus="Failed",
                   TrainingEndTime=end or time.time())
    if start:
        summary["TrainingStartTime"] = start
    summary.pop("FinalHyperParameterTuningJobObjectiveMetric", None)
    storage = store.storage
    storage.set_trial_user_attr(trial._trial_id, S.T_SUMMARY, summary)
    storage.set_trial_user_attr(trial._trial_id, S.T_INTERRUPTED, True)
    study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
    study.enqueue_trial(dict(trial.params))


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
