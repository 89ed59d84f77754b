"""The local tuning job's scheduler: Optuna proposes, runners train, the lifecycle decides, the store records.

Search (Optuna's ask/tell) and execution (:class:`TrainingJobProcess` over a runner of ``amtlocal.runners``) stay
apart: only the main thread touches the study; each running training job has a waiter thread, and its reader threads
report scraped metrics, all through one queue. Intermediate objective values feed the pruner (Hyperband, or AMT's
median rule for early stopping). Every status change goes through :mod:`amtlocal.lifecycle`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from amtlocal import lifecycle
from amtlocal.backends._base import Progress
from amtlocal.backends.local import _completion, _warmstart
from amtlocal.backends.local._definitions import DEFINITION_PARAM, Definition, definition_path, definitions_of
from amtlocal.backends.local._process import (
    DEFAULT_STOP_GRACE_SECONDS,
    Interrupts,
    TrainingJobProcess,
    deferred_sigint,
    overlay_sys_path,
)
from amtlocal.backends.local._pruners import make_pruner
from amtlocal.backends.local._space import grid_size, make_sampler
from amtlocal.exceptions import AmtValidationError, TuningJobExists
from amtlocal.lifecycle import ObjectiveStatus, TrainingJobOutcome, TrainingJobStatus, TuningJobStatus
from amtlocal.runners import BaseRunner, prestart, runner_for
from amtlocal.spec import TuningSpec
from amtlocal.spec.definitions import ranges_of
from amtlocal.spec.placeholders import LOCAL_OUTPUT, training_job_arn
from amtlocal.store import LocalStore

if TYPE_CHECKING:  # optuna is imported lazily
    from optuna.trial import Trial

log = logging.getLogger("amtlocal")

FIRST_FAILURES = 5  # AMT: "No training job succeeded after 5 attempts" (AMT_REFERENCE.md; threshold UNVERIFIED)
POLL_SECONDS = lifecycle.POLL_SECONDS  # how often a running tuner looks for a stop request (and lost workers)


def _no_success_message(n: int) -> str:
    return f"No training job succeeded after {n} attempts. Please take a look at the training job failures to get more details."


def crash_reason(error: BaseException, where: str = "the amtlocal home") -> str:
    """The FailureReason of a tuning job its tuner's error ended (at most 1024 characters): for a full disk
    ``No space left on device: <path>`` (``where`` when the error names no file), else ``InternalServerError: <type>: <message>``."""
    from amtlocal.exceptions import StorageUnavailable

    if isinstance(error, StorageUnavailable):  # its message says how to resume
        return f"{type(error).__name__}: {error}"[:1024]
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        where = error.filename or where
        return f"No space left on device: {where} (free some space, then run the tuning job again to resume it)"[:1024]
    if isinstance(error, OSError):
        return f"InternalServerError: {type(error).__name__}: {error} (fix it, then run the tuning job again to resume it)"[
            :1024
        ]
    return f"InternalServerError: {type(error).__name__}: {error}"[:1024]


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15; empty for 0 (no signal)."""
    import signal

    try:
        return signal.Signals(signum).name if signum else ""
    except ValueError:
        return f"signal {signum}"


def _succeeded(summary: dict) -> bool:
    return summary.get("ObjectiveStatus") == ObjectiveStatus.SUCCEEDED


@dataclass
class _Running:
    trial: Trial
    proc: TrainingJobProcess
    definition: Definition
    summary: dict
    steps: int = 0
    pruned: bool = False
    lost: bool = False  # shared mode: another worker recorded it lost (this worker was cut off); never recorded here


@dataclass
class _Run:
    """The state of one run of the scheduler loop."""

    finished: list[dict]
    n_own: int
    deadline: float | None
    completion: _completion.CompletionCheck
    events: queue.Queue = field(default_factory=queue.Queue)
    running: dict[int, _Running] = field(default_factory=dict)
    stopping: str | None = None  # StopRequested | Failed | Complete
    failure: str | None = None
    next_poll: float = 0.0
    report_due: bool = False

    def stop_all(self, reason: str) -> None:
        for r in self.running.values():
            r.proc.stop(reason)


class LocalTuningJob:
    """Runs one tuning job of a :class:`TuningSpec` on this machine, or resumes it.

    Args:
        spec: the request and its base folder.
        store: the :class:`LocalStore` (default: the default store).
        progress: called with a :class:`Progress` after every change.
        stop_grace: seconds between SIGTERM and SIGKILL when a training job is stopped (AMT: 120; default
            ``$AMTLOCAL_STOP_GRACE_SECONDS`` or 120).
    """

    def __init__(
        self,
        spec: TuningSpec,
        store: LocalStore | None = None,
        progress: Callable[[Progress], None] | None = None,
        stop_grace: float | None = None,
    ):
        self.spec = spec
        self.store = store or LocalStore()
        self.progress = progress
        self.stop_grace = (
            float(os.environ.get("AMTLOCAL_STOP_GRACE_SECONDS", DEFAULT_STOP_GRACE_SECONDS))
            if stop_grace is None
            else stop_grace
        )
        self._sigint = Interrupts()
        self._stops_seen = 0  # the stop-request count this run started from; see run()
        self.taken = False  # whether this process took the job (its lock) to run it
        self._runners: dict = {}  # (code folder, entry point) -> its runner (a warm fork server, or new processes)
        self._heartbeat = lifecycle.Heartbeat(self.store)  # shared mode: this worker's running trials are alive

    # -- set-up -------------------------------------------------------------------------------------------------
    def _resolve(self) -> None:
        """Validate and resolve the request's definitions, limits and pruner. Raises AmtValidationError."""
        self.spec.validate()
        req = self.spec.request
        self.config = req["HyperParameterTuningJobConfig"]
        self.definitions = [
            d.resolve(self.spec.base_dir, definition_path(req, i), self.store.home)
            for i, d in enumerate(definitions_of(req))
        ]
        self._refuse_what_is_not_emulated(req)
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
            raise AmtValidationError(
                "HyperParameterTuningJobConfig.StrategyConfig.HyperbandStrategyConfig.MaxResource", str(e)
            ) from None

    def _refuse_what_is_not_emulated(self, req: dict) -> None:
        """Refuse, before anything is recorded, what the local backend would otherwise drop silently: AutoParameters
        (AMT picks their ranges; locally the hyperparameter would reach no training job) and definitions whose
        objectives have opposite Types (the local search and ranking follow one direction). Raises
        AmtValidationError naming the field."""
        for d in self.definitions:
            if ranges_of(req, d.raw).get("AutoParameters"):
                raise AmtValidationError(
                    f"{d.ranges_path}.AutoParameters",
                    "not emulated by the local backend (AMT chooses their ranges): give each one a range "
                    "(Integer/Continuous/CategoricalParameterRanges), or run it with --backend sagemaker",
                )
        types = {d.objective.get("Type") for d in self.definitions}
        if len(types) > 1:
            raise AmtValidationError(
                "TrainingJobDefinitions",
                "the local backend searches and ranks on one objective direction: definitions with opposite "
                f"TuningObjective Types ({', '.join(sorted(str(t) for t in types))}) are not emulated",
            )

    def prepare(self):
        """Validate, resolve local code and data, and create (or find) the study. Raises before any job starts.

        Returns:
            the Optuna study of this tuning job.
        Raises:
            AmtValidationError: bad spec, missing local files, warm-start rules.
            TuningJobExists: a job of that name exists with another request (AMT: ResourceInUse).
        """
        self._resolve()
        req, name = self.spec.request, self.spec.name
        self.store.job_dir(name)  # checks the name before it becomes a folder
        import optuna

        # On a shared storage several workers get here at once: one creates and fills the study, under the lock.
        with self.store.creation_lock(name):
            stored = self.store.resolve_name(name)
            if stored is not None:
                study = self.store.load(stored)
                if self.store.tuning_job(study).request != req:
                    raise TuningJobExists(
                        f"Tuning job {stored!r} already exists with a different request (AMT: ResourceInUse); pick another HyperParameterTuningJobName"
                    )
                return study
            parents = _warmstart.load_parents(self.store, req)
            try:
                study = self.store.create(req, self.spec.base_dir)
            except optuna.exceptions.DuplicatedStudyError:  # created a moment ago by a process outside the lock
                study = None
            if study is not None and parents and len(self.definitions) == 1:
                _warmstart.apply(self.store, study, req, self.definitions[0].space, parents)
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
            self._start_runners()  # their imports (seconds) overlap validation and the store's set-up
            try:
                return self._run(stops_seen)
            finally:
                self._heartbeat.close()
                with contextlib.suppress(Exception):  # never hides the run's own error
                    self._close_runners()

    def _run(self, stops_seen: int | None) -> dict:
        from amtlocal.backends.local._responses import describe

        self.spec.validate()  # a spec error surfaces before the lock file (and the job's folder) is made
        import optuna  # noqa: F401 - here, before the job's folder exists: a Ctrl-C that cuts it short leaves nothing

        if stops_seen is None:  # before taking the job: a stop from now on is for this run
            stops_seen = lifecycle.stops_to_honour_from(self.store, self.spec.name)
        self._stops_seen = stops_seen
        with self.store.lock(self.spec.name):  # before prepare(): two tuners never race to create one study
            self.taken = True
            try:
                study = self.prepare()
            except BaseException:  # refused, or interrupted: a job that was never created leaves no folder
                self.store.drop_unused_job_dir(self.spec.name)  # under the lock
                raise
            if lifecycle.begin_run(self.store, study, stops_seen):
                self.store.keep_reserve()  # freed should the disk fill, to record this run's end
                started = time.time()
                try:
                    self._loop(study, started)
                except BaseException:
                    # The first error is what the caller needs: a store that cannot be written now (a full disk)
                    # must not replace it with a second one.
                    with contextlib.suppress(Exception):
                        lifecycle.add_runtime(self.store, study, time.time() - started)
                    raise
                lifecycle.add_runtime(self.store, study, time.time() - started)
            return describe(study)

    def _counted(self, study) -> list[dict]:
        """Summaries of the training jobs that count toward MaxNumberOfTrainingJobs (interrupted ones do not)."""
        return [t.summary for t in self.store.trials(study) if not t.interrupted]

    def _seed_sampler(self, study, n_own: int) -> None:
        """The request's sampler, its RandomSeed stream moved on by the training jobs made so far (``n_own``)."""
        study.sampler = make_sampler(
            self.config, self.definitions[0].space if len(self.definitions) == 1 else {}, n_own
        )

    def _ask(self, study):
        """A new trial and its definition (several definitions: one more Optuna parameter chooses it)."""
        import warnings

        with warnings.catch_warnings():  # shared mode heartbeats its ask/tell trials itself (lifecycle.Heartbeat)
            warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used with Study.optimize")
            return self._ask_trial(study)

    def _ask_trial(self, study):
        if len(self.definitions) == 1:
            d = self.definitions[0]
            return study.ask({d.optuna_name(n): p.distribution() for n, p in d.space.items()}), d
        trial = study.ask()
        chosen = trial.suggest_categorical(DEFINITION_PARAM, [d.name for d in self.definitions])
        d = next(x for x in self.definitions if x.name == chosen)
        for n, p in d.space.items():
            p.suggest(trial, d.optuna_name(n))
        return trial, d

    # -- the loop -----------------------------------------------------------------------------------------------
    def _loop(self, study, started: float) -> None:
        run = self._begin_loop(study, started)
        try:
            while self._step(study, run):
                pass
        except KeyboardInterrupt:
            self._interrupted(study, run)
            raise
        except Exception as e:
            self._crashed(study, run, e)
            raise
        self._finish(study, run)

    def _begin_loop(self, study, started: float) -> _Run:
        own = self.store.trials(study)
        self._seed_sampler(study, len(own))
        if self.pruner is not None:
            study.pruner = self.pruner
        finished = sorted(
            (t.summary for t in own if not t.interrupted and t.status != TrainingJobStatus.IN_PROGRESS),
            key=lambda s: s.get("TrainingEndTime") or 0,
        )
        deadline = None
        if self.max_tuning_runtime:
            deadline = (
                started + float(self.max_tuning_runtime) - float(self.store.tuning_job(study).runtime_used or 0.0)
            )
        completion = _completion.check(self.config.get("TuningJobCompletionCriteria"), finished, self.maximize)
        self._report(finished, 0)
        return _Run(finished=finished, n_own=len(own), deadline=deadline, completion=completion)

    def _step(self, study, run: _Run) -> bool:
        """One pass of the loop: stops and limits, launches, then one event. False when the run is over."""
        if self._sigint.is_set():  # a Ctrl-C, SIGTERM or SIGHUP, taken here (handled in _loop)
            raise KeyboardInterrupt(signal_name(self._sigint.signum))
        self._check_stops(study, run)
        self._launch_more(study, run)
        if run.report_due:  # after the launches, so that "running" counts the jobs that replaced the finished one
            self._report(run.finished, len(run.running))
            run.report_due = False
        if not run.running:
            if self.store.shared and self._shared_wait(study, run):
                run.finished = self._shared_finished(study)
                return True
            return False
        try:
            kind, number, payload = run.events.get(timeout=0.5)
        except queue.Empty:
            return True
        r = run.running.get(number)
        if r is None:
            return True
        if kind == "metric":
            self._on_metric(r, payload)
        else:
            del run.running[number]
            self._on_done(study, run, r, payload)
        return True

    def _check_stops(self, study, run: _Run) -> None:
        """A stop request (polled every POLL_SECONDS), MaxRuntimeInSeconds, a completion criterion met."""
        now = time.time()
        # Also while completing (completion criteria, MaxRuntime): a stop then still ends it Stopped. Not once it has
        # Failed: that is decided, and a Failed job is never resumed.
        if run.stopping in (None, "Complete") and now >= run.next_poll:
            run.next_poll = now + POLL_SECONDS
            if lifecycle.stop_requested(self.store, self.store.load(self.spec.name), self._stops_seen):
                run.stopping = "StopRequested"
                run.stop_all("StopRequested")
                lifecycle.mark_stopping(self.store, study)  # taken: the `stop` waiting for this returns
            if self.store.shared:
                lifecycle.recover_lost(self.store, study)
            self._stop_asked_children(study, run)
        if not run.stopping and run.deadline is not None and now >= run.deadline:
            run.stopping = "Complete"
            run.stop_all("TuningJobMaxRuntimeExceeded")
        if not run.stopping and run.completion.done:
            run.stopping = "Complete"

    def _stop_asked_children(self, study, run: _Run) -> None:
        """Stop the running training jobs a StopTrainingJob asked for (the tuning job goes on), and those another
        worker recorded lost (shared mode: this worker was cut off from the database for the grace period)."""
        if not run.running:
            return
        for rec in self.store.trials(study, role=None):
            r = run.running.get(rec.trial_number) if rec.trial_number is not None else None
            if r is not None and rec.stop_requested:
                r.proc.stop("StopRequested")
            if r is not None and not r.lost and rec.trial_state != "RUNNING":
                log.warning("%s: recorded lost by another worker; stopping it here (it runs again)", rec.name)
                r.lost = True
                r.proc.stop("WorkerLost")

    def _launch_more(self, study, run: _Run) -> None:
        """Start training jobs while there are slots and jobs left (counted across workers on a shared storage)."""
        while (
            not run.stopping and len(run.running) < self.slots and len(run.finished) + len(run.running) < self.max_jobs
        ):
            with self.store.launch_lock(self.spec.name):
                if self.store.shared:
                    run.n_own, room = self._shared_room(study)
                    if not room:
                        return
                    # Workers started together would draw one seeded stream alike: the stream follows the count.
                    self._seed_sampler(study, run.n_own)
                with self.store.unsynced():  # made durable by the launch record's fsync, before the process starts
                    trial, d = self._ask(study)
                self._heartbeat.add(trial._trial_id)  # under the launch lock: never judged without a heartbeat
                run.n_own += 1
                run.running[trial.number] = self._launch(trial, d, run.n_own, run.events)
                run.report_due = True  # "running" changed: shown at once, not when a job ends

    def _on_done(self, study, run: _Run, r: _Running, outcome: TrainingJobOutcome) -> None:
        """A training job ended: record it, then decide (no success after FIRST_FAILURES, completion criteria)."""
        # Not fsynced here: the next launch's record or the tuning job's end syncs it (a power cut before then
        # leaves the job as a tuner killed at this moment does: recovered and run again on resume).
        with self.store.unsynced():
            summary = self._record(study, r, outcome, interrupted=run.stopping == "StopRequested")
        if run.stopping == "StopRequested" or summary is None:
            return
        if self.store.shared:
            run.finished = self._shared_finished(study)
        else:
            run.finished.append(summary)
        if not any(_succeeded(s) for s in run.finished) and len(run.finished) >= FIRST_FAILURES and not run.stopping:
            run.stopping, run.failure = "Failed", _no_success_message(FIRST_FAILURES)
            run.stop_all("TuningJobFailed")
        criteria = self.config.get("TuningJobCompletionCriteria")
        if criteria:  # without criteria nothing completes early; _finish counts NotImproving once, at the end
            run.completion = _completion.check(criteria, run.finished, self.maximize)
        if run.completion.done and not run.stopping:
            log.info("%s: %s; completing", self.spec.name, run.completion.reason)
            run.stopping = "Complete"
            run.stop_all("TuningJobCompleted")
        run.report_due = True

    def _interrupted(self, study, run: _Run) -> None:
        """Ctrl-C, SIGTERM or SIGHUP: stop the running training jobs (a second one kills them now), record them,
        leave the job Stopped. A store that refuses a write meanwhile is logged, never raised over the interrupt."""
        if run.running:
            grace = max(r.proc.stop_grace for r in run.running.values())
            log.warning(
                "Interrupted: stopping %d running training job(s) (SIGTERM, then SIGKILL after %g s; Ctrl-C "
                "again to kill them now); the tuning job stays resumable",
                len(run.running),
                grace,
            )
            self._quietly(lifecycle.mark_stopping, self.store, study)
        self._stop_and_record(study, run)
        self._quietly(lifecycle.mark_stopped, self.store, study)

    def _crashed(self, study, run: _Run, error: Exception) -> None:
        """An unexpected error (a store write refused, a full disk, a bug): the same shutdown as Ctrl-C, then the
        error as the job's FailureReason. The running training jobs are stopped (SIGTERM, grace, SIGKILL) and each
        is recorded if the store takes it (if not, the next run or ``stop`` recovers it as an orphan: its process is
        gone by then). The tuning job ends Stopped, and resumable, when the error came from the machine (OSError:
        disk, store, permissions), else Failed. Nothing here raises: the caller re-raises ``error``, the first one;
        the traceback goes to the job's ``tuner.log``."""
        reason = crash_reason(error, str(self.store.home))
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            self.store.free_reserve()  # room for the records below
        log.error("Tuning job %s: %s; stopping %d running training job(s)", self.spec.name, reason, len(run.running))
        self._write_traceback(error)
        if run.running:
            self._quietly(lifecycle.mark_stopping, self.store, study)
        self._stop_and_record(study, run)
        status = TuningJobStatus.STOPPED if isinstance(error, OSError) else TuningJobStatus.FAILED
        self._quietly(lifecycle.finish, self.store, study, status, reason, None)

    def _stop_and_record(self, study, run: _Run) -> None:
        """Stop every running training job (a second interrupt kills them now) and record each Stopped, run again on
        resume. A record the store refuses is logged: the next run of the job recovers it as an orphan."""
        run.stop_all("Interrupted")
        hurried = False
        while run.running:
            if not hurried and self._sigint.forced.is_set():
                hurried = True
                for r in run.running.values():
                    r.proc.hurry()
            try:
                kind, number, payload = run.events.get(timeout=0.2)
            except queue.Empty:
                continue
            if kind == "done" and number in run.running:
                r = run.running.pop(number)
                self._quietly(self._record, study, r, payload, True)
        if self.store.shared:  # no training job left InProgress by this worker's end (when the store answers)
            self._quietly(lifecycle.recover_lost, self.store, study)

    def _quietly(self, write: Callable, *args) -> None:
        """A shutdown write: a failure is logged, never raised over the error or interrupt being handled (the next
        run or ``stop`` finds what was not recorded and repairs it)."""
        from amtlocal.exceptions import StorageUnavailable

        try:
            write(*args)
        except Exception as e:  # noqa: BLE001
            # The database is gone: the error that ends the run says so once; what is not recorded is recovered later
            (log.debug if isinstance(e, StorageUnavailable) else log.warning)(
                "Tuning job %s: %s not recorded (%s: %s); the next run of the job repairs it",
                self.spec.name,
                getattr(write, "__name__", "a change"),
                type(e).__name__,
                e,
            )

    def _write_traceback(self, error: Exception) -> None:
        """Append the error's traceback to ``<job folder>/tuner.log`` (best effort: the disk may be full)."""
        import traceback

        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        try:
            with open(self.store.job_dir(self.spec.name) / "tuner.log", "a", encoding="utf-8") as f:
                f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} tuner error\n{text}")
        except OSError:
            log.debug("tuner.log not written", exc_info=True)

    def _finish(self, study, run: _Run) -> None:
        """The run's last word: Stopped, Failed or Completed (with TuningJobCompletionDetails when criteria apply)."""
        failure = run.failure
        if run.stopping == "StopRequested":
            status = TuningJobStatus.STOPPED
        elif failure or not any(_succeeded(s) for s in run.finished):
            status, failure = TuningJobStatus.FAILED, failure or _no_success_message(len(run.finished))
        else:
            status = TuningJobStatus.COMPLETED
        details = None
        if self.config.get("TuningJobCompletionCriteria"):
            details = run.completion.details  # checked at every training job's end (its ConvergenceDetectedTime kept)
        elif run.stopping == "Complete":  # MaxRuntimeInSeconds: counted now (nothing was checked per job)
            details = _completion.check(None, run.finished, self.maximize).details
        lifecycle.finish(self.store, study, status, failure, details)
        log.info("Tuning job %s %s", self.spec.name, status)

    # -- several workers on one shared storage -----------------------------------------------------------------
    def _shared_room(self, study) -> tuple[int, bool]:
        """(own training jobs so far, may one more start?) counted across every worker (call under launch_lock)."""
        own = [t for t in self.store.trials(study, role=None) if t.role == "own"]
        active = sum(1 for t in own if t.trial_state == "RUNNING")
        counted = sum(1 for t in own if not t.interrupted)
        return len(own), active < self.parallel and counted < self.max_jobs

    def _shared_finished(self, study) -> list[dict]:
        done = [s for s in self._counted(study) if s["TrainingJobStatus"] != TrainingJobStatus.IN_PROGRESS]
        return sorted(done, key=lambda s: s.get("TrainingEndTime") or 0)

    def _shared_wait(self, study, run: _Run) -> bool:
        """Nothing runs here: wait while other workers run training jobs (recovering those of lost workers). True
        to loop again (a job slot may have opened, or others still run), False when no training job of the tuning job
        is InProgress any more and none may start: only then is its end written."""
        lifecycle.recover_lost(self.store, study)
        if any(t.trial_state == "RUNNING" and t.role == "own" for t in self.store.trials(study, role=None)):
            time.sleep(POLL_SECONDS)
            return True
        if run.stopping:
            return False
        with self.store.launch_lock(self.spec.name):
            _, room = self._shared_room(study)
        if room:
            time.sleep(POLL_SECONDS)
            return True
        return False

    # -- runners ------------------------------------------------------------------------------------------------
    def _start_runners(self) -> None:
        """Start the runners of the spec's entry points now, before validation (best effort: a spec too broken to
        resolve starts none, and validation then reports it)."""
        try:
            req = self.spec.request
            for i, d in enumerate(definitions_of(req)):
                self._runner_for(d.resolve(self.spec.base_dir, definition_path(req, i), self.store.home))
        except Exception:  # noqa: BLE001 - validate() reports what is wrong, naming the field
            pass

    def _runner_for(self, d: Definition) -> BaseRunner:
        """The runner of this definition's entry point (one per code folder and program; remade if it died)."""
        job = d.job
        assert job is not None, "resolve() fills it"
        key = (str(job.code_source), job.program)
        runner = self._runners.get(key)
        if runner is None or not runner.alive:
            if runner is not None:
                runner.close()
            runner = self._runners[key] = runner_for(
                job.program,
                job.code_source,
                env=job.base_environment(),
                slots=self._slots(),
                sys_path=overlay_sys_path(job, self.store.home),
            )
        return runner

    def _slots(self) -> int:
        return slots_of(self.spec.request)

    def _close_runners(self) -> None:
        runners, self._runners = self._runners, {}
        for runner in runners.values():
            runner.close()

    # -- one training job ---------------------------------------------------------------------------------------
    def _on_metric(self, r: _Running, point) -> None:
        """An objective value is the next intermediate value (step = its rank); the pruner may stop the job."""
        if (
            self.pruner is None
            or r.pruned
            or point.name != r.definition.objective["MetricName"]
            or not math.isfinite(point.value)
        ):
            return
        r.steps += 1
        r.trial.report(point.value, r.steps)
        if r.trial.should_prune():
            r.pruned = True
            r.proc.stop("EarlyStopped")

    def _launch(self, trial: Trial, d: Definition, index: int, events: queue.Queue) -> _Running:
        """Record training job number ``index`` of ``trial`` (InProgress) and start it on its runner."""
        assert d.job is not None, "resolve() fills it"
        name = f"{self.spec.name}-{index:03d}-{uuid.uuid4().hex[:8]}"
        tuned = {hp: p.to_wire(trial.params[d.optuna_name(hp)]) for hp, p in d.space.items()}
        wire = d.static
        wire.update(tuned)
        wire["_tuning_objective_metric"] = d.objective["MetricName"]
        job_dir = self.store.training_job_dir(self.spec.name, name)
        summary = {
            "TrainingJobName": name,
            "TrainingJobArn": training_job_arn(name),
            "TuningJobName": self.spec.name,
            "CreationTime": time.time(),
            "TunedHyperParameters": tuned,
        }
        if d.name:
            summary["TrainingJobDefinitionName"] = d.name
        lifecycle.launch(self.store, trial, summary)
        number = trial.number
        on_metric = (lambda p: events.put(("metric", number, p))) if self.pruner is not None else None
        proc = TrainingJobProcess(
            d.job,
            job_dir,
            name,
            wire,
            d.metric_definitions,
            d.objective["MetricName"],
            d.max_runtime,
            on_metric=on_metric,
            stop_grace=self.stop_grace,
            runner=self._runner_for(d),
            home=self.store.home,
            output_path=self._output_path(d),
        )

        def waiter():
            try:
                outcome = proc.wait()
            except BaseException as e:  # noqa: BLE001 - any runner fault becomes a Failed training job
                outcome = TrainingJobOutcome.failed(f"InternalServerError: {type(e).__name__}: {e}")
            events.put(("done", number, outcome))

        try:
            failed = proc.start()
        except OSError as e:
            failed = TrainingJobOutcome.failed(f"AlgorithmError: cannot start the entry point: {e}")
        if failed is not None:  # e.g. a failed requirements.txt install: nothing started
            events.put(("done", number, failed))
            return _Running(trial, proc, d, summary)
        with self.store.unsynced():  # the pid matters only while the process lives: a power cut ends both
            lifecycle.started(self.store, trial, proc.pid)
        threading.Thread(target=waiter, name=f"wait-{name}", daemon=True).start()
        log.debug("started %s: %s", name, proc.argv)
        return _Running(trial, proc, d, summary)

    def _output_path(self, d: Definition) -> str | None:
        """Where this definition's training jobs pack ``model.tar.gz``: its local output path, or ``<home>/output``
        for the placeholder an estimator without ``output_path`` sends (as a standalone job does); None for S3."""
        if (d.raw.get("OutputDataConfig") or {}).get("S3OutputPath") == LOCAL_OUTPUT:
            return (self.store.home / "output").resolve().as_uri()
        assert d.job is not None, "resolve() fills it"
        return d.job.output_path

    def _record(self, study, r: _Running, outcome: TrainingJobOutcome, interrupted: bool) -> dict | None:
        """Write the finished training job's summary, then tell Optuna (through the lifecycle). None when another
        worker recorded it lost meanwhile (shared mode): its trial is final, and its configuration runs again."""
        import optuna

        self._heartbeat.discard(r.trial._trial_id)
        try:
            return self._write_record(study, r, outcome, interrupted)
        except optuna.exceptions.UpdateFinishedTrialError:
            if not self.store.shared:
                raise
            log.warning("%s: recorded lost by another worker; its result is dropped", r.summary["TrainingJobName"])
            return None

    def _write_record(self, study, r: _Running, outcome: TrainingJobOutcome, interrupted: bool) -> dict:
        trial = r.trial
        summary = dict(r.summary)
        if r.proc.model_artifacts:  # packed under a local output path (TrainingJobProcess)
            summary["ModelArtifacts"] = {"S3ModelArtifacts": r.proc.model_artifacts}
        if interrupted:
            return lifecycle.finish_interrupted(
                self.store,
                study,
                trial._trial_id,
                trial.number,
                trial.params,
                summary,
                lifecycle.INTERRUPTED_BY_STOP,
                outcome.end_time,
                outcome.start_time or None,
            )
        return lifecycle.ended(self.store, study, trial, summary, outcome, r.definition.objective, pruned=r.pruned)

    def _report(self, finished: list[dict], running: int) -> None:
        """Progress: the finished training jobs that count (their summaries) and how many run; the best objective
        is taken from those (only a finished job has one), not re-read from the store at every job."""
        if not self.progress:
            return
        from amtlocal.backends.local._responses import best_of

        best = best_of(finished, self.objective["Type"])
        value = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] if best else None
        self.progress(
            Progress(self.spec.name, len(finished), self.max_jobs, running, value, self.objective["MetricName"])
        )


def slots_of(request: dict) -> int:
    """Training jobs this process runs at once: MaxParallelTrainingJobs, capped by AMTLOCAL_WORKER_SLOTS (a worker's
    own share on a shared storage; MaxParallelTrainingJobs still holds overall). Read from the unvalidated request,
    since the runners start before validation."""
    try:
        parallel = int(request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"])
    except (KeyError, TypeError, ValueError):
        parallel = 1
    return min(parallel, int(os.environ.get("AMTLOCAL_WORKER_SLOTS") or parallel))


def prestart_runners(spec: TuningSpec) -> None:
    """Start the runners of a tuning request's entry points now, before it is validated (``amtlocal.runners.prestart``:
    a fork server's imports, seconds, then overlap validation, the store and the tuner's own imports; the tuning job
    that runs this request takes them). Best effort: a request too broken to resolve starts none (validation then
    reports it); call ``amtlocal.runners.close_prestarted()`` when the request is refused. A definition whose code or
    channels are ``s3://`` starts nothing here: nothing is fetched before validation (the run fetches into its home)."""
    try:
        req = spec.request
        for i, d in enumerate(definitions_of(req)):
            if _reads_s3(d.raw):
                continue
            job = d.resolve(spec.base_dir, definition_path(req, i)).job
            assert job is not None  # resolve() fills it
            overlay = overlay_sys_path(job, None)  # None: built by the first job, after validation; none started
            prestart(job.program, job.code_source, env=job.base_environment(), slots=slots_of(req), sys_path=overlay)
    except Exception:  # noqa: BLE001 - validate() reports what is wrong, naming the field
        pass


def _reads_s3(definition: dict) -> bool:
    """Whether resolving ``definition`` would read S3: ``s3://`` code (sagemaker_submit_directory) or channels."""
    uris = [str((definition.get("StaticHyperParameters") or {}).get("sagemaker_submit_directory", ""))]
    for channel in definition.get("InputDataConfig") or []:
        uris.append(str(((channel.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri", "")))
    return any("s3://" in u for u in uris)
