"""A tuning job whose holder died while it ran (its background worker killed, e.g. by the out-of-memory killer): taken
over by whoever reads it through the API, as the service never loses its tuner.

Without this such a job stays InProgress for ever (its lock is free, nobody writes its status): a ``tuner.wait()``
or a polling loop never ends. The policy (:func:`take_over`, under the job's lock, so exactly one caller acts):

- a stop was asked for (Stopping, or a request the dead holder never took): its training jobs are ended and recorded
  Stopped ("Interrupted ..."), the job is Stopped, as ``stop`` of a job with no tuner does;
- the first death: the job resumes at once in a new worker (handed the lock); its training jobs that were cut short
  are recorded Stopped ("Interrupted ...") and their configurations run again, as on every resume;
- a later death (:data:`WORKER_RESTARTS` resumes already made: a crash loop): the job is recorded Failed with a
  FailureReason naming every death's cause; its training jobs are ended and recorded Stopped.

Each death is recorded (``TuningJobRecord.worker_deaths``), so the count holds across processes and servers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from amtlocal.exceptions import TuningJobBusy
from amtlocal.lifecycle._status import TERMINAL_STATUSES, TuningJobStatus

if TYPE_CHECKING:
    from amtlocal.store import JobLock, LocalStore

log = logging.getLogger("amtlocal")

RESUMED = "Resumed"  # what take_over returns when the job runs on in a new worker
WORKER_RESTARTS = 1  # resumes of a tuning job whose worker died before a further death records it Failed
LOST_WORKER_FAILED = (
    "InternalServerError: the worker process running this tuning job ended before the job did, {n} times ({causes}); "
    "it was resumed {resumes} time(s) and is not resumed again. Its running training jobs were stopped."
)
STOPPED_BY_FAILURE = (
    "Stopped: the worker process of its tuning job ended while this training job ran, and the tuning job failed "
    "(see its FailureReason)."
)


def end_cause(pid: int | None, returncode: int | None, log_tail: str = "") -> str:
    """One line saying how a worker process ended: ``the worker process (pid 12) was killed by SIGKILL (the
    out-of-memory killer sends it)``, ``... exited with code 1 (its log ends: <last line>)``, or, with no exit status
    (not this process's child), ``... ended (killed?)``. ``returncode`` as :attr:`subprocess.Popen.returncode`."""
    import signal

    who = f"the worker process (pid {pid})" if pid else "the worker process"
    if returncode is None:
        return f"{who} ended (killed?)"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        oom = " (the out-of-memory killer sends it)" if -returncode == signal.SIGKILL else ""
        return f"{who} was killed by {name}{oom}"
    last = next((line.strip() for line in reversed(log_tail.splitlines()) if line.strip()), "")
    return f"{who} exited with code {returncode}" + (f" (its log ends: {last[:300]})" if last else "")


def holder_lost(store: LocalStore, name: str) -> bool:
    """True when tuning job ``name`` is InProgress or Stopping but no live process holds it (its tuner or worker
    died). False on a shared storage (its workers' liveness is their heartbeats), for an ended job, a job pulled from
    SageMaker, or while a process holds the job. Reads only. Raises TuningJobNotFound."""
    if store.shared:
        return False
    rec = store.tuning_job(name)
    if rec.status in TERMINAL_STATUSES or rec.origin != "local":  # a pulled SageMaker job runs in AWS, not here
        return False
    try:
        return not store.job_lock(rec.name).held_elsewhere()
    except OSError:  # the lock cannot be probed (a read-only home): nothing to judge by, nor to take it over with
        return False


def take_over(
    store: LocalStore,
    name: str,
    cause: str,
    start_worker: Callable[[int, JobLock], Any],
    restarts: int = WORKER_RESTARTS,
) -> str | None:
    """Take over tuning job ``name`` whose holder died (see the module docstring for the policy).

    Args:
        cause: how the holder ended (:func:`end_cause`), recorded and named in a FailureReason.
        start_worker: ``(stops_seen, lock) -> worker`` starts a background worker of the job, handing it the held lock
            (as :func:`amtlocal.lifecycle.start_in_background`'s).
        restarts: how many deaths are resumed before one is recorded Failed.
    Returns:
        ``"Resumed"``, ``"Stopped"`` or ``"Failed"``; None when there was nothing to do (a live process holds the job,
        or it has ended). Raises TuningJobNotFound.
    """
    if not holder_lost(store, name):
        return None
    try:
        lock = store.job_lock(store.tuning_job(name).name).acquire()
    except (TuningJobBusy, OSError):
        return None  # taken meanwhile (a resume, a stop, another reader taking it over), or a read-only home
    outcome = None
    try:
        outcome = _take_over_held(store, name, cause, start_worker, restarts, lock)
        return outcome
    finally:
        if outcome == RESUMED:  # the new worker holds the lock now: let go of this descriptor only
            lock.hand_over()
        else:
            lock.release()


def _take_over_held(
    store: LocalStore, name: str, cause: str, start_worker: Callable[[int, JobLock], Any], restarts: int, lock
) -> str | None:
    """:func:`take_over`'s work, by the holder of the job's lock; returns the same."""
    from amtlocal.lifecycle._orphans import recover_orphans
    from amtlocal.lifecycle._tuning import finish, mark_stopped

    study = store.load(name)
    rec = store.tuning_job(study)
    if rec.status in TERMINAL_STATUSES:
        return None
    deaths = [*rec.worker_deaths, cause]
    store.update_tuning_job(study, worker_deaths=deaths)
    if rec.status == TuningJobStatus.STOPPING or rec.stop_requests > rec.run_stop_requests:
        log.warning("tuning job %s: %s while it was stopping; recorded Stopped", rec.name, cause)
        recover_orphans(store, study)
        mark_stopped(store, study)
        return TuningJobStatus.STOPPED.value
    if len(deaths) > restarts:
        reason = LOST_WORKER_FAILED.format(n=len(deaths), causes="; ".join(deaths), resumes=len(deaths) - 1)
        log.error("tuning job %s: %s", rec.name, reason)
        recover_orphans(store, study, STOPPED_BY_FAILURE)
        finish(store, study, TuningJobStatus.FAILED.value, reason[:1024], None)
        return TuningJobStatus.FAILED.value
    log.warning("tuning job %s: %s before the job ended; resuming it in a new worker", rec.name, cause)
    recover_orphans(store, study)  # recorded now, not when the new worker gets going
    try:
        start_worker(rec.stop_requests, lock)  # no pending stop: checked above
    except Exception as e:  # noqa: BLE001 - a job nobody can run must end, not stay InProgress
        reason = f"InternalServerError: {cause} before the job ended, and no new worker could start: {e}"
        log.error("tuning job %s: %s", rec.name, reason)
        finish(store, study, TuningJobStatus.FAILED.value, reason[:1024], None)
        return TuningJobStatus.FAILED.value
    return RESUMED
