"""The local tuning job: Optuna proposes, child processes train, the store records in AMT's shapes.

Search (Optuna's ask/tell) and execution (:class:`TrainingJobProcess`) stay apart: only the main thread touches the
study; each running training job has a waiter thread that reports its metrics and its end through one queue.
"""
from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from amtlocal.backends.local import _records as R
from amtlocal.backends.local import _store as S
from amtlocal.backends.local import _warmstart
from amtlocal.backends.local._container import ScriptModeJob, training_job_arn
from amtlocal.backends.local._process import DEFAULT_STOP_GRACE_SECONDS, TrainingJobOutcome, TrainingJobProcess
from amtlocal.backends.local._space import grid_size, make_sampler, search_space
from amtlocal.exceptions import AmtValidationError, TuningJobExists
from amtlocal.spec import TuningSpec

log = logging.getLogger("amtlocal")

FIRST_FAILURES = 5  # AMT: "No training job succeeded after 5 attempts" (AMT_REFERENCE.md; threshold UNVERIFIED)
POLL_SECONDS = 1.0  # how often a running tuner looks for a stop request in the store


@dataclass
class Progress:
    """A progress snapshot: training jobs finished / total, running now, best objective so far (or None)."""

    name: str
    finished: int
    total: int
    running: int
    best: float | None
    metric: str


def _no_failure_message(n: int) -> str:
    return f"No training job succeeded after {n} attempts. Please take a look at the training job failures to get more details."


class LocalTuningJob:
    """Runs one tuning job of a :class:`TuningSpec` on this machine, or resumes it.

    Args:
        spec: the validated request and its base folder.
        store: the :class:`LocalStore` (default: the default store).
        progress: called with a :class:`Progress` after every change.
        stop_grace: seconds between SIGTERM and SIGKILL when a training job is stopped (AMT: 120).
    """

    def __init__(self, spec: TuningSpec, store: S.LocalStore | None = None,
                 progress: Callable[[Progress], None] | None = None, stop_grace: float | None = None):
        self.spec = spec
        self.store = store or S.LocalStore()
        self.progress = progress
        self.stop_grace = float(os.environ.get("AMTLOCAL_STOP_GRACE_SECONDS", DEFAULT_STOP_GRACE_SECONDS)) if stop_grace is None else stop_grace
        req = spec.request
        self.config = req["HyperParameterTuningJobConfig"]
        self.objective = self.config["HyperParameterTuningJobObjective"]
        definitions = spec.definitions()
        if len(definitions) != 1:
            raise AmtValidationError("TrainingJobDefinitions", "the local backend runs one training job definition per tuning job")
        self.definition = definitions[0]
        self.space = search_space(self.config.get("ParameterRanges") or self.definition.get("HyperParameterRanges"))
        limits = self.config["ResourceLimits"]
        self.max_jobs = int(limits.get("MaxNumberOfTrainingJobs") or grid_size(self.space))
        self.parallel = int(limits["MaxParallelTrainingJobs"])
        self.max_runtime = float((self.definition.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 86400))
        self.metric_definitions = self.definition["AlgorithmSpecification"].get("MetricDefinitions") or []

    # -- set-up -------------------------------------------------------------------------------------------------
    def prepare(self):
        """Validate, resolve local code and data, and create (or find) the study. Raises before any job starts.

        Returns:
            the Optuna study of this tuning job.
        Raises:
            AmtValidationError: bad spec, missing local files, warm-start rules.
            TuningJobExists: a job of that name exists with another request.
        """
        self.spec.validate()
        self.job = ScriptModeJob.from_definition(self.definition, self.spec.base_dir)
        name = self.spec.name
        self.job_dir = self.store.job_dir(name)
        stored = self.store.resolve_name(name)
        if stored is not None:
            study = self.store.load(stored)
            if study.user_attrs.get(S.A_REQUEST) != self.spec.request:
                raise TuningJobExists(f"Tuning job {stored!r} already exists with a different request (AMT: ResourceInUse); pick another HyperParameterTuningJobName")
            return study
        parents = _warmstart.load_parents(self.store, self.spec.request)
        study = self.store.create(self.spec.request, self.spec.base_dir)
        if parents:
            study.set_user_attr(S.A_N_HISTORY, _warmstart.apply(study, self.spec.request, self.space, parents))
        return study

    # -- the run ------------------------------------------------------------------------------------------------
    def run(self) -> dict:
        """Run (or resume) the tuning job to its end in this process; returns DescribeHyperParameterTuningJob.

        Ctrl-C (KeyboardInterrupt) stops the running training jobs, leaves the tuning job Stopped and resumable, and
        is raised again. Raises what :meth:`prepare` raises, and TuningJobBusy when another tuner runs this job.
        """
        study = self.prepare()
        with self.store.lock(self.spec.name):
            if study.user_attrs.get(S.A_STATUS) in ("Completed", "Failed"):
                return R.describe(study)
            self._recover_orphans(study)
            self._set(study, **{S.A_STATUS: "InProgress", S.A_STOP: False, S.A_ENDED: None, S.A_FAILURE: None})
            self._loop(study)
            return R.describe(study)

    def _set(self, study, **attrs) -> None:
        for k, v in attrs.items():
            study.set_user_attr(k, v)
        study.set_user_attr(S.A_MODIFIED, time.time())

    def _recover_orphans(self, study) -> None:
        """Training jobs left InProgress by a tuner that died: end their processes, record them Stopped, requeue."""
        import optuna

        for t in study.get_trials(deepcopy=False):
            if t.user_attrs.get(S.T_ROLE) != "own" or t.state.name != "RUNNING":
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
            _kill_orphan(t.user_attrs.get(S.T_PID), summary["TrainingJobName"])
            self._finish_interrupted(study, t, summary, "Interrupted: the tuner process ended while this training job ran; its configuration runs again on resume.")

    def _finish_interrupted(self, study, trial, summary: dict, reason: str, end: float | None = None) -> None:
        import optuna

        summary.update(TrainingJobStatus="Stopped", FailureReason=reason, ObjectiveStatus="Failed",
                       TrainingEndTime=end or time.time())
        summary.pop("FinalHyperParameterTuningJobObjectiveMetric", None)
        storage = self.store.storage
        storage.set_trial_user_attr(trial._trial_id, S.T_SUMMARY, summary)
        storage.set_trial_user_attr(trial._trial_id, S.T_INTERRUPTED, True)
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(dict(trial.params))

    def _counted(self, study) -> list[dict]:
        """Summaries of the training jobs that count toward MaxNumberOfTrainingJobs (interrupted ones do not)."""
        return [t.user_attrs[S.T_SUMMARY] for t in R.own_trials(study) if not t.user_attrs.get(S.T_INTERRUPTED)]

    def _loop(self, study) -> None:
        import optuna

        study.sampler = make_sampler(self.config, self.space)
        dists = {n: p.distribution() for n, p in self.space.items()}
        events: queue.Queue = queue.Queue()
        running: dict[int, tuple] = {}  # trial number -> (trial, process)
        counted = self._counted(study)
        n_own = len(R.own_trials(study))
        finished = [s for s in counted if s["TrainingJobStatus"] != "InProgress"]
        stopping: str | None = None
        failure: str | None = None
        next_poll = 0.0
        self._report(study, len(finished), 0)
        try:
            while True:
                now = time.time()
                if now >= next_poll and not stopping:
                    next_poll = now + POLL_SECONDS
                    if self.store.load(self.spec.name).user_attrs.get(S.A_STOP):
                        stopping = "StopRequested"
                        for _, proc in running.values():
                            proc.stop("StopRequested")
                while not stopping and len(running) < self.parallel and len(finished) + len(running) < self.max_jobs:
                    trial = study.ask(dists)
                    n_own += 1
                    running[trial.number] = (trial, self._launch(study, trial, n_own, events))
                if not running:
                    break
                try:
                    kind, number, payload = events.get(timeout=0.5)
                except queue.Empty:
                    continue
                if kind != "done":
                    continue
                trial, proc = running.pop(number)
                summary = self._record(study, trial, proc, payload, interrupted=stopping == "StopRequested")
                if stopping != "StopRequested":
                    finished.append(summary)
                    succeeded = any(s.get("ObjectiveStatus") == "Succeeded" for s in finished)
                    if not succeeded and len(finished) >= FIRST_FAILURES and not stopping:
                        stopping, failure = "Failed", _no_failure_message(FIRST_FAILURES)
                        for _, p in running.values():
                            p.stop("TuningJobFailed")
                self._report(study, len(finished), len(running))
        except KeyboardInterrupt:
            log.warning("Interrupted: stopping %d running training job(s); the tuning job stays resumable", len(running))
            for _, proc in running.values():
                proc.stop("Interrupted")
            while running:
                kind, number, payload = events.get()
                if kind == "done":
                    trial, proc = running.pop(number)
                    self._record(study, trial, proc, payload, interrupted=True)
            self._set(study, **{S.A_STATUS: "Stopped", S.A_ENDED: time.time()})
            raise
        if stopping == "StopRequested":
            status = "Stopped"
        elif failure or not any(s.get("ObjectiveStatus") == "Succeeded" for s in finished):
            status, failure = "Failed", failure or _no_failure_message(len(finished))
        else:
            status = "Completed"
        self._set(study, **{S.A_STATUS: status, S.A_ENDED: time.time(), S.A_FAILURE: failure})
        log.info("Tuning job %s %s", self.spec.name, status)

    def _launch(self, study, trial, index: int, events: queue.Queue) -> TrainingJobProcess:
        name = f"{self.spec.name}-{index:03d}-{uuid.uuid4().hex[:8]}"
        tuned = {n: self.space[n].to_wire(v) for n, v in trial.params.items()}
        wire = dict(self.definition.get("StaticHyperParameters") or {})
        wire.update(tuned)
        wire["_tuning_objective_metric"] = self.objective["MetricName"]
        job_dir = self.store.training_job_dir(self.spec.name, name)
        summary = {"TrainingJobName": name, "TrainingJobArn": training_job_arn(name), "TuningJobName": self.spec.name,
                   "CreationTime": time.time(), "TrainingJobStatus": "InProgress", "TunedHyperParameters": tuned,
                   "ObjectiveStatus": "Pending"}
        if self.definition.get("DefinitionName"):
            summary["TrainingJobDefinitionName"] = self.definition["DefinitionName"]
        trial.set_user_attr(S.T_ROLE, "own")
        trial.set_user_attr(S.T_DIR, str(job_dir))
        trial.set_user_attr(S.T_SUMMARY, summary)
        proc = TrainingJobProcess(self.job, job_dir, name, wire, self.metric_definitions, self.objective["MetricName"],
                                  self.max_runtime, stop_grace=self.stop_grace)
        number = trial.number

        def waiter():
            try:
                outcome = proc.wait()
            except BaseException as e:  # noqa: BLE001 - any runner fault becomes a Failed training job
                now = time.time()
                outcome = TrainingJobOutcome("Failed", f"InternalServerError: {type(e).__name__}: {e}"[:1024], None, now, now)
            events.put(("done", number, outcome))

        try:
            proc.start()
        except OSError as e:
            now = time.time()
            events.put(("done", number, TrainingJobOutcome("Failed", f"AlgorithmError: cannot start the entry point: {e}"[:1024], None, now, now)))
            return proc
        trial.set_user_attr(S.T_PID, proc.pid)
        threading.Thread(target=waiter, name=f"wait-{name}", daemon=True).start()
        log.debug("started %s: %s", name, proc.argv)
        return proc

    def _record(self, study, trial, proc: TrainingJobProcess, outcome: TrainingJobOutcome, interrupted: bool) -> dict:
        """Write the finished training job's summary, then tell Optuna (summary first: a told trial is frozen)."""
        import optuna

        summary = dict(trial.user_attrs[S.T_SUMMARY])
        if interrupted:
            self._finish_interrupted(study, trial, summary, "Interrupted: the tuning job was stopped; this configuration runs again on resume.", outcome.end_time)
            return summary
        summary.update(TrainingStartTime=outcome.start_time, TrainingEndTime=outcome.end_time,
                       TrainingJobStatus=outcome.status)
        reason = outcome.failure_reason or (outcome.objective_reason if outcome.objective is None else None)
        if reason:
            summary["FailureReason"] = reason[:1024]
            if outcome.objective is None and outcome.status != "Failed":
                log.warning("%s: %s", summary["TrainingJobName"], reason)
        if outcome.objective is not None:
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {"Type": self.objective["Type"], "MetricName": self.objective["MetricName"], "Value": outcome.objective}
            summary["ObjectiveStatus"] = "Succeeded"
        else:
            summary["ObjectiveStatus"] = "Failed"
        trial.set_user_attr(S.T_SUMMARY, summary)
        trial.set_user_attr(S.T_METRICS, outcome.final_metrics)
        if outcome.objective is not None:
            study.tell(trial, outcome.objective)
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return summary

    def _report(self, study, finished: int, running: int) -> None:
        if not self.progress:
            return
        best = R.best_of(self._counted(study), self.objective["Type"])
        value = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] if best else None
        self.progress(Progress(self.spec.name, finished, self.max_jobs, running, value, self.objective["MetricName"]))


def _kill_orphan(pid: int | None, training_job_name: str) -> None:
    """End the process group of an orphaned training job, if that pid still is that job (pids get reused)."""
    if not pid:
        return
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
