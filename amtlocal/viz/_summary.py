"""amtviz's text summary of the tuning jobs drawn, with what is still pending at this moment of the jobs' lives."""

from __future__ import annotations

import math
from typing import Any

from amtlocal.viz._data import TuningData


def _counts(trials: Any) -> dict[str, int]:
    if trials.empty:
        return {}
    return {str(k): int(v) for k, v in trials["TrainingJobStatus"].value_counts().items()}


def summary_lines(data: TuningData) -> list[str]:
    """The lines amtviz logged before its charts, then what is not drawn yet.

    amtviz (``get_job_analytics_data``): ``Tuning job <name:25> status: <status>`` per tuning job, a blank line,
    ``Number of training jobs with valid objective: <n>`` and ``Lowest: <v> Highest <v>``. Added here: the
    training jobs per status, and a ``Pending:`` line when jobs run, none has an objective yet, or none has started.

    Returns:
        The lines (no trailing newlines); the last says what is pending when anything is.
    """
    lines = []
    for job in data.jobs:
        status = job.desc.get("HyperParameterTuningJobStatus", "?")
        lines.append(f"Tuning job {job.name:25s} status: {status}" + ("" if job.requested else " (warm-start parent)"))
    lines.append("")
    trials = data.trials
    valid = trials[trials["FinalObjectiveValue"].notna()] if not trials.empty else trials
    if len(valid):
        values = [float(v) for v in valid[data.objective] if v is not None and math.isfinite(float(v))]
        lines.append(f"Number of training jobs with valid objective: {len(valid)}")
        lines.append(f"Lowest: {min(values):.6g} Highest {max(values):.6g}")
    else:
        lines.append("No training jobs have reported valid results yet.")
    counts = _counts(trials)
    if counts:
        lines.append("Training jobs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    pending = []
    running = counts.get("InProgress", 0) + counts.get("Stopping", 0)
    if running:
        pending.append(
            f"{running} training job(s) still running (their objective and learning curves come when they report)"
        )
    active = [j.name for j in data.jobs if j.desc.get("HyperParameterTuningJobStatus") in ("InProgress", "Stopping")]
    if not counts and active:
        pending.append("no training job has started yet")
    elif active and not len(valid):
        pending.append(
            f"no objective yet for {data.objective}: the charts of the objective are drawn once one is reported"
        )
    if pending:
        lines.append("Pending: " + "; ".join(pending) + ".")
    return lines
