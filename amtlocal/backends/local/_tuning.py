"""The local tuning job: Optuna proposes, child processes train, the store records in AMT's shapes.

Search (Optuna's ask/tell) and execution (:class:`TrainingJobProcess`) stay apart: only the main thread touches the
study; each running training job has a waiter thread, and its reader threads report scraped metrics, all through one
queue. Intermediate objective values feed the pruner (Hyperband, or AMT's median rule for early stopping).
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from amtlocal.backends.local import _completion, _recovery
from amtlocal.backends.local import _records as R
from amtlocal.backends.local import _store as S
from amtlocal.backends.local import _warmstart
from amtlocal.backends.local._container import training_job_arn
from amtlocal.backends.local._definitions import DEFINITION_PARAM, Definition, definition_path, definitions_of
from amtlocal.backends.local._process import (DEFAULT_STOP_GRACE_SECONDS, Interrupts, TrainingJobOutcome, TrainingJobProcess,
                                               deferred_sigint)
from amtlocal.backends.local._pruners import make_pruner
from amtlocal.backends.local._space import grid_size, make_sampler
from amtlocal.exceptions import AmtValidationError, TuningJobExists
from amtlocal.spec import TuningSpec

log = logging.getLogger("amtlocal")

FIRST_FAILURES = 5  # AMT: "No training job succeeded after 5 attempts" (AMT_REFERENCE.md; threshold UNVERIFIED)
POLL_SECONDS = 1.0  # how often a running tuner looks for a stop request in the store
A_RUNTIME = "runtime_used"  # seconds spent in earlier runs of a resumed tuning job


@dataclass
class Progress:
    """A progress snapshot: training jobs finished / total, running now, best objective so far (or None)."""

    name: str
    finished: int
    total: int
    running: int
    best: float | None
    metric: str


def _no_success_message(n: int) -> str:
    return f"No training job succeeded after {n} attempts. Please take a look at the training job failures to get more details."


@dataclass
class _Running:
    trial: object
    proc: TrainingJobProcess
    definition: Definition
    steps: int = 0
    pruned: bool = False


class LocalTuningJob:
    """Runs one tuning job of a :class:`TuningSpec` on this machine, or resumes it.

    Args:
        spec: the request and its base folder.
        store: the :class:`LocalStore` (default: the default store).
        progress: called with a :class:`Progress` after every change.
        stop_grace: seconds between SIGTERM and SIGKILL when a training job is stopped (AMT: 120; default
            ``$AMTLOCAL_STOP_GRACE_SECONDS`` or 120).
    """

    def __init__(self, spec: TuningSpec, store: S.LocalStore | None = None,
                 progress: Callable[[Progress], None] | None = None, stop_grace: float | None = None):
        self.spec = spec
        self.store = store or S.LocalStore()
        self.progress = progress
        self.stop_grace = float(os.environ.get("AMTLOCAL_STOP_GRACE_SECONDS", DEFAULT_STOP_GRACE_SECONDS)) if stop_grace is None else stop_grace
        self._sigint = Interrupts()
        self._stops_seen = 0  # the stop-request count this run started from; see run()
        self.taken = False  # whether this process took the job (its lock) to run it
        self._forkservers: dict = {}  # (code folder, entry point) -> its warm ForkServer

    # -- set-up -------------------------------------------------------------------------------------------------
    def prepare(self):
        """Validate, resolve local code and data, and create (or find) the study. Raises before any job starts.

        Returns:
            the Optuna study of this tuning job.
        Raises:
            AmtValidationError: bad spec, missing local files, warm-start rules.
            TuningJobExists: a job of that name exists with another request (AMT: ResourceInUse).
        """
        self.spec.validate()
        req = self.spec.request
        self.config = req["HyperParameterTuningJobConfig"]
        self.definitions = [d.resolve(self.spec.base_dir, definition_path(req, i)) for i, d in enumerate(definitions_of(req))]
        self.objective = self.config.get("HyperParameterTuningJobObjective") or self.definitions[0].objective
        self.maximize = self.objective["Type"] == "Maximize"
        limits = self.config["ResourceLimits"]
        grid = sum(grid_size(d.space) for d in self.definitions)
        self.max_jobs = int(limits.get("MaxNumberOfTrainingJobs") or grid)
        self.parallel = int(limits["MaxParallelTrainingJobs"])
        self.slots = self._slots()
        self.max_tuning_runtime = limits.get("MaxRuntimeInSeconds")
        try:
            self.pruner = make_pruner(self.config, self.definitions[0].static)
        except ValueError as e:
            raise AmtValidationError("HyperParameterTuningJobConfig.StrategyConfig.HyperbandStrategyConfig.MaxResource", str(e)) from None
        name = self.spec.name
        self.store.job_dir(name)  # checks the name before it becomes a folder
        import optuna

        # On a shared storage several workers get here at once: one creates and fills the study, under the lock.
        with self.store.launch_lock(name):
            stored = self.store.resolve_name(name)
            if stored is not None:
                study = self.store.load(stored)
                if study.user_attrs.get(S.A_REQUEST) != req:
                    raise TuningJobExists(f"Tuning job {stored!r} already exists with a different request (AMT: ResourceInUse); pick another HyperParameterTuningJobName")
                return study
            parents = _warmstart.load_parents(self.store, req)
            try:
                study = self.store.create(req, self.spec.base_dir)
            except optuna.exceptions.DuplicatedStudyError:  # created a moment ago by a process outside the lock
                study = None
            if study is not None and parents and len(self.definitions) == 1:
                study.set_user_attr(S.A_N_HISTORY, _warmstart.apply(study, req, self.definitions[0].space, parents))
        return study if study is not None else self.prepare()

    # -- the run ------------------------------------------------------------------------------------------------
    def run(self, stops_seen: int | None = None) -> dict:
        """Run (or resume) the tuning job to its end in this process; returns DescribeHyperParameterTuningJob.

        Args:
            stops_seen: the job's stop-request count when the run was asked for; a stop request above it ends the
                run (at once, if it came before the run started). Default: the count now, read before the job is
                taken, so a stop that races this start is never lost and one that ended an earlier run never ends
                this one. The background worker of ``fit(wait=False)`` passes the caller's count.

        Ctrl-C (KeyboardInterrupt) stops the running training jobs, leaves the tuning job Stopped and resumable, and
        is raised again; from the start (a Ctrl-C while the job is being created or set up is taken once that is
        done, so a job is never left half-made or InProgress without a tuner). Raises what :meth:`prepare` raises,
        and TuningJobBusy when another tuner runs this job.
        """
        with deferred_sigint() as self._sigint:  # Ctrl-C is taken at the top of the loop, never mid-write
            self._start_forkservers()  # their imports (seconds) overlap validation and the store's set-up
            try:
                return self._run(stops_seen)
            finally:
                self._close_forkservers()

    def _run(self, stops_seen: int | None) -> dict:
        self.spec.validate()  # a spec error surfaces before the lock file (and the job's folder) is made
        import optuna  # noqa: F401 - here, before the job's folder exists: a Ctrl-C that cuts it short leaves nothing

        if stops_seen is None:  # before taking the job: a stop from now on is for this run
            stops_seen = self.store.stops_to_honour_from(self.spec.name)
        self._stops_seen = stops_seen
        with self.store.lock(self.spec.name):  # before prepare(): two tuners never race to create one study
            self.taken = True
            try:
                study = self.prepare()
            except BaseException:  # refused, or interrupted: a job that was never created leaves no folder
                self.store.drop_unused_job_dir(self.spec.name)  # under the lock
                raise
            if study.user_attrs.get(S.A_STATUS) in ("Completed", "Failed"):
                return R.describe(study)
            self._recover_orphans(study)  # this process holds the job: whatever is still RUNNING was a dead tuner's
            if self._stop_requested(study.user_attrs):  # stopped before this run got going
                S.mark_stopped(study)
                return R.describe(study)
            S.mark_running(study, stops_seen)
            started = time.time()
            try:
                self._loop(study, started)
            finally:
                study.set_user_attr(A_RUNTIME, study.user_attrs.get(A_RUNTIME, 0.0) + time.time() - started)
            return R.describe(study)

    def _stop_requested(self, attrs: dict) -> bool:
        """A stop request made since this run was asked for (see :meth:`run`)."""
        return S.stop_requests(attrs) > self._stops_seen

    def _recover_orphans(self, study) -> None:
        _recovery.recover_orphans(study, self.store)

    def _finish_interrupted(self, study, trial, summary: dict, reason: str, end: float | None = None,
                            start: float | None = None) -> None:
        _recovery.finish_interrupted(study, self.store, trial, summary, reason, end, start)

    def _counted(self, study) -> list[dict]:
        """Summaries of the training jobs that count toward MaxNumberOfTrainingJobs (interrupted ones do not)."""
        return [t.user_attrs[S.T_SUMMARY] for t in R.own_trials(study) if not t.user_attrs.get(S.T_INTERRUPTED)]

    def _ask(self, study):
        """A new trial and its definition (several definitions: one more Optuna parameter chooses it)."""
        if len(self.definitions) == 1:
            d = self.definitions[0]
            return study.ask({d.optuna_name(n): p.distribution() for n, p in d.space.items()}), d
        trial = study.ask()
        chosen = trial.suggest_categorical(DEFINITION_PARAM, [d.name for d in self.definitions])
        d = next(x for x in self.definitions if x.name == chosen)
        for n, p in d.space.items():
            p.suggest(trial, d.optuna_name(n))
        return trial, d

    def _loop(self, study, started: float) -> None:
        own_so_far = len(R.own_trials(study))
        study.sampler = make_sampler(self.config, self.definitions[0].space if len(self.definitions) == 1 else {}, own_so_far)
        if self.pruner is not None:
            study.pruner = self.pruner
        events: queue.Queue = queue.Queue()
        running: dict[int, _Running] = {}
        finished = sorted((s for s in self._counted(study) if s["TrainingJobStatus"] != "InProgress"), key=lambda s: s.get("TrainingEndTime") or 0)
        n_own = len(R.own_trials(study))
        deadline = None
        if self.max_tuning_runtime:
            deadline = started + float(self.max_tuning_runtime) - float(study.user_attrs.get(A_RUNTIME, 0.0))
        stopping: str | None = None  # StopRequested | Failed | Complete
        failure: str | None = None
        completion = _completion.check(self.config.get("TuningJobCompletionCriteria"), finished, self.maximize)
        next_poll = 0.0
        report_due = False
        self._report(study, len(finished), 0)

        def stop_all(reason: str) -> None:
            for r in running.values():
                r.proc.stop(reason)

        try:
            while True:
                if self._sigint.is_set():
                    raise KeyboardInterrupt  # a Ctrl-C, taken here (handled below)
                now = time.time()
                # Also while completing (completion criteria, MaxRuntime): a stop then still ends it Stopped. Not once
                # it has Failed: that is decided, and a Failed job is never resumed.
                if stopping in (None, "Complete") and now >= next_poll:
                    next_poll = now + POLL_SECONDS
                    if self._stop_requested(self.store.load(self.spec.name).user_attrs):
                        stopping = "StopRequested"
                        stop_all("StopRequested")
                        S.update(study, **{S.A_STATUS: "Stopping"})  # taken: the `stop` waiting for this returns
                if not stopping and deadline is not None and now >= deadline:
                    stopping = "Complete"
                    stop_all("TuningJobMaxRuntimeExceeded")
                if not stopping and completion.done:
                    stopping = "Complete"
                while not stopping and len(running) < self.slots and len(finished) + len(running) < self.max_jobs:
                    with self.store.launch_lock(self.spec.name):
                        if self.store.shared:
                            n_own, room = self._shared_room(study)
                            if not room:
                                break
                        trial, d = self._ask(study)
                        n_own += 1
                        running[trial.number] = _Running(trial, self._launch(trial, d, n_own, events), d)
                if report_due:  # after the launches, so that "running" counts the jobs that replaced the finished one
                    self._report(study, len(finished), len(running))
                    report_due = False
                if not running:
                    if self.store.shared and not stopping and self._shared_wait(study):
                        finished = self._shared_finished(study)
                        continue
                    break
                try:
                    kind, number, payload = events.get(timeout=0.5)
                except queue.Empty:
                    continue
                r = running.get(number)
                if r is None:
                    continue
                if kind == "metric":
                    self._on_metric(r, payload)
                    continue
                del running[number]
                summary = self._record(study, r, payload, interrupted=stopping == "StopRequested")
                if stopping == "StopRequested":
                    continue
                if self.store.shared:
                    finished = self._shared_finished(study)
                else:
                    finished.append(summary)
                succeeded = any(s.get("ObjectiveStatus") == "Succeeded" for s in finished)
                if not succeeded and len(finished) >= FIRST_FAILURES and not stopping:
                    stopping, failure = "Failed", _no_success_message(FIRST_FAILURES)
                    stop_all("TuningJobFailed")
                completion = _completion.check(self.config.get("TuningJobCompletionCriteria"), finished, self.maximize)
                if completion.done and not stopping:
                    log.info("%s: %s; completing", self.spec.name, completion.reason)
                    stopping = "Complete"
                    stop_all("TuningJobCompleted")
                report_due = True
        except KeyboardInterrupt:
            if running:
                grace = max(r.proc.stop_grace for r in running.values())
                log.warning("Interrupted: stopping %d running training job(s) (SIGTERM, then SIGKILL after %g s; Ctrl-C "
                            "again to kill them now); the tuning job stays resumable", len(running), grace)
                S.update(study, **{S.A_STATUS: "Stopping"})
            stop_all("Interrupted")
            hurried = False
            while running:
                if not hurried and self._sigint.forced.is_set():
                    hurried = True
                    for r in running.values():
                        r.proc.hurry()
                try:
                    kind, number, payload = events.get(timeout=0.2)
                except queue.Empty:
                    continue
                if kind == "done" and number in running:
                    self._record(study, running.pop(number), payload, interrupted=True)
            S.mark_stopped(study)
            raise
        if stopping == "StopRequested":
            status = "Stopped"
        elif failure or not any(s.get("ObjectiveStatus") == "Succeeded" for s in finished):
            status, failure = "Failed", failure or _no_success_message(len(finished))
        else:
            status = "Completed"
        attrs = {S.A_STATUS: status, S.A_ENDED: time.time(), S.A_FAILURE: failure}
        if self.config.get("TuningJobCompletionCriteria") or stopping == "Complete":
            attrs[S.A_COMPLETION] = completion.details
        S.update(study, **attrs)
        log.info("Tuning job %s %s", self.spec.name, status)

    # -- several workers on one shared storage -----------------------------------------------------------------
    def _shared_room(self, study) -> tuple[int, bool]:
        """(own training jobs so far, may one more start?) counted across every worker (call under launch_lock)."""
        trials = study.get_trials(deepcopy=False)
        own = [t for t in trials if t.user_attrs.get(S.T_ROLE) == "own"]
        active = sum(1 for t in own if t.state.name == "RUNNING")
        counted = sum(1 for t in own if not t.user_attrs.get(S.T_INTERRUPTED))
        return len(own), active < self.parallel and counted < self.max_jobs

    def _shared_finished(self, study) -> list[dict]:
        done = [s for s in self._counted(study) if s["TrainingJobStatus"] != "InProgress"]
        return sorted(done, key=lambda s: s.get("TrainingEndTime") or 0)

    def _shared_wait(self, study) -> bool:
        """Nothing runs here: wait while other workers run jobs. True when a job slot may have opened (loop again),
        False when no worker runs anything any more (the tuning job is over)."""
        with self.store.launch_lock(self.spec.name):
            _, room = self._shared_room(study)
        if room:
            time.sleep(POLL_SECONDS)
            return True
        if any(t.state.name == "RUNNING" and t.user_attrs.get(S.T_ROLE) == "own" for t in study.get_trials(deepcopy=False)):
            time.sleep(POLL_SECONDS)
            return True
        return False

    def _start_forkservers(self) -> None:
        """Start the fork servers of the spec's entry points now, before validation (best effort: a spec too broken
        to resolve starts none, and validation then reports it)."""
        try:
            req = self.spec.request
            for i, d in enumerate(definitions_of(req)):
                self._spawner_for(d.resolve(self.spec.base_dir, definition_path(req, i)))
        except Exception:  # noqa: BLE001 - validate() reports what is wrong, naming the field
            pass

    def _spawner_for(self, d: Definition):
        """The warm fork server of this definition's entry point, or None (see _forkserver)."""
        from amtlocal.backends.local._forkserver import ForkServer, idle_core, launcher_kind, modules_to_preload

        if launcher_kind() != "fork" or not d.job.program.endswith(".py") or not d.job.code_source.is_dir():
            return None
        servers = self._forkservers
        key = (str(d.job.code_source), d.job.program)
        server = servers.get(key)
        if server is None or not server.alive:
            if server is not None:
                server.close()
            modules = modules_to_preload(d.job.code_source / d.job.program, d.job.code_source)
            server = servers[key] = ForkServer(modules, env=d.job.base_environment(), spares=idle_core(self._slots()))
        return server.spawn

    def _slots(self) -> int:
        """Training jobs this process runs at once: MaxParallelTrainingJobs, capped by AMTLOCAL_WORKER_SLOTS (a
        worker's own share on a shared storage; MaxParallelTrainingJobs still holds overall). Read from the request,
        since the fork servers start before prepare()."""
        try:
            parallel = int(self.spec.request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"])
        except (KeyError, TypeError, ValueError):
            parallel = 1
        return min(parallel, int(os.environ.get("AMTLOCAL_WORKER_SLOTS") or parallel))

    def _close_forkservers(self) -> None:
        servers, self._forkservers = self._forkservers, {}
        for server in servers.values():
            server.close()

    def _on_metric(self, r: _Running, point) -> None:
        """An objective value is the next intermediate value (step = its rank); the pruner may stop the job."""
        import math

        if self.pruner is None or r.pruned or point.name != r.definition.objective["MetricName"] or not math.isfinite(point.value):
            return
        r.steps += 1
        r.trial.report(point.value, r.steps)
        if r.trial.should_prune():
            r.pruned = True
            r.proc.stop("EarlyStopped")

    def _launch(self, trial, d: Definition, index: int, events: queue.Queue) -> TrainingJobProcess:
        name = f"{self.spec.name}-{index:03d}-{uuid.uuid4().hex[:8]}"
        tuned = {hp: p.to_wire(trial.params[d.optuna_name(hp)]) for hp, p in d.space.items()}
        wire = d.static
        wire.update(tuned)
        wire["_tuning_objective_metric"] = d.objective["MetricName"]
        job_dir = self.store.training_job_dir(self.spec.name, name)
        summary = {"TrainingJobName": name, "TrainingJobArn": training_job_arn(name), "TuningJobName": self.spec.name,
                   "CreationTime": time.time(), "TrainingJobStatus": "InProgress", "TunedHyperParameters": tuned,
                   "ObjectiveStatus": "Pending"}
        if d.name:
            summary["TrainingJobDefinitionName"] = d.name
        # The summary first: a trial with role "own" always has one (what recovery after a kill relies on).
        trial.set_user_attr(S.T_SUMMARY, summary)
        trial.set_user_attr(S.T_ROLE, "own")
        number = trial.number
        on_metric = (lambda p: events.put(("metric", number, p))) if self.pruner is not None else None
        proc = TrainingJobProcess(d.job, job_dir, name, wire, d.metric_definitions, d.objective["MetricName"],
                                  d.max_runtime, on_metric=on_metric, stop_grace=self.stop_grace,
                                  spawner=self._spawner_for(d))

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
        # One write: where the job runs (worker host:pid, its folder, its pid and start time for orphan recovery).
        trial.set_user_attr(S.T_PROCESS, {S.T_WORKER: S.worker_id(), S.T_DIR: str(job_dir), S.T_PID: proc.pid,
                                          S.T_PID_START: _recovery.process_start(proc.pid)})
        threading.Thread(target=waiter, name=f"wait-{name}", daemon=True).start()
        log.debug("started %s: %s", name, proc.argv)
        return proc

    def _record(self, study, r: _Running, outcome: TrainingJobOutcome, interrupted: bool) -> dict:
        """Write the finished training job's summary, then tell Optuna (summary first: a told trial is frozen)."""
        import optuna

        trial = r.trial
        summary = dict(trial.user_attrs[S.T_SUMMARY])
        if outcome.stop_reason == "TuningJobFailed":  # stopped because the tuning job failed: it never ranks
            outcome.objective = None
            outcome.failure_reason = "Stopped because the tuning job failed (no training job succeeded)"
        if interrupted:
            self._finish_interrupted(study, trial, summary, "Interrupted: the tuning job was stopped; this configuration runs again on resume.", outcome.end_time,
                                     outcome.start_time or None)
            return summary
        summary.update(TrainingStartTime=outcome.start_time, TrainingEndTime=outcome.end_time, TrainingJobStatus=outcome.status)
        reason = outcome.failure_reason or (outcome.objective_reason if outcome.objective is None else None)
        if reason:
            summary["FailureReason"] = reason[:1024]
            if outcome.objective is None and outcome.status != "Failed":
                log.warning("%s: %s", summary["TrainingJobName"], reason)
        if outcome.objective is not None:
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {"Type": r.definition.objective["Type"], "MetricName": r.definition.objective["MetricName"], "Value": outcome.objective}
            summary["ObjectiveStatus"] = "Succeeded"
        else:
            summary["ObjectiveStatus"] = "Failed"
        trial.set_user_attr(S.T_SUMMARY, summary)
        trial.set_user_attr(S.T_METRICS, outcome.final_metrics)
        if r.pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif outcome.objective is not None:
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
