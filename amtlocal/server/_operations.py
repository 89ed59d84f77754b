"""The SageMaker operations the server runs locally, answered in the API's wire shapes.

Each operation is the local client's (``amtlocal.client()``, which calls only the Backend contract's public methods),
so ``amtlocal serve``, ``amtlocal.client()`` and the CLI give one answer: the same validation (botocore's
ParamValidator, then amtlocal's spec rules), the same error codes and messages. This module turns the wire's JSON
into the client's keyword arguments and its answers and errors back into the wire's JSON.

Tags (AddTags, ListTags, DeleteTags) of local tuning and training jobs are kept here, in memory for the server's life,
seeded by the ``Tags`` of the Create request (a tuning job's training job: by its tuning job's tags when it was
launched); a job that does not exist is a ValidationException; tags of other resources go to moto.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

from amtlocal.exceptions import AmtValidationError
from amtlocal.server import _wire

log = logging.getLogger(__name__)

# API operation -> the local client's method
LOCAL_OPERATIONS = {
    "CreateHyperParameterTuningJob": "create_hyper_parameter_tuning_job",
    "DescribeHyperParameterTuningJob": "describe_hyper_parameter_tuning_job",
    "ListHyperParameterTuningJobs": "list_hyper_parameter_tuning_jobs",
    "ListTrainingJobsForHyperParameterTuningJob": "list_training_jobs_for_hyper_parameter_tuning_job",
    "StopHyperParameterTuningJob": "stop_hyper_parameter_tuning_job",
    "CreateTrainingJob": "create_training_job",
    "DescribeTrainingJob": "describe_training_job",
    "ListTrainingJobs": "list_training_jobs",
    "StopTrainingJob": "stop_training_job",
}
TAG_OPERATIONS = ("AddTags", "ListTags", "DeleteTags")
# ARNs of the jobs this server runs (every CreateTrainingJob / CreateHyperParameterTuningJob comes here, never to moto)
_LOCAL_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[^:]*:[0-9]*:(hyper-parameter-tuning-job|training-job)/.+$")
Response = tuple[int, list[tuple[str, str]], bytes]


class SageMakerOperations:
    """The locally run SageMaker operations over one backend.

    Args:
        backend: a LocalBackend (its store is the CLI's when built over the same home).
        base_dir: folder that relative local paths in requests resolve against (the server's working directory).

    Attributes:
        started: ``{"tuning": {name, ...}, "training": {name, ...}}``, the jobs created through this object, which
            :meth:`stop_started` ends when the server stops.
        requests: ``{tuning job name: CreateHyperParameterTuningJob request}`` of the tuning jobs in ``started`` (what
            :meth:`resume` runs again).
    """

    def __init__(self, backend: Any, base_dir: Path):
        import amtlocal

        self.backend = backend
        self.client = amtlocal.client(backend=backend, base_dir=base_dir)
        self.started: dict[str, set[str]] = {"tuning": set(), "training": set()}
        self.requests: dict[str, dict[str, Any]] = {}  # tuning job name -> its CreateHyperParameterTuningJob request
        self.base_dir = base_dir
        self._tags: dict[str, dict[str, str]] = {}  # lower-case ARN -> {key: value}, in the order first set
        # lower-case tuning job ARN -> [(epoch seconds, its tags from then on)]: what a training job inherits at launch
        self._history: dict[str, list[tuple[float, dict[str, str]]]] = {}
        self._lock = threading.Lock()

    def handles(self, operation: str, body: bytes) -> bool:
        """Whether ``operation`` (the part of ``X-Amz-Target`` after ``SageMaker.``) with ``body`` is run here."""
        if operation in LOCAL_OPERATIONS:
            return True
        if operation in TAG_OPERATIONS:
            try:
                arn = json.loads(body or b"{}").get("ResourceArn", "")
            except (ValueError, AttributeError):
                return False
            return isinstance(arn, str) and bool(_LOCAL_ARN.match(arn))
        return False

    def __call__(self, operation: str, body: bytes) -> Response:
        """Run ``operation`` on the JSON ``body``; returns ``(HTTP status, headers, body)``: the output shape's JSON,
        or a JSON-protocol error (ValidationException, ResourceNotFound, ResourceInUse; SerializationException for a
        body that is not a JSON object; InternalFailure, HTTP 500, for a bug, logged with its traceback)."""
        from botocore.exceptions import ClientError, ParamValidationError

        model = _wire.service_model().operation_model(operation)
        try:
            raw = json.loads(body or b"{}")
        except ValueError as e:
            return _wire.error_response("SerializationException", f"the request body is not JSON: {e}")
        if not isinstance(raw, dict):
            return _wire.error_response("SerializationException", "the request body must be a JSON object")
        try:
            params = _wire.parse_input(raw, model.input_shape)
        except AmtValidationError as e:  # a value no date can be made of
            return _wire.error_response("ValidationException", str(e))
        try:
            out = self._run(operation, params)
        except ParamValidationError as e:
            return _wire.error_response("ValidationException", str(e.kwargs.get("report", e)))
        except ClientError as e:
            err = e.response["Error"]
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            return _wire.error_response(err["Code"], err.get("Message", ""), status)
        except Exception:  # noqa: BLE001 - a bug here must reach the caller as the service's 500, not kill the server
            log.exception("%s failed", operation)
            return _wire.error_response("InternalFailure", f"{operation} failed in amtlocal; see the server log", 500)
        return _wire.json_response(_wire.serialise_output(out, model.output_shape))

    def _run(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation in TAG_OPERATIONS:
            from botocore.validate import validate_parameters

            validate_parameters(params, _wire.service_model().operation_model(operation).input_shape)
            return getattr(self, "_" + operation.lower())(params)
        out = getattr(self.client, LOCAL_OPERATIONS[operation])(**params)
        if operation == "CreateHyperParameterTuningJob":
            self.started["tuning"].add(params["HyperParameterTuningJobName"])
            self.requests[params["HyperParameterTuningJobName"]] = params
            # recorded as the tags from the start: the first training jobs may be launched before this line runs
            self._add(out["HyperParameterTuningJobArn"].lower(), params.get("Tags") or [], at=float("-inf"))
        elif operation == "CreateTrainingJob":
            self.started["training"].add(params["TrainingJobName"])
            self._add(out["TrainingJobArn"].lower(), params.get("Tags") or [])
        return out

    # -- tags ---------------------------------------------------------------------------------------------------------
    def _resource(self, arn: str, operation: str) -> str:
        """The tag table's key of resource ``arn`` (a local tuning or training job), after checking that it exists.
        A tuning job's training job is given, the first time its tags are touched, the tags its tuning job had when it
        was launched (AMT copies them; AddTags/DeleteTags on the tuning job reach only the jobs it launches later).

        Raises:
            ClientError: ValidationException when no such job exists (SageMaker models no error for the tag
                operations; it answers ValidationException for a resource that is gone).
        """
        from botocore.exceptions import ClientError, ParamValidationError

        kind, name = arn.split(":", 5)[5].split("/", 1)
        try:
            if kind == "hyper-parameter-tuning-job":
                self.client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
                return arn.lower()
            desc = self.client.describe_training_job(TrainingJobName=name)
        except (ClientError, ParamValidationError) as e:  # no such job, or a name no job can have
            message = f"Resource Arn: {arn} not found."
            raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, operation) from e
        key = arn.lower()
        tuning = desc.get("TuningJobArn")
        with self._lock:
            if tuning and key not in self._tags:
                self._tags[key] = self._tuning_tags_at(tuning.lower(), desc["CreationTime"])
        return key

    def _tuning_tags_at(self, tuning: str, when: Any) -> dict[str, str]:
        """The tags tuning job ``tuning`` (lower-case ARN) had at ``when`` (a datetime): the last change recorded
        before it, else (a job this server did not see created) the Tags of its Create request, if known."""
        at = when.timestamp() if hasattr(when, "timestamp") else float(when)
        before = [tags for t, tags in self._history.get(tuning, []) if t <= at]
        if before:
            return dict(before[-1])
        request = self.requests.get(tuning.rsplit("/", 1)[-1]) or {}
        return {t["Key"]: t.get("Value", "") for t in request.get("Tags") or []}

    def _changed(self, key: str, at: float | None = None) -> None:
        """Record the tags of ``key`` after a change, when it is a tuning job's (what its later training jobs get).
        Called with the lock held."""
        if ":hyper-parameter-tuning-job/" in key:
            self._history.setdefault(key, []).append((time.time() if at is None else at, dict(self._tags[key])))

    def _add(self, key: str, tags: list[dict[str, str]], at: float | None = None) -> None:
        with self._lock:
            held = self._tags.setdefault(key, {})
            for t in tags:
                held[t["Key"]] = t.get("Value", "")
            self._changed(key, at)

    def _addtags(self, params: dict[str, Any]) -> dict[str, Any]:
        """AddTags: returns ``{"Tags": [...]}``, the tags given (as the service does)."""
        self._add(self._resource(params["ResourceArn"], "AddTags"), params["Tags"])
        return {"Tags": params["Tags"]}

    def _listtags(self, params: dict[str, Any]) -> dict[str, Any]:
        """ListTags: every tag of the resource in one page (``{"Tags": [{"Key", "Value"}, ...]}``), in the order they
        were first set: a tuning job's training job starts with its tuning job's (AMT_REFERENCE.md section 1)."""
        key = self._resource(params["ResourceArn"], "ListTags")
        with self._lock:
            held = dict(self._tags.get(key, {}))
        return {"Tags": [{"Key": k, "Value": v} for k, v in held.items()]}

    def _deletetags(self, params: dict[str, Any]) -> dict[str, Any]:
        """DeleteTags: removes the keys (inherited ones too; a key the resource lacks is no error); returns ``{}``."""
        key = self._resource(params["ResourceArn"], "DeleteTags")
        with self._lock:
            held = self._tags.setdefault(key, {})
            for k in params["TagKeys"]:
                held.pop(k, None)
            self._changed(key)
        return {}

    # -- shutdown -----------------------------------------------------------------------------------------------------
    def stop_started(self, timeout: float = 60.0) -> dict[str, str]:
        """End the jobs created through this server (or taken over by it: ``LocalBackend.take_over``) that still run,
        as ``amtlocal stop`` / ``stop-training-job`` do
        (a tuning job is recorded Stopped and resumes when the same request is run again with ``amtlocal tune``;
        its cut-short training jobs run again then). Waits up to ``timeout`` seconds for them to reach a terminal
        status.

        Returns:
            ``{job name: status}`` of every job that was running, after the wait.
        """
        from amtlocal.exceptions import AmtLocalError
        from amtlocal.lifecycle import TERMINAL_STATUSES

        def status(kind: str, name: str) -> str:
            try:
                if kind == "tuning":
                    return self.backend.describe(name)["HyperParameterTuningJobStatus"]
                return self.backend.describe_training_job(name)["TrainingJobStatus"]
            except AmtLocalError:
                return "Unknown"

        taken_over = set(getattr(self.backend, "tuning_workers", list)()) - self.started["tuning"]
        running = [(k, n) for k in ("tuning", "training") for n in sorted(self.started[k])]
        running += [("tuning", n) for n in sorted(taken_over)]  # resumed here after their worker died
        running = [(k, n) for k, n in running if status(k, n) not in TERMINAL_STATUSES]
        for kind, name in running:
            try:
                (self.backend.stop if kind == "tuning" else self.backend.stop_training_job)(name)
            except AmtLocalError as e:
                log.warning("could not stop %s job %s: %s", kind, name, e)
        deadline = time.monotonic() + timeout
        while running and time.monotonic() < deadline:
            if all(status(k, n) in TERMINAL_STATUSES for k, n in running):
                break
            time.sleep(0.2)
        return {n: status(k, n) for k, n in running}

    def resume(self, interrupted: dict[str, dict[str, Any]]) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """Run again, in background workers, the tuning jobs a previous server stopped at its shutdown
        (``{name: {"request": CreateHyperParameterTuningJob request, "base_dir": folder}}``): each one still Stopped
        resumes as ``amtlocal tune`` of the same request resumes it (its evaluations kept, its cut-short training jobs
        run again). A job that is no longer Stopped is left as it is.

        Returns:
            ``(names resumed, {name: saved entry} of the jobs that could not resume)``: the latter (an error such as
            an S3 object that is gone, logged with the reason) are for the caller to keep for the next start.
        """
        from amtlocal.exceptions import AmtLocalError

        resumed, kept = [], {}
        for name, saved in interrupted.items():
            request = saved["request"]
            try:
                if self.backend.describe(name)["HyperParameterTuningJobStatus"] != "Stopped":
                    continue
                self.backend.create_tuning_job(request, Path(saved["base_dir"]), wait=False)
            except AmtLocalError as e:
                log.warning("tuning job %s was not resumed (kept for the next start): %s", name, e)
                kept[name] = saved
                continue
            self.started["tuning"].add(name)
            self.requests[name] = request
            resumed.append(name)
        return resumed, kept
