"""Estimators with SDK v2's names and arguments: ``Estimator`` (SDK v2 ``EstimatorBase`` + ``Estimator``) and
``Framework``; the framework estimators live in ``_frameworks``.

An estimator describes a training job. :meth:`Estimator.training_job_request` builds the CreateTrainingJob request
exactly as SDK v2's ``_TrainingJob._get_train_args`` + ``Session._get_train_request`` build it for the same arguments;
:meth:`Estimator.fit` hands it to the backend (``create_training_job``). The tuner reuses the same estimator for the
``TrainingJobDefinition`` of a tuning request.

Local differences from the SDK, all before the backend (the sagemaker backend rewrites them back, see its ``_request``):
the role and output path may be omitted (placeholders that pass the API's validation, ``LOCAL_*``); code, data, model
and checkpoint locations may be local folders or ``file://`` URIs; a framework image without ``image_uri`` is the
registry-less ``<repository>:<tag>`` that the sagemaker backend resolves to its ECR URI.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from amtlocal.api._inputs import TrainingInput, channels_from_inputs, input_mode_of
from amtlocal.api._naming import base_from_name, base_name_from_image, training_job_name_from_base
from amtlocal.lifecycle import is_terminal
from amtlocal.spec.hyperparameters import decode_hyperparameter, encode_hyperparameter
from amtlocal.spec.placeholders import LOCAL_OUTPUT, LOCAL_ROLE  # only ever seen by the local backend
from amtlocal.spec.placeholders import region as _region
from amtlocal.spec.uris import to_uri

log = logging.getLogger("amtlocal")

DEFAULT_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_MAX_RUN = 86400  # SDK v2's max_run default (seconds)
JOB_CLASS_NAME = "training-job"  # SDK v2's default base name when the image names none
# SDK v2's fw_utils: regions without SageMaker Debugger / profiler (no DebugHookConfig / ProfilerConfig defaults there).
DEBUGGER_UNSUPPORTED_REGIONS = (
    "us-iso-east-1",
    "us-isob-east-1",
    "ap-southeast-3",
    "ap-southeast-4",
    "eu-south-2",
    "me-central-1",
    "ap-south-2",
    "eu-central-2",
    "us-gov-east-1",
)
PROFILER_UNSUPPORTED_REGIONS = DEBUGGER_UNSUPPORTED_REGIONS
# Arguments SDK v2 still takes under their v1 names (``renamed_kwargs``): value moves to the new name, with a warning.
RENAMED_ARGUMENTS = {
    "train_instance_count": "instance_count",
    "train_instance_type": "instance_type",
    "train_max_run": "max_run",
    "train_use_spot_instances": "use_spot_instances",
    "train_max_wait": "max_wait",
    "train_volume_size": "volume_size",
    "train_volume_kms_key": "volume_kms_key",
}
SCRIPT_MODE_KEYS = (
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "sagemaker_region",
)

__all__ = ["Estimator", "Framework", "TrainingInput", "channels_from_inputs", "to_uri"]


def format_tags(tags: Any) -> list[dict[str, str]] | None:
    """SDK v2's ``format_tags``: a dict ``{key: value}`` -> ``[{"Key", "Value"}]``; a list passes unchanged."""
    if isinstance(tags, dict):
        return [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
    return list(tags) if tags is not None else None


def _to_request(obj: Any, method: str = "_to_request_dict") -> Any:
    """An SDK config object (DebuggerHookConfig, ProfilerConfig, ...) or a plain dict -> the request's dict."""
    if obj is None or isinstance(obj, dict):
        return obj
    if hasattr(obj, method):
        return getattr(obj, method)()
    raise TypeError(f"expected a dict or an SDK config object with {method}(), got {type(obj).__name__}")


def _is_gpu(instance_type: str | None) -> bool:
    """GPU instance families (p*, g*), as SDK v2's image_uris picks ``gpu`` images."""
    family = (instance_type or "").split(".")[1] if (instance_type or "").count(".") >= 2 else ""
    return family[:1] in ("p", "g")


class Estimator:
    """A training job description: SDK v2 ``sagemaker.estimator.Estimator`` (and ``EstimatorBase``).

    Takes every argument of SDK v2's ``Estimator.__init__`` (``image_uri`` first, then ``EstimatorBase``'s), plus
    ``backend`` (``"local"`` | ``"sagemaker"`` | a Backend; default ``$AMTLOCAL_BACKEND`` or local). What acts locally:
    ``entry_point``/``source_dir``/``dependencies``/``code_location`` (the code), ``hyperparameters``,
    ``metric_definitions``, ``environment``, ``max_run`` (StoppingCondition.MaxRuntimeInSeconds), ``output_path``
    (a local folder, ``file://`` or ``s3://`` URI; where ``model.tar.gz`` goes), ``checkpoint_s3_uri`` and
    ``checkpoint_local_path`` (CheckpointConfig), ``base_job_name``, ``tags``, ``model_uri`` (the ``model`` channel).
    The cloud-only ones (spot, ``max_wait``, warm pools, volumes, KMS keys, VPC, debugger, profiler, encryption,
    network isolation, retry, ...) are validated and carried into the request unchanged, as SDK v2 sends them.

    Locally ``role``, ``instance_type`` and ``output_path`` may be omitted (placeholders; ``ml.m5.large``).

    Raises:
        TypeError: an argument SDK v2 does not know (SDK v2 itself swallows it silently).
        RuntimeError: only one of ``subnets`` / ``security_group_ids`` (SDK v2's rule and message).
    """

    _framework = False

    def __init__(
        self,
        image_uri: str | None = None,
        role: str | None = None,
        instance_count: int | None = None,
        instance_type: str | None = None,
        keep_alive_period_in_seconds: int | None = None,
        volume_size: int = 30,
        volume_kms_key: str | None = None,
        max_run: int = DEFAULT_MAX_RUN,
        input_mode: str = "File",
        output_path: str | None = None,
        output_kms_key: str | None = None,
        base_job_name: str | None = None,
        sagemaker_session: Any = None,
        hyperparameters: dict[str, Any] | None = None,
        tags: Any = None,
        subnets: list[str] | None = None,
        security_group_ids: list[str] | None = None,
        model_uri: str | None = None,
        model_channel_name: str = "model",
        metric_definitions: list[dict[str, str]] | None = None,
        encrypt_inter_container_traffic: bool | None = None,
        use_spot_instances: bool = False,
        max_wait: int | None = None,
        checkpoint_s3_uri: str | None = None,
        checkpoint_local_path: str | None = None,
        enable_network_isolation: bool | None = None,
        rules: list | None = None,
        debugger_hook_config: Any = None,
        tensorboard_output_config: Any = None,
        enable_sagemaker_metrics: bool | None = None,
        profiler_config: Any = None,
        disable_profiler: bool | None = None,
        environment: dict[str, str] | None = None,
        max_retry_attempts: int | None = None,
        source_dir: str | None = None,
        git_config: dict[str, str] | None = None,
        container_log_level: int = logging.INFO,
        code_location: str | None = None,
        entry_point: str | None = None,
        dependencies: list[str] | None = None,
        instance_groups: list | None = None,
        training_repository_access_mode: str | None = None,
        training_repository_credentials_provider_arn: str | None = None,
        container_entry_point: list[str] | None = None,
        container_arguments: list[str] | None = None,
        disable_output_compression: bool = False,
        enable_infra_check: bool | None = None,
        enable_remote_debug: bool | None = None,
        enable_session_tag_chaining: bool | None = None,
        training_plan: str | None = None,
        instance_placement_config: dict | None = None,
        backend: Any = None,
        **kwargs: Any,
    ):
        renamed = {
            new: kwargs.pop(old) for old, new in RENAMED_ARGUMENTS.items() if old in kwargs
        }  # SDK v2's renamed_kwargs
        for new in renamed:
            log.warning("an argument is renamed in SageMaker Python SDK v2 to %s", new)
        instance_count = renamed.get("instance_count", instance_count)
        instance_type = renamed.get("instance_type", instance_type)
        max_run = renamed.get("max_run", max_run)
        use_spot_instances = renamed.get("use_spot_instances", use_spot_instances)
        max_wait = renamed.get("max_wait", max_wait)
        volume_size = renamed.get("volume_size", volume_size)
        volume_kms_key = renamed.get("volume_kms_key", volume_kms_key)
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument {next(iter(kwargs))!r}"
            )
        if (subnets is None) != (security_group_ids is None):
            raise RuntimeError("When setting up custom VPC, both subnets and security_group_ids must be set")
        if instance_groups is None:  # amtlocal's local default; SDK v2 requires both
            instance_count = 1 if instance_count is None else instance_count
            instance_type = instance_type or DEFAULT_INSTANCE_TYPE
        self.image_uri, self.role = image_uri, role
        self.instance_count, self.instance_type, self.instance_groups = instance_count, instance_type, instance_groups
        self.keep_alive_period_in_seconds = keep_alive_period_in_seconds
        self.volume_size, self.volume_kms_key, self.max_run, self.max_wait = (
            volume_size,
            volume_kms_key,
            max_run,
            max_wait,
        )
        self.input_mode, self.output_path, self.output_kms_key = input_mode, output_path, output_kms_key
        self.base_job_name, self.sagemaker_session = base_job_name, sagemaker_session
        self._hyperparameters = dict(hyperparameters or {})
        self.tags = format_tags(tags)
        self.subnets, self.security_group_ids = subnets, security_group_ids
        self.model_uri, self.model_channel_name = model_uri, model_channel_name
        self.metric_definitions = list(metric_definitions or [])
        self.encrypt_inter_container_traffic = bool(encrypt_inter_container_traffic)
        self.use_spot_instances = use_spot_instances
        self.checkpoint_s3_uri, self.checkpoint_local_path = checkpoint_s3_uri, checkpoint_local_path
        self._enable_network_isolation = bool(enable_network_isolation)
        self.rules = rules
        self.debugger_hook_config = {} if debugger_hook_config is True else debugger_hook_config
        self.tensorboard_output_config = tensorboard_output_config
        self.enable_sagemaker_metrics = enable_sagemaker_metrics
        self.profiler_config, self.disable_profiler = profiler_config, bool(disable_profiler)
        self.environment = dict(environment) if environment is not None else None
        self.max_retry_attempts = max_retry_attempts
        self.source_dir, self.git_config, self.container_log_level = source_dir, git_config, container_log_level
        self.code_location, self.entry_point, self.dependencies = code_location, entry_point, list(dependencies or [])
        self.training_repository_access_mode = training_repository_access_mode
        self.training_repository_credentials_provider_arn = training_repository_credentials_provider_arn
        self.container_entry_point, self.container_arguments = container_entry_point, container_arguments
        self.disable_output_compression, self.enable_infra_check = disable_output_compression, enable_infra_check
        self._enable_remote_debug, self._enable_session_tag_chaining = enable_remote_debug, enable_session_tag_chaining
        self.training_plan, self.instance_placement_config = training_plan, instance_placement_config
        self._backend_arg = backend
        self._backend = None
        self.latest_training_job: Any = None
        self._current_job_name: str | None = None
        self.jobs: list = []
        self._base_dir = Path.cwd()

    # -- what the SDK's subclasses override ----------------------------------------------------------------------
    def set_hyperparameters(self, **kwargs: Any) -> None:
        self._hyperparameters.update(kwargs)

    def hyperparameters(self) -> dict[str, str]:
        """The hyperparameters as sent (plain Estimator: ``str(value)``, as SDK v2's ``to_string``)."""
        return {str(k): str(v) for k, v in self._hyperparameters.items()}

    def training_image(self) -> str:
        """``image_uri`` (required for a plain Estimator). Raises ValueError without one."""
        if not self.image_uri:
            raise ValueError("image_uri is required for an Estimator (or use SKLearn/Framework with entry_point)")
        return self.image_uri

    def training_image_uri(self) -> str:
        """SDK v2's name for :meth:`training_image`."""
        return self.training_image()

    def enable_network_isolation(self) -> bool:
        return self._enable_network_isolation

    def default_base_name(self) -> str:
        """``base_job_name``, else the image's repository name (SDK v2's ``base_name_from_image``)."""
        return self.base_job_name or base_name_from_image(self.training_image(), JOB_CLASS_NAME)

    @property
    def backend(self):
        """The backend jobs of this estimator run on (``backend=`` argument, else ``$AMTLOCAL_BACKEND`` or local)."""
        if self._backend is None:
            from amtlocal.backends import get_backend

            self._backend = get_backend(self._backend_arg)
        return self._backend

    # -- code -------------------------------------------------------------------------------------------------
    def _code_location(self) -> tuple[str, str] | None:
        """``(program, code URI)`` of a local entry point: ``source_dir`` (folder, ``.tar.gz`` or ``s3://``), else the
        entry point's folder; None without an entry point."""
        if not self.entry_point:
            return None
        if self.source_dir:
            return self.entry_point, to_uri(self.source_dir)
        ep = Path(self.entry_point).expanduser().resolve()  # SDK v2 uploads only the entry point
        return ep.name, to_uri(ep.parent)

    def _stage_code(self, job_name: str) -> str | None:
        """The ``sagemaker_submit_directory`` for ``job_name``: the code folder itself, or, with ``dependencies`` or a
        local ``code_location``, a ``sourcedir.tar.gz`` laid out as SDK v2's ``tar_and_upload_dir`` packs it (source
        folder's entries at the root, each dependency beside them) under ``<code_location>/<job>/source/``."""
        loc = self._code_location()
        if loc is None:
            return None
        program, code = loc
        local_code_location = self.code_location if self.code_location and "://" not in self.code_location else None
        if not (self.dependencies or local_code_location) or not code.startswith("file://"):
            return code
        src = Path(code[len("file://") :])
        root = (
            Path(local_code_location).expanduser().resolve()
            if local_code_location
            else Path(tempfile.mkdtemp(prefix="amtlocal-code-"))
        )
        target = root / job_name / "source" / "sourcedir.tar.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(target, "w:gz", dereference=True) as tar:
            entries = sorted(os.listdir(src)) if self.source_dir else [program]
            for name in entries:
                tar.add(str(src / name), arcname=name)
            for dep in self.dependencies:
                dep_path = Path(dep).expanduser().resolve()
                if not dep_path.exists():
                    raise ValueError(f"dependencies: {dep!r} does not exist")
                tar.add(str(dep_path), arcname=dep_path.name)
        return to_uri(target)

    def code_hyperparameters(self, job_name: str | None = None) -> dict[str, str]:
        """``sagemaker_program`` / ``sagemaker_submit_directory`` / ``sagemaker_container_log_level`` (and, with a job
        name, ``sagemaker_job_name`` and ``sagemaker_region``) for a local entry point, JSON-encoded as SDK v2 does."""
        loc = self._code_location()
        if loc is None:
            return {}
        code = self._stage_code(job_name) if job_name else loc[1]
        out = {
            "sagemaker_submit_directory": encode_hyperparameter(code),
            "sagemaker_program": encode_hyperparameter(loc[0]),
            "sagemaker_container_log_level": encode_hyperparameter(self.container_log_level),
        }
        if job_name:
            out["sagemaker_job_name"] = encode_hyperparameter(job_name)
            out["sagemaker_region"] = encode_hyperparameter(_region())
        return out

    # -- the requests -----------------------------------------------------------------------------------------
    def _output_uri(self) -> str:
        return to_uri(self.output_path) if self.output_path else LOCAL_OUTPUT

    def _role(self) -> str:
        return self.role or os.environ.get("AMTLOCAL_ROLE_ARN") or LOCAL_ROLE

    def training_job_definition(
        self, inputs: Any, static_hyperparameters: dict[str, str], metric_definitions: list[dict[str, str]]
    ) -> dict[str, Any]:
        """The ``TrainingJobDefinition`` of a tuning request (without ranges and objective), as SDK v2's tuner builds
        it (``_TuningJob._prepare_training_config`` + ``Session._map_training_config``): the estimator's output,
        stopping, VPC, spot, checkpoint, isolation, encryption, retry and environment settings are carried; tags,
        debugger and profiler settings are not part of a tuning job's definition (as in SDK v2).

        Raises:
            AmtValidationError: spot without ``max_wait``, ``max_wait`` below ``max_run``.
        """
        self._check_stopping()
        rc: dict[str, Any] = {}
        if self.volume_kms_key is not None:
            rc["VolumeKmsKeyId"] = self.volume_kms_key
        rc.update(
            {
                "InstanceType": self.instance_type,
                "InstanceCount": self.instance_count,
                "VolumeSizeInGB": self.volume_size,
            }
        )
        d: dict[str, Any] = {
            "StaticHyperParameters": static_hyperparameters,
            "AlgorithmSpecification": {
                "TrainingImage": self.training_image(),
                "TrainingInputMode": input_mode_of(inputs) or self.input_mode,
                "MetricDefinitions": list(metric_definitions),
            },
            "RoleArn": self._role(),
            "OutputDataConfig": {"S3OutputPath": self._output_uri()},
            "HyperParameterTuningResourceConfig": rc,
            "StoppingCondition": {"MaxRuntimeInSeconds": int(self.max_run)},
        }
        if self.output_kms_key is not None:
            d["OutputDataConfig"]["KmsKeyId"] = self.output_kms_key
        if self.disable_output_compression:
            d["OutputDataConfig"]["CompressionType"] = "NONE"
        if self.max_wait:
            d["StoppingCondition"]["MaxWaitTimeInSeconds"] = int(self.max_wait)
        channels = self._channels(inputs)
        if channels:
            d["InputDataConfig"] = channels
        if self.subnets is not None:
            d["VpcConfig"] = {"Subnets": list(self.subnets), "SecurityGroupIds": list(self.security_group_ids or [])}
        if self.enable_network_isolation():
            d["EnableNetworkIsolation"] = True
        if self.encrypt_inter_container_traffic:
            d["EnableInterContainerTrafficEncryption"] = True
        if self.use_spot_instances:
            d["EnableManagedSpotTraining"] = True
        if self.checkpoint_s3_uri:
            d["CheckpointConfig"] = {"S3Uri": to_uri(self.checkpoint_s3_uri)}
            if self.checkpoint_local_path:
                d["CheckpointConfig"]["LocalPath"] = self.checkpoint_local_path
        if self.max_retry_attempts is not None:
            d["RetryStrategy"] = {"MaximumRetryAttempts": self.max_retry_attempts}
        if self.environment is not None:
            d["Environment"] = dict(self.environment)
        return d

    def _channels(self, inputs: Any) -> list[dict[str, Any]]:
        """``InputDataConfig``: the ``fit`` inputs, then the ``model`` channel of ``model_uri`` (SDK v2's order)."""
        channels = channels_from_inputs(inputs)
        if self.model_uri:
            if any(c["ChannelName"] == self.model_channel_name for c in channels):
                raise ValueError(f"Duplicate channel {self.model_channel_name} not allowed.")
            channels.append(
                {
                    **TrainingInput(
                        self.model_uri, content_type="application/x-sagemaker-model", input_mode="File"
                    ).config,
                    "ChannelName": self.model_channel_name,
                }
            )
        return channels

    def _resource_config(self) -> dict[str, Any]:
        rc: dict[str, Any] = {"VolumeSizeInGB": self.volume_size}
        if self.volume_kms_key is not None:
            rc["VolumeKmsKeyId"] = self.volume_kms_key
        if self.keep_alive_period_in_seconds is not None:
            rc["KeepAlivePeriodInSeconds"] = self.keep_alive_period_in_seconds
        if self.instance_groups is not None:
            if self.instance_count is not None or self.instance_type is not None:
                raise ValueError("instance_count and instance_type cannot be set when instance_groups is set")
            rc["InstanceGroups"] = [_to_request(g) for g in self.instance_groups]
        else:
            rc["InstanceCount"], rc["InstanceType"] = self.instance_count, self.instance_type
        if self.training_plan is not None:
            rc["TrainingPlanArn"] = self.training_plan
        if self.instance_placement_config is not None:
            rc["InstancePlacementConfig"] = self.instance_placement_config
        return rc

    def _check_stopping(self) -> None:
        """The service's rules on StoppingCondition (CreateTrainingJob's ValidationException), checked before any work."""
        from amtlocal.exceptions import AmtValidationError

        if self.use_spot_instances and not self.max_wait:
            raise AmtValidationError(
                "StoppingCondition.MaxWaitTimeInSeconds",
                "managed spot training (use_spot_instances=True) needs max_wait (seconds), at least max_run",
            )
        if self.max_wait and int(self.max_wait) < int(self.max_run):
            raise AmtValidationError(
                "StoppingCondition.MaxWaitTimeInSeconds",
                f"max_wait ({self.max_wait}) must be at least max_run ({self.max_run})",
            )

    def _debug_and_profiler(self, request: dict[str, Any], output: str, job_name: str) -> None:
        """DebugHookConfig / DebugRuleConfigurations / ProfilerConfig / ProfilerRuleConfigurations as SDK v2 sets them
        by default (``_prepare_debugger_for_training``, ``_prepare_profiler_for_training``)."""
        region = _region()
        debug_rules, profiler_rules = [], []
        for rule in self.rules or []:
            if isinstance(rule, dict):  # a ready DebugRuleConfiguration
                debug_rules.append(rule)
            elif hasattr(rule, "to_profiler_rule_config_dict"):
                profiler_rules.append(rule)
            elif hasattr(rule, "to_debugger_rule_config_dict"):
                debug_rules.append(rule)
            else:
                raise RuntimeError(
                    "Rules list can only contain sagemaker.debugger.Rule and sagemaker.debugger.ProfilerRule"
                )
        hook: Any = self.debugger_hook_config  # a DebuggerHookConfig, a request dict, None or False
        if region.lower() not in DEBUGGER_UNSUPPORTED_REGIONS:
            if hook in (None, {}):
                hook = {"S3OutputPath": output, "CollectionConfigurations": []}
        elif hook:
            raise ValueError("Current region does not support debugger but debugger hook config is set!")
        else:
            hook = False
        # SDK v2's _prepare_collection_configs: the rules' collections and the hook's own, as one set
        collections = {
            c for r in debug_rules if not isinstance(r, dict) for c in (getattr(r, "collection_configs", None) or [])
        }
        if hook is not False and not isinstance(hook, dict):
            if not getattr(hook, "s3_output_path", None):
                hook.s3_output_path = output
            hook.collection_configs = collections | set(hook.collection_configs or [])
            hook = _to_request(hook)
        elif hook and collections:
            hook = {
                **hook,
                "CollectionConfigurations": [
                    *hook.get("CollectionConfigurations", []),
                    *(c._to_request_dict() for c in collections),
                ],
            }
        if hook is not False and self._drop_debug_hook():
            hook = False
        if debug_rules:
            request["DebugRuleConfigurations"] = [
                r if isinstance(r, dict) else self._rule_dict(r, job_name, "debugger") for r in debug_rules
            ]
        if hook:
            request["DebugHookConfig"] = hook
        if self.tensorboard_output_config is not None:
            request["TensorBoardOutputConfig"] = _to_request(self.tensorboard_output_config)
        profiler = self.profiler_config
        disabled = (
            self.disable_profiler
            or region.lower() in PROFILER_UNSUPPORTED_REGIONS
            or (self.instance_type or "").startswith(("ml.trn", "ml_trn"))
        )
        if disabled:
            if profiler is not None and not _to_request(profiler).get("DisableProfiler", False):
                raise RuntimeError("profiler_config.disable_profiler cannot be False when disable_profiler is True.")
            if profiler_rules:
                raise RuntimeError("ProfilerRule cannot be set when disable_profiler is True.")
        elif profiler is None:
            profiler = {"S3OutputPath": output, "DisableProfiler": False}
        if profiler is not None and not isinstance(profiler, dict) and not getattr(profiler, "s3_output_path", None):
            profiler.s3_output_path = output
        if profiler_rules:
            request["ProfilerRuleConfigurations"] = [self._rule_dict(r, job_name, "profiler") for r in profiler_rules]
        request["ProfilerConfig"] = _to_request(profiler) if profiler is not None else {"DisableProfiler": True}

    def _drop_debug_hook(self) -> bool:
        return False

    @staticmethod
    def _rule_dict(rule: Any, job_name: str, kind: str) -> dict[str, Any]:
        if getattr(rule, "image_uri", None) == "DEFAULT_RULE_EVALUATOR_IMAGE":  # SDK v2's _set_default_rule_config
            try:  # SDK v2; v3 moved it to sagemaker.core.debugger (sagemaker-core 2.27)
                from sagemaker.debugger import get_rule_container_image_uri
            except ImportError:
                from sagemaker.core.debugger import get_rule_container_image_uri  # type: ignore[no-redef]

            rule.image_uri = get_rule_container_image_uri(rule.name, _region())
            if not rule.name.startswith("DetailedProfilerProcessingJobConfig"):
                rule.instance_type = rule.volume_size_in_gb = None
        if kind == "debugger":
            if hasattr(rule, "prepare_actions"):
                rule.prepare_actions(job_name)
            return rule.to_debugger_rule_config_dict()
        return rule.to_profiler_rule_config_dict()

    def training_job_request(self, inputs: Any = None, job_name: str | None = None) -> dict[str, Any]:
        """The CreateTrainingJob request :meth:`fit` sends (nothing is started; code may be staged, see below).

        Field for field what SDK v2 sends for the same arguments, except the local stand-ins named in the module
        docstring. With ``dependencies`` or a local ``code_location`` the code is packed into a ``sourcedir.tar.gz``
        (SDK v2's layout) that ``sagemaker_submit_directory`` names.

        Raises:
            AmtValidationError: spot without ``max_wait``, ``max_wait`` below ``max_run`` (field named).
            ValueError: no image, ``git_config`` (needs a network clone), bad instance arguments, a missing dependency.
            TypeError: ``inputs`` of another kind.
        """
        if self.git_config:
            raise ValueError(
                "git_config is not supported by amtlocal (it clones a repository): clone it and pass "
                "entry_point/source_dir of the clone"
            )
        self._check_stopping()
        name = job_name or training_job_name_from_base(self.default_base_name())
        output = self._output_uri()
        req: dict[str, Any] = {
            "TrainingJobName": name,
            "AlgorithmSpecification": {
                "TrainingInputMode": input_mode_of(inputs) or self.input_mode,
                "TrainingImage": self.training_image(),
            },
            "RoleArn": self._role(),
            "OutputDataConfig": {"S3OutputPath": output},
            "ResourceConfig": self._resource_config(),
            "StoppingCondition": {"MaxRuntimeInSeconds": int(self.max_run)},
        }
        algo = req["AlgorithmSpecification"]
        if self.output_kms_key is not None:
            req["OutputDataConfig"]["KmsKeyId"] = self.output_kms_key
        if self.disable_output_compression:
            req["OutputDataConfig"]["CompressionType"] = "NONE"
        if self.max_wait:
            req["StoppingCondition"]["MaxWaitTimeInSeconds"] = int(self.max_wait)
        if self.training_repository_access_mode is not None:
            algo["TrainingImageConfig"] = {"TrainingRepositoryAccessMode": self.training_repository_access_mode}
            if self.training_repository_credentials_provider_arn is not None:
                algo["TrainingImageConfig"]["TrainingRepositoryAuthConfig"] = {
                    "TrainingRepositoryCredentialsProviderArn": self.training_repository_credentials_provider_arn
                }
        if self.enable_infra_check is not None:
            req["InfraCheckConfig"] = {"EnableInfraCheck": self.enable_infra_check}
        if self.container_entry_point is not None:
            algo["ContainerEntrypoint"] = list(self.container_entry_point)
        if self.container_arguments is not None:
            algo["ContainerArguments"] = list(self.container_arguments)
        channels = self._channels(inputs)
        if channels:
            req["InputDataConfig"] = channels
        if self.metric_definitions:
            algo["MetricDefinitions"] = list(self.metric_definitions)
        if self.enable_sagemaker_metrics is not None:
            algo["EnableSageMakerMetricsTimeSeries"] = self.enable_sagemaker_metrics
        hps = {**self._hyperparameters_for(name)}
        if hps:
            req["HyperParameters"] = hps
        if self.environment is not None:
            req["Environment"] = dict(self.environment)
        if self.tags is not None:
            req["Tags"] = list(self.tags)
        if self.subnets is not None:
            req["VpcConfig"] = {"Subnets": list(self.subnets), "SecurityGroupIds": list(self.security_group_ids or [])}
        if self.enable_network_isolation():
            req["EnableNetworkIsolation"] = True
        if self.encrypt_inter_container_traffic:
            req["EnableInterContainerTrafficEncryption"] = True
        if self.use_spot_instances:
            req["EnableManagedSpotTraining"] = True
        if self.checkpoint_s3_uri:
            req["CheckpointConfig"] = {"S3Uri": to_uri(self.checkpoint_s3_uri)}
            if self.checkpoint_local_path:
                req["CheckpointConfig"]["LocalPath"] = self.checkpoint_local_path
        self._debug_and_profiler(req, output, name)
        if self._enable_remote_debug is not None:
            req["RemoteDebugConfig"] = {"EnableRemoteDebug": self._enable_remote_debug}
        if self._enable_session_tag_chaining is not None:
            req["SessionChainingConfig"] = {"EnableSessionTagChaining": self._enable_session_tag_chaining}
        if self.max_retry_attempts is not None:
            req["RetryStrategy"] = {"MaximumRetryAttempts": self.max_retry_attempts}
        return req

    def _hyperparameters_for(self, job_name: str) -> dict[str, str]:
        """HyperParameters of a training job: the user's (encoded by :meth:`hyperparameters`), the job-dependent
        ones, then script mode's."""
        hps = self.hyperparameters()
        hps.update(self.job_hyperparameters(job_name))
        hps.update(self.code_hyperparameters(job_name))
        return hps

    def job_hyperparameters(self, job_name: str) -> dict[str, str]:
        """Hyperparameters that depend on the job name (TensorFlow's ``model_dir``); none for most estimators."""
        return {}

    # -- running ----------------------------------------------------------------------------------------------
    def fit(
        self,
        inputs: Any = None,
        wait: bool = True,
        logs: str | bool = "All",
        job_name: str | None = None,
        experiment_config: dict | None = None,
    ) -> None:
        """Start a training job (``backend.create_training_job``), and with ``wait`` run it to its end.

        ``inputs``: a local folder, ``file://`` or ``s3://`` URI (one channel named ``training``), a TrainingInput,
        or a dict of channel name -> location. ``logs`` (``"All"``/``"None"`` or a bool, with ``wait``): the job's
        log lines go to the ``amtlocal.training`` logger at INFO (library code never prints). With ``wait`` the job's
        progress shows as :mod:`amtlocal.progress` chooses (a live output in a notebook, a redrawn line on a
        terminal, a start and an end line in a log; ``$AMTLOCAL_PROGRESS=off`` for none).

        Raises:
            AmtValidationError: the request is invalid (before the job starts).
            UnexpectedStatusException: with ``wait``, the job ended Failed, as SDK v2 raises it (Stopped: a warning).
        """
        if experiment_config:
            raise ValueError("experiment_config (SageMaker Experiments) is not supported by amtlocal")
        req = self.training_job_request(inputs, job_name)
        self._current_job_name = req["TrainingJobName"]
        watcher = None
        if wait:
            from amtlocal.progress import training_job_progress

            watcher = training_job_progress(self.backend, req["TrainingJobName"])
        # As the tuner does: the backend runs the job (to its end with ``wait``), then wait() reports and raises.
        # Meanwhile its log lines go to the logger as they are written (SDK v2's fit streams them too).
        follow = wait and logs not in (False, "None")
        with watcher.following() if watcher is not None else contextlib.nullcontext():
            follower = _LogFollower(self.backend, req["TrainingJobName"], watcher) if follow else None
            with follower if follower is not None else contextlib.nullcontext():
                self.backend.create_training_job(req, self._base_dir, wait=wait)
            self.latest_training_job = _TrainingJob(req["TrainingJobName"], self)
            self.jobs.append(self.latest_training_job)
            if wait:
                self.latest_training_job.wait(logs=logs, seen=follower.seen if follower is not None else 0)

    # -- display ----------------------------------------------------------------------------------------------
    def _display_facts(self) -> tuple[str, str, dict[str, Any] | None]:
        from amtlocal.api._display import training_job_facts

        title = f"{type(self).__name__} ({self.entry_point or self.image_uri})"
        job = self.latest_training_job
        return title, "Training job", training_job_facts(self.backend, job.name) if job is not None else None

    def __repr__(self) -> str:
        """The latest training job: name, backend, status, final metrics, model, folder (or "no training job yet")."""
        from amtlocal.api._display import text

        return text(*self._display_facts())

    def _repr_html_(self) -> str:
        """Jupyter's rich display: the facts of :meth:`__repr__` as a table."""
        from amtlocal.api._display import html_table

        return html_table(*self._display_facts())

    @classmethod
    def attach(
        cls,
        training_job_name: str,
        sagemaker_session: Any = None,
        model_channel_name: str = "model",
        backend: Any = None,
    ) -> Estimator:
        """An estimator bound to an existing training job (SDK v2 ``attach``): its arguments come from
        DescribeTrainingJob; like the SDK it waits for the job to end (without logs).

        Raises:
            TrainingJobNotFound: no such training job on the backend.
            UnexpectedStatusException: the job ended Failed (SDK v2's wait raises too).
        """
        from amtlocal.backends import get_backend

        be = get_backend(backend)
        desc = be.describe_training_job(training_job_name)
        params = cls._init_params_from_description(desc, model_channel_name)
        est = cls(backend=be, sagemaker_session=sagemaker_session, **params)
        est.latest_training_job = _TrainingJob(training_job_name, est)
        est._current_job_name = training_job_name
        est.latest_training_job.wait(logs="None")
        return est

    @classmethod
    def _init_params_from_description(cls, desc: dict[str, Any], model_channel_name: str | None) -> dict[str, Any]:
        """SDK v2's ``_prepare_init_params_from_job_description``: DescribeTrainingJob -> constructor arguments."""
        rc, algo, stop = desc["ResourceConfig"], desc["AlgorithmSpecification"], desc["StoppingCondition"]
        p: dict[str, Any] = {
            "role": desc["RoleArn"],
            "volume_size": rc.get("VolumeSizeInGB", 30),
            "max_run": stop["MaxRuntimeInSeconds"],
            "input_mode": algo.get("TrainingInputMode", "File"),
            "base_job_name": base_from_name(desc["TrainingJobName"]),
            "output_path": desc["OutputDataConfig"].get("S3OutputPath"),
            "output_kms_key": desc["OutputDataConfig"].get("KmsKeyId"),
            "hyperparameters": dict(desc.get("HyperParameters") or {}),
            "image_uri": algo.get("TrainingImage"),
            "metric_definitions": algo.get("MetricDefinitions"),
        }
        if "InstanceGroups" in rc:
            p["instance_groups"] = rc["InstanceGroups"]
        else:
            p["instance_count"], p["instance_type"] = rc["InstanceCount"], rc["InstanceType"]
        for key, arg in (
            ("KeepAlivePeriodInSeconds", "keep_alive_period_in_seconds"),
            ("VolumeKmsKeyId", "volume_kms_key"),
        ):
            if key in rc:
                p[arg] = rc[key]
        for key, arg in (
            ("EnableNetworkIsolation", "enable_network_isolation"),
            ("EnableInterContainerTrafficEncryption", "encrypt_inter_container_traffic"),
            ("Environment", "environment"),
        ):
            if key in desc:
                p[arg] = desc[key]
        vpc = desc.get("VpcConfig") or {}
        if vpc.get("Subnets"):
            p["subnets"], p["security_group_ids"] = vpc["Subnets"], vpc.get("SecurityGroupIds")
        if desc.get("EnableManagedSpotTraining"):
            p["use_spot_instances"] = True
        if stop.get("MaxWaitTimeInSeconds"):
            p["max_wait"] = stop["MaxWaitTimeInSeconds"]
        if desc.get("RetryStrategy"):
            p["max_retry_attempts"] = desc["RetryStrategy"].get("MaximumRetryAttempts")
        ck = desc.get("CheckpointConfig") or {}
        if ck.get("S3Uri"):
            p["checkpoint_s3_uri"] = ck["S3Uri"]
            if ck.get("LocalPath"):
                p["checkpoint_local_path"] = ck["LocalPath"]
        for ch in desc.get("InputDataConfig") or []:
            if model_channel_name and ch["ChannelName"] == model_channel_name:
                p["model_channel_name"], p["model_uri"] = model_channel_name, ch["DataSource"]["S3DataSource"]["S3Uri"]
        return p

    def _ensure_job(self) -> _TrainingJob:
        if self.latest_training_job is None:
            raise ValueError("Estimator is not associated with a training job")
        return self.latest_training_job

    def logs(self) -> list[str]:
        """The latest training job's log lines so far (``backend.training_job_logs``), also sent to the
        ``amtlocal.training`` logger at INFO. SDK v2 prints them and waits for the job's end; amtlocal returns them.

        Raises:
            ValueError: no training job yet.
        """
        lines = list(self.backend.training_job_logs(self._ensure_job().name))
        for line in lines:
            _job_log.info("%s", line)
        return lines

    @property
    def model_data(self) -> str | dict:
        """Where the model is: ``ModelArtifacts.S3ModelArtifacts`` of the latest training job (a ``model.tar.gz`` URI;
        locally a ``file://`` URI). With ``disable_output_compression``, SDK v2's uncompressed ``S3DataSource`` dict.
        Before any training job: ``<output_path>/<job name>/output/model.tar.gz`` (SDK v2, with a warning)."""
        if self.latest_training_job is not None:
            desc = self.latest_training_job.describe()
            uri = (desc.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
            if uri is None:
                raise ValueError(
                    f"training job {self.latest_training_job.name} has no model artifacts "
                    f"({desc.get('TrainingJobStatus')})"
                )
            compression = (desc.get("OutputDataConfig") or {}).get("CompressionType", "GZIP")
            if compression == "GZIP":
                return uri
            if compression not in ("GZIP", "NONE"):
                raise ValueError(f'Unrecognized training job output data compression type "{compression}"')
            return {
                "S3DataSource": {
                    "S3Uri": uri if uri.endswith("/") else uri + "/",
                    "S3DataType": "S3Prefix",
                    "CompressionType": "None",
                }
            }
        log.warning("No finished training job found associated with this estimator.")
        return f"{self._output_uri().rstrip('/')}/{self._current_job_name}/output/model.tar.gz"

    @property
    def training_job_analytics(self):
        """:class:`~amtlocal.api.TrainingJobAnalytics` of the current training job. Raises ValueError without one."""
        from amtlocal.api._training_analytics import TrainingJobAnalytics

        if self._current_job_name is None:
            raise ValueError("Estimator is not associated with a TrainingJob")
        return TrainingJobAnalytics(self._current_job_name, backend=self.backend)

    def stop_training_job(self) -> None:
        """StopTrainingJob on the latest training job."""
        self._ensure_job().stop()


_job_log = logging.getLogger("amtlocal.training")
#: The link SDK v2 ends an UnexpectedStatusException's message with (``sagemaker.session._check_job_status``).
TROUBLESHOOTING_URL = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-python-sdk-troubleshooting.html"


class _LogFollower:
    """While a blocking ``create_training_job(wait=True)`` runs the job: a daemon thread sends its new log lines to
    the ``amtlocal.training`` logger as they are written (every :data:`FOLLOW_POLL_SECONDS` on the local backend,
    :data:`FOLLOW_CLOUD_POLL_SECONDS` elsewhere: CloudWatch Logs throttles), with the progress display paused around
    them; and shows the display's start line once the job exists. ``seen``: lines sent so far."""

    def __init__(self, backend: Any, name: str, watcher: Any = None):
        self.backend, self.name, self.watcher, self.seen = backend, name, watcher, 0
        self.poll = FOLLOW_POLL_SECONDS if getattr(backend, "name", "") == "local" else FOLLOW_CLOUD_POLL_SECONDS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"logs-{name}", daemon=True)
        self._started = False

    def __enter__(self) -> _LogFollower:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self._send_new()
            except Exception:  # noqa: BLE001 - e.g. the job is not recorded yet; the final wait sends the rest
                log.debug("following the log of %s", self.name, exc_info=True)

    def _send_new(self) -> None:
        lines = list(self.backend.training_job_logs(self.name))
        if not self._started and self.watcher is not None and not self.watcher.display.live:
            self._started = self.watcher.refresh() is not None  # a log display's start line, before the log
        new = lines[self.seen :]
        if not new:
            return
        with self.watcher.paused() if self.watcher is not None else contextlib.nullcontext():
            for line in new:
                _job_log.info("%s", line)
        self.seen += len(new)


FOLLOW_POLL_SECONDS = 0.5
FOLLOW_CLOUD_POLL_SECONDS = 10.0


class _TrainingJob:
    """SDK v2's ``_TrainingJob``: ``.name`` (``.job_name``), ``.describe()``, ``.wait(logs=...)``, ``.stop()``."""

    def __init__(self, name: str, estimator: Estimator, poll: float = 0.5, max_poll: float = 10.0):
        self.name = self.job_name = name
        self._estimator = estimator
        self.poll, self.max_poll = poll, max_poll

    @property
    def _backend(self):
        return self._estimator.backend

    def __repr__(self) -> str:
        from amtlocal.api._display import text, training_job_facts

        return text("Training job", "Training job", training_job_facts(self._backend, self.name))

    def _repr_html_(self) -> str:
        from amtlocal.api._display import html_table, training_job_facts

        return html_table("Training job", "Training job", training_job_facts(self._backend, self.name))

    def describe(self) -> dict[str, Any]:
        """DescribeTrainingJob."""
        return self._backend.describe_training_job(self.name)

    def stop(self) -> None:
        """StopTrainingJob."""
        self._backend.stop_training_job(self.name)

    def _new_log_lines(self, seen: int) -> tuple[list[str], int]:
        lines = list(self._backend.training_job_logs(self.name))
        return lines[seen:], len(lines)

    def wait(self, logs: str | bool = "All", seen: int = 0) -> dict[str, Any]:
        """Poll DescribeTrainingJob until the job ends (backoff x1.5 up to ``max_poll`` s); with ``logs`` the new
        log lines (after the first ``seen``, already sent) go to the ``amtlocal.training`` logger. Returns the final
        description.

        A job that ended Stopped (MaxRuntimeExceeded, a stop) is logged as a warning and returned, as SDK v2's
        ``_check_job_status`` does.

        Raises:
            UnexpectedStatusException: the job ended Failed (SDK v2's ``_check_job_status``: its message, its
                ``allowed_statuses``).
        """
        from amtlocal.exceptions import UnexpectedStatusException

        logs = {True: "All", False: "None"}.get(logs, logs) if isinstance(logs, bool) else logs
        delay = self.poll
        while True:
            desc = self.describe()
            done = is_terminal(desc["TrainingJobStatus"])
            if logs != "None":
                new, seen = self._new_log_lines(seen)
                for line in new:
                    _job_log.info("%s", line)
            if done:
                break
            time.sleep(delay)
            delay = min(self.max_poll, delay * 1.5)
        status = desc["TrainingJobStatus"]
        if status == "Stopped":  # SDK v2 warns and returns (a MaxRuntimeExceeded or a stop is no error)
            log.warning(
                "Job ended with status 'Stopped' rather than 'Completed'. This could mean the job timed out or "
                "stopped early for some other reason: Consider checking whether it completed as you expect."
            )
        elif status != "Completed":
            reason = desc.get("FailureReason", "(No reason provided)")
            raise UnexpectedStatusException(
                f"Error for Training job {self.name}: {status}. Reason: {reason}. "
                f"Check troubleshooting guide for common errors: {TROUBLESHOOTING_URL}",
                allowed_statuses=("Completed", "Stopped"),
                actual_status=status,
            )
        return desc


class Framework(Estimator):
    """A script-mode estimator (SDK v2 ``sagemaker.estimator.Framework``): ``entry_point`` (+ ``source_dir``) runs
    in a framework container; every hyperparameter is sent JSON-encoded.

    Takes SDK v2 Framework's own arguments (``entry_point, source_dir, hyperparameters, container_log_level,
    code_location, image_uri, dependencies, enable_network_isolation, git_config, checkpoint_s3_uri,
    checkpoint_local_path, enable_sagemaker_metrics``) and every :class:`Estimator` argument by keyword.

    Raises:
        ValueError: an ``s3://`` entry point (SDK v2's rule: it must be a local file).
    """

    _framework = True
    _framework_name = "framework"
    _module = "sagemaker.estimator"

    def __init__(
        self,
        entry_point: str,
        source_dir: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        container_log_level: int = logging.INFO,
        code_location: str | None = None,
        image_uri: str | None = None,
        dependencies: list[str] | None = None,
        enable_network_isolation: bool | None = None,
        git_config: dict | None = None,
        checkpoint_s3_uri: str | None = None,
        checkpoint_local_path: str | None = None,
        enable_sagemaker_metrics: bool | None = None,
        framework_version: str | None = None,
        py_version: str | None = "py3",
        **kwargs: Any,
    ):
        if entry_point is not None and str(entry_point).startswith("s3://"):
            raise ValueError(f"Invalid entry point script: {entry_point}. Must be a path to a local file.")
        super().__init__(
            entry_point=entry_point,
            source_dir=source_dir,
            hyperparameters=hyperparameters,
            container_log_level=container_log_level,
            code_location=code_location,
            image_uri=image_uri,
            dependencies=dependencies,
            enable_network_isolation=enable_network_isolation,
            git_config=git_config,
            checkpoint_s3_uri=checkpoint_s3_uri,
            checkpoint_local_path=checkpoint_local_path,
            enable_sagemaker_metrics=enable_sagemaker_metrics,
            **kwargs,
        )
        self.framework_version, self.py_version = framework_version, py_version
        self.distribution: dict = {}

    def hyperparameters(self) -> dict[str, str]:
        """JSON-encoded values (``10`` -> ``"10"``, ``"gini"`` -> ``"\\"gini\\""``, ``True`` -> ``"true"``), plus the
        framework's distribution hyperparameters."""
        out = {str(k): encode_hyperparameter(v) for k, v in self._hyperparameters.items()}
        out.update({k: encode_hyperparameter(v) for k, v in self._distribution_hyperparameters().items()})
        return out

    def _distribution_hyperparameters(self) -> dict[str, Any]:
        """SDK v2's ``Framework._distribution_configuration`` for the strategies amtlocal carries (mpi,
        parameter_server, multi_worker_mirrored_strategy, pytorchxla). Raises ValueError for smdistributed."""
        d = self.distribution or {}
        out: dict[str, Any] = {}
        if "smdistributed" in d or "instance_groups" in d:
            raise ValueError("distribution with smdistributed or instance_groups is not supported by amtlocal")
        if "pytorchxla" in d:
            out["sagemaker_pytorch_xla_multi_worker_enabled"] = d["pytorchxla"].get("enabled", False)
        if "parameter_server" in d:
            out["sagemaker_parameter_server_enabled"] = d["parameter_server"].get("enabled", False)
        if "mpi" in d:
            mpi = d["mpi"]
            out["sagemaker_mpi_enabled"] = mpi.get("enabled", False)
            if mpi.get("processes_per_host"):
                out["sagemaker_mpi_num_of_processes_per_host"] = mpi["processes_per_host"]
            out["sagemaker_mpi_custom_mpi_options"] = mpi.get("custom_mpi_options", "")
        if "multi_worker_mirrored_strategy" in d:
            out["sagemaker_multi_worker_mirrored_strategy_enabled"] = d["multi_worker_mirrored_strategy"].get(
                "enabled", False
            )
        return out

    def training_image(self) -> str:
        if self.image_uri:
            return self.image_uri
        return self.local_image_uri()

    def local_image_uri(self) -> str:
        """The image as ``<repository>:<tag>`` without a registry; the sagemaker backend resolves the full ECR URI."""
        raise ValueError("image_uri is required for this Framework estimator")

    def _processor(self) -> str:
        return "gpu" if _is_gpu(self.instance_type) else "cpu"

    def _drop_debug_hook(self) -> bool:
        # SDK v2's Framework._validate_and_set_debugger_configs: no debugger hook with checkpoints on "distributed"
        # jobs, and PyTorch/TensorFlow always count as distributed there (their ``distribution`` is {} at least).
        return bool(
            self.checkpoint_s3_uri
            and self.checkpoint_local_path
            and self._framework_name in {"mxnet", "pytorch", "tensorflow"}
        )

    @classmethod
    def _init_params_from_description(cls, desc: dict[str, Any], model_channel_name: str | None) -> dict[str, Any]:
        """SDK v2's Framework version: entry point, code and log level from the script-mode hyperparameters, the
        rest JSON-decoded; framework and Python versions from the image tag."""
        p = super()._init_params_from_description(desc, model_channel_name)
        hps = p.pop("hyperparameters")
        decoded = {k: decode_hyperparameter(v) for k, v in hps.items()}
        p["entry_point"] = decoded.pop("sagemaker_program", None)
        p["source_dir"] = decoded.pop("sagemaker_submit_directory", None)
        if "sagemaker_container_log_level" in decoded:
            p["container_log_level"] = decoded.pop("sagemaker_container_log_level")
        for k in SCRIPT_MODE_KEYS:
            decoded.pop(k, None)
        p["hyperparameters"] = {k: v for k, v in decoded.items() if not k.startswith("sagemaker_")}
        p.update(cls._versions_from_image(p.get("image_uri") or ""))
        return p

    @classmethod
    def _versions_from_image(cls, image: str) -> dict[str, Any]:
        return {}
