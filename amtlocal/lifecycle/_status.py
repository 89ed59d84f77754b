"""The statuses of tuning jobs and training jobs, with the SageMaker API's exact values (botocore's enums
HyperParameterTuningJobStatus, TrainingJobStatus, SecondaryStatus, ObjectiveStatus)."""

from __future__ import annotations

import enum


class TuningJobStatus(str, enum.Enum):
    """HyperParameterTuningJobStatus. The local backend writes InProgress, Stopping, Completed, Failed, Stopped;
    Deleting and DeleteFailed come only from SageMaker."""

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    DELETING = "Deleting"
    DELETE_FAILED = "DeleteFailed"

    def __str__(self) -> str:
        return self.value


class TrainingJobStatus(str, enum.Enum):
    """TrainingJobStatus (Deleting comes only from SageMaker)."""

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    DELETING = "Deleting"

    def __str__(self) -> str:
        return self.value


class SecondaryStatus(str, enum.Enum):
    """The SecondaryStatus values the local backend writes (a subset of the API's enum)."""

    STARTING = "Starting"
    DOWNLOADING = "Downloading"
    TRAINING = "Training"
    UPLOADING = "Uploading"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    MAX_RUNTIME_EXCEEDED = "MaxRuntimeExceeded"
    COMPLETED = "Completed"
    FAILED = "Failed"
    INTERRUPTED = "Interrupted"

    def __str__(self) -> str:
        return self.value


class ObjectiveStatus(str, enum.Enum):
    """ObjectiveStatus of a tuning job's training job."""

    SUCCEEDED = "Succeeded"
    PENDING = "Pending"
    FAILED = "Failed"

    def __str__(self) -> str:
        return self.value


#: The one definition of "ended": a job in one of these statuses never changes again (the local backend resumes a
#: Stopped tuning job only when asked to, as a new run). Holds plain strings, so it tests API responses directly.
TERMINAL_STATUSES: frozenset[str] = frozenset({"Completed", "Failed", "Stopped", "DeleteFailed"})
#: A tuning job in one of these statuses is never run again (Stopped ones are resumable).
FINAL_STATUSES: frozenset[str] = frozenset({"Completed", "Failed"})


def is_terminal(status: str | None) -> bool:
    """True for a status in :data:`TERMINAL_STATUSES` (for tuning jobs and training jobs alike)."""
    return status in TERMINAL_STATUSES
