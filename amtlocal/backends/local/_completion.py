"""TuningJobCompletionCriteria (AMT_REFERENCE.md section 2, "Completion criteria and statuses").

The tuning job completes as soon as any criterion holds; running training jobs are then stopped and the tuning job
ends ``Completed`` with ``TuningJobCompletionDetails`` filled.

Rules (documented choices where AMT is silent):
- TargetObjectiveMetricValue: a training job's final objective >= target (Maximize) or <= target (Minimize).
- BestObjectiveNotImproving: N training jobs in a row (in order of finishing, with an objective or not) that do not
  improve the best objective by at least 1% of its magnitude.
- ConvergenceDetected with CompleteOnConvergence Enabled: at least 10 training jobs finished and the best objective
  improved by at most 1% over the last 10 (the same window AMT's docs describe as "improvement <= 1%").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from amtlocal.spec.summaries import objective_value

CONVERGENCE_WINDOW = 10
MIN_IMPROVEMENT = 0.01


def _improves(new: float, best: float | None, maximize: bool) -> bool:
    if best is None:
        return True
    margin = MIN_IMPROVEMENT * abs(best) if best else MIN_IMPROVEMENT
    return new >= best + margin if maximize else new <= best - margin


@dataclass
class CompletionCheck:
    """Result of :func:`check`: ``done`` and the TuningJobCompletionDetails to record."""

    done: bool
    reason: str | None
    details: dict


def check(criteria: dict | None, finished: list[dict], maximize: bool) -> CompletionCheck:
    """Evaluate the criteria on the finished training jobs (HyperParameterTrainingJobSummary dicts, finishing order)."""
    criteria = criteria or {}
    best: float | None = None
    not_improving = 0
    bests: list[float | None] = []
    target = criteria.get("TargetObjectiveMetricValue")
    hit_target = False
    for s in finished:
        v = objective_value(s)
        if v is not None and _improves(v, best, maximize):
            not_improving = 0
        else:
            not_improving += 1
        if v is not None and (best is None or (v > best if maximize else v < best)):
            best = v
        if v is not None and target is not None and (v >= target if maximize else v <= target):
            hit_target = True
        bests.append(best)
    details: dict = {"NumberOfTrainingJobsObjectiveNotImproving": not_improving}
    if hit_target:
        return CompletionCheck(True, "TargetObjectiveMetricValue reached", details)
    limit = (criteria.get("BestObjectiveNotImproving") or {}).get("MaxNumberOfTrainingJobsNotImproving")
    if limit and not_improving >= int(limit):
        return CompletionCheck(True, f"{not_improving} training jobs did not improve the best objective", details)
    if (criteria.get("ConvergenceDetected") or {}).get("CompleteOnConvergence") == "Enabled" and len(
        bests
    ) >= CONVERGENCE_WINDOW:
        before, now = bests[-CONVERGENCE_WINDOW], bests[-1]
        if before is not None and now is not None and not _improves(now, before, maximize):
            details["ConvergenceDetectedTime"] = dt.datetime.now(dt.timezone.utc).timestamp()
            return CompletionCheck(True, "convergence detected", details)
    return CompletionCheck(False, None, details)
