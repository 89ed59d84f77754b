"""Estimators with SDK v2's names and argument names: Estimator, Framework, SKLearn.

An estimator here only describes a training job: it builds the ``TrainingJobDefinition`` of the tuning request. Cloud
fields (role, instance type, output path) are carried for the sagemaker backend and ignored by the local one;
where they are omitted locally, placeholders that pass the API's validation are used (see ``LOCAL_*``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from amtlocal.api._naming import base_name_from_image
from amtlocal.spec.hyperparameters import encode_hyperparameter
from amtlocal.spec.placeholders import LOCAL_OUTPUT, LOCAL_ROLE  # only ever seen by the local backend
from amtlocal.spec.uris import to_uri

DEFAULT_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_MAX_RUN = 86400  # SDK v2's max_run default (seconds)


class TrainingInput:
    """One input channel (SDK v2 ``sagemaker.inputs.TrainingInput``); ``s3_data`` may be a local path locally."""

    def __init__(self, s3_data: str, distribution: str = "FullyReplicated", content_type: str | None = None,
                 s3_data_type: str = "S3Prefix", input_mode: str | None = None):
        self.s3_data, self.distribution, self.content_type = s3_data, distribution, content_type
        self.s3_data_type, self.input_mode = s3_data_type, input_mode


def channels_from_inputs(inputs: Any) -> list[dict[str, Any]]:
    """``fit(inputs)`` -> ``InputDataConfig``: a string is one channel named ``training`` (as in SDK v2); a dict maps
    channel names to paths, URIs or :class:`TrainingInput`.

    Raises:
        TypeError: an input of another kind.
    """
    if inputs is None:
        return []
    if isinstance(inputs, (str, os.PathLike, TrainingInput)):
        inputs = {"training": inputs}
    if not isinstance(inputs, dict):
        raise TypeError("inputs must be a path/URI, a TrainingInput, or a dict of channel name -> path/URI/TrainingInput")
    out = []
    for name, value in inputs.items():
        ti = value if isinstance(value, TrainingInput) else TrainingInput(str(value))
        ch: dict[str, Any] = {"ChannelName": name, "DataSource": {"S3DataSource": {
            "S3DataType": ti.s3_data_type, "S3Uri": to_uri(ti.s3_data), "S3DataDistributionType": ti.distribution}}}
        if ti.content_type:
            ch["ContentType"] = ti.content_type
        if ti.input_mode:
            ch["InputMode"] = ti.input_mode
        out.append(ch)
    return out


class Estimator:
    """A training job description (SDK v2 ``sagemaker.estimator.Estimator``): hyperparameters sent as ``str(v)``.

    Args mirror SDK v2 (``image_uri, role, instance_count, instance_type, hyperparameters, metric_definitions,
    input_mode, output_path, max_run, base_job_name, environment, volume_size``); ``entry_point`` and
    ``source_dir`` let a plain Estimator run a local script too.
    """

    _framework = False

    def __init__(self, image_uri: str | None = None, role: str | None = None, instance_count: int = 1,
                 instance_type: str | None = None, hyperparameters: dict[str, Any] | None = None,
                 metric_definitions: list[dict[str, str]] | None = None, input_mode: str = "File",
                 output_path: str | None = None, max_run: int = DEFAULT_MAX_RUN, base_job_name: str | None = None,
                 environment: dict[str, str] | None = None, volume_size: int = 30, entry_point: str | None = None,
                 source_dir: str | None = None, sagemaker_session: Any = None, tags: list | None = None,
                 code_location: str | None = None, dependencies: list | None = None):
        self.image_uri, self.role = image_uri, role
        self.instance_count, self.instance_type = instance_count, instance_type or DEFAULT_INSTANCE_TYPE
        self._hyperparameters = dict(hyperparameters or {})
        self.metric_definitions = list(metric_definitions or [])
        self.input_mode, self.output_path, self.max_run = input_mode, output_path, max_run
        self.base_job_name, self.environment, self.volume_size = base_job_name, dict(environment or {}), volume_size
        self.entry_point, self.source_dir = entry_point, source_dir
        self.sagemaker_session, self.tags, self.code_location, self.dependencies = sagemaker_session, tags, code_location, dependencies

    def set_hyperparameters(self, **kwargs: Any) -> None:
        self._hyperparameters.update(kwargs)

    def hyperparameters(self) -> dict[str, str]:
        """The static hyperparameters as sent (plain Estimator: ``str(value)``)."""
        return {str(k): str(v) for k, v in self._hyperparameters.items()}

    def training_image(self) -> str:
        """``image_uri`` (required for a plain Estimator)."""
        if not self.image_uri:
            raise ValueError("image_uri is required for an Estimator (or use SKLearn/Framework with entry_point)")
        return self.image_uri

    def default_base_name(self) -> str:
        return self.base_job_name or base_name_from_image(self.image_uri)

    def code_hyperparameters(self) -> dict[str, str]:
        """``sagemaker_program`` / ``sagemaker_submit_directory`` for a local entry point, JSON-encoded as the SDK does."""
        if not self.entry_point:
            return {}
        if self.source_dir:
            program, code = self.entry_point, to_uri(self.source_dir)
        else:  # SDK v2 uploads only the entry point; locally its folder is the code folder
            ep = Path(self.entry_point).expanduser().resolve()
            program, code = ep.name, to_uri(ep.parent)
        return {"sagemaker_program": encode_hyperparameter(program), "sagemaker_submit_directory": encode_hyperparameter(code),
                "sagemaker_container_log_level": "20"}

    def training_job_definition(self, inputs: Any, static_hyperparameters: dict[str, str],
                                metric_definitions: list[dict[str, str]]) -> dict[str, Any]:
        """The ``TrainingJobDefinition`` of a tuning request (without ranges and objective)."""
        d: dict[str, Any] = {
            "StaticHyperParameters": static_hyperparameters,
            "AlgorithmSpecification": {"TrainingImage": self.training_image(), "TrainingInputMode": self.input_mode,
                                       "MetricDefinitions": list(metric_definitions)},
            "RoleArn": self.role or os.environ.get("AMTLOCAL_ROLE_ARN") or LOCAL_ROLE,
            "OutputDataConfig": {"S3OutputPath": self.output_path or LOCAL_OUTPUT},
            "HyperParameterTuningResourceConfig": {"InstanceType": self.instance_type, "InstanceCount": self.instance_count,
                                                   "VolumeSizeInGB": self.volume_size},
            "StoppingCondition": {"MaxRuntimeInSeconds": int(self.max_run)},
        }
        channels = channels_from_inputs(inputs)
        if channels:
            d["InputDataConfig"] = channels
        if self.environment:
            d["Environment"] = dict(self.environment)
        return d


class Framework(Estimator):
    """A script-mode estimator (SDK v2 ``sagemaker.estimator.Framework``): ``entry_point`` (+ ``source_dir``) runs
    in a framework container; hyperparameters and categorical values are sent JSON-encoded."""

    _framework = True
    _framework_name = "framework"

    def __init__(self, entry_point: str, source_dir: str | None = None, hyperparameters: dict[str, Any] | None = None,
                 framework_version: str | None = None, py_version: str | None = "py3", **kwargs: Any):
        super().__init__(entry_point=entry_point, source_dir=source_dir, hyperparameters=hyperparameters, **kwargs)
        self.framework_version, self.py_version = framework_version, py_version

    def hyperparameters(self) -> dict[str, str]:
        """JSON-encoded values (``10`` -> ``"10"``, ``"gini"`` -> ``"\\"gini\\""``, ``True`` -> ``"true"``)."""
        return {str(k): encode_hyperparameter(v) for k, v in self._hyperparameters.items()}

    def training_image(self) -> str:
        if self.image_uri:
            return self.image_uri
        return self.local_image_uri()

    def local_image_uri(self) -> str:
        """The image as ``<repository>:<tag>`` without a registry; the sagemaker backend resolves the full ECR URI."""
        raise ValueError("image_uri is required for this Framework estimator")


class SKLearn(Framework):
    """SDK v2 ``sagemaker.sklearn.SKLearn``: a scikit-learn script-mode training job.

    Raises:
        AttributeError: ``instance_count`` other than 1 (the SDK's rule: scikit-learn trains on one instance).
    """

    _framework_name = "sklearn"
    _module = "sagemaker.sklearn.estimator"

    def __init__(self, entry_point: str, framework_version: str | None = None, py_version: str = "py3",
                 source_dir: str | None = None, hyperparameters: dict[str, Any] | None = None,
                 image_uri: str | None = None, **kwargs: Any):
        if kwargs.get("instance_count", 1) != 1:
            raise AttributeError("Scikit-Learn does not support distributed training. Please remove the 'instance_count' argument or set 'instance_count=1' when initializing SKLearn.")
        if not framework_version and not image_uri:
            raise ValueError("framework_version or image_uri must be set for SKLearn (e.g. framework_version='1.2-1')")
        super().__init__(entry_point, source_dir, hyperparameters, framework_version=framework_version,
                         py_version=py_version, image_uri=image_uri, **kwargs)

    def local_image_uri(self) -> str:
        return f"sagemaker-scikit-learn:{self.framework_version}-cpu-{self.py_version or 'py3'}"

    def default_base_name(self) -> str:
        return self.base_job_name or "sagemaker-scikit-learn"
