"""A standalone local training job (CreateTrainingJob): validated, recorded, run through a runner with the same
script-mode contract, scraper and limits as a tuning job's training jobs, its statuses written by the lifecycle.

``wait=False`` hands the job (its lock) to a detached worker (``python -m amtlocal.backends.local._worker
--training-job NAME``) that survives the caller, as a tuning job's worker does.
"""

from __future__ import annotations

import copy
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from amtlocal import lifecycle
from amtlocal.algorithms import metric_definitions_for
from amtlocal.backends.local._process import (
    DEFAULT_STOP_GRACE_SECONDS,
    Interrupts,
    TrainingJobProcess,
    overlay_sys_path,
)
from amtlocal.container import ScriptModeJob
from amtlocal.exceptions import AmtValidationError
from amtlocal.lifecycle import TrainingJobOutcome
from amtlocal.runners import ProcessRunner, runner_for
from amtlocal.spec.placeholders import LOCAL_OUTPUT, training_job_arn
from amtlocal.store import LocalStore, check_training_job_name

log = logging.getLogger("amtlocal")

POLL_SECONDS = 0.5  # how often the running job looks for a stop request
# Request members echoed in DescribeTrainingJob (the rest of the response is the job's state).
ECHOED = (
    "TrainingJobName",
    "HyperParameters",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "VpcConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "DebugHookConfig",
    "ExperimentConfig",
    "TensorBoardOutputConfig",
    "Environment",
    "RetryStrategy",
    "ProfilerConfig",
    "RemoteDebugConfig",
    "InfraCheckConfig",
)
BASE_DIR = "_base_dir"  # private record member (never in a response): the folder relative paths are relative to


def validate_request(request: dict[str, Any]) -> None:
    """Check a CreateTrainingJob request against botocore's input shape and the metric regexes
    (``amtlocal.spec.training_job_errors``), then the name pattern, before anything is recorded.

    Raises:
        AmtValidationError: the first problem, naming the field and the rule.
    """
    from amtlocal.spec import training_job_errors

    errors = training_job_errors(request)
    if errors:
        raise errors[0]
    check_training_job_name(request["TrainingJobName"])


def script_mode_job(request: dict[str, Any], base_dir: Path, home: Path | None = None) -> ScriptModeJob:
    """The request's code and data resolved for a local run (field paths as in the CreateTrainingJob request;
    ``s3://`` ones fetched into ``home``'s S3 cache)."""
    definition = dict(request, StaticHyperParameters=request.get("HyperParameters") or {})
    try:
        return ScriptModeJob.from_definition(definition, base_dir, "CreateTrainingJob", home)
    except AmtValidationError as e:
        raise AmtValidationError(e.field.replace("StaticHyperParameters", "HyperParameters"), e.rule) from None


class LocalTrainingJob:
    """One standalone training job on this machine.

    Args:
        request: the CreateTrainingJob request (local paths or ``file://`` URIs where S3 URIs go).
        base_dir: folder relative paths are relative to.
        store: the LocalStore.
        stop_grace: seconds between SIGTERM and SIGKILL when it is stopped (default ``$AMTLOCAL_STOP_GRACE_SECONDS``
            or AMT's 120).
    """

    def __init__(self, request: dict[str, Any], base_dir: Path, store: LocalStore, stop_grace: float | None = None):
        self.request, self.base_dir, self.store = request, Path(base_dir), store
        self.name = request.get("TrainingJobName", "")
        self.stop_grace = (
            float(os.environ.get("AMTLOCAL_STOP_GRACE_SECONDS", DEFAULT_STOP_GRACE_SECONDS))
            if stop_grace is None
            else stop_grace
        )

    @classmethod
    def stored(cls, store: LocalStore, name: str, stop_grace: float | None = None) -> LocalTrainingJob:
        """The job as recorded by :meth:`create` (for the background worker)."""
        record = store.find_training_job(name).summary
        request = {k: record[k] for k in ECHOED if k in record}
        return cls(request, Path(record[BASE_DIR]), store, stop_grace)

    def validate(self) -> ScriptModeJob:
        """Raises AmtValidationError before anything is recorded or started."""
        validate_request(self.request)
        self.model_artifacts()  # the output path must be local, or s3:// in a run that uses S3
        return script_mode_job(self.request, self.base_dir, self.store.home)

    def output_path(self) -> str:
        """``OutputDataConfig.S3OutputPath``; the placeholder an estimator sends locally when it was given no
        ``output_path`` (``spec.placeholders.LOCAL_OUTPUT``, the same one its tuning requests carry) means the
        store's ``<home>/output`` folder, as a ``file://`` URI."""
        path = self.request["OutputDataConfig"].get("S3OutputPath", "")
        return (self.store.home / "output").resolve().as_uri() if path == LOCAL_OUTPUT else path

    def model_artifacts(self) -> str:
        """ModelArtifacts.S3ModelArtifacts: ``<output path>/<job>/output/model.tar.gz``, absolute, in the output path's
        style (``file://`` or a plain path), or the ``s3://`` object it is uploaded to. Raises AmtValidationError for
        another scheme, or an ``s3://`` one in a run that uses no S3 (``container.output_goes_to_s3``)."""
        from amtlocal.container import output_goes_to_s3, resolve_local_location
        from amtlocal.s3 import S3Folder, is_s3_uri

        field = "CreateTrainingJob.OutputDataConfig.S3OutputPath"
        definition = dict(self.request, StaticHyperParameters=self.request.get("HyperParameters") or {})
        if is_s3_uri(self.output_path()):
            if not output_goes_to_s3(definition, self.output_path()):
                raise AmtValidationError(
                    field,
                    f"this run uses no S3, so {self.output_path()} cannot be written: give a local folder or file:// "
                    "URI, or point AWS_ENDPOINT_URL at an S3 (e.g. `amtlocal serve`), or read the code or data from "
                    "s3://",
                )
            return S3Folder(self.output_path(), field).uri_of(f"{self.name}/output/model.tar.gz")
        root, style = resolve_local_location(
            self.output_path(), self.base_dir, "CreateTrainingJob.OutputDataConfig.S3OutputPath"
        )
        return f"{style}{root / self.name / 'output' / 'model.tar.gz'}"

    def create(self) -> None:
        """Record the job (InProgress, Starting). The caller holds its lock. Raises TrainingJobExists."""
        record = {k: copy.deepcopy(self.request[k]) for k in ECHOED if k in self.request}
        record.update(
            TrainingJobArn=training_job_arn(self.name), ModelArtifacts={"S3ModelArtifacts": self.model_artifacts()}
        )
        record[BASE_DIR] = str(self.base_dir)
        record = {k: v for k, v in record.items() if v is not None}
        self.store.create_training_job(lifecycle.training_job_created(record))

    def run(self, sigint: Interrupts | None = None) -> None:
        """Run the recorded job to its end in this process (the holder of its lock). A stop request stops it;
        ``sigint`` set (Ctrl-C) stops it too, and KeyboardInterrupt is raised once it is recorded."""
        job = script_mode_job(self.request, self.base_dir, self.store.home)
        # A fork server pays its imports once for many jobs; a standalone job is one, so it gets a new process unless
        # the fork launcher is asked for by name.
        # A built-in algorithm (no code folder) always gets a new process.
        runner = (
            runner_for(
                job.program,
                job.code_source,
                env=job.base_environment(),
                slots=1,
                sys_path=overlay_sys_path(job, self.store.home),
            )
            if os.environ.get("AMTLOCAL_LAUNCHER") == "fork" and job.code_source is not None
            else ProcessRunner()
        )
        metrics = metric_definitions_for(self.request)  # a built-in algorithm's predefined ones when none are given
        max_runtime = float((self.request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 86400))
        proc = TrainingJobProcess(
            job,
            self.store.training_job_dir(None, self.name),
            self.name,
            dict(self.request.get("HyperParameters") or {}),
            metrics,
            "",
            max_runtime,
            stop_grace=self.stop_grace,
            runner=runner,
            home=self.store.home,
            output_path=self.output_path(),
        )
        interrupted = False
        try:
            try:
                outcome = proc.start()
            except OSError as e:
                outcome = TrainingJobOutcome.failed(f"AlgorithmError: cannot start the entry point: {e}")
            if outcome is None:
                lifecycle.training_job_running(self.store, self.name, proc.pid, proc.start_time)
                outcome, interrupted = self._wait(proc, sigint)
        finally:
            runner.close()
        outcome.objective_reason = None  # a standalone job has no objective (its output was packed by proc.wait)
        lifecycle.training_job_ended(self.store, self.name, outcome)
        log.info("Training job %s %s", self.name, outcome.status)
        if interrupted:
            raise KeyboardInterrupt

    def _wait(self, proc: TrainingJobProcess, sigint: Interrupts | None) -> tuple[TrainingJobOutcome, bool]:
        """Wait for the end, taking a stop request or a Ctrl-C meanwhile. Returns (outcome, interrupted)."""
        result: list[TrainingJobOutcome] = []

        def waiter() -> None:
            try:
                result.append(proc.wait())
            except BaseException as e:  # noqa: BLE001 - any runner fault becomes a Failed training job
                result.append(TrainingJobOutcome.failed(f"InternalServerError: {type(e).__name__}: {e}"))

        thread = threading.Thread(target=waiter, name=f"wait-{self.name}", daemon=True)
        thread.start()
        stopped = interrupted = hurried = False
        while thread.is_alive():
            thread.join(POLL_SECONDS)
            if sigint is not None and sigint.is_set() and not interrupted:
                interrupted = True
                names: dict[int, str] = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}
                how = names.get(sigint.signum, "Ctrl-C")
                proc.stop("Interrupted", f"Stopped: interrupted ({how}) in the process that ran it")
            if sigint is not None and sigint.forced.is_set() and not hurried:
                hurried = True
                proc.hurry()
            if not stopped and not interrupted and self.store.find_training_job(self.name).stop_requests > 0:
                stopped = True
                proc.stop("StopRequested")
                lifecycle.training_job_stopping(self.store, self.name)
        return result[0], interrupted
