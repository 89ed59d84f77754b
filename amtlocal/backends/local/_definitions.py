"""A tuning job's training job definitions, resolved for local runs (one, or up to 10 in TrainingJobDefinitions)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from amtlocal.algorithms import metric_definitions_for
from amtlocal.container import ScriptModeJob, check_range_values
from amtlocal.spec.definitions import definitions_with_paths, objective_of, ranges_with_path
from amtlocal.spec.ranges import Range, search_space

DEFINITION_PARAM = "TrainingJobDefinitionName"  # the Optuna parameter choosing a definition when there are several


@dataclass
class Definition:
    """One training job definition.

    Attributes:
        name: DefinitionName (None for the single ``TrainingJobDefinition`` form).
        raw: the definition dict from the request.
        space: its tunable hyperparameters (Range by hyperparameter name).
        objective: ``{"Type", "MetricName"}`` (TuningObjective, or the tuning job's objective).
        metric_definitions: AlgorithmSpecification.MetricDefinitions, or a built-in algorithm's predefined metrics
            when the definition has none (``amtlocal.algorithms.metric_definitions_for``).
        max_runtime: StoppingCondition.MaxRuntimeInSeconds (seconds; AMT's default 1 day).
        ranges_path: the request member its ranges were read from (``HyperParameterTuningJobConfig.ParameterRanges``
            or ``<definition path>.HyperParameterRanges``), named in errors about them.
        job: the resolved local code and data (filled by :meth:`resolve`).
    """

    name: str | None
    raw: dict
    space: dict[str, Range]
    objective: dict
    metric_definitions: list[dict]
    max_runtime: float
    ranges_path: str = "HyperParameterTuningJobConfig.ParameterRanges"
    job: ScriptModeJob | None = None

    @property
    def static(self) -> dict[str, str]:
        return dict(self.raw.get("StaticHyperParameters") or {})

    def optuna_name(self, hp: str) -> str:
        """Optuna's parameter name: the hyperparameter name, prefixed by the definition name when there are several."""
        return f"{self.name}:{hp}" if self.name else hp

    def resolve(self, base_dir: Path, path: str, home: Path | None = None) -> Definition:
        """Resolve code and data (``s3://`` ones fetched into ``home``'s S3 cache; raises AmtValidationError naming
        ``path``)."""
        self.job = ScriptModeJob.from_definition(self.raw, base_dir, path, home)
        check_range_values(self.space, self.ranges_path)
        return self


def definitions_of(request: dict) -> list[Definition]:
    """The definitions of a CreateHyperParameterTuningJob request, in order (see :mod:`amtlocal.spec.definitions`)."""
    out = []
    for path, d in definitions_with_paths(request):
        name = None if path == "TrainingJobDefinition" else d["DefinitionName"]
        ranges_path, ranges = ranges_with_path(request, path, d)
        out.append(
            Definition(
                name,
                d,
                search_space(ranges),
                dict(objective_of(request, d)),
                metric_definitions_for(d),
                float((d.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 86400)),
                ranges_path,
            )
        )
    return out


def definition_path(request: dict, index: int) -> str:
    """The dotted request path of definition ``index`` (``TrainingJobDefinition`` or ``TrainingJobDefinitions[i]``)."""
    return definitions_with_paths(request)[index][0]
