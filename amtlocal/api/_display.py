"""Text and HTML representations of tuners and estimators (``__repr__`` and Jupyter's ``_repr_html_``).

They read only the Describe* responses and a local job's folder, so they look the same on either backend. A failing
describe (no job yet, the job removed, no credentials) is shown, never raised: a repr must not fail.
"""

from __future__ import annotations

import html
from typing import Any


def _job_folder(backend: Any, name: str) -> str | None:
    """Where a local job's files are (its folder in the local store); None on other backends."""
    store = getattr(backend, "store", None)
    try:
        return str(store.job_dir(name)) if store is not None else None
    except Exception:  # noqa: BLE001
        return None


def _training_job_folder(backend: Any, desc: dict[str, Any]) -> str | None:
    """A local training job's folder: under its tuning job's (``TuningJobArn``), or a standalone one's; None on other
    backends or when the store cannot say."""
    store = getattr(backend, "store", None)
    tuning_arn = desc.get("TuningJobArn")
    tuning = tuning_arn.rsplit("/", 1)[-1] if tuning_arn else None
    try:
        return str(store.training_job_dir(tuning, desc["TrainingJobName"])) if store is not None else None
    except Exception:  # noqa: BLE001 - e.g. a store that keeps no standalone training jobs
        return None


def tuning_job_facts(backend: Any, name: str) -> dict[str, Any]:
    """The facts shown for tuning job ``name``: ``name, backend, status, counters (TrainingJobStatusCounters),
    max_jobs, best_job, metric, best, folder`` (and ``error`` when the describe failed)."""
    facts: dict[str, Any] = {
        "name": name,
        "backend": getattr(backend, "name", "?"),
        "folder": _job_folder(backend, name),
    }
    try:
        desc = backend.describe(name)
    except Exception as e:  # noqa: BLE001 - a repr never raises
        facts["error"] = f"{type(e).__name__}: {e}"
        return facts
    best = desc.get("BestTrainingJob") or {}
    metric = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    facts.update(
        status=desc.get("HyperParameterTuningJobStatus"),
        counters=desc.get("TrainingJobStatusCounters") or {},
        max_jobs=((desc.get("HyperParameterTuningJobConfig") or {}).get("ResourceLimits") or {}).get(
            "MaxNumberOfTrainingJobs"
        ),
        best_job=best.get("TrainingJobName"),
        metric=metric.get("MetricName"),
        best=metric.get("Value"),
        failure=desc.get("FailureReason"),
    )
    return facts


def training_job_facts(backend: Any, name: str) -> dict[str, Any]:
    """The facts shown for training job ``name``: ``name, backend, status, secondary, metrics ({name: last value}),
    folder`` (and ``error`` when the describe failed)."""
    facts: dict[str, Any] = {"name": name, "backend": getattr(backend, "name", "?")}
    try:
        desc = backend.describe_training_job(name)
    except Exception as e:  # noqa: BLE001
        facts["error"] = f"{type(e).__name__}: {e}"
        return facts
    facts.update(
        folder=_training_job_folder(backend, desc),
        status=desc.get("TrainingJobStatus"),
        secondary=desc.get("SecondaryStatus"),
        metrics={m["MetricName"]: m.get("Value") for m in desc.get("FinalMetricDataList") or []},
        model=(desc.get("ModelArtifacts") or {}).get("S3ModelArtifacts"),
        failure=desc.get("FailureReason"),
    )
    return facts


def _counters(c: dict[str, int]) -> str:
    failed = c.get("RetryableError", 0) + c.get("NonRetryableError", 0)
    parts = [f"{c.get('Completed', 0)} completed", f"{c.get('InProgress', 0)} running"]
    if failed:
        parts.append(f"{failed} failed")
    if c.get("Stopped"):
        parts.append(f"{c['Stopped']} stopped")
    return ", ".join(parts)


def _rows(kind: str, facts: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [(kind, facts["name"]), ("Backend", facts["backend"])]
    if "error" in facts:
        return rows + [("Describe", facts["error"])]
    rows.append(("Status", str(facts.get("status"))))
    if "counters" in facts:
        total = facts.get("max_jobs")
        rows.append(("Training jobs", _counters(facts["counters"]) + (f" (of {total})" if total else "")))
        if facts.get("best_job"):
            rows.append(("Best training job", f"{facts['best_job']} ({facts['metric']} = {facts['best']:.6g})"))
    if facts.get("secondary"):
        rows.append(("Secondary status", facts["secondary"]))
    for metric, value in (facts.get("metrics") or {}).items():
        rows.append((metric, "-" if value is None else f"{value:.6g}"))
    if facts.get("model"):
        rows.append(("Model", facts["model"]))
    if facts.get("failure") and facts.get("status") == "Failed":
        rows.append(("Failure reason", facts["failure"]))
    if facts.get("folder"):
        rows.append(("Folder", facts["folder"]))
    return rows


def text(title: str, kind: str | None = None, facts: dict[str, Any] | None = None) -> str:
    """``<title>`` then indented ``Field: value`` lines (``<title>`` alone when there is no job yet)."""
    if facts is None:
        return f"{title} (no {(kind or 'job').lower()} yet)"
    return "\n".join([title] + [f"  {k}: {v}" for k, v in _rows(kind or "Job", facts)])


def html_table(title: str, kind: str | None = None, facts: dict[str, Any] | None = None) -> str:
    """The same facts as an HTML table (every value escaped)."""
    head = f"<strong>{html.escape(title)}</strong>"
    if facts is None:
        return f'<div class="amtlocal-repr">{head} <em>(no {html.escape((kind or "job").lower())} yet)</em></div>'
    cells = "".join(
        f'<tr><th style="text-align: left; padding-right: 1em">{html.escape(k)}</th>'
        f'<td style="text-align: left"><code>{html.escape(str(v))}</code></td></tr>'
        for k, v in _rows(kind or "Job", facts)
    )
    return f'<div class="amtlocal-repr">{head}<table>{cells}</table></div>'
