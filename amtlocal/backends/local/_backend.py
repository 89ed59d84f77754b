"""LocalBackend: the Backend interface over the local store and :class:`LocalTuningJob`.

``create_tuning_job(wait=False)`` starts a detached worker process (``python -m amtlocal.backends.local._worker``)
in its own session: like a cloud tuning job, it keeps running when the Python process that launched it exits. Its
log is ``<home>/jobs/<name>/tuner.log``; stop it with ``amtlocal stop NAME`` or ``tuner.stop_tuning_job()``.
"""
from __future__ import annotations

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

    def __init__(self, store: S.LocalStore | None = None, home: str | os.PathLike | None = None,
                 storage_url: str | None = None, stop_grace: float | None = None):
        self.store = store or S.LocalStore(home, storage_url)
        self.stop_grace = stop_grace
        self._workers: dict[str, subprocess.Popen] = {}

    def create_tuning_job(self, request: dict[str, Any], base_dir: Path, wait: bool = True,
                          progress: Callable | None = None) -> None:
        job = LocalTuningJob(TuningSpec(request, Path(base_dir)), self.store, progress=progress, stop_grace=self.stop_grace)
        if wait:
            job.run()
            return
        job.prepare()  # every error a user can fix surfaces here, in the caller, before the worker starts
        if not self.store.shared and self.store.lock(job.spec.name).held_elsewhere():
            # else the worker would only write TuningJobBusy to its log, and the caller would think it started
            raise TuningJobBusy.running(job.spec.name)
        log_path = self.store.job_dir(job.spec.name) / "tuner.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, AMTLOCAL_HOME=str(self.store.home))
        env.pop("AMTLOCAL_STORAGE", None)
        if self.store.storage_url:
            env["AMTLOCAL_STORAGE"] = self.store.storage_url
        if self.stop_grace is not None:
            env["AMTLOCAL_STOP_GRACE_SECONDS"] = str(self.stop_grace)
        with open(log_path, "ab") as logf:
            self._workers[job.spec.name] = subprocess.Popen(
                [sys.executable, "-m", "amtlocal.backends.local._worker", job.spec.name],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, env=env, start_new_session=True)

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
        for name in self.store.names():
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
        """Ask the live tuner to stop (status Stopping, then Stopped); with no live tuner, end the training jobs a dead
        tuner left running (recorded Stopped, run again on resume) and mark it Stopped now.

        Raises:
            TuningJobNotFound: no tuning job of that name.
            TuningJobBusy: a tuner started on it in the meantime (stop again: it then gets the request).
        """
        study = self.store.load(name)
        if study.user_attrs.get(S.A_STATUS) in S.TERMINAL_STATUSES:
            return
        study.set_user_attr(S.A_STOP, True)
        if self.store.shared or self.store.lock(study.study_name).held_elsewhere():
            study.set_user_attr(S.A_STATUS, "Stopping")
        else:
            # No live tuner: training jobs its dead tuner left running are ended and recorded Stopped now (as the
            # next run would), not left InProgress under a Stopped tuning job.
            from amtlocal.backends.local import _recovery

            with self.store.lock(study.study_name):  # a tuner starting now must not race this recovery
                _recovery.recover_orphans(study, self.store)
            study.set_user_attr(S.A_STATUS, "Stopped")
            study.set_user_attr(S.A_ENDED, time.time())
        study.set_user_attr(S.A_MODIFIED, time.time())

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
