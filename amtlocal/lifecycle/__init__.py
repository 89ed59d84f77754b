"""The job lifecycle: the statuses of tuning jobs and training jobs, and every transition between them.

Statuses carry the SageMaker API's exact values (:class:`TuningJobStatus`, :class:`TrainingJobStatus`,
:class:`SecondaryStatus`, :class:`ObjectiveStatus`); :data:`TERMINAL_STATUSES` is the one definition of "ended".

States and transitions of a local tuning job::

    (create) --> InProgress --(completion criteria, MaxRuntimeInSeconds, MaxNumberOfTrainingJobs reached)--> Completed
                 InProgress --(no training job succeeded after 5 attempts, or none at all)--------------> Failed
                 InProgress --(stop request taken by the holder, or Ctrl-C)--> Stopping --(jobs ended)--> Stopped
                 Stopped    --(resume: the same request run again)--> InProgress
                 InProgress with no live holder (tuner killed) --(next run or stop: orphans recovered)--> ...
                 InProgress, worker dead --(read through the API: take_over)--> InProgress (resumed in a new worker,
                                           once) | Failed (a later death) | Stopped (a stop was asked for)

A standalone training job (CreateTrainingJob): InProgress (SecondaryStatus Starting, then Training) --> Completed |
Failed | Stopped (Stopping after a taken StopTrainingJob; SecondaryStatus MaxRuntimeExceeded when its
StoppingCondition ended it). Only the process holding its lock writes its status; if that process dies, the next
describe or stop ends the job's process group and records it Failed (Stopped if a stop was asked for) with a
FailureReason (:func:`recover_training_job`).

A training job of a tuning job: InProgress (objective Pending) --> Completed | Failed | Stopped (objective Succeeded
or Failed); a StopTrainingJob of it (:func:`stop_child`) is taken by its tuner, which stops that job only. One cut short by its tuner's end (stop request, Ctrl-C, a killed tuner) is Stopped with an
``Interrupted: ...`` FailureReason, does not count toward MaxNumberOfTrainingJobs, and its configuration runs again
on resume.

Contracts (what every caller may rely on, and must keep):

- Who writes a status: only the holder of the tuning job's lock (:meth:`amtlocal.store.LocalStore.lock`: one live
  tuner process, or the background worker it was handed to). Everyone else (``stop``, ``describe``, the client) only
  adds stop requests and reads. On a shared (PostgreSQL) storage there is no job lock: every worker writes its own
  training jobs, and the run's end is written by the worker that sees it.
- A stop request is counted, never overwritten: each adds one record (:meth:`LocalStore.add_stop_request`); a run
  remembers the count it started from and honours every request above it, never one that ended an earlier run.
  A stop promises: the running training jobs get SIGTERM and their grace period, then SIGKILL; the tuning job ends
  Stopped (describe shows Stopping meanwhile); it stays resumable; ``stop_tuning_job`` returns once the holder has
  taken the request (Stopping) or, with no live holder, once the job is Stopped (orphans ended and recorded).
- The lock hand-over: ``fit(wait=False)`` takes the lock, creates the job and passes the locked descriptor to its
  background worker (:func:`start_in_background`): the job is never free between caller and worker.
- ``wait=True`` guarantees the call returns only when the job is terminal (Completed, Failed or Stopped) or raises;
  a Ctrl-C leaves it Stopped (never InProgress with no tuner) and is raised again.
- Durability (the embedded store): every write is in the journal file at once, so a killed tuner loses none; a
  training job's launch record is fsynced before its process starts, with every record before it (one ``fsync``
  covers the whole file), and so are a tuning job's status changes. Other records (the ask, the pid, a result) are
  fsynced by the next of those (:meth:`LocalStore.unsynced`): after a power cut the journal is a prefix of what was
  written, the state of a tuner killed a moment earlier, which the recovery below repairs.
- Recovery: a job left InProgress by a dead tuner is repaired by the next holder (:func:`begin_run`) or by
  :func:`stop_tuning_job`: its orphaned training jobs are killed (recognised by pid and pid start time), recorded
  Stopped, and requeued. The API (``amtlocal.client()``, ``amtlocal serve``) does not wait for a next run: a Describe
  or List of such a job, or the server noticing its own worker's death, takes it over (:func:`take_over`: resumed
  once in a new worker, Failed with the causes at a later death, Stopped if a stop was asked for); the CLI's
  ``describe``/``list`` only say that no tuner runs it (:func:`holder_lost`).

Shared mode (a PostgreSQL storage; several workers, on one machine or many, run one tuning job; no job lock):

- Liveness: every worker heartbeats each training job it runs (Optuna's heartbeat, :class:`Heartbeat`: one at
  once when the trial is asked, under the launch lock, then one every heartbeat interval ``H``,
  ``$AMTLOCAL_HEARTBEAT_SECONDS``, default 10 s). A training job whose last heartbeat is older than the grace period
  ``G`` (``$AMTLOCAL_HEARTBEAT_GRACE_SECONDS``, default 3 H) belongs to a lost worker (killed, its machine gone, cut
  off from the database): any live worker, at each poll (1 s), fails its trial (Optuna's ``fail_stale_trials``:
  exactly one worker wins each) and queues its configuration again (:func:`recover_lost`); it then reads Stopped,
  FailureReason ``Interrupted: worker lost: ...``, and does not count toward MaxNumberOfTrainingJobs. The bound: such
  a job is recorded Stopped within ``H + G + 1`` seconds of its worker's end (:func:`lost_bound_seconds`; 41 s by
  default) while any worker runs the job, a ``stop`` waits for it, or the next run of the job begins.
- Fencing: a worker that finds one of its own training jobs failed that way (it was only cut off) stops that job and
  records nothing for it: its configuration runs again elsewhere, never twice counted.
- The end: a worker writes the tuning job's end (Completed, Failed or Stopped) only when no training job of the
  job is InProgress any more (it waits for the other workers' and recovers the lost ones'), so no training job is
  ever InProgress under an ended tuning job. A ``stop`` is taken by every live worker; with none left it recovers the
  lost workers' training jobs itself (waiting at most the bound) and writes Stopped.
- A dropped database connection: each store call is retried with backoff for ``$AMTLOCAL_DB_RETRY_SECONDS``
  (default 60 s); then the worker ends with one message naming the database (StorageUnavailable), its training jobs
  stopped, and the job stays resumable (what it could not record is recovered as a lost worker's).
"""

from amtlocal.lifecycle._liveness import POLL_SECONDS, Heartbeat, lost_bound_seconds, recover_lost
from amtlocal.lifecycle._orphans import dead_worker_here, kill_orphan, process_start, recover_orphans
from amtlocal.lifecycle._standalone import LAUNCHER_DIED, stop_training_job
from amtlocal.lifecycle._standalone import created as training_job_created
from amtlocal.lifecycle._standalone import ended as training_job_ended
from amtlocal.lifecycle._standalone import recover as recover_training_job
from amtlocal.lifecycle._standalone import stopping as training_job_stopping
from amtlocal.lifecycle._standalone import training as training_job_running
from amtlocal.lifecycle._status import (
    FINAL_STATUSES,
    TERMINAL_STATUSES,
    ObjectiveStatus,
    SecondaryStatus,
    TrainingJobStatus,
    TuningJobStatus,
    is_terminal,
)
from amtlocal.lifecycle._takeover import (
    LOST_WORKER_FAILED,
    STOPPED_BY_FAILURE,
    WORKER_RESTARTS,
    end_cause,
    holder_lost,
    take_over,
)
from amtlocal.lifecycle._training import (
    INTERRUPTED_BY_STOP,
    TrainingJobOutcome,
    ended,
    finish_interrupted,
    launch,
    started,
    stop_child,
)
from amtlocal.lifecycle._tuning import (
    STOP_TAKEN_SECONDS,
    add_runtime,
    begin_run,
    finish,
    mark_running,
    mark_stopped,
    mark_stopping,
    start_in_background,
    stop_requested,
    stop_tuning_job,
    stops_to_honour_from,
    visible_status,
)

__all__ = [
    "LOST_WORKER_FAILED",
    "STOPPED_BY_FAILURE",
    "WORKER_RESTARTS",
    "end_cause",
    "holder_lost",
    "take_over",
    "FINAL_STATUSES",
    "Heartbeat",
    "POLL_SECONDS",
    "lost_bound_seconds",
    "recover_lost",
    "INTERRUPTED_BY_STOP",
    "LAUNCHER_DIED",
    "recover_training_job",
    "stop_training_job",
    "training_job_created",
    "training_job_ended",
    "training_job_running",
    "training_job_stopping",
    "ObjectiveStatus",
    "STOP_TAKEN_SECONDS",
    "SecondaryStatus",
    "TERMINAL_STATUSES",
    "TrainingJobOutcome",
    "TrainingJobStatus",
    "TuningJobStatus",
    "add_runtime",
    "begin_run",
    "dead_worker_here",
    "ended",
    "finish",
    "finish_interrupted",
    "is_terminal",
    "kill_orphan",
    "launch",
    "mark_running",
    "mark_stopped",
    "mark_stopping",
    "process_start",
    "recover_orphans",
    "start_in_background",
    "started",
    "stop_child",
    "stop_requested",
    "stop_tuning_job",
    "stops_to_honour_from",
    "visible_status",
]
