"""What a backend must provide: the narrow interface between the tuner and where tuning jobs run.

Every method takes and returns the SageMaker API's own shapes (DescribeHyperParameterTuningJob,
ListTrainingJobsForHyperParameterTuningJob), so analytics, charts and warm start never know where a job ran.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amtlocal.exceptions import UnexpectedStatusException
from amtlocal.lifecycle import TERMINAL_STATUSES

TERMINAL = TERMINAL_STATUSES  # the one definition lives in amtlocal.lifecycle


@dataclass
class Progress:
    """A progress snapshot of a tuning job, as ``create_tuning_job(progress=...)`` reports it after every change.

    Attributes:
        name: HyperParameterTuningJobName.
        finished: training jobs finished (counted toward MaxNumberOfTrainingJobs); total: that limit.
        running: training jobs running now.
        best: the best objective value so far, or None; metric: the objective's MetricName.
    """

    name: str
    finished: int
    total: int
    running: int
    best: float | None
    metric: str


class Backend(abc.ABC):
    """A place to run tuning jobs. Subclasses: ``LocalBackend`` (this machine), ``SageMakerBackend`` (AMT)."""

    name: str = "base"

    @abc.abstractmethod
    def create_tuning_job(
        self, request: dict[str, Any], base_dir: Path, wait: bool = True, progress: Callable | None = None
    ) -> None:
        """Start tuning job ``request`` (a CreateHyperParameterTuningJob request); with ``wait`` run it to its end.

        Raises:
            AmtValidationError: the request is invalid (before any training job starts).
            TuningJobBusy: (local backend) the job is already running in another tuner process.
        """

    @abc.abstractmethod
    def describe(self, name: str) -> dict[str, Any]:
        """DescribeHyperParameterTuningJob response. Raises TuningJobNotFound."""

    @abc.abstractmethod
    def list_training_jobs(self, name: str, **kwargs: Any) -> dict[str, Any]:
        """One page of ListTrainingJobsForHyperParameterTuningJob (kwargs: the API's parameters)."""

    @abc.abstractmethod
    def list_tuning_jobs(self) -> list[dict[str, Any]]:
        """HyperParameterTuningJobSummary-like dicts of every tuning job this backend knows, newest first."""

    @abc.abstractmethod
    def stop(self, name: str) -> None:
        """StopHyperParameterTuningJob: stop the running training jobs; the tuning job ends Stopped."""

    def metric_series(self, tuning_job_name: str | None, training_job_name: str) -> list[dict[str, Any]]:
        """Every scraped metric value of one training job, in time order (the CloudWatch metrics of the job).

        Returns:
            ``[{"MetricName": str, "Value": float, "Timestamp": float epoch seconds}, ...]``; empty when unknown.
        """
        return []

    def exists(self, name: str) -> bool:
        from amtlocal.exceptions import TuningJobNotFound

        try:
            self.describe(name)
            return True
        except TuningJobNotFound:
            return False

    def all_training_jobs(self, name: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every HyperParameterTrainingJobSummary of tuning job ``name``, following NextToken."""
        token = None
        while True:
            page = self.list_training_jobs(name, MaxResults=100, **({"NextToken": token} if token else {}), **kwargs)
            yield from page["TrainingJobSummaries"]
            token = page.get("NextToken")
            if not token:
                return

    def wait(self, name: str, poll: float = 1.0, max_poll: float = 30.0) -> dict[str, Any]:
        """Poll until the tuning job is terminal (backoff from ``poll`` to ``max_poll`` seconds).

        Returns the final DescribeHyperParameterTuningJob response when Completed or Stopped (SDK v2 logs a warning
        for Stopped). Raises UnexpectedStatusException for any other terminal status, as SDK v2's ``wait`` does.
        """
        delay = poll
        while True:
            desc = self.describe(name)
            status = desc["HyperParameterTuningJobStatus"]
            if status in TERMINAL:
                break
            self._check_alive(name, desc)
            time.sleep(delay)
            delay = min(max_poll, delay * 1.5)
        if status not in ("Completed", "Stopped"):
            raise UnexpectedStatusException(
                f"Error for HyperParameterTuning job {name}: {status}. Reason: {desc.get('FailureReason', '')}",
                allowed_statuses=("Completed", "Stopped"),
                actual_status=status,
            )
        return desc

    def _check_alive(self, name: str, desc: dict[str, Any]) -> None:  # noqa: B027 - an optional hook, no-op by default
        """Hook for backends that can tell a job will never end (e.g. its worker died)."""

    # -- training jobs (issue 13). Not abstract yet, so that a backend without them still instantiates; each raises
    # NotImplementedError until the backend implements it. ------------------------------------------------------------
    def create_training_job(
        self, request: dict[str, Any], base_dir: Path, wait: bool = True, progress: Callable | None = None
    ) -> dict[str, Any]:
        """CreateTrainingJob: start training job ``request`` (a CreateTrainingJob request; local paths or ``file://``
        URIs allowed where S3 URIs go, relative to ``base_dir``). Returns its DescribeTrainingJob response: at the
        end with ``wait``, else right after the start.

        Raises:
            AmtValidationError: the request is invalid (before the job starts).
        """
        raise NotImplementedError(f"the {self.name} backend does not run training jobs yet")

    def describe_training_job(self, name: str) -> dict[str, Any]:
        """DescribeTrainingJob response of a standalone training job or a tuning job's. Raises TrainingJobNotFound."""
        raise NotImplementedError(f"the {self.name} backend does not describe training jobs yet")

    def training_jobs(self, **kwargs: Any) -> dict[str, Any]:
        """ListTrainingJobs response (``{"TrainingJobSummaries": [...], "NextToken"?}``) for its request parameters:
        NameContains, StatusEquals, CreationTimeAfter/Before, SortBy (Name | CreationTime | Status), SortOrder,
        MaxResults, NextToken. With StatusEquals and MaxResults both set, the page of MaxResults jobs is filtered by
        StatusEquals after it is taken (the API's doc): a page may be short or empty and still carry a NextToken."""
        raise NotImplementedError(f"the {self.name} backend does not list training jobs yet")

    def stop_training_job(self, name: str) -> None:
        """StopTrainingJob. Raises TrainingJobNotFound."""
        raise NotImplementedError(f"the {self.name} backend does not stop training jobs yet")

    def training_job_logs(self, name: str) -> Iterator[str]:
        """The log lines of training job ``name`` so far (stdout and stderr as written). Raises TrainingJobNotFound."""
        raise NotImplementedError(f"the {self.name} backend does not read training job logs yet")
