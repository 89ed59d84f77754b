"""SageMakerBackend: the Backend interface over the real service (AMT), through boto3.

Region and credentials come from boto3's default chain (environment, shared config and credentials files, SSO,
instance or container role); amtlocal never reads, stores or logs the credentials themselves. Every answer is the
API's own response (``ResponseMetadata`` removed), the same shapes the local backend returns, so analytics, charts,
``attach`` and warm start do not know where a job ran.

Errors: ``ResourceNotFound`` -> :class:`CloudTuningJobNotFound` (a TuningJobNotFound), ``ResourceInUse`` ->
TuningJobExists, ``ValidationException`` -> AmtValidationError, anything else (access denied, limits, no
credentials, no network) -> AmtLocalError with the service's code and message.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from amtlocal.backends._base import TERMINAL, Backend
from amtlocal.backends.sagemaker import _package, _request
from amtlocal.exceptions import (
    AmtLocalError,
    AmtValidationError,
    CloudTuningJobNotFound,
    TuningJobExists,
    UnexpectedStatusException,
)
from amtlocal.lifecycle import TERMINAL_STATUSES, is_terminal
from amtlocal.spec.definitions import definitions_with_paths

log = logging.getLogger("amtlocal")

CLOUDWATCH_NAMESPACE = "/aws/sagemaker/TrainingJobs"
METRIC_PERIOD_SECONDS = 60  # CloudWatch keeps SageMaker training metrics at one-minute resolution (SDK v2's period)
DEFAULT_POLL_SECONDS = 5.0  # SDK v2's HyperparameterTuner.wait polls every 5 s
DEFAULT_MAX_POLL_SECONDS = 60.0
LOG_GROUP = "/aws/sagemaker/TrainingJobs"  # where SageMaker writes training job logs (SDK v2's logs_for_job)


def stop_hint(name: str) -> str:
    """How to stop a cloud tuning job from a shell."""
    return (
        f"amtlocal --backend sagemaker stop {name}  (or: aws sagemaker stop-hyper-parameter-tuning-job "
        f"--hyper-parameter-tuning-job-name {name})"
    )


def _strip(response: dict[str, Any] | None) -> dict[str, Any]:
    response = dict(response or {})
    response.pop("ResponseMetadata", None)
    return response


class SageMakerBackend(Backend):
    """Runs tuning jobs on SageMaker AMT.

    Args:
        session: a ``boto3.Session`` (default: a new one from boto3's default chain).
        region: overrides the session's region.
        sagemaker_client, s3_client, sts_client, cloudwatch_client, logs_client: ready boto3 clients (tests inject stubbed ones);
            each defaults to one made from the session.
        poll_seconds, max_poll_seconds: first and largest delay between DescribeHyperParameterTuningJob calls while
            waiting (backoff x1.5).
    """

    name = "sagemaker"

    def __init__(
        self,
        session: Any = None,
        region: str | None = None,
        sagemaker_client: Any = None,
        s3_client: Any = None,
        sts_client: Any = None,
        cloudwatch_client: Any = None,
        logs_client: Any = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        max_poll_seconds: float = DEFAULT_MAX_POLL_SECONDS,
    ):
        self._session = session
        self._region = region
        self._clients: dict[str, Any] = {}
        for service, client in (
            ("sagemaker", sagemaker_client),
            ("s3", s3_client),
            ("sts", sts_client),
            ("cloudwatch", cloudwatch_client),
            ("logs", logs_client),
        ):
            if client is not None:
                self._clients[service] = client
        self._account: str | None = None
        self.poll_seconds, self.max_poll_seconds = poll_seconds, max_poll_seconds

    # -- AWS plumbing ---------------------------------------------------------------------------------------------
    @property
    def session(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.Session(region_name=self._region)
        return self._session

    @property
    def region(self) -> str:
        """The region jobs run in: ``region=``, an injected SageMaker client's, else boto3's default chain.

        Raises:
            AmtLocalError: no region configured anywhere.
        """
        if self._region:
            return self._region
        if "sagemaker" in self._clients:
            self._region = self._clients["sagemaker"].meta.region_name
        else:
            self._region = self.session.region_name  # reads environment and config files only
        if not self._region:
            raise AmtLocalError(
                "no AWS region configured for the SageMaker backend: set AWS_DEFAULT_REGION (or AWS_REGION), "
                "or run `aws configure set region <region>`"
            )
        return self._region

    def client(self, service: str) -> Any:
        """The boto3 client for ``service`` (``sagemaker``, ``s3``, ``sts``, ``cloudwatch``), made once."""
        if service not in self._clients:
            from botocore.config import Config

            self._clients[service] = self.session.client(
                service, region_name=self.region, config=Config(user_agent_extra="amtlocal")
            )
        return self._clients[service]

    @property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    def account(self) -> str:
        """The caller's account id from STS ``GetCallerIdentity`` (cached)."""
        if self._account is None:
            self._account = self._aws(lambda: self.client("sts").get_caller_identity()["Account"], "GetCallerIdentity")
        return self._account

    def _aws(self, fn: Callable[[], Any], operation: str, name: str | None = None) -> Any:
        """Run one AWS call, translating botocore's exceptions into amtlocal's family (see the module docstring)."""
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

        try:
            return fn()
        except ClientError as e:
            err = e.response.get("Error", {})
            code, msg = err.get("Code", ""), err.get("Message", "")
            if code == "ResourceNotFound" and name:
                raise CloudTuningJobNotFound(name, self._region) from e
            if code == "ResourceInUse":
                raise TuningJobExists(
                    f"SageMaker {operation}: {msg} (ResourceInUse); pick another HyperParameterTuningJobName"
                ) from e
            if code == "ValidationException":
                raise AmtValidationError("", f"SageMaker {operation} rejected the request: {msg}") from e
            raise AmtLocalError(f"SageMaker {operation} failed: {code}: {msg}") from e
        except NoCredentialsError as e:
            raise AmtLocalError(
                "no AWS credentials found for the SageMaker backend (boto3's default chain: environment, "
                "~/.aws/credentials, SSO, instance role); run `aws configure` or `aws sso login`"
            ) from e
        except NoRegionError as e:
            raise AmtLocalError("no AWS region configured: set AWS_DEFAULT_REGION") from e
        except (BotoCoreError, Boto3Error) as e:  # no network, an S3 upload that failed, ...
            raise AmtLocalError(f"{operation} failed: {e}") from e

    def _call(self, operation: str, name: str | None = None, **kwargs: Any) -> dict[str, Any]:
        method = getattr(self.sagemaker, operation)
        return _strip(self._aws(lambda: method(**kwargs), operation, name))

    # -- the request ----------------------------------------------------------------------------------------------
    def build_request(self, request: dict[str, Any], base_dir: Path, upload: bool = True) -> dict[str, Any]:
        """The exact CreateHyperParameterTuningJob request sent to AMT for a local spec (see ``_request``'s table).

        Args:
            request: the local TuningSpec's request (not modified).
            base_dir: folder for relative local paths.
            upload: True: ask STS for the account, create the default bucket if needed and upload code and data.
                False (``--dry-run``): make no AWS call at all: no STS, no S3. The account in the default bucket's
                name is then taken from the RoleArn (the usual same-account setup; a real run asks STS), and the S3
                URIs printed are where a real run would upload.

        Raises:
            AmtValidationError: the spec is invalid, the local placeholder role has no replacement, a local path is
                missing, or the rewritten request breaks the API model.
            AmtLocalError: no region, no credentials, no sagemaker SDK for a framework image, an AWS error.
        """
        from amtlocal.spec import validate

        validate(request)
        region = self.region
        account = self.account() if upload else self._offline_account(request)
        cloud, uploads = _request.plan_request(request, Path(base_dir), region=region, account=account)
        _request.check_cloud_request(cloud)
        if upload:
            dflt = _request.default_bucket(region, account)
            outputs = [d.get("OutputDataConfig", {}).get("S3OutputPath", "") for _, d in definitions_with_paths(cloud)]
            if any(u.bucket == dflt for u in uploads) or any(o.startswith(f"s3://{dflt}/") for o in outputs):
                self._aws(lambda: _package.ensure_bucket(self.client("s3"), dflt, region, account), "CreateBucket")
            for u in uploads:
                self._aws(lambda u=u: _package.perform(u, self.client("s3")), f"upload of {u.source} to {u.uri}")
        return cloud

    @staticmethod
    def _offline_account(request: dict[str, Any]) -> str:
        """The account for the default bucket without STS: that of the role the job would use (else a placeholder
        that validates; plan_request rejects a request with no usable role anyway)."""
        for _, d in definitions_with_paths(request):
            role = d.get("RoleArn")
            if _request._is_placeholder_role(role):
                role = next((os.environ[v] for v in _request.ROLE_ENV if os.environ.get(v)), None)
            acct = _request.role_account(role)
            if acct and acct != _request.LOCAL_ACCOUNT:
                return acct
        return _request.LOCAL_ACCOUNT

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def create_tuning_job(
        self, request: dict[str, Any], base_dir: Path, wait: bool = True, progress: Callable | None = None
    ) -> None:
        """Upload code and data, then CreateHyperParameterTuningJob; with ``wait`` poll until the job ends.

        The spec is validated before any AWS call. Ctrl-C while waiting leaves the cloud job running and raises
        KeyboardInterrupt whose message says how to stop it.

        Raises:
            AmtValidationError: invalid spec, warm-start parent not on SageMaker, the service's ValidationException.
            TuningJobExists: a tuning job of that name exists on SageMaker (ResourceInUse).
        """
        from amtlocal.spec import validate

        validate(request)
        name = request["HyperParameterTuningJobName"]
        if self.exists(name):
            raise TuningJobExists(
                f"Tuning job {name!r} already exists on SageMaker in {self.region} (ResourceInUse); "
                "pick another HyperParameterTuningJobName"
            )
        self._check_parents(request)
        cloud = self.build_request(request, base_dir, upload=True)
        arn = self._call("create_hyper_parameter_tuning_job", **cloud).get("HyperParameterTuningJobArn")
        log.info(
            "created %s on SageMaker: https://%s.console.aws.amazon.com/sagemaker/home?region=%s#/hyper-tuning-jobs/%s",
            arn or name,
            self.region,
            self.region,
            name,
        )
        if wait:
            self._poll(name, progress)

    def _check_parents(self, request: dict[str, Any]) -> None:
        ws = request.get("WarmStartConfig") or {}
        for i, p in enumerate(ws.get("ParentHyperParameterTuningJobs") or []):
            parent = p["HyperParameterTuningJobName"]
            if not self.exists(parent):
                raise AmtValidationError(
                    f"WarmStartConfig.ParentHyperParameterTuningJobs[{i}].HyperParameterTuningJobName",
                    f"parent tuning job {parent!r} not found on SageMaker in {self.region}; a cloud tuning "
                    "job warm-starts only from cloud tuning jobs",
                )

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeHyperParameterTuningJob. Raises CloudTuningJobNotFound."""
        return self._call("describe_hyper_parameter_tuning_job", name=name, HyperParameterTuningJobName=name)

    def list_training_jobs(self, name: str, **kwargs: Any) -> dict[str, Any]:
        """One page of ListTrainingJobsForHyperParameterTuningJob (kwargs: the API's). Raises CloudTuningJobNotFound."""
        return self._call(
            "list_training_jobs_for_hyper_parameter_tuning_job", name=name, HyperParameterTuningJobName=name, **kwargs
        )

    def list_tuning_jobs(self) -> list[dict[str, Any]]:
        """Every HyperParameterTuningJobSummary of the account and region (all pages), newest first."""

        def fetch():
            pages = self.sagemaker.get_paginator("list_hyper_parameter_tuning_jobs").paginate(
                SortBy="CreationTime", SortOrder="Descending", PaginationConfig={"PageSize": 100}
            )
            return [s for page in pages for s in page["HyperParameterTuningJobSummaries"]]

        return self._aws(fetch, "ListHyperParameterTuningJobs")

    def stop(self, name: str) -> None:
        """StopHyperParameterTuningJob; a job that already ended is left as it is (as the local backend does)."""
        try:
            self._call("stop_hyper_parameter_tuning_job", name=name, HyperParameterTuningJobName=name)
        except AmtValidationError:
            if self.describe(name)["HyperParameterTuningJobStatus"] not in (*TERMINAL, "Stopping"):
                raise

    def wait(
        self, name: str, poll: float | None = None, max_poll: float | None = None, progress: Callable | None = None
    ) -> dict[str, Any]:
        """Poll DescribeHyperParameterTuningJob with backoff until the job ends (see Backend.wait for the result and
        UnexpectedStatusException). Ctrl-C leaves the cloud job running (KeyboardInterrupt says how to stop it)."""
        desc = self._poll(name, progress, poll, max_poll)
        status = desc["HyperParameterTuningJobStatus"]
        if status not in ("Completed", "Stopped"):
            raise UnexpectedStatusException(
                f"Error for HyperParameterTuning job {name}: {status}. Reason: {desc.get('FailureReason', '')}",
                allowed_statuses=("Completed", "Stopped"),
                actual_status=status,
            )
        return desc

    def _poll(
        self, name: str, progress: Callable | None = None, poll: float | None = None, max_poll: float | None = None
    ) -> dict[str, Any]:
        delay = self.poll_seconds if poll is None else poll
        cap = self.max_poll_seconds if max_poll is None else max_poll
        try:
            while True:
                desc = self.describe(name)
                if progress:
                    progress(_progress(desc))
                if desc["HyperParameterTuningJobStatus"] in TERMINAL:
                    return desc
                time.sleep(delay)
                delay = min(cap, delay * 1.5)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(
                f"stopped waiting; tuning job {name} keeps running on SageMaker. Stop it with: {stop_hint(name)}"
            ) from None

    # -- metrics --------------------------------------------------------------------------------------------------
    def metric_series(self, tuning_job_name: str | None, training_job_name: str) -> list[dict[str, Any]]:
        """The training job's metric values from CloudWatch (namespace ``/aws/sagemaker/TrainingJobs``), time-ordered.

        Queries each metric of the job's MetricDefinitions with ``GetMetricData`` (Average over 60 s, CloudWatch's
        resolution for these metrics) for dimension ``Host=<training job>/algo-1`` (the documented dimension, used by
        amtviz), and, when that finds nothing, ``TrainingJobName=<training job>`` (what SDK v2's TrainingJobAnalytics
        queries). Returns ``[]`` when CloudWatch is unreachable, access is denied, or the job has no metrics.

        Returns:
            ``[{"MetricName": str, "Value": float, "Timestamp": float epoch seconds}, ...]``.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            job = self.sagemaker.describe_training_job(TrainingJobName=training_job_name)
            names = [m["Name"] for m in (job.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []]
            if not names:
                return []
            start = job.get("TrainingStartTime") or job["CreationTime"]
            end = (job.get("TrainingEndTime") or dt.datetime.now(dt.timezone.utc)) + dt.timedelta(minutes=1)
            for dim in (
                {"Name": "Host", "Value": f"{training_job_name}/algo-1"},
                {"Name": "TrainingJobName", "Value": training_job_name},
            ):
                series = self._metric_data(names, dim, start - dt.timedelta(minutes=1), end)
                if series:
                    return series
            return []
        except (ClientError, BotoCoreError) as e:
            log.debug("no CloudWatch metrics for %s: %s", training_job_name, e)
            return []

    def _metric_data(self, names: list[str], dimension: dict, start: Any, end: Any) -> list[dict[str, Any]]:
        cw = self.client("cloudwatch")
        ids = {f"m{i}": n for i, n in enumerate(names)}
        queries = [
            {
                "Id": i,
                "ReturnData": True,
                "MetricStat": {
                    "Metric": {"Namespace": CLOUDWATCH_NAMESPACE, "MetricName": n, "Dimensions": [dimension]},
                    "Period": METRIC_PERIOD_SECONDS,
                    "Stat": "Average",
                },
            }
            for i, n in ids.items()
        ]
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        while True:
            page = cw.get_metric_data(**kwargs)
            for r in page.get("MetricDataResults", []):
                for ts, v in zip(r.get("Timestamps", []), r.get("Values", [])):
                    out.append(
                        {"MetricName": ids.get(r["Id"], r.get("Label")), "Value": float(v), "Timestamp": ts.timestamp()}
                    )
            token = page.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
        out.sort(key=lambda p: (p["Timestamp"], p["MetricName"]))
        return out

    # -- training jobs (the Backend contract's training-job methods) ---------------------------------------------
    def _training_call(self, operation: str, name: str | None = None, **kwargs: Any) -> dict[str, Any]:
        from amtlocal.exceptions import TrainingJobNotFound

        method = getattr(self.sagemaker, operation)
        try:
            response = self._aws(lambda: _call_or_not_found(method, kwargs), operation)
        except TuningJobExists as e:  # _aws's word for ResourceInUse is about tuning jobs
            raise AmtLocalError(
                f"SageMaker {operation}: a training job of that name exists (ResourceInUse); pick another job_name"
            ) from e
        if response is _NOT_FOUND:
            raise TrainingJobNotFound(name or "", f"on SageMaker in {self._region or 'this region'}")
        return _strip(response)

    def build_training_request(self, request: dict[str, Any], base_dir: Path, upload: bool = True) -> dict[str, Any]:
        """The exact CreateTrainingJob request sent for a local one (see ``_request.plan_training_request``); with
        ``upload`` the default bucket is created if needed and code, data and checkpoints are uploaded.

        Raises:
            AmtValidationError: botocore's check of the request, no usable role, missing local paths.
            AmtLocalError: no region, no credentials, no sagemaker SDK for a framework image, an AWS error.
        """
        _request.check_training_request(request)
        region = self.region
        account = self.account() if upload else self._offline_account({"TrainingJobDefinition": request})
        cloud, uploads = _request.plan_training_request(request, Path(base_dir), region=region, account=account)
        _request.check_training_request(cloud)
        if upload:
            dflt = _request.default_bucket(region, account)
            if any(u.bucket == dflt for u in uploads) or cloud["OutputDataConfig"]["S3OutputPath"].startswith(
                f"s3://{dflt}/"
            ):
                self._aws(lambda: _package.ensure_bucket(self.client("s3"), dflt, region, account), "CreateBucket")
            for u in uploads:
                self._aws(lambda u=u: _package.perform(u, self.client("s3")), f"upload of {u.source} to {u.uri}")
        return cloud

    def create_training_job(
        self, request: dict[str, Any], base_dir: Path, wait: bool = True, progress: Callable | None = None
    ) -> dict[str, Any]:
        """Upload code, data and checkpoints, then CreateTrainingJob; with ``wait`` poll DescribeTrainingJob until
        the job ends. Returns the DescribeTrainingJob response (final with ``wait``, else right after the start).

        Raises:
            AmtValidationError: invalid request (before any upload), or the service's ValidationException.
            AmtLocalError: ResourceInUse (a training job of that name exists), credentials, network.
        """
        cloud = self.build_training_request(request, base_dir, upload=True)
        self._training_call("create_training_job", **cloud)
        name = cloud["TrainingJobName"]
        log.info("created training job %s on SageMaker", name)
        if not wait:
            return self.describe_training_job(name)
        delay = self.poll_seconds
        try:
            while True:
                desc = self.describe_training_job(name)
                if progress:
                    progress(desc)
                if is_terminal(desc["TrainingJobStatus"]):
                    return desc
                time.sleep(delay)
                delay = min(self.max_poll_seconds, delay * 1.5)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(
                f"stopped waiting; training job {name} keeps running on SageMaker. Stop it with: "
                f"aws sagemaker stop-training-job --training-job-name {name}"
            ) from None

    def describe_training_job(self, name: str) -> dict[str, Any]:
        """DescribeTrainingJob. Raises TrainingJobNotFound."""
        return self._training_call("describe_training_job", name=name, TrainingJobName=name)

    def training_jobs(self, **kwargs: Any) -> dict[str, Any]:
        """One page of ListTrainingJobs (kwargs: its request parameters, e.g. NameContains, StatusEquals, SortBy)."""
        return self._training_call("list_training_jobs", **kwargs)

    def stop_training_job(self, name: str) -> None:
        """StopTrainingJob; a job that already ended is left as it is. Raises TrainingJobNotFound."""
        try:
            self._training_call("stop_training_job", name=name, TrainingJobName=name)
        except AmtValidationError:
            if self.describe_training_job(name)["TrainingJobStatus"] not in (*TERMINAL_STATUSES, "Stopping"):
                raise

    def training_job_logs(self, name: str) -> Iterator[str]:
        """The job's log lines so far from CloudWatch Logs (group ``/aws/sagemaker/TrainingJobs``, streams
        ``<job>/algo-<n>-<epoch>``, as SDK v2's ``logs_for_job`` reads them), stream by stream in name order.
        Nothing when the job has written no log yet."""
        logs = self.client("logs")

        def streams() -> list[str]:
            out, token = [], None
            while True:
                kw: dict[str, Any] = {
                    "logGroupName": LOG_GROUP,
                    "logStreamNamePrefix": name + "/",
                    "orderBy": "LogStreamName",
                }
                if token:
                    kw["nextToken"] = token
                try:
                    page = logs.describe_log_streams(**kw)
                except logs.exceptions.ResourceNotFoundException:
                    return []
                out += [s["logStreamName"] for s in page.get("logStreams", [])]
                token = page.get("nextToken")
                if not token:
                    return out

        for stream in self._aws(streams, "DescribeLogStreams"):
            token = None
            while True:
                kw = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
                if token:
                    kw["nextToken"] = token
                page = self._aws(lambda kw=kw: logs.get_log_events(**kw), "GetLogEvents")
                for event in page.get("events", []):
                    yield event["message"]
                new = page.get("nextForwardToken")
                if not page.get("events") or new == token:
                    break
                token = new


def _progress(desc: dict[str, Any]):
    """A ``Progress`` snapshot (the shape the CLI's progress printer takes) from DescribeHyperParameterTuningJob."""
    from amtlocal.backends._base import Progress

    c = desc.get("TrainingJobStatusCounters") or {}
    running = c.get("InProgress", 0)
    finished = sum(c.values()) - running
    total = (desc["HyperParameterTuningJobConfig"].get("ResourceLimits") or {}).get(
        "MaxNumberOfTrainingJobs"
    ) or finished + running
    best = (desc.get("BestTrainingJob") or {}).get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    metric = (desc["HyperParameterTuningJobConfig"].get("HyperParameterTuningJobObjective") or {}).get("MetricName", "")
    return Progress(desc["HyperParameterTuningJobName"], finished, total, running, best.get("Value"), metric)


_NOT_FOUND = object()  # what _call_or_not_found returns for a missing training job


def _call_or_not_found(method: Callable, kwargs: dict[str, Any]) -> Any:
    """``method(**kwargs)``, or :data:`_NOT_FOUND` for a missing training job (ResourceNotFound, or the
    ValidationException "Requested resource not found" that DescribeTrainingJob answers); other errors propagate."""
    from botocore.exceptions import ClientError

    try:
        return method(**kwargs)
    except ClientError as e:
        err = e.response.get("Error", {})
        msg = str(err.get("Message", "")).lower()
        if err.get("Code") == "ResourceNotFound" or (
            err.get("Code") in ("ValidationException", "ValidationError")
            and ("not found" in msg or "could not find" in msg)
        ):
            return _NOT_FOUND
        raise
