"""TuningSpec: the canonical tuning spec, which IS the SageMaker ``CreateHyperParameterTuningJob`` request.

Validation has two layers (DESIGN.md): botocore's service model (types, required members, min/max, enums, patterns),
then AMT's service-side rules that botocore does not know (AMT_REFERENCE.md sections 1 and 2).

The models of the request's parts, one per concept, are public modules other packages import:
``amtlocal.spec.definitions`` (the training job definitions of a request), ``amtlocal.spec.ranges`` (a range ->
Optuna distribution and chart axis), ``amtlocal.spec.hyperparameters`` (the wire encoding of hyperparameter values),
``amtlocal.spec.uris`` (local paths and ``file://`` URIs), ``amtlocal.spec.placeholders`` (local stand-ins for cloud
fields, local ARNs and region) and ``amtlocal.spec.summaries`` (a training job summary's objective and Optuna trial).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amtlocal.exceptions import AmtValidationError
from amtlocal.spec._io import read_request, write_request
from amtlocal.spec._paths import delete_path, get_path, join_path, set_path, split_path
from amtlocal.spec.definitions import definitions_with_paths, objective_of

__all__ = [
    "TuningSpec",
    "load_spec",
    "read_request",
    "validate",
    "validation_errors",
    "model_errors",
    "training_job_errors",
    "objective_of",
    "definitions_with_paths",
    "get_path",
    "set_path",
    "delete_path",
    "split_path",
    "join_path",
]


def model_errors(
    request: dict[str, Any], local_uris: bool = True, operation: str = "CreateHyperParameterTuningJob"
) -> list[AmtValidationError]:
    """The first layer only: every violation of botocore's service model (types, required members, min/max, enums,
    patterns), in request order; an empty list means the request fits the model.

    Args:
        local_uris: accept a local ``file://`` URI or plain path where a local spec may have one in place of an S3
            URI; False checks a request about to be sent to SageMaker (every S3 pattern enforced).
        operation: the SageMaker operation ``request`` is the input of (its input shape in botocore's model).
    """
    from amtlocal.spec._model import model_errors as _model_errors

    return _model_errors(request, local_uris=local_uris, operation=operation)


def training_job_errors(request: dict[str, Any]) -> list[AmtValidationError]:
    """Every problem with a CreateTrainingJob ``request``: botocore's model of its input (local paths allowed where a
    tuning job's definition allows them), then the rule a tuning job's definitions share with it (each
    ``AlgorithmSpecification.MetricDefinitions[i].Regex`` compiles, as the local scraper needs;
    ``StoppingCondition.MaxRuntimeInSeconds`` is at most 28 days); empty when valid."""
    from amtlocal.spec._rules import max_runtime_errors, metric_regex_errors

    errors = model_errors(request, operation="CreateTrainingJob")
    if errors:
        return errors
    spec, stopping = request.get("AlgorithmSpecification"), request.get("StoppingCondition")
    errors += metric_regex_errors(spec if isinstance(spec, dict) else {}, "AlgorithmSpecification")
    errors += max_runtime_errors(stopping if isinstance(stopping, dict) else {}, "StoppingCondition")
    return errors


def validation_errors(request: dict[str, Any]) -> list[AmtValidationError]:
    """Every problem with ``request``, model layer first; an empty list means valid.

    Returns:
        list of :class:`AmtValidationError`, each naming a dotted field path and the rule broken.
    """
    from amtlocal.spec._model import model_errors
    from amtlocal.spec._rules import rule_errors

    errors = model_errors(request)
    if errors:  # AMT rules assume well-typed input
        return errors
    return rule_errors(request)


def validate(request: dict[str, Any]) -> None:
    """Raise the first :class:`AmtValidationError` of ``request`` (AWS: ``ValidationException``), else return None."""
    errors = validation_errors(request)
    if errors:
        first = errors[0]
        if len(errors) > 1:
            more = "; ".join(str(e) for e in errors[1:4])
            raise AmtValidationError(first.field, f"{first.rule} (also: {more})")
        raise first


@dataclass
class TuningSpec:
    """A CreateHyperParameterTuningJob request plus the folder that relative ``file://`` URIs in it are relative to.

    Attributes:
        request: the request dict exactly as ``boto3.client("sagemaker").create_hyper_parameter_tuning_job`` takes it.
        base_dir: folder for relative local paths (the spec file's folder, or the working directory).
    """

    request: dict[str, Any]
    base_dir: Path = field(default_factory=Path.cwd)

    @property
    def name(self) -> str:
        """``HyperParameterTuningJobName``."""
        return self.request["HyperParameterTuningJobName"]

    @property
    def config(self) -> dict[str, Any]:
        """``HyperParameterTuningJobConfig``."""
        return self.request["HyperParameterTuningJobConfig"]

    def definitions(self) -> list[dict[str, Any]]:
        """The training job definitions: ``[TrainingJobDefinition]`` or ``TrainingJobDefinitions``."""
        return [d for _, d in definitions_with_paths(self.request)]

    def validate(self) -> TuningSpec:
        """Validate in place (see :func:`validate`); returns self. Raises AmtValidationError."""
        validate(self.request)
        return self

    def copy(self) -> TuningSpec:
        return TuningSpec(copy.deepcopy(self.request), self.base_dir)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the request as JSON or YAML (by suffix)."""
        return write_request(self.request, path)


def load_spec(path: str | os.PathLike, validate_now: bool = True) -> TuningSpec:
    """Load a spec file (JSON or YAML); relative local paths in it are relative to the file's folder.

    Raises:
        AmtValidationError: unreadable file, or (with ``validate_now``) an invalid request.
    """
    spec = TuningSpec(read_request(path), Path(path).resolve().parent)
    if validate_now:
        spec.validate()
    return spec
