"""``amtlocal.client()``: a boto3-shaped SageMaker client whose tuning jobs really run on this machine.

Code written against ``boto3.client("sagemaker")`` for Automatic Model Tuning can be handed this object instead and
tested offline; unlike a mock (moto), the training jobs run (the local backend, in a background worker as
``fit(wait=False)`` does). It takes and returns the same dicts as boto3 for these operations:

=====================================================  ===================================================
method                                                 AMT operation
=====================================================  ===================================================
``create_hyper_parameter_tuning_job(**request)``       CreateHyperParameterTuningJob (starts the job, returns)
``describe_hyper_parameter_tuning_job(...)``           DescribeHyperParameterTuningJob
``list_hyper_parameter_tuning_jobs(...)``              ListHyperParameterTuningJobs
``list_training_jobs_for_hyper_parameter_tuning_job``  ListTrainingJobsForHyperParameterTuningJob
``stop_hyper_parameter_tuning_job(...)``               StopHyperParameterTuningJob
``create_training_job(**request)``                     CreateTrainingJob (starts the job in a worker, returns)
``describe_training_job(TrainingJobName=...)``         DescribeTrainingJob (standalone or a tuning job's)
``list_training_jobs(...)``                            ListTrainingJobs (every training job in the store)
``stop_training_job(TrainingJobName=...)``             StopTrainingJob (a tuning job's: that job only)
``get_paginator(name)`` / ``can_paginate(name)``       botocore's own Paginator over the three list operations
``get_waiter("training_job_completed_or_stopped")``    botocore's own Waiter from its sagemaker waiter model
=====================================================  ===================================================

The training-job operations call the backend's training-job methods (``create_training_job``,
``describe_training_job``, ``training_jobs``, ``stop_training_job``), so ``amtlocal train``, the SDK face and this
client see one implementation. Timestamps in every response are what boto3 returns for the wire's epoch seconds
(millisecond precision, ``tzlocal()`` datetimes, botocore's own timestamp parser).

As boto3 does, input is first checked against the operation's input shape with botocore's ParamValidator (raising
``botocore.exceptions.ParamValidationError``); service errors are ``botocore.exceptions.ClientError`` with AMT's codes
and the operation name: ``ResourceNotFound``, ``ResourceInUse`` (``client.exceptions.ResourceNotFound`` etc., the
modeled classes, as on a boto3 client) and ``ValidationException`` (the spec's validation: botocore model plus AMT's
rules). Local paths (``file://`` or relative, resolved against ``base_dir``, default the working directory at the
call) stand in for S3 URIs, as in every local spec.

Documented choices (UNVERIFIED against the service unless said): stopping a job that already ended (Completed,
Failed, Stopped) raises ``ValidationException`` and changes nothing (StopTrainingJob's message is the service's, the
tuning job's says the same of it); ``NameContains`` matches case-insensitively; NextToken is an opaque offset. DescribeTrainingJob of an
unknown name raises ``ValidationException`` "Requested resource not found." as the service does (aws/aws-sdk#165;
botocore's TrainingJobCompletedOrStopped waiter fails on that code), although the model lists ResourceNotFound;
StopTrainingJob of an unknown name raises ``ResourceNotFound`` (the model's error). ListTrainingJobs'
``WarmPoolStatusEquals`` and ``TrainingPlanArnEquals`` match no local job (none has a warm pool or a training plan).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import types
import uuid
from pathlib import Path
from typing import Any

__all__ = ["client", "LocalSageMakerClient"]

_OPERATIONS = {
    "create_hyper_parameter_tuning_job": "CreateHyperParameterTuningJob",
    "describe_hyper_parameter_tuning_job": "DescribeHyperParameterTuningJob",
    "list_hyper_parameter_tuning_jobs": "ListHyperParameterTuningJobs",
    "list_training_jobs_for_hyper_parameter_tuning_job": "ListTrainingJobsForHyperParameterTuningJob",
    "stop_hyper_parameter_tuning_job": "StopHyperParameterTuningJob",
    "create_training_job": "CreateTrainingJob",
    "describe_training_job": "DescribeTrainingJob",
    "list_training_jobs": "ListTrainingJobs",
    "stop_training_job": "StopTrainingJob",
}
_PAGINATED = (
    "list_hyper_parameter_tuning_jobs",
    "list_training_jobs_for_hyper_parameter_tuning_job",
    "list_training_jobs",
)
_WAITERS = ("training_job_completed_or_stopped",)  # those whose operation this client implements


@functools.lru_cache(maxsize=1)
def _service_model():
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


@functools.lru_cache(maxsize=1)
def _paginator_model():
    import botocore.session

    return botocore.session.get_session().get_paginator_model("sagemaker")


@functools.lru_cache(maxsize=1)
def _waiter_model():
    import botocore.session

    return botocore.session.get_session().get_waiter_model("sagemaker")


def _as_boto3(value: Any, shape: Any) -> Any:
    """``value`` as boto3 returns it for ``shape``: every timestamp member becomes what botocore's parser makes of the
    wire's epoch seconds (milliseconds kept, ``tzlocal()``); a structure member the shape lacks is dropped, as
    botocore's parser never returns one (e.g. the ``ModelArtifacts`` amtlocal keeps in a training job summary);
    other values are returned unchanged."""
    import datetime as dt

    if shape is None or value is None:
        return value
    if shape.type_name == "timestamp" and isinstance(value, dt.datetime):
        from botocore.utils import parse_timestamp

        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return parse_timestamp(round(aware.timestamp(), 3))
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: _as_boto3(v, shape.members[k]) for k, v in value.items() if k in shape.members}
    if shape.type_name == "list" and isinstance(value, list):
        return [_as_boto3(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _as_boto3(v, shape.value) for k, v in value.items()}
    return value


def _millisecond_bounds(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The ``*TimeAfter`` / ``*TimeBefore`` filters of ``kwargs`` as aware datetimes, moved half a millisecond inward:
    responses carry times to the millisecond (as the service's do), the store keeps them finer, so a time read from a
    response and passed back compares as it would on the service (``CreationTimeAfter=<a job's CreationTime>`` leaves
    that job out)."""
    import datetime as dt

    from botocore.utils import parse_to_aware_datetime

    half = dt.timedelta(microseconds=500)
    return {
        k: parse_to_aware_datetime(v) + (half if k.endswith("After") else -half)
        for k, v in kwargs.items()
        if v is not None and k.endswith(("TimeAfter", "TimeBefore"))
    }


def client(
    service_name: str = "sagemaker",
    *,
    backend: Any = None,
    base_dir: str | os.PathLike | None = None,
    region_name: str | None = None,
) -> LocalSageMakerClient:
    """A :class:`LocalSageMakerClient` (``amtlocal.client()`` or ``amtlocal.client("sagemaker")``, as boto3).

    Args:
        service_name: only ``"sagemaker"``.
        backend: a LocalBackend (default: one over the default store, ``$AMTLOCAL_HOME``).
        base_dir: folder that relative local paths in requests are relative to (default: the working directory).
        region_name: reported in ``client.meta.region_name`` (default ``$AWS_REGION``/``$AWS_DEFAULT_REGION``/us-east-1).

    Raises:
        ValueError: another service name.
    """
    if service_name != "sagemaker":
        raise ValueError(f"amtlocal.client emulates the 'sagemaker' service only, not {service_name!r}")
    return LocalSageMakerClient(backend=backend, base_dir=base_dir, region_name=region_name)


class LocalSageMakerClient:
    """The SageMaker tuning operations of a boto3 client, run by the local backend (see the module docstring)."""

    def __init__(self, backend: Any = None, base_dir: str | os.PathLike | None = None, region_name: str | None = None):
        from botocore.errorfactory import ClientExceptionsFactory
        from botocore.hooks import HierarchicalEmitter

        from amtlocal.backends.local import LocalBackend
        from amtlocal.spec.placeholders import region

        self._backend = backend or LocalBackend()
        self._base_dir = Path(base_dir) if base_dir is not None else None
        model = _service_model()
        self.meta = types.SimpleNamespace(
            region_name=region_name or region(),
            service_model=model,
            partition="aws",
            method_to_api_mapping=dict(_OPERATIONS),
            events=HierarchicalEmitter(),
        )  # botocore's waiter documents itself with it
        self.exceptions = ClientExceptionsFactory().create_client_exceptions(model)

    # -- boto3 plumbing -------------------------------------------------------------------------------------------
    def _validate(self, operation: str, params: dict[str, Any]) -> None:
        """boto3's own check (ParamValidationError: types, required members, unknown members), then what the service
        checks of every operation's input before it acts (ValidationException: enum values such as SortBy or
        StatusEquals, maximum lengths and values, patterns; botocore's model, ``amtlocal.spec.model_errors``)."""
        from botocore.validate import validate_parameters

        from amtlocal.spec import model_errors

        validate_parameters(params, self.meta.service_model.operation_model(operation).input_shape)
        errors = model_errors(params, operation=operation)
        if errors:
            raise self._error(operation, "ValidationException", str(errors[0]))

    def _error(self, operation: str, code: str, message: str, status: int = 400) -> Exception:
        """The exception boto3 raises for a service error: the modeled class for ``code``, else ClientError."""
        cls = self.exceptions.from_code(code)
        return cls(
            {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {
                    "RequestId": str(uuid.uuid4()),
                    "HTTPStatusCode": status,
                    "HTTPHeaders": {},
                    "RetryAttempts": 0,
                },
            },
            operation,
        )

    def _response(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` as boto3 returns it: no member set to None, timestamps as botocore parses them, and
        ResponseMetadata."""
        shape = self.meta.service_model.operation_model(operation).output_shape
        out = _as_boto3({k: v for k, v in body.items() if v is not None}, shape)
        out["ResponseMetadata"] = {
            "RequestId": str(uuid.uuid4()),
            "HTTPStatusCode": 200,
            "HTTPHeaders": {},
            "RetryAttempts": 0,
        }
        return out

    def _not_found(self, operation: str, name: str) -> Exception:
        return self._error(operation, "ResourceNotFound", f"Amazon SageMaker can't find a tuning job with name {name}")

    def can_paginate(self, operation_name: str) -> bool:
        return operation_name in _PAGINATED

    def get_paginator(self, operation_name: str):
        """botocore's Paginator over a list operation (``paginate(**kwargs)``, ``PaginationConfig``,
        ``build_full_result()``), exactly as a boto3 client builds it.

        Raises:
            botocore.exceptions.OperationNotPageableError: another operation.
        """
        from botocore.exceptions import OperationNotPageableError
        from botocore.paginate import Paginator

        if not self.can_paginate(operation_name):
            raise OperationNotPageableError(operation_name=operation_name)
        api = _OPERATIONS[operation_name]
        return Paginator(
            getattr(self, operation_name),
            _paginator_model().get_paginator(api),
            self.meta.service_model.operation_model(api),
        )

    def get_waiter(self, waiter_name: str):
        """botocore's own Waiter built from its sagemaker waiter model over this client, as a boto3 client builds it
        (``wait(TrainingJobName=..., WaiterConfig={"Delay": s, "MaxAttempts": n})``; the model's defaults are a 120 s
        delay and 180 attempts). Only ``training_job_completed_or_stopped`` (succeeds on Completed or Stopped, fails on
        Failed or a ValidationException) is offered: the other sagemaker waiters poll operations this client lacks.

        Raises:
            ValueError: another waiter name (botocore's message).
        """
        from botocore import xform_name
        from botocore.waiter import create_waiter_with_client

        model = _waiter_model()
        names = {xform_name(n): n for n in model.waiter_names}
        if waiter_name not in _WAITERS:
            raise ValueError(
                f"Waiter does not exist: {waiter_name}"
                + ("" if waiter_name not in names else " in the local client (its operation is not emulated)")
            )
        return create_waiter_with_client(names[waiter_name], model, self)

    @property
    def waiter_names(self) -> list[str]:
        """The waiters :meth:`get_waiter` builds (boto3's ``client.waiter_names``)."""
        return list(_WAITERS)

    def close(self) -> None:
        """Nothing to close (boto3 compatibility)."""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(
            f"{type(self).__name__} has no {name!r}: the local client implements only "
            f"{', '.join(sorted(_OPERATIONS))}, get_paginator, can_paginate and get_waiter"
        )

    # -- operations -----------------------------------------------------------------------------------------------
    def create_hyper_parameter_tuning_job(self, **kwargs: Any) -> dict[str, Any]:
        """CreateHyperParameterTuningJob: validate, then start the job in a background worker; returns at once.

        Returns ``{"HyperParameterTuningJobArn": ...}``. Errors: ParamValidationError; ClientError
        ValidationException (invalid spec, missing local paths, warm-start rules), ResourceInUse (name taken,
        case-insensitively).
        """
        from amtlocal.exceptions import AmtLocalError, AmtValidationError, TuningJobBusy, TuningJobExists
        from amtlocal.spec.placeholders import tuning_job_arn

        op = "CreateHyperParameterTuningJob"
        self._validate(op, kwargs)
        name = kwargs["HyperParameterTuningJobName"]
        taken = self._error(
            op,
            "ResourceInUse",
            f"Resource Already Exists: Hyper Parameter Tuning Job with name {name} already exists. "
            "Choose a different name.",
        )
        if self._backend.exists(name):
            raise taken
        try:
            self._backend.create_tuning_job(copy.deepcopy(kwargs), self._base_dir or Path.cwd(), wait=False)
        except AmtValidationError as e:
            raise self._error(op, "ValidationException", str(e)) from None
        except TuningJobExists as e:
            raise self._error(op, "ResourceInUse", str(e)) from None
        except TuningJobBusy:  # created by a concurrent call since the check above, and running: the name is taken
            raise taken from None
        except AmtLocalError as e:
            raise self._error(op, "ValidationException", str(e)) from None
        self._backend.wait_until_started(name)  # as on AMT, a Describe right after this sees the job under way
        return self._response(op, {"HyperParameterTuningJobArn": tuning_job_arn(name)})

    def describe_hyper_parameter_tuning_job(self, **kwargs: Any) -> dict[str, Any]:
        """DescribeHyperParameterTuningJob. Errors: ParamValidationError; ClientError ResourceNotFound."""
        from amtlocal.exceptions import TuningJobNotFound

        op = "DescribeHyperParameterTuningJob"
        self._validate(op, kwargs)
        name = kwargs["HyperParameterTuningJobName"]
        try:
            self._take_over(name)
            return self._response(op, self._backend.describe(name))
        except TuningJobNotFound:
            raise self._not_found(op, name) from None

    def _take_over(self, name: str) -> str | None:
        """A tuning job whose background worker died while it ran is taken over before it is read (resumed once, then
        Failed; :meth:`amtlocal.backends.local.LocalBackend.take_over`), as the service never loses its tuner: a
        poll of it ends. Raises TuningJobNotFound."""
        take_over = getattr(self._backend, "take_over", None)
        return take_over(name) if take_over is not None else None

    def list_training_jobs_for_hyper_parameter_tuning_job(self, **kwargs: Any) -> dict[str, Any]:
        """ListTrainingJobsForHyperParameterTuningJob: ``{"TrainingJobSummaries": [...], "NextToken"?}``.

        Errors: ParamValidationError; ClientError ResourceNotFound, ValidationException (a bad NextToken)."""
        from amtlocal.exceptions import TuningJobNotFound

        op = "ListTrainingJobsForHyperParameterTuningJob"
        self._validate(op, kwargs)
        args = dict(kwargs)
        name = args.pop("HyperParameterTuningJobName")
        try:
            self._take_over(name)
            return self._response(op, self._backend.list_training_jobs(name, **args))
        except TuningJobNotFound:
            raise self._not_found(op, name) from None
        except ValueError as e:
            raise self._error(
                op,
                "ValidationException",
                str(e) if "NextToken" not in args else f"Invalid pagination token or argument: {e}",
            ) from None

    def list_hyper_parameter_tuning_jobs(self, **kwargs: Any) -> dict[str, Any]:
        """ListHyperParameterTuningJobs: ``{"HyperParameterTuningJobSummaries": [...], "NextToken"?}``.

        Filters and sorting as the API: NameContains, StatusEquals, Creation/LastModifiedTime After/Before;
        SortBy Name (default) | Status | CreationTime, SortOrder Ascending (default) | Descending; MaxResults
        default 10. Errors: ParamValidationError; ClientError ValidationException (a bad NextToken).
        """

        op = "ListHyperParameterTuningJobs"
        self._validate(op, kwargs)
        members = (
            self.meta.service_model.operation_model(op)
            .output_shape.members["HyperParameterTuningJobSummaries"]
            .member.members
        )
        # No take-over here (only a read of one job takes it over): a list would resume every tuning job a killed
        # tuner ever left InProgress in the home, all at once.
        rows = [
            {k: v for k, v in s.items() if k in members and v is not None} for s in self._backend.list_tuning_jobs()
        ]
        if kwargs.get("NameContains"):
            rows = [r for r in rows if kwargs["NameContains"].lower() in r["HyperParameterTuningJobName"].lower()]
        if kwargs.get("StatusEquals"):
            rows = [r for r in rows if r["HyperParameterTuningJobStatus"] == kwargs["StatusEquals"]]
        for arg, key, after in (
            ("CreationTimeAfter", "CreationTime", True),
            ("CreationTimeBefore", "CreationTime", False),
            ("LastModifiedTimeAfter", "LastModifiedTime", True),
            ("LastModifiedTimeBefore", "LastModifiedTime", False),
        ):
            if kwargs.get(arg) is not None:
                t = _millisecond_bounds({arg: kwargs[arg]})[arg]
                rows = [r for r in rows if r.get(key) is not None and (r[key] > t if after else r[key] < t)]
        sort_key = {
            "Name": "HyperParameterTuningJobName",
            "Status": "HyperParameterTuningJobStatus",
            "CreationTime": "CreationTime",
        }[kwargs.get("SortBy", "Name")]
        rows.sort(key=lambda r: r[sort_key], reverse=kwargs.get("SortOrder", "Ascending") == "Descending")
        try:
            start = int(kwargs.get("NextToken") or 0)
            if start < 0:
                raise ValueError
        except ValueError:
            raise self._error(op, "ValidationException", "Invalid pagination token") from None
        size = int(kwargs.get("MaxResults", 10))
        out: dict[str, Any] = {"HyperParameterTuningJobSummaries": rows[start : start + size]}
        if start + size < len(rows):
            out["NextToken"] = str(start + size)
        return self._response(op, out)

    def stop_hyper_parameter_tuning_job(self, **kwargs: Any) -> dict[str, Any]:
        """StopHyperParameterTuningJob: the running training jobs are stopped, the job ends Stopped.

        Errors: ParamValidationError; ClientError ResourceNotFound; ClientError ValidationException when the job has
        already ended (Completed, Failed or Stopped), as the service rejects it (``amtlocal stop`` on the CLI only
        says so)."""
        from amtlocal.exceptions import TuningJobNotFound
        from amtlocal.lifecycle import is_terminal

        op = "StopHyperParameterTuningJob"
        self._validate(op, kwargs)
        name = kwargs["HyperParameterTuningJobName"]
        try:
            status = self._backend.describe(name)["HyperParameterTuningJobStatus"]
            if is_terminal(status):  # the service's wording for training jobs, said of a tuning job
                raise self._error(
                    op,
                    "ValidationException",
                    f"The request was rejected because the hyper-parameter tuning job {name} is in status {status}.",
                )
            self._backend.stop(name)
        except TuningJobNotFound:
            raise self._not_found(op, name) from None
        return self._response(op, {})

    # -- training jobs ------------------------------------------------------------------------------------------------
    def _training_job_not_found(self, operation: str, name: str) -> Exception:
        if operation == "DescribeTrainingJob":  # what the service answers (see the module docstring)
            return self._error(operation, "ValidationException", "Requested resource not found.")
        return self._error(operation, "ResourceNotFound", f"Training job {name} does not exist.")

    def create_training_job(self, **kwargs: Any) -> dict[str, Any]:
        """CreateTrainingJob: validate (botocore's input shape, then the local rules: code, channels and output path
        must be local), record the job and start it in a detached worker (it outlives this process); returns
        ``{"TrainingJobArn": ...}`` at once, the job InProgress.

        Errors: ParamValidationError; ClientError ValidationException (a rule broken, a missing local path, an S3 URI
        where only local paths can run), ResourceInUse (the name is taken by any training job, case-insensitively).
        """
        from amtlocal.exceptions import AmtLocalError, TrainingJobExists

        op = "CreateTrainingJob"
        self._validate(op, kwargs)
        name = kwargs["TrainingJobName"]
        try:
            desc = self._backend.create_training_job(copy.deepcopy(kwargs), self._base_dir or Path.cwd(), wait=False)
        except TrainingJobExists:
            raise self._error(
                op,
                "ResourceInUse",
                "Training job names must be unique within an AWS account and "
                f"region, and a training job with this name already exists ({name})",
            ) from None
        except AmtLocalError as e:
            raise self._error(op, "ValidationException", str(e)) from None
        return self._response(op, {"TrainingJobArn": desc["TrainingJobArn"]})

    def describe_training_job(self, **kwargs: Any) -> dict[str, Any]:
        """DescribeTrainingJob of a standalone training job or a tuning job's (with ``TuningJobArn``).

        Errors: ParamValidationError; ClientError ValidationException "Requested resource not found." (an unknown
        name, as the service answers)."""
        from amtlocal.exceptions import TrainingJobNotFound, TuningJobNotFound
        from amtlocal.lifecycle import is_terminal

        op = "DescribeTrainingJob"
        self._validate(op, kwargs)
        try:
            desc = self._backend.describe_training_job(kwargs["TrainingJobName"])
            if desc.get("TuningJobArn") and not is_terminal(desc["TrainingJobStatus"]):
                # its tuning job's worker may have died: taken over first, so a waiter on this job ends too
                with contextlib.suppress(TuningJobNotFound):
                    if self._take_over(desc["TuningJobArn"].rsplit("/", 1)[-1]) is not None:
                        desc = self._backend.describe_training_job(kwargs["TrainingJobName"])
            return self._response(op, desc)
        except TrainingJobNotFound:
            raise self._training_job_not_found(op, kwargs["TrainingJobName"]) from None

    def list_training_jobs(self, **kwargs: Any) -> dict[str, Any]:
        """ListTrainingJobs over every stored training job (standalone and tuning jobs' own):
        ``{"TrainingJobSummaries": [...], "NextToken"?}``. NameContains, StatusEquals, Creation/LastModifiedTime
        After/Before; SortBy CreationTime (default) | Name | Status, SortOrder Ascending (default) | Descending;
        MaxResults default 10. With StatusEquals and MaxResults both set, MaxResults jobs are taken ignoring
        StatusEquals, then filtered by it (the API's doc): a page may be short or empty and still carry a NextToken.

        Errors: ParamValidationError; ClientError ValidationException (a bad NextToken or argument)."""
        op = "ListTrainingJobs"
        self._validate(op, kwargs)
        args = dict(kwargs)
        local_only = [args.pop(k) for k in ("WarmPoolStatusEquals", "TrainingPlanArnEquals") if k in args]
        args.update(_millisecond_bounds(args))
        try:
            out = self._backend.training_jobs(**args)
        except ValueError as e:
            message = f"Invalid pagination token or argument: {e}" if "NextToken" in args else str(e)
            raise self._error(op, "ValidationException", message) from None
        if local_only:  # no local job has a warm pool or a training plan
            out = {"TrainingJobSummaries": []}
        return self._response(op, out)

    def stop_training_job(self, **kwargs: Any) -> dict[str, Any]:
        """StopTrainingJob: the job's process gets SIGTERM, then SIGKILL after the grace period; it ends Stopped (a
        tuning job's training job: that job only, the tuning job goes on).

        Errors: ParamValidationError; ClientError ResourceNotFound; ClientError ValidationException "The request was
        rejected because the training job is in status <status>." (the service's) when the job has already ended
        (``amtlocal stop-training-job`` on the CLI only says so)."""
        from amtlocal.exceptions import TrainingJobNotFound
        from amtlocal.lifecycle import is_terminal

        op = "StopTrainingJob"
        self._validate(op, kwargs)
        try:
            status = self._backend.describe_training_job(kwargs["TrainingJobName"])["TrainingJobStatus"]
            if is_terminal(status):
                raise self._error(
                    op,
                    "ValidationException",
                    f"The request was rejected because the training job is in status {status}.",
                )
            self._backend.stop_training_job(kwargs["TrainingJobName"])
        except TrainingJobNotFound:
            raise self._training_job_not_found(op, kwargs["TrainingJobName"]) from None
        return self._response(op, {})
