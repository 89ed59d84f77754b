"""The training job definitions of a CreateHyperParameterTuningJob request, read one way everywhere.

A request has either one ``TrainingJobDefinition`` (its ranges in ``HyperParameterTuningJobConfig.ParameterRanges``
or in the definition's own ``HyperParameterRanges``, a member of botocore's shape;
its objective in ``HyperParameterTuningJobConfig.HyperParameterTuningJobObjective``) or a list
``TrainingJobDefinitions`` of up to 10 (each with its own ``DefinitionName``, ``HyperParameterRanges`` and
``TuningObjective``). AMT_REFERENCE.md section 1, "Top-level fields".
"""

from __future__ import annotations

from typing import Any

SINGLE = "TrainingJobDefinition"
MANY = "TrainingJobDefinitions"
CONFIG = "HyperParameterTuningJobConfig"


def definitions_with_paths(request: dict[str, Any]) -> list[tuple[str, Any]]:
    """``[(path, definition)]``: ``[("TrainingJobDefinition", d)]``, or ``("TrainingJobDefinitions[i]", d)`` for each
    of the list, in order; ``[]`` when neither is given (or the list is not a list). A definition is returned as the
    request holds it (the same object, not a copy), so a caller may rewrite it in place."""
    single = request.get(SINGLE)
    if single is not None:
        return [(SINGLE, single)]
    many = request.get(MANY)
    if not isinstance(many, list):
        return []
    return [(f"{MANY}[{i}]", d) for i, d in enumerate(many)]


def definitions(request: dict[str, Any]) -> list[Any]:
    """The training job definitions of ``request``, in order (see :func:`definitions_with_paths`)."""
    return [d for _, d in definitions_with_paths(request)]


def is_single(request: dict[str, Any]) -> bool:
    """True when the request uses the single ``TrainingJobDefinition`` form."""
    return request.get(SINGLE) is not None


CONFIG_RANGES = f"{CONFIG}.ParameterRanges"


def ranges_with_path(request: dict[str, Any], path: str, definition: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(ranges path, ParameterRanges)`` that apply to ``definition`` (at request path ``path``, as
    :func:`definitions_with_paths` names it): with the single form the config's ``ParameterRanges`` (else the
    definition's ``HyperParameterRanges``), with the list form the definition's ``HyperParameterRanges`` (else the
    config's). The path names the member the ranges were read from (``HyperParameterTuningJobConfig.ParameterRanges``
    or ``<path>.HyperParameterRanges``), so an error about a range names the field the user wrote. ``{}`` when
    there are none (Autotune), with the path of the member that would hold them."""
    config = (CONFIG_RANGES, (request.get(CONFIG) or {}).get("ParameterRanges"))
    own = (f"{path}.HyperParameterRanges", definition.get("HyperParameterRanges"))
    first, second = (config, own) if is_single(request) else (own, config)
    for where, ranges in (first, second):
        if ranges:
            return where, ranges
    return first[0], {}


def ranges_of(request: dict[str, Any], definition: dict[str, Any]) -> dict[str, Any]:
    """The ParameterRanges that apply to ``definition`` (see :func:`ranges_with_path`); ``{}`` when there are none."""
    return ranges_with_path(request, "", definition)[1]


def objective_of(request: dict[str, Any], definition: dict[str, Any] | None = None) -> dict[str, Any]:
    """The tuning objective ``{"Type", "MetricName"}``.

    Without ``definition``: the config's ``HyperParameterTuningJobObjective``, else the first definition's
    ``TuningObjective`` (the list form). With one: its ``TuningObjective`` for the list form, the config's objective
    for the single form (each falling back to the other). ``{}`` when neither is given (Autotune).
    """
    config = (request.get(CONFIG) or {}).get("HyperParameterTuningJobObjective")
    if definition is None:
        if config:
            return config
        return next(
            (d["TuningObjective"] for d in definitions(request) if isinstance(d, dict) and d.get("TuningObjective")), {}
        )
    own = definition.get("TuningObjective")
    first, second = (config, own) if is_single(request) else (own, config)
    return first or second or {}


def resource_config_of(tuning_rc: dict) -> dict[str, Any]:
    """``ResourceConfig`` of the training jobs of a definition that gave ``HyperParameterTuningResourceConfig``
    ``tuning_rc``: its instance type, count and volume (from the first of ``InstanceConfigs`` when it lists several,
    as a local run uses one; ``ml.m5.large``, 1 and 30 GB where it names none), and its ``VolumeKmsKeyId``."""
    first = (tuning_rc.get("InstanceConfigs") or [{}])[0]
    rc = {
        "InstanceType": tuning_rc.get("InstanceType") or first.get("InstanceType") or "ml.m5.large",
        "InstanceCount": tuning_rc.get("InstanceCount") or first.get("InstanceCount") or 1,
        "VolumeSizeInGB": tuning_rc.get("VolumeSizeInGB") or first.get("VolumeSizeInGB") or 30,
    }
    if tuning_rc.get("VolumeKmsKeyId"):
        rc["VolumeKmsKeyId"] = tuning_rc["VolumeKmsKeyId"]
    return rc


__all__ = [
    "definitions",
    "definitions_with_paths",
    "is_single",
    "objective_of",
    "ranges_of",
    "ranges_with_path",
    "resource_config_of",
]
