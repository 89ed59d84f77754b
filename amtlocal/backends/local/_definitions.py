"""A tuning job's training job definitions, resolved for local runs (one, or up to 10 in TrainingJobDefinitions)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from amtlocal.backends.local._container import ScriptModeJob
from amtlocal.backends.local._space import Param, search_space

DEFINITION_PARAM = "TrainingJobDefinitionName"  # the Optuna parameter choosing a definition when there are several


@dataclass
class Definition:
    """One training job definition.

    Attributes:
        name: DefinitionName (None for the single ``TrainingJobDefinition`` form).
        raw: the definition dict from the request.
        space: its tunable hyperparameters (Param by hyperparameter name).
        objective: ``{"Type", "MetricName"}`` (TuningObjective, or the tuning job's objective).
        metric_definitions: AlgorithmSpecification.MetricDefinitions.
        max_runtime: StoppingCondition.MaxRuntimeInSeconds (seconds; AMT's default 1 day).
        job: the resolved local code and data (filled by :meth:`resolve`).
    """

    name: str | None
    raw: dict
    space: dict[str, Param]
    objective: dict
    metric_definitions: list[dict]
    max_runtime: float
    job: ScriptModeJob | None = None

    @property
    def static(self) -> dict[str, str]:
        return dict(self.raw.get("StaticHyperParameters") or {})

    def optuna_name(self, hp: str) -> str:
        """Optuna's parameter name: the hyperparameter name, prefixed by the definition name when there are several."""
        return f"{self.name}:{hp}" if self.name else hp

    def resolve(self, base_dir: Path, path: str) -> "Definition":
        """Resolve local code and data (raises AmtValidationError naming ``path``)."""
        self.job = ScriptModeJob.from_definition(self.raw, base_dir, path)
        return self


def definitions_of(request: dict) -> list[Definition]:
    """The definitions of a CreateHyperParameterTuningJob request, in order."""
    cfg = request["HyperParameterTuningJobConfig"]
    if request.get("TrainingJobDefinition"):
        d = request["TrainingJobDefinition"]
        raw_list = [(None, d, cfg.get("ParameterRanges") or d.get("HyperParameterRanges"), cfg.get("HyperParameterTuningJobObjective") or d.get("TuningObjective"))]
    else:
        raw_list = [(d["DefinitionName"], d, d.get("HyperParameterRanges"), d.get("TuningObjective") or cfg.get("HyperParameterTuningJobObjective"))
                    for d in request.get("TrainingJobDefinitions") or []]
    out = []
    for name, d, ranges, objective in raw_list:
        out.append(Definition(name, d, search_space(ranges), dict(objective), d["AlgorithmSpecification"].get("MetricDefinitions") or [],
                              float((d.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 86400))))
    return out


def definition_path(request: dict, index: int) -> str:
    return "TrainingJobDefinition" if request.get("TrainingJobDefinition") else f"TrainingJobDefinitions[{index}]"
