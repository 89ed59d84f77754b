"""LocalBackend: the Backend interface over the local store and :class:`LocalTuningJob`.

``create_tuning_job(wait=False)`` starts a detached worker process (``python -m amtlocal.backends.local._worker``)
in its own session: like a cloud tuning job, it keeps running when the Python process that launched it exits. Its
log is ``<home>/jobs/<name>/tuner.log``; stop it with ``amtlocal stop NAME`` or ``tuner.stop_tuning_job()``.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from amtlocal.backends._base import Backend
from amtlocal.backends.local import _records as R
from amtlocal.backends.local import _store as S
from amtlocal.backends.local._tuning import LocalTuningJob
from amtlocal.exceptions import AmtLocalError, TuningJobBusy, TuningJobNotFound
from amtlocal.spec import TuningSpec


class LocalBackend(Backend):
    """Runs tuning jobs on this machine.

    Args:
        store: a :class:`LocalStore`; or ``home`` / ``storage_url`` to make one (see LocalStore).
        stop_grace: seconds between SIGTERM and SIGKILL when stopping a training job (default: AMT's 120 s, or
            ``$AMTLOCAL_STOP_GRACE_SECONDS``).
    """

    name = "local"
    STOP_TAKEN_SECONDS = 5.0  # how long stop() waits for the job's holder to take the request or let go

    def __init__(self, store: S.LocalStore | None = None, home: str | os.PathLike | None = None,
                 storage_url: str | None = None, stop_grace: float | None = None):
        self.store = store or S.LocalStore(home, storage_url)
        self.stop_grace = stop_grace
        self._workers: dict[str, subprocess.Popen] = {}

    def create_tuning_job(self, request: dict[str, Any], base_dir: Path, wait: bool = True,
                          progress: Callable | None = None) -> None:
        job = LocalTuningJob(TuningSpec(request, Path(base_dir)), self.store, progress=progress, stop_grace=self.stop_grace)
        if wait:
            try:
                job.run()
            except KeyboardInterrupt:
                # A Ctrl-C that cut this run's own stopping short (a third press): finish the stop, so the job is not
                # left InProgress or Stopping with no tuner. Only for a job this process ran: never another tuner's.
                if job.taken and not self.store.shared:
                    with contextlib.suppress(Exception):
                        if R.describe(self.store.load(job.spec.name))["HyperParameterTuningJobStatus"] in ("InProgress", "Stopping"):
                            self.stop(job.spec.name)
                raise
            return
        # Every error a user can fix surfaces here, in the caller, before the worker starts; under the job's lock, so
        # that a job another tuner runs is refused here (TuningJobBusy) and two callers never create it twice. The
        # worker inherits the lock itself (the locked descriptor): there is no moment when the job is free between
        # this caller and its worker. A Ctrl-C meanwhile is taken once the job is consistent: Stopped, no worker.
        from amtlocal.backends.local._process import deferred_sigint

        job.spec.validate()
        stops_seen = self.store.stops_to_honour_from(job.spec.name)  # before the lock: a stop from now on ends the run
        with deferred_sigint() as interrupted:
            lock = None if self.store.shared else self.store.lock(job.spec.name).acquire()
            worker, spawning = None, False
            try:
                try:
                    study = job.prepare()
                except BaseException:
                    self.store.drop_unused_job_dir(job.spec.name)  # under the lock: nobody is between its checks and removal
                    raise
                if interrupted.is_set():
                    if lock is not None and study.user_attrs.get(S.A_STATUS) == "InProgress":
                        S.mark_stopped(study)
                    raise KeyboardInterrupt
                if lock is not None and study.user_attrs.get(S.A_STATUS) == "Stopped" and S.stop_requests(study.user_attrs) <= stops_seen:
                    # Resumed in the background: InProgress from now on (what the worker's run writes), so that a
                    # describe or wait() right after this call never sees the old Stopped and returns.
                    S.mark_running(study, stops_seen)
                spawning = True
                worker = self._workers[job.spec.name] = self._start_worker(job.spec.name, stops_seen, lock)
            finally:
                if lock is not None and spawning:
                    # The worker holds the lock now (or, if the start failed, nobody else has the descriptor): this
                    # process only lets go of its own; unlocking would unlock the worker's too (one open file).
                    lock.hand_over()
                elif lock is not None:
                    lock.release()

    def _start_worker(self, name: str, stops_seen: int, lock: S.JobLock | None) -> subprocess.Popen:
        """Start the background worker of tuning job ``name``, handing it the held job lock (its descriptor)."""
        log_path = self.store.job_dir(name) / "tuner.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, AMTLOCAL_HOME=str(self.store.home))
        env.pop("AMTLOCAL_STORAGE", None)
        if self.store.storage_url:
            env["AMTLOCAL_STORAGE"] = self.store.storage_url
        if self.stop_grace is not None:
            env["AMTLOCAL_STOP_GRACE_SECONDS"] = str(self.stop_grace)
        pass_fds: tuple[int, ...] = ()
        if lock is not None:
            env[S.INHERITED_LOCK_ENV] = str(lock.fileno())
            pass_fds = (lock.fileno(),)
        with open(log_path, "ab") as logf:
            return subprocess.Popen([sys.executable, "-m", "amtlocal.backends.local._worker", name, str(stops_seen)],
                                    stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True, pass_fds=pass_fds)

    def describe(self, name: str) -> dict[str, Any]:
        return R.describe(self.store.load(name))

    def list_training_jobs(self, name: str, **kwargs: Any) -> dict[str, Any]:
        return R.list_training_jobs(self.store.load(name), **kwargs)

    def metric_series(self, tuning_job_name: str, training_job_name: str) -> list[dict[str, Any]]:
        """Read ``<home>/jobs/<tuning job>/<training job>/logs/metrics.jsonl`` (empty if the job has none)."""
        import json

        path = self.store.training_job_dir(tuning_job_name, training_job_name) / "logs" / "metrics.jsonl"
        if not path.exists():
            return []
        out = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:  # a line cut short by a killed tuner
                    continue
        return out

    def list_tuning_jobs(self) -> list[dict[str, Any]]:
        """For each stored tuning job, newest first: ListHyperParameterTuningJobs' summary fields (name, ARN, status,
        strategy, times, training job and objective counters, ResourceLimits), plus amtlocal's
        ``InterruptedTrainingJobs``: how many of the Stopped ones an interruption cut short (they are run again on
        resume and do not count toward MaxNumberOfTrainingJobs)."""
        out = []
        names = self.store.names()
        if not self.store.shared:
            self.store.drop_unused_job_dirs(names)  # folders of tuners killed before they created their job
        for name in names:
            study = self.store.load(name)
            d = R.describe(study)
            out.append({
                "InterruptedTrainingJobs": sum(1 for t in R.own_trials(study) if t.user_attrs.get(S.T_INTERRUPTED)),
                "HyperParameterTuningJobName": d["HyperParameterTuningJobName"],
                "HyperParameterTuningJobArn": d["HyperParameterTuningJobArn"],
                "HyperParameterTuningJobStatus": d["HyperParameterTuningJobStatus"],
                "Strategy": d["HyperParameterTuningJobConfig"]["Strategy"],
                "CreationTime": d["CreationTime"],
                "HyperParameterTuningEndTime": d.get("HyperParameterTuningEndTime"),
                "LastModifiedTime": d.get("LastModifiedTime"),
                "TrainingJobStatusCounters": d["TrainingJobStatusCounters"],
                "ObjectiveStatusCounters": d["ObjectiveStatusCounters"],
                "ResourceLimits": d["HyperParameterTuningJobConfig"]["ResourceLimits"],
            })
        return sorted(out, key=lambda r: r["CreationTime"], reverse=True)

    def stop(self, name: str) -> None:
        """StopHyperParameterTuningJob. A live tuner is asked to stop (``describe`` shows Stopping until it has stopped
        its training jobs, then Stopped); with none, the training jobs a dead tuner left running are ended and
        recorded Stopped (run again on resume) and the job is Stopped now. A Completed or Failed job, or a Stopped one
        no tuner is taking up again, is left as it is.

        The request is counted in the store (``S.stop_requests``); a run compares the count with the one it started from; the
        status is written only by whoever holds the job's lock, so a stop never overwrites a tuner's last word.

        Raises:
            TuningJobNotFound: no tuning job of that name.
        """
        study = self.store.load(name)
        if study.user_attrs.get(S.A_STATUS) in ("Completed", "Failed"):
            return
        if self.store.shared:  # no job lock: every worker, wherever it runs, sees the request and stops
            S.add_stop_request(study)
            return
        if self._stop_here(study):
            return
        # Someone holds the job. A tuner read its starting count before it took the job, so this request (made after
        # finding the job taken) is above it, and it says it took it by writing Stopping. A holder that will not run
        # the job (a refused or finished `tune`, a `stop`) lets go soon: then the job is stopped here.
        S.add_stop_request(study)
        deadline = time.monotonic() + self.STOP_TAKEN_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if self.store.load(study.study_name).user_attrs.get(S.A_STATUS) in ("Stopping", *S.TERMINAL_STATUSES):
                return
            if self._stop_here(study):
                return

    def _stop_here(self, study) -> bool:
        """With no tuner holding the job: end what a dead tuner left running, mark the job Stopped; True. False when
        a tuner holds the job. Also raises the request count, so a worker started before this stop never runs."""
        from amtlocal.backends.local import _recovery

        try:
            lock = self.store.lock(study.study_name).acquire()
        except TuningJobBusy:
            return False
        try:
            status = study.user_attrs.get(S.A_STATUS)
            if status in ("Completed", "Failed"):
                return True
            S.add_stop_request(study)  # also for a Stopped job: a background worker about to resume it must not
            if status == "Stopped":
                return True
            _recovery.recover_orphans(study, self.store)
            S.mark_stopped(study)
            return True
        finally:
            lock.release()

    def _check_alive(self, name: str, desc: dict[str, Any]) -> None:
        worker = self._workers.get(desc["HyperParameterTuningJobName"])
        if worker is not None and worker.poll() is not None:
            # The worker ended; give the store a moment, then the job must be terminal.
            time.sleep(0.5)
            if self.describe(name)["HyperParameterTuningJobStatus"] not in S.TERMINAL_STATUSES:
                log = self.store.job_dir(desc["HyperParameterTuningJobName"]) / "tuner.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise AmtLocalError(f"the tuner process of {name} exited with code {worker.returncode} before the job ended; tuner.log ends:\n{tail}")


__all__ = ["LocalBackend", "TuningJobNotFound"]
