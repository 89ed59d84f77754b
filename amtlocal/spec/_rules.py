"""Validation layer two: AMT's service-side rules that botocore's service model does not know.

Each rule is a small function ``request -> iterable of AmtValidationError`` registered in :data:`RULES` with
:func:`rule`; its docstring cites the AMT_REFERENCE.md section it mirrors. Rules run in registration order, so the
first error :func:`amtlocal.spec.validate` raises is the most basic one. They assume the request already passed
layer one (``_model.model_errors``: types, required members, maxima, enums, patterns), but read it defensively, so a
malformed part is skipped rather than crashing.

Some limits are in both layers (more than 5 warm-start parents, more than 30 values in a categorical range): the
model's maximum rejects them first; the rule here keeps AMT's wording for callers that run this layer alone. Cases
only the model layer rejects (an unknown Strategy, a job name off the pattern) name the field and the rule there.

Paths name the request field (``HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0]``), the
definition as ``TrainingJobDefinition`` or ``TrainingJobDefinitions[i]``. Every rule about ranges reads them through
:func:`_range_sets`, where the local scheduler reads them, and names the member the user wrote them in
(``TrainingJobDefinition.HyperParameterRanges.IntegerParameterRanges[0]`` when the single form gives them there).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from amtlocal.algorithms import builtin_algorithm
from amtlocal.exceptions import AmtValidationError
from amtlocal.spec.definitions import definitions_with_paths, is_single, ranges_with_path
from amtlocal.spec.hyperparameters import decode_hyperparameter

__all__ = ["rule_errors", "rule", "RULES"]

Rule = Callable[[dict[str, Any]], Iterable[AmtValidationError]]
RULES: list[Rule] = []

CONFIG = "HyperParameterTuningJobConfig"
RANGE_KINDS = ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges")
MAX_TUNABLE = 30  # tunable hyperparameters, and values per categorical range (AMT_REFERENCE.md section 2, Limits)
MAX_HYPERPARAMETERS = 100  # static + tunable, counting the injected _tuning_objective_metric
MAX_TRAINING_JOBS = 750
MAX_TRAINING_JOBS_RANDOM = 10000
MAX_PARALLEL_JOBS = 100
MAX_PARENTS = 5
HYPERBAND_MAX_RESOURCE = 20000
EPOCH_HYPERPARAMETERS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")
OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"
AMT_NO_METRIC = (
    "A metric is required for this hyperparameter tuning job objective. Provide a metric in the metric definitions."
)


def rule(fn: Rule) -> Rule:
    """Register ``fn`` as an AMT rule (decorator); rules run in the order they are defined."""
    RULES.append(fn)
    return fn


def rule_errors(request: dict[str, Any]) -> list[AmtValidationError]:
    """Every AMT service-side rule ``request`` breaks, in rule order; empty when none.

    Args:
        request: a CreateHyperParameterTuningJob request that passed the model layer.

    Returns:
        list of AmtValidationError (field = dotted request path, rule = what AMT requires).
    """
    errors: list[AmtValidationError] = []
    for check in RULES:
        errors.extend(check(request))
    return errors


# --- reading the request -------------------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _config(request: dict[str, Any]) -> dict[str, Any]:
    return _dict(request.get(CONFIG))


def _strategy(request: dict[str, Any]) -> Any:
    return _config(request).get("Strategy")


def _definitions(request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``[(path, definition)]`` as :func:`amtlocal.spec.definitions.definitions_with_paths`, non-dicts read as ``{}``."""
    return [(path, _dict(d)) for path, d in definitions_with_paths(request)]


def _range_sets(request: dict[str, Any]) -> list[tuple[str, dict[str, Any], str, dict[str, Any]]]:
    """``[(ranges path, ParameterRanges, definition path, definition)]``: for each definition the ranges the local
    scheduler reads for it (:func:`amtlocal.spec.definitions.ranges_with_path`: with the single form the config's
    ``ParameterRanges``, else the definition's ``HyperParameterRanges``; with the list form the other way round),
    the path naming the member they came from. A ranges member given but read for no definition (the config's
    ``ParameterRanges`` beside each definition's own) comes first, checked without a definition (``""``, ``{}``)."""
    config = _config(request)
    sets: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
    for path, d in _definitions(request):
        ranges_path, ranges = ranges_with_path(request, path, d)
        sets.append((ranges_path, _dict(ranges), path, d))
    read = {ranges_path for ranges_path, *_ in sets}
    given = [(f"{CONFIG}.ParameterRanges", config.get("ParameterRanges"))]
    given += [(f"{path}.HyperParameterRanges", d.get("HyperParameterRanges")) for path, d in _definitions(request)]
    unread: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
        (p, _dict(r), "", {}) for p, r in given if r is not None and p not in read
    ]
    return unread + sets


def _ranges(ranges: dict[str, Any], path: str, kinds: Iterable[str] = RANGE_KINDS) -> Iterator[tuple[str, str, dict]]:
    """``(kind, path of the range, range)`` for every range of the given kinds."""
    for kind in kinds:
        for i, r in enumerate(_list(ranges.get(kind))):
            yield kind, f"{path}.{kind}[{i}]", _dict(r)


def _statics(definition: dict[str, Any]) -> dict[str, Any]:
    return _dict(definition.get("StaticHyperParameters"))


def _tunable_names(ranges: dict[str, Any], path: str) -> list[tuple[str, Any]]:
    """``[(path of the Name, name)]`` over every range list, AutoParameters included."""
    kinds = RANGE_KINDS + ("AutoParameters",)
    return [(f"{p}.Name", r.get("Name")) for _, p, r in _ranges(ranges, path, kinds)]


def _number(text: Any, integer: bool) -> int | float | None:
    """A range bound as AMT reads it: an int (Integer ranges) or a finite float (Continuous); None if unparsable."""
    try:
        value = int(str(text).strip()) if integer else float(str(text).strip())
    except ValueError:
        return None
    return value if integer or math.isfinite(value) else None


# --- training job definitions ----------------------------------------------------------------------------------------


@rule
def definitions_form(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """Exactly one of ``TrainingJobDefinition`` and ``TrainingJobDefinitions`` (section 1, Top-level fields)."""
    single, many = request.get("TrainingJobDefinition"), request.get("TrainingJobDefinitions")
    if single is not None and many is not None:
        yield AmtValidationError(
            "TrainingJobDefinitions", "give TrainingJobDefinition or TrainingJobDefinitions, not both"
        )
    elif single is None and many is None:
        yield AmtValidationError(
            "TrainingJobDefinition", "one of TrainingJobDefinition or TrainingJobDefinitions is required"
        )


@rule
def definitions_list_members(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """In the list form each definition needs ``DefinitionName``, ``TuningObjective`` and ``HyperParameterRanges``,
    and definition names are unique (section 1, Top-level fields)."""
    if is_single(request):
        return
    seen: dict[Any, str] = {}
    for path, d in _definitions(request):
        for member in ("DefinitionName", "TuningObjective", "HyperParameterRanges"):
            if d.get(member) is None:
                yield AmtValidationError(f"{path}.{member}", f"{member} is required in each of TrainingJobDefinitions")
        name = d.get("DefinitionName")
        if name is not None and name in seen:
            yield AmtValidationError(
                f"{path}.DefinitionName", f"DefinitionName must be unique ({name!r} is also {seen[name]})"
            )
        seen.setdefault(name, path)


# --- objective and metric definitions ------------------------------------------------------------------------------


@rule
def objective_given(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """With a single ``TrainingJobDefinition`` the tuning objective is ``HyperParameterTuningJobConfig
    .HyperParameterTuningJobObjective`` (section 1, Tuning configuration; the list form's ``TuningObjective`` is
    checked by :func:`definitions_list_members`)."""
    if is_single(request) and _config(request).get("HyperParameterTuningJobObjective") is None:
        yield AmtValidationError(
            f"{CONFIG}.HyperParameterTuningJobObjective",
            "HyperParameterTuningJobObjective is required with TrainingJobDefinition",
        )


@rule
def objective_in_metric_definitions(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """The objective ``MetricName`` must be the ``Name`` of one of the definition's ``AlgorithmSpecification
    .MetricDefinitions``; AMT's ``ValidationException``: "A metric is required for this hyperparameter tuning job
    objective. Provide a metric in the metric definitions." (section 2, Metrics and objective).

    Skipped for an ``AlgorithmName`` without a ``TrainingImage``: that algorithm resource defines its own metrics. With
    a built-in algorithm's image (``amtlocal.algorithms``: SageMaker's XGBoost in algorithm mode) an objective that no
    MetricDefinition names must be one of the algorithm's predefined tunable metrics (``validation:auc``...).
    """
    single = is_single(request)
    for path, d in _definitions(request):
        if single:
            objective, field = (
                _dict(_config(request).get("HyperParameterTuningJobObjective")),
                f"{CONFIG}.HyperParameterTuningJobObjective.MetricName",
            )
        else:
            objective, field = _dict(d.get("TuningObjective")), f"{path}.TuningObjective.MetricName"
        metric = objective.get("MetricName")
        spec = _dict(d.get("AlgorithmSpecification"))
        if metric is None or (spec.get("AlgorithmName") and not spec.get("TrainingImage")):
            continue
        names = [_dict(m).get("Name") for m in _list(spec.get("MetricDefinitions"))]
        algorithm = builtin_algorithm(d)
        if metric not in names and algorithm is not None:
            # A built-in algorithm predefines its metrics: no MetricDefinitions needed, but the objective must be one
            # of the metrics it accepts as an objective (section 2, Metrics and objective; docs/builtin_algorithms.md).
            allowed = algorithm.tunable_metric_names()
            if metric not in allowed:
                yield AmtValidationError(
                    field,
                    f"objective metric must be one of the {algorithm.name} algorithm's "
                    f"metrics: {', '.join(allowed)} (got {metric!r})",
                )
            continue
        if metric not in names:
            known = ", ".join(str(n) for n in names) or "none defined"
            yield AmtValidationError(
                field,
                f"objective metric must be one of the MetricDefinitions: {known} "
                f"(got {metric!r}; AMT: {AMT_NO_METRIC})",
            )


@rule
def metric_regexes_compile(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """Every ``MetricDefinitions[i].Regex`` compiles with Python ``re``, the engine that scrapes the logs locally
    (section 2, Metrics and objective: each regex is applied to stdout and stderr, group 1 is the value)."""
    for path, d in _definitions(request):
        yield from metric_regex_errors(_dict(d.get("AlgorithmSpecification")), f"{path}.AlgorithmSpecification")


def metric_regex_errors(algorithm_specification: dict[str, Any], path: str) -> Iterator[AmtValidationError]:
    """The rule of :func:`metric_regexes_compile` for one ``AlgorithmSpecification`` at request path ``path`` (a
    tuning job's definition, or a CreateTrainingJob request's own)."""
    for j, m in enumerate(_list(algorithm_specification.get("MetricDefinitions"))):
        regex = _dict(m).get("Regex")
        if not isinstance(regex, str):
            continue
        try:
            re.compile(regex)
        except re.error as e:
            yield AmtValidationError(f"{path}.MetricDefinitions[{j}].Regex", f"regex must compile: {e}")


MAX_RUNTIME_SECONDS = 28 * 24 * 3600  # StoppingCondition.MaxRuntimeInSeconds: at most 28 days (section 1)


@rule
def max_runtime_at_most_28_days(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """Each definition's ``StoppingCondition.MaxRuntimeInSeconds`` is at most 28 days (section 1, Training job
    definition; the service model gives only its minimum)."""
    for path, d in _definitions(request):
        yield from max_runtime_errors(_dict(d.get("StoppingCondition")), f"{path}.StoppingCondition")


def max_runtime_errors(stopping_condition: dict[str, Any], path: str) -> Iterator[AmtValidationError]:
    """The rule of :func:`max_runtime_at_most_28_days` for one ``StoppingCondition`` at request path ``path``."""
    value = stopping_condition.get("MaxRuntimeInSeconds")
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_RUNTIME_SECONDS:
        yield AmtValidationError(
            f"{path}.MaxRuntimeInSeconds", f"must be at most {MAX_RUNTIME_SECONDS} (28 days; got {value})"
        )


@rule
def metric_names_unique(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """Metric definition names are unique within a definition: each names one metric series (section 2, Metrics
    and objective; ``FinalMetricDataList`` holds one final value per metric)."""
    for path, d in _definitions(request):
        seen: set[Any] = set()
        for j, m in enumerate(_list(_dict(d.get("AlgorithmSpecification")).get("MetricDefinitions"))):
            name = _dict(m).get("Name")
            if name in seen:
                yield AmtValidationError(
                    f"{path}.AlgorithmSpecification.MetricDefinitions[{j}].Name",
                    f"metric definition names must be unique ({name!r} is defined twice)",
                )
            seen.add(name)


@rule
def builtin_algorithm_image(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """A built-in algorithm's image names a version SageMaker publishes (``sagemaker-xgboost:1.7-1``; the versions
    of SDK v2's image table, ``amtlocal.image_uris.supported_versions``); amtlocal runs any of them the same way
    (section 5, Image URI, read for the XGBoost image; docs/builtin_algorithms.md)."""
    from amtlocal.image_uris import parse_image, supported_versions

    for path, d in _definitions(request):
        algorithm = builtin_algorithm(d)
        if algorithm is None:
            continue
        image = parse_image(str(_dict(d.get("AlgorithmSpecification")).get("TrainingImage")))
        versions = [v for v in supported_versions(algorithm.name) if v not in ("1", "latest")]
        if image.version not in versions:
            yield AmtValidationError(
                f"{path}.AlgorithmSpecification.TrainingImage",
                f"{image.repository}:{image.tag} is not a version of SageMaker's {algorithm.name} "
                f"algorithm (one of {', '.join(versions)})",
            )


@rule
def builtin_algorithm_ranges(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """With a built-in algorithm, every tuned hyperparameter is one the algorithm declares tunable (its container's
    hyperparameter declarations; aliases such as ``learning_rate`` for ``eta`` count as the name they stand for)
    (section 1, Tuning configuration: ParameterRanges; docs/builtin_algorithms.md, Spec rules)."""
    for ranges_path, ranges, _, definition in _range_sets(request):
        algorithm = builtin_algorithm(definition)
        if algorithm is None:
            continue
        tunable = algorithm.tunable_hyperparameters()
        aliases = algorithm.aliases
        for name_path, name in _tunable_names(ranges, ranges_path):
            if name not in tunable and aliases.get(name) not in tunable:
                yield AmtValidationError(
                    name_path,
                    f"{name!r} is not a tunable hyperparameter of the {algorithm.name} "
                    f"algorithm (tunable: {', '.join(sorted(tunable))})",
                )


# --- parameter ranges ------------------------------------------------------------------------------------------------


@rule
def range_bounds_and_scaling(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """Integer and continuous ranges (section 2, Strategies and scaling):

    - ``MinValue``/``MaxValue`` parse as int (``IntegerParameterRanges``) or as a finite float (``Continuous...``);
    - ``MinValue`` <= ``MaxValue``, and for a continuous range ``MaxValue - MinValue`` is a finite number (a range
      wider than the largest float, e.g. [-1e308, 1e308], cannot be sampled: Optuna's draw overflows);
    - ``Logarithmic`` needs ``MinValue`` > 0 (Integer and Continuous);
    - ``ReverseLogarithmic`` is for continuous ranges only and needs 0 <= ``MinValue`` < ``MaxValue`` < 1.
    """
    for ranges_path, ranges, _, _ in _range_sets(request):
        for kind, path, r in _ranges(ranges, ranges_path, RANGE_KINDS[:2]):
            integer = kind == "IntegerParameterRanges"
            bounds = {}
            for bound in ("MinValue", "MaxValue"):
                bounds[bound] = _number(r.get(bound), integer)
                if bounds[bound] is None and r.get(bound) is not None:
                    want = "an integer" if integer else "a finite number"
                    yield AmtValidationError(f"{path}.{bound}", f"{bound} must be {want} (got {r.get(bound)!r})")
            lo, hi = bounds["MinValue"], bounds["MaxValue"]
            ordered = lo is None or hi is None or lo <= hi
            if not ordered:
                yield AmtValidationError(path, f"MinValue must not exceed MaxValue (got {lo} > {hi})")
            elif not integer and lo is not None and hi is not None and not math.isfinite(hi - lo):
                yield AmtValidationError(path, f"MaxValue - MinValue must be a finite number (got [{lo}, {hi}])")
            scaling = r.get("ScalingType", "Auto")
            if scaling == "Logarithmic" and lo is not None and lo <= 0:
                yield AmtValidationError(path, f"Logarithmic scaling needs MinValue > 0 (got {lo})")
            if scaling == "ReverseLogarithmic":
                if integer:
                    yield AmtValidationError(path, "ReverseLogarithmic is for continuous ranges only")
                elif lo is not None and hi is not None and ordered and not (0 <= lo < hi < 1):
                    yield AmtValidationError(
                        path, f"ReverseLogarithmic needs 0 <= MinValue < MaxValue < 1 (got [{lo}, {hi}])"
                    )


@rule
def range_names(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """A hyperparameter is tuned by at most one range, across all range lists, and is not also a static
    hyperparameter (section 1, Tuning configuration; section 2, Limits counts each hyperparameter once); no range
    is named ``_tuning_objective_metric``, the static hyperparameter AMT adds itself (section 3, Reserved keys)."""
    for ranges_path, ranges, def_path, definition in _range_sets(request):
        statics = _statics(definition)
        seen: dict[Any, str] = {}
        for name_path, name in _tunable_names(ranges, ranges_path):
            if name == OBJECTIVE_HYPERPARAMETER:
                yield AmtValidationError(
                    name_path, f"{name!r} is reserved: AMT sets it to the objective metric's name in every training job"
                )
            if name in seen:
                yield AmtValidationError(
                    name_path, f"hyperparameter {name!r} has more than one range (also {seen[name]})"
                )
            seen.setdefault(name, name_path)
            if name in statics:
                yield AmtValidationError(
                    name_path,
                    f"hyperparameter {name!r} is both tunable and static (in {def_path}.StaticHyperParameters)",
                )


@rule
def range_counts(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """At most 30 ranges across ``Integer``, ``Continuous`` and ``CategoricalParameterRanges``; at most 30 values in
    a categorical range (section 2, Limits; section 1, Tuning configuration)."""
    for ranges_path, ranges, _, _ in _range_sets(request):
        total = sum(len(_list(ranges.get(kind))) for kind in RANGE_KINDS)
        if total > MAX_TUNABLE:
            yield AmtValidationError(
                ranges_path, f"at most {MAX_TUNABLE} tunable hyperparameters across the range lists (got {total})"
            )
        for _, path, r in _ranges(ranges, ranges_path, ("CategoricalParameterRanges",)):
            count = len(_list(r.get("Values")))
            if count > MAX_TUNABLE:
                yield AmtValidationError(
                    f"{path}.Values", f"at most {MAX_TUNABLE} values per categorical hyperparameter (got {count})"
                )


@rule
def hyperparameter_total(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """Static + tunable hyperparameters, plus the ``_tuning_objective_metric`` AMT injects, are at most 100
    (section 2, Limits; Metrics and objective, Injected hyperparameter)."""
    for ranges_path, ranges, def_path, definition in _range_sets(request):
        if not def_path:
            continue
        names = set(_statics(definition)) | {n for _, n in _tunable_names(ranges, ranges_path)}
        names.add(OBJECTIVE_HYPERPARAMETER)
        if len(names) > MAX_HYPERPARAMETERS:
            yield AmtValidationError(
                f"{def_path}.StaticHyperParameters",
                f"static + tunable hyperparameters, counting the injected "
                f"{OBJECTIVE_HYPERPARAMETER}, must be at most {MAX_HYPERPARAMETERS} "
                f"(got {len(names)})",
            )


# --- strategies ------------------------------------------------------------------------------------------------------


@rule
def grid_search(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """Grid takes categorical ranges only; its job count is the product of the value counts, at most 750, and a
    given ``MaxNumberOfTrainingJobs`` must equal it (section 2, Strategies and scaling: Grid; Limits)."""
    if _strategy(request) != "Grid":
        return
    points, grid_path = 0, None
    for ranges_path, ranges, def_path, _ in _range_sets(request):
        if not def_path:
            continue  # list form: the config's ParameterRanges are not a definition's grid
        grid_path = grid_path or ranges_path
        others = [k for k in RANGE_KINDS[:2] + ("AutoParameters",) if _list(ranges.get(k))]
        categorical = _list(ranges.get("CategoricalParameterRanges"))
        if others:
            yield AmtValidationError(
                ranges_path, f"Grid search takes categorical ranges only (found {', '.join(others)})"
            )
            return
        if not categorical:
            yield AmtValidationError(ranges_path, "Grid search needs at least one categorical range")
            return
        points += math.prod(len(_list(_dict(r).get("Values"))) for r in categorical)
    if grid_path is None:
        return
    given = _dict(_config(request).get("ResourceLimits")).get("MaxNumberOfTrainingJobs")
    if points > MAX_TRAINING_JOBS:
        yield AmtValidationError(
            grid_path, f"Grid search has {points} grid points; at most {MAX_TRAINING_JOBS} training jobs per tuning job"
        )
    if given is not None and given != points:
        yield AmtValidationError(
            f"{CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs",
            f"with Grid, MaxNumberOfTrainingJobs must equal the product of the categorical value "
            f"counts ({points}) or be omitted (got {given})",
        )


@rule
def hyperband_early_stopping(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """Hyperband requires ``TrainingJobEarlyStoppingType`` ``Off`` (section 2, Strategies and scaling: Hyperband)."""
    early = _config(request).get("TrainingJobEarlyStoppingType", "Off")
    if _strategy(request) == "Hyperband" and early != "Off":
        yield AmtValidationError(
            f"{CONFIG}.TrainingJobEarlyStoppingType",
            f"Hyperband requires TrainingJobEarlyStoppingType Off (got {early!r})",
        )


@rule
def strategy_config_only_hyperband(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """``StrategyConfig`` is valid only with the Hyperband strategy (section 2, Strategies and scaling: Hyperband)."""
    strategy = _strategy(request)
    if _config(request).get("StrategyConfig") is not None and strategy != "Hyperband":
        yield AmtValidationError(
            f"{CONFIG}.StrategyConfig",
            f"StrategyConfig is only valid with the Hyperband strategy (Strategy is {strategy!r})",
        )


@rule
def hyperband_resources(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """Hyperband resources (section 2, Strategies and scaling: Hyperband): ``MaxResource`` <= 20000,
    ``MinResource`` <= ``MaxResource``; a missing ``MaxResource`` is inferred from a static hyperparameter
    ``epochs``, ``numepochs``, ``n-epochs``, ``n_epochs`` or ``num_epochs`` in every definition, else invalid."""
    if _strategy(request) != "Hyperband":
        return
    path = f"{CONFIG}.StrategyConfig.HyperbandStrategyConfig"
    hb = _dict(_dict(_config(request).get("StrategyConfig")).get("HyperbandStrategyConfig"))
    lo, hi = hb.get("MinResource"), hb.get("MaxResource")
    if hi is None:
        for def_path, d in _definitions(request):
            epochs = next((k for k in EPOCH_HYPERPARAMETERS if k in _statics(d)), None)
            if epochs is None:
                yield AmtValidationError(
                    f"{path}.MaxResource",
                    f"Hyperband needs MaxResource, or a static hyperparameter "
                    f"{', '.join(EPOCH_HYPERPARAMETERS)} in {def_path} to infer it from",
                )
            else:
                hi = _static_int(_statics(d)[epochs])
    if hi is not None and hi > HYPERBAND_MAX_RESOURCE:
        yield AmtValidationError(
            f"{path}.MaxResource", f"MaxResource must be at most {HYPERBAND_MAX_RESOURCE} (got {hi})"
        )
    if lo is not None and hi is not None and lo > hi:
        yield AmtValidationError(f"{path}.MinResource", f"MinResource must not exceed MaxResource (got {lo} > {hi})")


def _static_int(value: Any) -> int | None:
    """A static hyperparameter as the training toolkit decodes it (JSON, else the raw string), as an int or None."""
    decoded = decode_hyperparameter(value)
    try:
        return int(decoded) if not isinstance(decoded, bool) else None
    except (TypeError, ValueError):
        return None


# --- resource limits -------------------------------------------------------------------------------------------------


@rule
def resource_limits(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """``ResourceLimits`` (section 2, Limits): ``MaxNumberOfTrainingJobs`` is required unless Grid infers it and is at
    most 750 (Random: 10000, the raised quota); ``MaxParallelTrainingJobs`` is at most 100 (the raised quota)."""
    strategy = _strategy(request)
    path = f"{CONFIG}.ResourceLimits"
    limits = _dict(_config(request).get("ResourceLimits"))
    jobs, parallel = limits.get("MaxNumberOfTrainingJobs"), limits.get("MaxParallelTrainingJobs")
    cap = MAX_TRAINING_JOBS_RANDOM if strategy == "Random" else MAX_TRAINING_JOBS
    if jobs is None and strategy != "Grid":
        yield AmtValidationError(
            f"{path}.MaxNumberOfTrainingJobs", "MaxNumberOfTrainingJobs is required unless Strategy is Grid"
        )
    elif isinstance(jobs, int) and jobs > cap:
        yield AmtValidationError(
            f"{path}.MaxNumberOfTrainingJobs",
            f"at most {cap} training jobs per tuning job with Strategy {strategy} (got {jobs})",
        )
    if isinstance(parallel, int) and parallel > MAX_PARALLEL_JOBS:
        yield AmtValidationError(
            f"{path}.MaxParallelTrainingJobs", f"at most {MAX_PARALLEL_JOBS} parallel training jobs (got {parallel})"
        )


# --- warm start ------------------------------------------------------------------------------------------------------


@rule
def warm_start_parents(request: dict[str, Any]) -> Iterator[AmtValidationError]:
    """At most 5 parent tuning jobs, each named once (names compare case-insensitively, as AMT's job names do)
    (section 2, Warm start: Parents; section 1, Top-level fields)."""
    path = "WarmStartConfig.ParentHyperParameterTuningJobs"
    parents = _list(_dict(request.get("WarmStartConfig")).get("ParentHyperParameterTuningJobs"))
    if len(parents) > MAX_PARENTS:
        yield AmtValidationError(path, f"at most {MAX_PARENTS} parent tuning jobs (got {len(parents)})")
    seen: set[str] = set()
    for i, p in enumerate(parents):
        name = _dict(p).get("HyperParameterTuningJobName")
        if not isinstance(name, str):
            continue
        if name.lower() in seen:
            yield AmtValidationError(
                f"{path}[{i}].HyperParameterTuningJobName",
                f"parent tuning jobs must be unique ({name!r} is listed twice)",
            )
        seen.add(name.lower())
