"""The cloud request: the local TuningSpec plus the documented rewrites, and nothing else (issue #3).

:func:`plan_request` is pure: given the region and account it returns the rewritten CreateHyperParameterTuningJob
request and the list of uploads that make its S3 URIs true; it touches neither AWS nor the file system beyond reading
paths. ``SageMakerBackend.build_request`` supplies region and account and, with ``upload=True``, carries out the plan.

The rewrites, per training job definition (``TrainingJobDefinition`` or each ``TrainingJobDefinitions[i]``):

=============================================================  ======================================================
field                                                          rewrite
=============================================================  ======================================================
``StaticHyperParameters.sagemaker_submit_directory``           a local folder (or ``.tar.gz``) -> JSON-quoted
                                                               ``"s3://<code bucket>/<job>/source/sourcedir.tar.gz"``
                                                               (SDK v2's key); ``s3://`` passes through
``StaticHyperParameters.sagemaker_region``                     JSON-quoted region the job runs in (script mode only,
                                                               as the SDK sets it)
``StaticHyperParameters.sagemaker_container_log_level``        ``"20"`` when absent (script mode only, SDK default)
``InputDataConfig[i].DataSource.S3DataSource.S3Uri``           a local folder or file -> ``s3://<code bucket>/<job>/
                                                               input/<ChannelName>/[<file name>]``; ``s3://`` and
                                                               ``https://`` pass through
``AlgorithmSpecification.TrainingImage``                       ``<repository>:<tag>`` without registry -> the ECR URI
                                                               from the sagemaker SDK's ``image_uris.retrieve``
``RoleArn``                                                    the local placeholder (account 000000000000) ->
                                                               ``$AMTLOCAL_ROLE_ARN`` or ``$SAGEMAKER_ROLE_ARN``;
                                                               neither set -> AmtValidationError
``OutputDataConfig.S3OutputPath``                              the placeholder ``s3://amtlocal-local/...`` ->
                                                               ``s3://sagemaker-<region>-<account>/`` (SDK default)
``StaticHyperParameters.model_dir``                            TensorFlow's local ``"/opt/ml/model"`` ->
                                                               ``"<output path><job>/model"`` (SDK v2's default)
=============================================================  ======================================================

``<code bucket>`` is the bucket of the (rewritten) output path, as SDK v2 puts code next to the output; ``<job>`` is
the estimator job name the SDK uploads under (the static hyperparameter ``sagemaker_job_name``), else the tuning job
name.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from amtlocal.backends.sagemaker._images import resolve_training_image
from amtlocal.backends.sagemaker._package import SOURCEDIR, Upload
from amtlocal.exceptions import AmtValidationError
from amtlocal.spec.definitions import definitions_with_paths
from amtlocal.spec.hyperparameters import decode_hyperparameter, encode_hyperparameter
from amtlocal.spec.placeholders import LOCAL_ACCOUNT, LOCAL_OUTPUT, LOCAL_ROLE, PLACEHOLDER_BUCKET  # noqa: F401 - LOCAL_OUTPUT re-exported
from amtlocal.spec.uris import is_local_uri, resolve_local_uri

ROLE_ENV = ("AMTLOCAL_ROLE_ARN", "SAGEMAKER_ROLE_ARN")
DEFAULT_LOG_LEVEL = "20"  # SDK v2: str(logging.INFO)

_DEF = r"TrainingJobDefinition(?:s\[\d+\])?"
REWRITTEN_FIELDS = tuple(
    re.compile(_DEF + p)
    for p in (
        r"\.StaticHyperParameters\.sagemaker_submit_directory",
        r"\.StaticHyperParameters\.sagemaker_region",
        r"\.StaticHyperParameters\.sagemaker_container_log_level",
        r"\.InputDataConfig\[\d+\]\.DataSource\.S3DataSource\.S3Uri",
        r"\.AlgorithmSpecification\.TrainingImage",
        r"\.RoleArn",
        r"\.OutputDataConfig\.S3OutputPath",
        r"\.StaticHyperParameters\.model_dir",
    )
)
"""Patterns of the request fields (dotted paths) that the cloud request may differ in from the local spec."""

_ROLE_ACCOUNT = re.compile(r"arn:aws[a-z\-]*:iam::(\d{12}):role/.+")
_S3 = re.compile(r"s3://([^/]+)/?(.*)")


def is_rewritten(path: str) -> bool:
    """True when the dotted request ``path`` is one of :data:`REWRITTEN_FIELDS`."""
    return any(p.fullmatch(path) for p in REWRITTEN_FIELDS)


def default_bucket(region: str, account: str) -> str:
    """SDK v2's default bucket name ``sagemaker-<region>-<account>``."""
    return f"sagemaker-{region}-{account}"


def role_account(role_arn: str | None) -> str | None:
    """The 12-digit account of an IAM role ARN, or None."""
    m = _ROLE_ACCOUNT.fullmatch(role_arn or "")
    return m.group(1) if m else None


def _is_placeholder_role(role: str | None) -> bool:
    return not role or role == LOCAL_ROLE or role_account(role) == LOCAL_ACCOUNT


def resolve_role(definition: dict[str, Any], path: str, environ: Mapping[str, str]) -> None:
    """Fill ``RoleArn`` for the cloud (see the module table). Raises AmtValidationError for the local placeholder."""
    if not _is_placeholder_role(definition.get("RoleArn")):
        return
    for var in ROLE_ENV:
        role = environ.get(var)
        if role and not _is_placeholder_role(role):
            definition["RoleArn"] = role
            return
    raise AmtValidationError(
        f"{path}.RoleArn",
        f"the local placeholder role {definition.get('RoleArn') or LOCAL_ROLE!r} cannot run on SageMaker: pass role=<execution "
        "role ARN> to the estimator, put RoleArn in the spec, or set AMTLOCAL_ROLE_ARN (or SAGEMAKER_ROLE_ARN)",
    )


def plan_request(
    request: dict[str, Any],
    base_dir: Path,
    *,
    region: str,
    account: str,
    environ: Mapping[str, str] | None = None,
    resolve_image: Callable[[str, str, str | None], str] = resolve_training_image,
) -> tuple[dict[str, Any], list[Upload]]:
    """The cloud request for ``request`` and the uploads it needs (pure: no AWS call, no upload).

    Args:
        request: a valid local CreateHyperParameterTuningJob request (not modified).
        base_dir: folder that relative local paths in it are relative to.
        region: the AWS region the job runs in.
        account: the AWS account of the caller (names the default bucket).
        environ: where ``AMTLOCAL_ROLE_ARN`` / ``SAGEMAKER_ROLE_ARN`` are read (default ``os.environ``).
        resolve_image: ``(image, region, instance_type) -> ECR URI`` (default: the sagemaker SDK's image_uris).

    Returns:
        ``(cloud_request, uploads)``; every field not in :data:`REWRITTEN_FIELDS` equals ``request``'s.

    Raises:
        AmtValidationError: the placeholder role with no role in the environment, a missing local path, an entry point
            missing from its source folder, an unresolvable image (each names the request field).
        AmtLocalError: a registry-less framework image and no sagemaker SDK installed.
    """
    environ = os.environ if environ is None else environ
    out = copy.deepcopy(request)
    uploads: dict[tuple[str, str], Upload] = {}
    dflt = default_bucket(region, account)
    for path, d in definitions_with_paths(out):
        resolve_role(d, path, environ)

        odc = d.setdefault("OutputDataConfig", {})
        m = _S3.fullmatch(odc.get("S3OutputPath") or "")
        if not odc.get("S3OutputPath") or (m and m.group(1) == PLACEHOLDER_BUCKET):
            odc["S3OutputPath"] = f"s3://{dflt}/"
        m = _S3.fullmatch(odc["S3OutputPath"])
        bucket = m.group(1) if m else dflt  # an https:// output path: code and data go to the default bucket
        owner = account if bucket == dflt else None

        static = d.get("StaticHyperParameters") or {}  # no map: nothing below applies (not script mode, no code)
        job_prefix = (
            str(decode_hyperparameter(static["sagemaker_job_name"]))
            if "sagemaker_job_name" in static
            else out["HyperParameterTuningJobName"]
        )

        if "sagemaker_submit_directory" in static:
            field = f"{path}.StaticHyperParameters.sagemaker_submit_directory"
            code = str(decode_hyperparameter(static["sagemaker_submit_directory"]))
            if is_local_uri(code):
                local = resolve_local_uri(code, Path(base_dir), field)
                if local.is_dir():
                    program = str(decode_hyperparameter(static.get("sagemaker_program", '""')))
                    if program and not (local / program).is_file():
                        raise AmtValidationError(
                            f"{path}.StaticHyperParameters.sagemaker_program",
                            f"entry point {program!r} not found in {str(local)!r}",
                        )
                elif not local.name.endswith((".tar.gz", ".tgz")):
                    raise AmtValidationError(field, f"{str(local)!r} must be a folder or a .tar.gz (sourcedir.tar.gz)")
                up = Upload("code", local, bucket, f"{job_prefix}/source/{SOURCEDIR}", field, owner)
                uploads.setdefault((up.bucket, up.key), up)
                static["sagemaker_submit_directory"] = encode_hyperparameter(up.uri)
        if "sagemaker_program" in static:  # script mode: the SDK's framework hyperparameters
            static["sagemaker_region"] = encode_hyperparameter(region)
            static.setdefault("sagemaker_container_log_level", DEFAULT_LOG_LEVEL)

        for i, ch in enumerate(d.get("InputDataConfig") or []):
            s3 = (ch.get("DataSource") or {}).get("S3DataSource")
            if not s3 or not is_local_uri(s3.get("S3Uri", "")):
                continue
            field = f"{path}.InputDataConfig[{i}].DataSource.S3DataSource.S3Uri"
            local = resolve_local_uri(s3["S3Uri"], Path(base_dir), field)
            key = f"{job_prefix}/input/{ch['ChannelName']}/" + ("" if local.is_dir() else local.name)
            up = Upload("data", local, bucket, key, field, owner)
            uploads.setdefault((up.bucket, up.key), up)
            s3["S3Uri"] = up.uri

        algo = d.get("AlgorithmSpecification") or {}
        _tensorflow_model_dir(
            static, algo.get("TrainingImage") or "", d["OutputDataConfig"]["S3OutputPath"], job_prefix
        )
        if algo.get("TrainingImage"):
            rc = d.get("HyperParameterTuningResourceConfig") or d.get("ResourceConfig") or {}
            try:
                algo["TrainingImage"] = resolve_image(algo["TrainingImage"], region, rc.get("InstanceType"))
            except AmtValidationError as e:
                raise AmtValidationError(f"{path}.{e.field}", e.rule) from None
    return out, list(uploads.values())


def check_cloud_request(request: dict[str, Any]) -> None:
    """Validate the rewritten request against botocore's model with S3 patterns enforced (no local URIs left).

    Raises:
        AmtValidationError: the first violation (field path and rule).
    """
    from amtlocal.spec import model_errors

    errors = model_errors(request, local_uris=False)
    if errors:
        raise errors[0]


# -- CreateTrainingJob --------------------------------------------------------------------------------------------

TRAINING_REWRITTEN_FIELDS = tuple(
    re.compile(p)
    for p in (
        r"HyperParameters\.sagemaker_submit_directory",
        r"HyperParameters\.sagemaker_region",
        r"HyperParameters\.sagemaker_container_log_level",
        r"HyperParameters\.model_dir",
        r"InputDataConfig\[\d+\]\.DataSource\.S3DataSource\.S3Uri",
        r"AlgorithmSpecification\.TrainingImage",
        r"RoleArn",
        r"OutputDataConfig\.S3OutputPath",
        r"DebugHookConfig\.S3OutputPath",
        r"ProfilerConfig\.S3OutputPath",
        r"CheckpointConfig\.S3Uri",
    )
)
"""Patterns of the CreateTrainingJob fields (dotted paths) the cloud request may differ in from the local one."""

LOCAL_MODEL_DIR = "/opt/ml/model"
CODE_CHANNEL_SOURCEDIR = "/opt/ml/input/data/code/sourcedir.tar.gz"  # SDK v2's code path under network isolation  # TensorFlow's model_dir hyperparameter when the output path is not in S3


def is_training_rewritten(path: str) -> bool:
    """True when the dotted CreateTrainingJob ``path`` is one of :data:`TRAINING_REWRITTEN_FIELDS`."""
    return any(p.fullmatch(path) for p in TRAINING_REWRITTEN_FIELDS)


def plan_training_request(
    request: dict[str, Any],
    base_dir: Path,
    *,
    region: str,
    account: str,
    environ: Mapping[str, str] | None = None,
    resolve_image: Callable[[str, str, str | None], str] = resolve_training_image,
) -> tuple[dict[str, Any], list[Upload]]:
    """The cloud CreateTrainingJob request for a local one and the uploads it needs (pure: no AWS call).

    The same rewrites as :func:`plan_request` for a tuning job's definition, applied to the training job itself, with
    ``<job>`` = ``TrainingJobName`` (SDK v2's code prefix), plus:

    - an output path that is the placeholder or local (folder or ``file://``) -> ``s3://sagemaker-<region>-<account>/``
      (the SDK's default); ``DebugHookConfig.S3OutputPath`` and ``ProfilerConfig.S3OutputPath`` that named the local
      output path follow it (SDK v2 sets them to the output path);
    - a local ``CheckpointConfig.S3Uri`` -> ``s3://<bucket>/<job>/checkpoints/``, its files uploaded (so a job resumes
      from them, as SageMaker syncs the checkpoint prefix to ``/opt/ml/checkpoints`` at start);
    - TensorFlow's ``model_dir`` hyperparameter ``"/opt/ml/model"`` (the local value) -> ``<output path><job>/model``
      (SDK v2's default for an S3 output path);
    - with ``EnableNetworkIsolation`` and local code, as SDK v2 does it: the code goes in through an input channel
      named ``code`` (appended to InputDataConfig, its S3Uri the uploaded ``sourcedir.tar.gz``) and
      ``sagemaker_submit_directory`` becomes ``"/opt/ml/input/data/code/sourcedir.tar.gz"``.

    Raises:
        AmtValidationError: placeholder role with none in the environment, a missing local path, an entry point not in
            its folder, an unresolvable image (each names the request field).
        AmtLocalError: a registry-less framework image and no sagemaker SDK installed.
    """
    environ = os.environ if environ is None else environ
    out = copy.deepcopy(request)
    uploads: dict[tuple[str, str], Upload] = {}
    dflt = default_bucket(region, account)
    job = out["TrainingJobName"]
    try:
        resolve_role(out, "", environ)
    except AmtValidationError as e:
        raise AmtValidationError("RoleArn", e.rule) from None

    odc = out.setdefault("OutputDataConfig", {})
    local_output = odc.get("S3OutputPath") or ""
    m = _S3.fullmatch(local_output)
    if not local_output or (m and m.group(1) == PLACEHOLDER_BUCKET) or is_local_uri(local_output):
        odc["S3OutputPath"] = f"s3://{dflt}/"
        for key in ("DebugHookConfig", "ProfilerConfig"):
            cfg = out.get(key) or {}
            if cfg.get("S3OutputPath") == local_output:
                cfg["S3OutputPath"] = odc["S3OutputPath"]
    m = _S3.fullmatch(odc["S3OutputPath"])
    bucket = m.group(1) if m else dflt
    owner = account if bucket == dflt else None

    def add(kind: str, local: Path, key: str, field: str) -> str:
        up = Upload(kind, local, bucket, key, field, owner)
        uploads.setdefault((up.bucket, up.key), up)
        return up.uri

    hps = out.get("HyperParameters") or {}
    code_channel = None
    if "sagemaker_submit_directory" in hps:
        field = "HyperParameters.sagemaker_submit_directory"
        code = str(decode_hyperparameter(hps["sagemaker_submit_directory"]))
        if is_local_uri(code):
            local = resolve_local_uri(code, Path(base_dir), field)
            if local.is_dir():
                program = str(decode_hyperparameter(hps.get("sagemaker_program", '""')))
                if program and not (local / program).is_file():
                    raise AmtValidationError(
                        "HyperParameters.sagemaker_program", f"entry point {program!r} not found in {str(local)!r}"
                    )
            elif not local.name.endswith((".tar.gz", ".tgz")):
                raise AmtValidationError(field, f"{str(local)!r} must be a folder or a .tar.gz (sourcedir.tar.gz)")
            uri = add("code", local, f"{job}/source/{SOURCEDIR}", field)
            hps["sagemaker_submit_directory"] = encode_hyperparameter(uri)
            if out.get("EnableNetworkIsolation"):  # SDK v2: no network in the container, the code comes as a channel
                hps["sagemaker_submit_directory"] = encode_hyperparameter(CODE_CHANNEL_SOURCEDIR)
                code_channel = {
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": uri,
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                    "ChannelName": "code",
                }
    if "sagemaker_program" in hps:
        hps["sagemaker_region"] = encode_hyperparameter(region)
        hps.setdefault("sagemaker_container_log_level", DEFAULT_LOG_LEVEL)

    for i, ch in enumerate(out.get("InputDataConfig") or []):
        s3 = (ch.get("DataSource") or {}).get("S3DataSource")
        if not s3 or not is_local_uri(s3.get("S3Uri", "")):
            continue
        field = f"InputDataConfig[{i}].DataSource.S3DataSource.S3Uri"
        local = resolve_local_uri(s3["S3Uri"], Path(base_dir), field)
        s3["S3Uri"] = add(
            "data", local, f"{job}/input/{ch['ChannelName']}/" + ("" if local.is_dir() else local.name), field
        )
    if code_channel is not None:
        if any(ch["ChannelName"] == "code" for ch in out.get("InputDataConfig") or []):
            raise AmtValidationError(
                "InputDataConfig",
                "with EnableNetworkIsolation the code comes in through a channel "
                "named 'code' (SDK v2): rename the input channel 'code'",
            )
        out.setdefault("InputDataConfig", []).append(code_channel)

    ck = out.get("CheckpointConfig") or {}
    if ck.get("S3Uri") and is_local_uri(ck["S3Uri"]):
        local = Path(ck["S3Uri"].removeprefix("file://"))
        local = local if local.is_absolute() else Path(base_dir) / local
        key = f"{job}/checkpoints/"
        if local.is_dir() and any(local.iterdir()):
            ck["S3Uri"] = add("data", local, key, "CheckpointConfig.S3Uri")
        else:
            ck["S3Uri"] = f"s3://{bucket}/{key}"

    algo = out.get("AlgorithmSpecification") or {}
    image = algo.get("TrainingImage") or ""
    _tensorflow_model_dir(hps, image, odc["S3OutputPath"], job)
    if image:
        rc = out.get("ResourceConfig") or {}
        try:
            algo["TrainingImage"] = resolve_image(image, region, rc.get("InstanceType"))
        except AmtValidationError as e:
            raise AmtValidationError(e.field, e.rule) from None
    return out, list(uploads.values())


def _tensorflow_model_dir(hyperparameters: dict[str, str], image: str, output: str, job: str) -> None:
    """TensorFlow's local ``model_dir`` ``"/opt/ml/model"`` -> ``"<output>/<job>/model"`` (SDK v2's S3 default)."""
    if decode_hyperparameter(hyperparameters.get("model_dir", "null")) == LOCAL_MODEL_DIR and image.rsplit("/", 1)[
        -1
    ].startswith("tensorflow-training:"):
        hyperparameters["model_dir"] = encode_hyperparameter(f"{output.rstrip('/')}/{job}/model")


def check_training_request(request: dict[str, Any]) -> None:
    """botocore's own check of a CreateTrainingJob request (types, required members, minimums), as boto3 would run it.

    Raises:
        AmtValidationError: the report of botocore's ParamValidator (field paths in its words).
    """
    import botocore.session
    from botocore.validate import ParamValidator

    shape = (
        botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape
    )
    report = ParamValidator().validate(request, shape)
    if report.has_errors():
        raise AmtValidationError("", f"CreateTrainingJob request: {report.generate_report()}")
