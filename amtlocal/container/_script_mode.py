"""The script-mode container contract (AMT_REFERENCE.md section 3), reproduced in a local folder.

A training job's folder mirrors ``/opt/ml``::

    <job_dir>/code/                        the unpacked sagemaker_submit_directory (working directory)
    <job_dir>/model/                       SM_MODEL_DIR
    <job_dir>/input/config/{hyperparameters,inputdataconfig,resourceconfig}.json
    <job_dir>/input/data/<channel>/        SM_CHANNEL_<CHANNEL> (a link to the local data)
    <job_dir>/output/{data,intermediate}/  SM_OUTPUT_DATA_DIR, SM_OUTPUT_INTERMEDIATE_DIR
    <job_dir>/output/{success,failure}     as the training toolkit writes them
    <job_dir>/logs/output.log              stdout and stderr lines in order (the CloudWatch log stream)
    <job_dir>/logs/metrics.jsonl           every scraped metric value with its time (the CloudWatch metrics)

Hyperparameters are decoded as sagemaker-training-toolkit does (``json.loads``, falling back to the raw string), and
argv / ``SM_*`` are built as its ``mapping.to_cmd_args`` and ``environment.to_env_vars`` build them.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from amtlocal.container import _carry as carry
from amtlocal.exceptions import AmtValidationError
from amtlocal.spec.hyperparameters import decode_hyperparameter
from amtlocal.spec.placeholders import region, training_job_arn

from ._locations import check_checkpoint_location, check_output_location, code_path, input_path, is_s3
from ._output import checkpoint_local_dir

# params.SAGEMAKER_HYPERPARAMETERS of the toolkit: never reach the user script.
RESERVED_HYPERPARAMETERS = frozenset(
    {
        "sagemaker_program",
        "sagemaker_submit_directory",
        "sagemaker_enable_cloudwatch_metrics",
        "sagemaker_region",
        "sagemaker_container_log_level",
        "sagemaker_job_name",
        "default_user_module_name",
        "_tuning_objective_metric",
        "sagemaker_s3_output",
    }
)

# Credentials of the tuner's own AWS session: a SageMaker container never sees them (it gets the job's role).
SCRUBBED_ENVIRONMENT = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
    }
)


def _arg_value(value: Any) -> str:
    if isinstance(value, dict):  # toolkit: dicts become a=1,b=2 (sorted)
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)


def to_cmd_args(user_hyperparameters: dict[str, Any]) -> list[str]:
    """argv tail as ``sagemaker_training.mapping.to_cmd_args``: sorted keys, ``--key value``, ``-k value`` for 1 char."""
    args: list[str] = []
    for key in sorted(user_hyperparameters):
        args.append(f"-{key}" if len(key) == 1 else f"--{key}")
        args.append(_arg_value(user_hyperparameters[key]))
    return args


#: Framework hyperparameters that make the toolkit put the current instance group into distribution_instance_groups
#: (environment.py ``get_distribution_instance_groups_from_resource_config``).
_DISTRIBUTION_FLAGS = (
    "sagemaker_mpi_enabled",
    "sagemaker_parameter_server_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_pytorch_ddp_enabled",
    "sagemaker_pytorch_xla_multi_worker_enabled",
    "sagemaker_multi_worker_mirrored_strategy_enabled",
    "sagemaker_torch_distributed_enabled",
)


def instance_group_values(resource_config: dict[str, Any], framework: dict[str, Any]) -> dict[str, Any]:
    """The instance-group part of the toolkit's Environment (sagemaker-training-toolkit ``environment.py``
    ``Environment.__init__`` and ``to_env_vars``), read from ``resourceconfig.json`` as the toolkit reads it.

    Args:
        resource_config: the content of ``resourceconfig.json`` (``current_group_name``, ``instance_groups``, ``hosts``).
        framework: the decoded ``sagemaker_*`` hyperparameters (``sagemaker_distribution_instance_groups`` and the
            distribution flags are read).

    Returns:
        ``{current_instance_group, current_instance_group_hosts, instance_groups, instance_groups_dict,
        distribution_instance_groups, distribution_hosts, is_hetero}``; on one homogeneous instance
        ``homogeneousCluster``, ``["algo-1"]``, ``["homogeneousCluster"]``, ``{"homogeneousCluster": {...}}``, ``[]``
        (``["homogeneousCluster"]`` when a distribution flag is on), ``[]`` (``["algo-1"]``), ``False``.
    """
    current = resource_config.get("current_group_name", "homogeneousCluster")
    groups = resource_config.get("instance_groups", [])
    if "sagemaker_distribution_instance_groups" in framework:
        distribution = framework["sagemaker_distribution_instance_groups"]
    else:
        distribution = [current] if any(framework.get(flag, False) for flag in _DISTRIBUTION_FLAGS) else []
    return {
        "current_instance_group": current,
        "current_instance_group_hosts": next((g["hosts"] for g in groups if g["instance_group_name"] == current), []),
        "instance_groups": [g["instance_group_name"] for g in groups],
        "instance_groups_dict": {g["instance_group_name"]: g for g in groups},
        "distribution_instance_groups": distribution,
        "distribution_hosts": [h for g in groups if g["instance_group_name"] in distribution for h in g["hosts"]],
        "is_hetero": len(groups) > 1,
    }


def _env_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def split_hyperparameters(wire: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Decoded (user, framework) hyperparameters: reserved and ``sagemaker_*`` keys go to the framework side."""
    user: dict[str, Any] = {}
    framework: dict[str, Any] = {}
    for key, raw in wire.items():
        value = decode_hyperparameter(raw)
        if key in RESERVED_HYPERPARAMETERS:
            continue
        if key.startswith("sagemaker_"):
            framework[key] = value
        else:
            user[key] = value
    return user, framework


@dataclass
class ScriptModeJob:
    """Everything needed to start one training job of a definition, resolved before any job starts.

    Attributes:
        code_source: local folder or ``.tar.gz`` holding the entry point (sagemaker_submit_directory).
        program: entry point path relative to the code folder (sagemaker_program).
        channels: channel name -> local file or folder (InputDataConfig).
        input_data_config: the ``inputdataconfig.json`` content.
        instance_type: ResourceConfig InstanceType (reported only).
        environment: the definition's ``Environment`` map.
        output_path: ``OutputDataConfig.S3OutputPath`` when it is written (a folder, a ``file://`` URI, or an
            ``s3://`` URI in a run that uses S3: the job's ``model.tar.gz`` is packed under it), else None.
        checkpoint_config: ``CheckpointConfig`` (``S3Uri`` a local folder or ``s3://``), or None.
        base_dir: folder the definition's relative paths are relative to.
        command: for a built-in algorithm (``amtlocal.algorithms``, e.g. the XGBoost image in algorithm mode), the
            algorithm's entry point argv; it reads ``input/config`` itself, so no ``--key value`` arguments follow.
            ``program`` is then ``""`` and ``code_source`` None (an empty ``code/``, as in the algorithm's container).
    """

    code_source: Path | None
    program: str
    channels: dict[str, Path]
    input_data_config: dict[str, dict]
    instance_type: str
    environment: dict[str, str]
    output_path: str | None = None
    checkpoint_config: dict | None = None
    base_dir: Path = field(default_factory=Path)
    command: list[str] | None = None
    #: True when the job must run inside its ``/opt/ml`` namespace whatever its code names (a container entry point).
    needs_optml: ClassVar[bool] = False

    @classmethod
    def from_definition(
        cls, definition: dict, base_dir: Path, path: str = "TrainingJobDefinition", home: Path | None = None
    ) -> ScriptModeJob:
        """Resolve a training job definition for local runs; ``s3://`` code and channels are fetched into the S3
        cache of ``home`` (amtlocal's home; default ``$AMTLOCAL_HOME``) now, once for all its training jobs.

        A definition whose ``AlgorithmSpecification`` names a ``ContainerEntrypoint`` (SDK v3's ModelTrainer) gives
        a :class:`~amtlocal.container._entrypoint.ContainerEntrypointJob` instead.

        Raises:
            AmtValidationError: no ``sagemaker_program`` / ``sagemaker_submit_directory``, missing local paths,
                S3 locations that cannot be read (or an output bucket that cannot be written), naming the field.
        """
        from amtlocal.algorithms import builtin_algorithm
        from amtlocal.container._entrypoint import ContainerEntrypointJob, has_container_entrypoint

        if cls is ScriptModeJob and has_container_entrypoint(definition):
            return ContainerEntrypointJob.from_definition(definition, base_dir, path, home)

        static = definition.get("StaticHyperParameters") or {}
        hp_path = f"{path}.StaticHyperParameters"
        algorithm = builtin_algorithm(definition)
        rc = definition.get("ResourceConfig") or definition.get("HyperParameterTuningResourceConfig") or {}
        instance_type = rc.get("InstanceType", "ml.m5.large")
        environment = dict(definition.get("Environment") or {})
        if algorithm is not None:  # the built-in algorithm's container: no user code, its own entry point
            carry.check_hyperparameters(definition, path)
            carry.check_environment(definition, path)
            channels, idc = _channels(definition, base_dir, path, home)
            output, checkpoint = _output_and_checkpoint(definition, base_dir, path)
            return cls(
                None,
                "",
                channels,
                idc,
                instance_type,
                environment,
                output,
                checkpoint,
                Path(base_dir),
                command=algorithm.command(),
            )
        if "sagemaker_program" not in static:
            raise AmtValidationError(
                f"{hp_path}.sagemaker_program",
                "the local backend needs the entry point (sagemaker_program), as a script-mode estimator sets it",
            )
        if "sagemaker_submit_directory" not in static:
            raise AmtValidationError(
                f"{hp_path}.sagemaker_submit_directory",
                "the local backend needs the code location (sagemaker_submit_directory)",
            )
        program = str(decode_hyperparameter(static["sagemaker_program"]))
        code_uri = str(decode_hyperparameter(static["sagemaker_submit_directory"]))
        code = code_path(code_uri, base_dir, f"{hp_path}.sagemaker_submit_directory", home)
        # What a local process can carry (issue 16): checked once here, before any training job runs.
        carry.check_program(program, code, f"{hp_path}.sagemaker_program")
        carry.check_code_links(code, f"{hp_path}.sagemaker_submit_directory")
        carry.check_hyperparameters(definition, path)
        carry.check_environment(definition, path)
        if code.is_dir() and not (code / program).is_file():
            where = code_uri if is_s3(code_uri) else repr(str(code))  # not the cache's folder: the user's archive
            raise AmtValidationError(f"{hp_path}.sagemaker_program", f"entry point {program!r} not found in {where}")
        channels, idc = _channels(definition, base_dir, path, home)  # reads before writes: the first S3 error
        output, checkpoint = _output_and_checkpoint(definition, base_dir, path)
        return cls(code, program, channels, idc, instance_type, environment, output, checkpoint, Path(base_dir))

    def base_environment(self) -> dict[str, str]:
        """What every training job of this definition gets before its own ``SM_*`` values: this process's
        environment without the tuner's AWS credentials (:data:`SCRUBBED_ENVIRONMENT`), plus the definition's
        ``Environment``. Also the fork server's own environment, so modules it imports never see credentials."""
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENVIRONMENT}
        env.update(self.environment)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def prepare(
        self, job_dir: Path, job_name: str, wire_hyperparameters: dict[str, str]
    ) -> tuple[list[str], dict[str, str], Path]:
        """Lay out ``job_dir`` as /opt/ml and build the child's argv, environment and working folder.

        Args:
            job_dir: empty or new folder for this training job.
            job_name: the TrainingJobName.
            wire_hyperparameters: the hyperparameters map as AMT sends it (all strings), static + tuned +
                ``_tuning_objective_metric``.

        Returns:
            ``(argv, env, cwd)``; argv is a list (never a shell string).
        """
        code_dir = job_dir / "code"
        model_dir, out_dir = job_dir / "model", job_dir / "output"
        config_dir, data_dir = job_dir / "input" / "config", job_dir / "input" / "data"
        for d in (model_dir, out_dir / "data", out_dir / "intermediate", config_dir, data_dir, job_dir / "logs"):
            d.mkdir(parents=True, exist_ok=True)
        if self.code_source is None:  # a built-in algorithm: its container has no user code
            code_dir.mkdir(parents=True, exist_ok=True)
        elif not code_dir.exists() or not any(code_dir.iterdir()):  # toolkit: unpack only into an empty code/
            if self.code_source.is_dir():
                # Links followed, as SDK v2's packer does; a link to a folder outside is linked, not copied per job.
                skip, outside = (
                    shutil.ignore_patterns("__pycache__", ".git"),
                    carry.copy_ignoring_outside_links(self.code_source),
                )
                shutil.copytree(
                    self.code_source,
                    code_dir,
                    symlinks=False,
                    dirs_exist_ok=True,
                    ignore=lambda folder, names: set(skip(folder, names)) | outside(folder, names),
                )
                carry.link_outside_folders(self.code_source, code_dir)
            else:
                code_dir.mkdir(parents=True, exist_ok=True)
                with tarfile.open(self.code_source) as tar:
                    tar.extractall(code_dir, filter="data")
        channel_dirs: dict[str, str] = {}
        for name, src in self.channels.items():
            ch_dir = data_dir / name
            if not ch_dir.exists():
                if src.is_dir():
                    ch_dir.symlink_to(src, target_is_directory=True)
                else:  # an S3 object key: its one file lands in the channel folder
                    ch_dir.mkdir()
                    (ch_dir / src.name).symlink_to(src)
            channel_dirs[name] = str(ch_dir)
        resource_config = {
            "current_host": "algo-1",
            "current_instance_type": self.instance_type,
            "current_group_name": "homogeneousCluster",
            "hosts": ["algo-1"],
            "instance_groups": [
                {"instance_group_name": "homogeneousCluster", "instance_type": self.instance_type, "hosts": ["algo-1"]}
            ],
            "network_interface_name": "eth0",
        }
        _write_json(config_dir / "hyperparameters.json", wire_hyperparameters)
        _write_json(config_dir / "inputdataconfig.json", self.input_data_config)
        _write_json(config_dir / "resourceconfig.json", resource_config)

        user, framework = split_hyperparameters(wire_hyperparameters)
        args = to_cmd_args(user)
        if self.command is not None:  # algorithm mode: the algorithm reads input/config/hyperparameters.json
            argv = list(self.command)
        elif self.program.endswith(".py"):
            argv = [sys.executable, self.program, *args]
        elif self.program.endswith(".sh"):
            argv = ["/bin/sh", self.program, *args]
        else:
            argv = [str(code_dir / self.program), *args]
        module_name = self.program[:-3] if self.program.endswith(".py") else self.program
        ncpu = os.cpu_count() or 1
        groups = instance_group_values(resource_config, framework)
        training_env = {  # the toolkit's dict(Environment()): one key per property of its Environment
            **groups,
            "is_modelparallel_enabled": None,  # SM_HP_MP_PARAMETERS unset: its ``mp and mp != "{}"`` is None
            "is_smddpmprun_installed": False,
            "is_smddprun_installed": False,
            "num_neurons": 0,
            "topology": [],
            "additional_framework_parameters": framework,
            "channel_input_dirs": channel_dirs,
            "current_host": "algo-1",
            "current_instance_type": self.instance_type,
            "framework_module": "sagemaker_sklearn_container.training:main",
            "hosts": ["algo-1"],
            "hyperparameters": user,
            "input_config_dir": str(config_dir),
            "input_data_config": self.input_data_config,
            "input_dir": str(job_dir / "input"),
            "is_master": True,
            "job_name": job_name,
            "log_level": int(
                decode_hyperparameter(wire_hyperparameters.get("sagemaker_container_log_level", "20")) or 20
            ),
            "master_hostname": "algo-1",
            "model_dir": str(model_dir),
            "module_dir": str(code_dir),
            "module_name": module_name,
            "network_interface_name": "eth0",
            "num_cpus": ncpu,
            "num_gpus": 0,
            "output_data_dir": str(out_dir / "data"),
            "output_dir": str(out_dir),
            "output_intermediate_dir": str(out_dir / "intermediate"),
            "resource_config": resource_config,
            "user_entry_point": self.program,
        }
        sm = {
            "SM_HOSTS": ["algo-1"],
            "SM_NETWORK_INTERFACE_NAME": "eth0",
            "SM_HPS": user,
            "SM_USER_ENTRY_POINT": self.program,
            "SM_FRAMEWORK_PARAMS": framework,
            "SM_RESOURCE_CONFIG": resource_config,
            "SM_INPUT_DATA_CONFIG": self.input_data_config,
            "SM_OUTPUT_DATA_DIR": str(out_dir / "data"),
            "SM_CHANNELS": sorted(self.channels),
            "SM_CURRENT_HOST": "algo-1",
            "SM_CURRENT_INSTANCE_TYPE": self.instance_type,
            "SM_MODULE_NAME": module_name,
            "SM_LOG_LEVEL": training_env["log_level"],
            "SM_FRAMEWORK_MODULE": training_env["framework_module"],
            "SM_INPUT_DIR": str(job_dir / "input"),
            "SM_INPUT_CONFIG_DIR": str(config_dir),
            "SM_OUTPUT_DIR": str(out_dir),
            "SM_NUM_CPUS": ncpu,
            "SM_NUM_GPUS": 0,
            "SM_NUM_NEURONS": 0,
            "SM_MODEL_DIR": str(model_dir),
            "SM_MODULE_DIR": str(code_dir),
            "SM_TRAINING_ENV": training_env,
            "SM_USER_ARGS": args,
            "SM_OUTPUT_INTERMEDIATE_DIR": str(out_dir / "intermediate"),
            "SM_IS_MASTER": True,
            "SM_MASTER_HOSTNAME": "algo-1",
            "SM_CURRENT_INSTANCE_GROUP": groups["current_instance_group"],
            "SM_CURRENT_INSTANCE_GROUP_HOSTS": groups["current_instance_group_hosts"],
            "SM_INSTANCE_GROUPS": groups["instance_groups"],
            "SM_INSTANCE_GROUPS_DICT": groups["instance_groups_dict"],
            "SM_DISTRIBUTION_INSTANCE_GROUPS": groups["distribution_instance_groups"],
            "SM_IS_HETERO": groups["is_hetero"],
        }
        for name, d in channel_dirs.items():
            sm[f"SM_CHANNEL_{name.upper()}"] = d
        for key, value in user.items():
            sm[f"SM_HP_{key.upper()}"] = value
        env = self.base_environment()
        env.update({k: _env_value(v) for k, v in sm.items()})
        env.update(self.environment)
        env["TRAINING_JOB_NAME"] = job_name
        env["SAGEMAKER_JOB_NAME"] = job_name
        env["TRAINING_JOB_ARN"] = training_job_arn(job_name)
        env["SAGEMAKER_REGION"] = region()
        env["SAGEMAKER_BASE_DIR"] = str(job_dir)
        # Locally stdout is a pipe: without this Python block-buffers it and metrics arrive late (pruning needs them live).
        env["PYTHONUNBUFFERED"] = "1"
        return argv, env, code_dir


def _channels(
    definition: dict, base_dir: Path, path: str, home: Path | None = None
) -> tuple[dict[str, Path], dict[str, dict]]:
    """``(channel name -> local file or folder, inputdataconfig.json content)`` of a definition's InputDataConfig.

    An ``s3://`` channel is fetched into the S3 cache (its S3DataType: S3Prefix or ManifestFile). On one host
    ``S3DataDistributionType`` changes nothing: ShardedByS3Key gives the only host every object, as FullyReplicated.

    Raises:
        AmtValidationError: a channel that is not an S3DataSource, or whose data cannot be read.
    """
    channels: dict[str, Path] = {}
    idc: dict[str, dict] = {}
    for i, ch in enumerate(definition.get("InputDataConfig") or []):
        name = ch["ChannelName"]
        carry.check_channel_name(name, f"{path}.InputDataConfig[{i}].ChannelName")
        s3 = (ch.get("DataSource") or {}).get("S3DataSource") or {}
        if "S3Uri" not in s3:
            raise AmtValidationError(
                f"{path}.InputDataConfig[{i}].DataSource", "the local backend supports S3DataSource channels only"
            )
        channels[name] = input_path(
            s3["S3Uri"],
            base_dir,
            f"{path}.InputDataConfig[{i}].DataSource.S3DataSource.S3Uri",
            home,
            s3.get("S3DataType") or "S3Prefix",
        )
        entry = {
            "TrainingInputMode": ch.get("InputMode")
            or definition["AlgorithmSpecification"].get("TrainingInputMode", "File"),
            "S3DistributionType": s3.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": ch.get("RecordWrapperType", "None"),
        }
        if ch.get("ContentType"):
            entry["ContentType"] = ch["ContentType"]
        idc[name] = entry
    return channels, idc


def _output_and_checkpoint(definition: dict, base_dir: Path, path: str) -> tuple[str | None, dict | None]:
    """The definition's output path as it is written (None for an ``s3://`` one in a run that uses no S3: nothing
    written, so a spec for both backends still runs offline; see ``_locations.output_goes_to_s3``) and its
    CheckpointConfig, checked.

    Raises:
        AmtValidationError: an output or checkpoint bucket that cannot be written, a checkpoint location of another
            scheme, or a LocalPath outside /opt/ml.
    """
    output = check_output_location(
        definition,
        (definition.get("OutputDataConfig") or {}).get("S3OutputPath") or None,
        f"{path}.OutputDataConfig.S3OutputPath",
    )
    if output is not None and "://" in output and not output.startswith(("file://", "s3://")):
        output = None
    checkpoint = definition.get("CheckpointConfig") or None
    if checkpoint is not None:
        check_checkpoint_location(checkpoint.get("S3Uri") or "", base_dir, f"{path}.CheckpointConfig.S3Uri")
        try:
            checkpoint_local_dir(base_dir, checkpoint.get("LocalPath"))
        except AmtValidationError as e:
            raise AmtValidationError(f"{path}.{e.field}", e.rule) from None
    return output, checkpoint


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
