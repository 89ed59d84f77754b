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
from amtlocal.spec.ranges import KINDS, Range
from amtlocal.spec.summaries import summary_params
from amtlocal.store import LocalStore, TuningJobRecord

_PARENTS = "WarmStartConfig.ParentHyperParameterTuningJobs"


def _names_and_kinds(request: dict) -> tuple[set[str], dict[str, str], dict[str, str]]:
    """(all user hyperparameter names, tunable name -> range kind, static name -> wire value) of a request."""
    definition = (definitions(request) or [{}])[0]
    static = {
        k: v
        for k, v in (definition.get("StaticHyperParameters") or {}).items()
        if k not in RESERVED_HYPERPARAMETERS and not k.startswith("sagemaker_")
    }
    ranges = ranges_of(request, definition)
    kinds = {}
    for kind in KINDS:
        for r in ranges.get(f"{kind}ParameterRanges") or []:
            kinds[r["Name"]] = kind
    return set(static) | set(kinds), kinds, static


def _image(request: dict) -> str | None:
    """TrainingImage of a request's first definition."""
    definition = (definitions(request) or [{}])[0]
    return (definition.get("AlgorithmSpecification") or {}).get("TrainingImage")


def load_parents(store: LocalStore, request: dict) -> list:
    """Check AMT's warm-start rules against the stored parents; return their studies in request order.

    Raises:
        AmtValidationError: a parent missing or unfinished, another objective, other hyperparameter names, a changed
            hyperparameter type; for IdenticalDataAndAlgorithm, another training image than a parent's.
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
    """The same objective, the same hyperparameter names, no range kind changed (parent ``name``, the ``i``-th)."""
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
