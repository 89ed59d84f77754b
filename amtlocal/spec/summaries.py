"""A finished training job as AMT reports it (``HyperParameterTrainingJobSummary``): its objective, and the Optuna
trial it stands for when a study is rebuilt from summaries (a pulled cloud job, warm-start history).
"""

from __future__ import annotations

import math
from typing import Any

from amtlocal.spec.ranges import Range

OBJECTIVE_METRIC = "FinalHyperParameterTuningJobObjectiveMetric"


def objective_succeeded(summary: dict[str, Any]) -> bool:
    """True when the training job's objective counts: ``ObjectiveStatus`` is ``Succeeded`` and the summary carries
    ``FinalHyperParameterTuningJobObjectiveMetric``."""
    return summary.get("ObjectiveStatus") == "Succeeded" and OBJECTIVE_METRIC in summary


def objective_value(summary: dict[str, Any]) -> float | None:
    """The final objective value of a training job whose objective succeeded and is finite (it can rank), else None."""
    if not objective_succeeded(summary):
        return None
    value = (summary.get(OBJECTIVE_METRIC) or {}).get("Value")
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def summary_params(
    summary: dict[str, Any], space: dict[str, Range], static: dict[str, str] | None = None, clip: bool = False
) -> dict[str, Any] | None:
    """Optuna's params for a summary: each range's value from ``TunedHyperParameters`` (else from ``static``, the
    job's StaticHyperParameters, for a name that was static there), converted with :meth:`Range.to_internal`.

    Returns None when a value is missing, or outside its range; with ``clip``, numeric values are clipped into the
    range and a categorical value the range no longer has is left out (for enqueueing: the sampler fills it in).
    """
    tuned = summary.get("TunedHyperParameters") or {}
    static = static or {}
    params: dict[str, Any] = {}
    for name, rng in space.items():
        wire = tuned.get(name, static.get(name))
        if wire is None:
            return None
        value = rng.clip(wire) if clip else rng.to_internal(wire)
        if value is None:
            if clip:
                continue
            return None
        params[name] = value
    return params


def summary_trial(
    summary: dict[str, Any],
    space: dict[str, Range],
    user_attrs: dict[str, Any] | None = None,
    static: dict[str, str] | None = None,
):
    """The finished Optuna trial (``optuna.trial.FrozenTrial``) for a training job summary.

    COMPLETE with :func:`objective_value` as its value when the objective succeeded and every range's value lies in
    ``space`` (an empty space: no params); otherwise FAIL (a failed trial carries no value, so samplers do not learn from it), with the params
    when they are known. ``user_attrs`` are stored on the trial as given.
    """
    import optuna

    params = summary_params(summary, space, static)
    dists = {n: r.distribution() for n, r in space.items()} if params is not None else {}
    value = objective_value(summary)
    if value is not None and params is not None:
        return optuna.trial.create_trial(
            state=optuna.trial.TrialState.COMPLETE,
            value=value,
            params=params,
            distributions=dists,
            user_attrs=dict(user_attrs or {}),
        )
    return optuna.trial.create_trial(
        state=optuna.trial.TrialState.FAIL, params=params or {}, distributions=dists, user_attrs=dict(user_attrs or {})
    )


__all__ = ["OBJECTIVE_METRIC", "objective_succeeded", "objective_value", "summary_params", "summary_trial"]
