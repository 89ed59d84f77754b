"""What a built-in algorithm must provide: the narrow face the spec rules and the local runners use."""

from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True)
class AlgorithmMetric:
    """One metric a built-in algorithm emits, as AMT predefines it (no MetricDefinitions needed).

    Attributes:
        name: AMT's metric name, e.g. ``validation:auc`` (a HyperParameterTuningJobObjective ``MetricName``).
        regex: the regex AMT applies to the training log (group 1 is the value), as the algorithm defines it.
        direction: ``Maximize`` or ``Minimize`` (the objective ``Type`` that makes sense for it).
        tunable: whether AMT accepts it as a tuning objective (the container's own list of tunable metrics).
    """

    name: str
    regex: str
    direction: str
    tunable: bool = True

    def definition(self) -> dict[str, str]:
        """The metric as an ``AlgorithmSpecification.MetricDefinitions`` entry: ``{"Name", "Regex"}``."""
        return {"Name": self.name, "Regex": self.regex}


class BuiltinAlgorithm(abc.ABC):
    """A SageMaker built-in algorithm that amtlocal runs locally in place of its container.

    Contract:

    - :meth:`matches` recognises a training job's ``AlgorithmSpecification`` + static hyperparameters as a job of this
      algorithm (its image, in algorithm mode); pure string work, no import of the algorithm's library.
    - :attr:`metrics` are AMT's predefined metrics of the algorithm (name, regex, direction, tunable); a definition
      without ``MetricDefinitions`` is scraped with them.
    - :meth:`tunable_hyperparameters` names the hyperparameters AMT lets a tuning job tune.
    - :meth:`command` is the argv that runs one job in a folder laid out as ``/opt/ml`` (the runner sets ``SM_*``
      variables and the working folder as for a script-mode job; the program reads ``input/config`` itself, as the
      container does). The program writes ``output/failure`` and exits non-zero on a user error, writes its model
      into ``SM_MODEL_DIR`` as the container does, and prints its metric lines as the container's log shows them.
    """

    name: str = "base"
    aliases: dict[str, str] = {}  # other names the algorithm accepts for a hyperparameter: alias -> name

    @abc.abstractmethod
    def matches(self, algorithm_specification: dict, static_hyperparameters: dict) -> bool:
        """True when a training job with these fields runs this algorithm (algorithm mode)."""

    @property
    @abc.abstractmethod
    def metrics(self) -> tuple[AlgorithmMetric, ...]:
        """AMT's predefined metrics of the algorithm, tunable ones first."""

    @abc.abstractmethod
    def tunable_hyperparameters(self) -> frozenset[str]:
        """Names AMT accepts in a tuning job's ParameterRanges for this algorithm."""

    @abc.abstractmethod
    def command(self) -> list[str]:
        """The argv of the algorithm's entry point (a list; no shell)."""

    def metric_definitions(self) -> list[dict[str, str]]:
        """:attr:`metrics` as ``MetricDefinitions`` entries (what the local scraper applies)."""
        return [m.definition() for m in self.metrics]

    def tunable_metric_names(self) -> list[str]:
        """Names of the metrics AMT accepts as a tuning objective."""
        return [m.name for m in self.metrics if m.tunable]
