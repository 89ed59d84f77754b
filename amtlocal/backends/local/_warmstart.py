"""Warm start (AMT_REFERENCE.md section 2, "Warm start"): check the parents, then seed the child study.

- IdenticalDataAndAlgorithm: each parent training job with a usable objective is added to the child's Optuna study
  as a finished trial (history, never re-run); ``OverallBestTrainingJob`` then covers parents and child.
- TransferLearning: the best training job of each parent is enqueued, so its configuration runs first in the child.

Parent values outside the child's (possibly narrowed) ranges (documented choice):
- IdenticalDataAndAlgorithm: such an evaluation is not added to the study's history (Optuna can only learn from
  points inside the search space), but it still counts for ``OverallBestTrainingJob``.
- TransferLearning: numeric values are clipped into the child's range; a categorical value the child no longer has
  is left for the sampler to choose.
"""

from __future__ import annotations

from amtlocal.backends.local._responses import best_of
from amtlocal.container import RESERVED_HYPERPARAMETERS
from amtlocal.exceptions import AmtValidationError, TuningJobNotFound
from amtlocal.lifecycle import TERMINAL_STATUSES
from amtlocal.spec.definitions import definitions, objective_of, ranges_of
from amtlocal.spec.hyperparameters import decode_hyperparameter
from amtlocal.spec.ranges import KINDS, Range
from amtlocal.spec.summaries import summary_params
from amtlocal.store import LocalStore, TuningJobRecord

_PARENTS = "WarmStartConfig.ParentHyperParameterTuningJobs"


MAX_CHANGES = 10  # tunable -> static conversions plus changed static values, against each parent


def _first_definition(request: dict) -> dict:
    """The request's first training job definition (warm start compares only that one), ``{}`` without any."""
    return (definitions(request) or [{}])[0]


def _names_and_kinds(request: dict) -> tuple[set[str], dict[str, str], dict[str, str]]:
    """(all user hyperparameter names, tunable name -> range kind, static name -> wire value) of a request."""
    static = _user_statics(request)
    kinds = {name: kind for name, (kind, _) in _tunable_ranges(request).items()}
    return set(static) | set(kinds), kinds, static


def _user_statics(request: dict) -> dict[str, str]:
    """Static hyperparameters of a request's first definition that the user set (not the SDK's ``sagemaker_*``
    keys nor the reserved ones AMT injects), name -> wire value."""
    return {
        k: v
        for k, v in (_first_definition(request).get("StaticHyperParameters") or {}).items()
        if k not in RESERVED_HYPERPARAMETERS and not k.startswith("sagemaker_")
    }


def _tunable_ranges(request: dict) -> dict[str, tuple[str, dict]]:
    """Tunable name -> (range kind, its range entry) of a request's first definition (its ranges read where the
    scheduler reads them: :func:`amtlocal.spec.definitions.ranges_of`)."""
    ranges = ranges_of(request, _first_definition(request))
    return {r["Name"]: (kind, r) for kind in KINDS for r in ranges.get(f"{kind}ParameterRanges") or []}


def _image(request: dict) -> str | None:
    """TrainingImage of a request's first definition."""
    return (_first_definition(request).get("AlgorithmSpecification") or {}).get("TrainingImage")


def load_parents(store: LocalStore, request: dict) -> list:
    """Check AMT's warm-start rules against the stored parents; return their studies in request order.

    Raises:
        AmtValidationError: a parent missing or unfinished, another objective, other hyperparameter names, a changed
            hyperparameter type, more than 10 changes against a parent (:func:`_changes`); for
            IdenticalDataAndAlgorithm, another training image than a parent's.
    """
    ws = request.get("WarmStartConfig")
    if not ws:
        return []
    identical = ws.get("WarmStartType") == "IdenticalDataAndAlgorithm"
    studies = []
    for i, p in enumerate(ws["ParentHyperParameterTuningJobs"]):
        field = f"{_PARENTS}[{i}].HyperParameterTuningJobName"
        name = p["HyperParameterTuningJobName"]
        try:
            study = store.load(name)
        except TuningJobNotFound:
            raise AmtValidationError(
                field,
                f"parent tuning job {name!r} not found in the local store (pull a cloud job with `amtlocal pull`)",
            ) from None
        record = store.tuning_job(study)
        if record.status not in TERMINAL_STATUSES:
            raise AmtValidationError(
                field, f"parent tuning job {name!r} is {record.status}; a parent must be Completed, Stopped or Failed"
            )
        _check_objective_and_hyperparameters(request, record.request, name, i)
        if identical:
            _check_image(request, record, name)
        studies.append(study)
    return studies


def _check_objective_and_hyperparameters(request: dict, parent: dict, name: str, i: int) -> None:
    """The same objective, the same hyperparameter names, no range kind changed, at most 10 changes (parent ``name``,
    the ``i``-th)."""
    child_obj, pobj = objective_of(request), objective_of(parent)
    if (pobj["MetricName"], pobj["Type"]) != (child_obj["MetricName"], child_obj["Type"]):
        raise AmtValidationError(
            "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective",
            f"must equal the objective of parent {name!r} ({pobj['Type']} {pobj['MetricName']})",
        )
    child_names, child_kinds, _ = _names_and_kinds(request)
    pnames, pkinds, _ = _names_and_kinds(parent)
    if pnames != child_names:
        diff = sorted(pnames ^ child_names)
        raise AmtValidationError(
            f"{_PARENTS}[{i}]",
            f"static plus tunable hyperparameters must be the same names as in parent {name!r}; these differ: {', '.join(diff)}",
        )
    for hp, kind in child_kinds.items():
        if hp in pkinds and pkinds[hp] != kind:
            raise AmtValidationError(
                f"{_PARENTS}[{i}]",
                f"hyperparameter {hp!r} is {kind} here but {pkinds[hp]} in parent {name!r}; its type cannot change",
            )
    changes = _changes(request, parent)
    total = sum(n for _, n in changes)
    if total > MAX_CHANGES:
        listed = ", ".join(f"{what} ({n})" for what, n in changes)
        raise AmtValidationError(
            f"{_PARENTS}[{i}]",
            f"at most {MAX_CHANGES} changes against parent {name!r}, counting each tunable hyperparameter made "
            f"static (a categorical one once per value) and each changed static value twice (old and new value); "
            f"got {total}: {listed}",
        )


def _changes(request: dict, parent: dict) -> list[tuple[str, int]]:
    """The changes AMT counts against its limit of 10 between ``parent``'s request and this one, in this request's
    static order: ``[(what changed, count)]``. AMT's warm-start restrictions (AMT_REFERENCE.md section 2, Warm start;
    DG automatic-model-tuning-warm-start, "Warm Start Tuning Restrictions"): "the number of total changes from
    tunable hyperparameters in the parent jobs to static hyperparameters in the new tuning job, plus the number of
    changes in the values of static hyperparameters cannot be more than 10. Each value in a categorical hyperparameter
    counts": a categorical ``{red, blue}`` made static counts 2, and so does a static ``red`` changed to ``blue``.
    So an Integer or Continuous range made static counts 1, a categorical one its number of values, and a changed
    static value 2. Static values compare as the training toolkit decodes them (``a`` and ``"a"`` are one value;
    ``1`` and ``"1"``, an int and a string, are two); static -> tunable and range changes are not counted."""
    pstatic, pranges = _user_statics(parent), _tunable_ranges(parent)
    changes = []
    for hp, value in _user_statics(request).items():
        if hp in pranges:
            kind, entry = pranges[hp]
            n = len(entry.get("Values") or []) if kind == "Categorical" else 1
            changes.append((f"{hp} tunable -> static", max(n, 1)))
        elif hp in pstatic and decode_hyperparameter(pstatic[hp]) != decode_hyperparameter(value):
            changes.append((f"{hp} {pstatic[hp]} -> {value}", 2))
    return changes


def _check_image(request: dict, record: TuningJobRecord, name: str) -> None:
    """IdenticalDataAndAlgorithm: parent ``name``'s training image (the "algorithm"). Its data is not compared: the
    channels a client uploads per job (SDK v3's ``sm_drivers``) differ between jobs that use the same data, and AMT's
    exact rule for "identical data" is not documented."""
    image, child_image = _image(record.request), _image(request)
    if image != child_image:
        raise AmtValidationError(
            "WarmStartConfig.WarmStartType",
            f"IdenticalDataAndAlgorithm needs the training image of parent {name!r} ({image}); this job's is "
            f"{child_image} (use TransferLearning)",
        )


def apply(store: LocalStore, study, request: dict, space: dict[str, Range], parents: list) -> int:
    """Seed ``study`` from ``parents`` as the WarmStartType says. Returns the number of history trials added."""
    ws = request["WarmStartConfig"]
    otype = objective_of(request)["Type"]
    added = 0
    for parent in parents:
        _, _, pstatic = _names_and_kinds(store.tuning_job(parent).request)
        summaries = store.summaries(parent)
        if ws["WarmStartType"] == "TransferLearning":
            best = best_of(summaries, otype)
            point = summary_params(best, space, pstatic, clip=True) if best else None
            if point:
                study.enqueue_trial(point, skip_if_exists=True)
            continue
        for s in summaries:
            # A job without a usable objective, or with values outside the child's ranges, becomes a FAIL trial:
            # kept for OverallBestTrainingJob, outside the sampler's view.
            store.add_history(study, s, parent.study_name, space, static=pstatic)
            added += 1
    return added
