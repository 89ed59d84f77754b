"""Hyperparameter importance with Optuna's evaluators, on a study rebuilt from the training job summaries."""

from __future__ import annotations

import logging

from amtlocal.spec.ranges import Range

log = logging.getLogger("amtlocal")

EVALUATORS = {"fanova": "FanovaImportanceEvaluator", "mdi": "MeanDecreaseImpurityImportanceEvaluator"}
LABELS = {"fanova": "fANOVA", "mdi": "mean decrease in impurity"}


def parameter_importance(
    trials, space: dict[str, Range], objective: str, minimize: bool, evaluator: str = "fanova", seed: int = 0
):
    """Importance of each tuned hyperparameter for the objective (Optuna's ``get_param_importances``).

    Each training job with a finite objective becomes a finished trial (``optuna.trial.create_trial``) of an
    in-memory study with the jobs' search space; hyperparameters that never vary are left out.

    Args:
        trials: the trials frame of :func:`amtlocal.viz._data.trials_frame`.
        evaluator: ``"fanova"`` (FanovaImportanceEvaluator) or ``"mdi"`` (MeanDecreaseImpurityImportanceEvaluator).

    Returns:
        A DataFrame ``parameter, importance`` (normalized to sum 1), most important first; empty when there is too
        little to evaluate (fewer than 2 scored training jobs, no varying hyperparameter, an evaluator error).
    """
    import pandas as pd

    empty = pd.DataFrame(columns=["parameter", "importance"])
    if evaluator not in EVALUATORS:
        raise ValueError(f"evaluator must be one of {', '.join(EVALUATORS)}")
    scored = trials[trials["FinalObjectiveValue"].notna()] if not trials.empty else trials
    names = [n for n, r in space.items() if n in scored.columns and scored[n].notna().all() and scored[n].nunique() > 1]
    if len(scored) < 2 or not names or scored["FinalObjectiveValue"].nunique() < 2:
        return empty
    import optuna
    from optuna.trial import create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Widened to hold every observed value: warm-start parents may have had wider ranges.
    dists = {
        n: space[n].display_distribution([v if space[n].categorical else float(v) for v in scored[n]]) for n in names
    }
    study = optuna.create_study(direction="minimize" if minimize else "maximize")
    for _, row in scored.iterrows():
        params = {
            n: (
                str(row[n])
                if space[n].categorical
                else int(row[n])
                if type(dists[n]).__name__ == "IntDistribution"
                else float(row[n])
            )
            for n in names
        }
        study.add_trial(create_trial(params=params, distributions=dists, value=float(row["FinalObjectiveValue"])))
    try:
        ev = getattr(optuna.importance, EVALUATORS[evaluator])(seed=seed)
        result = optuna.importance.get_param_importances(study, evaluator=ev, normalize=True)
    except Exception as e:  # noqa: BLE001 - importance is a bonus view; a failure must not lose the dashboard
        log.warning("parameter importance not available: %s", e)
        return empty
    out = pd.DataFrame({"parameter": list(result), "importance": [float(v) for v in result.values()]})
    return out.sort_values("importance", ascending=False, ignore_index=True)
