"""The offline HTML report: one self-contained HTML file per set of tuning jobs (summary table, then the dashboard).

The Vega, Vega-Lite and vega-embed JavaScript is inlined from vl-convert-python's bundle, and the data is inside the
spec, so the file opens offline and from any folder; nothing is fetched from a CDN. ``png=True`` also writes a
static image of the charts next to it (rendered by vl-convert, no browser needed).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import math
from pathlib import Path
from typing import Any

from amtlocal.backends import Backend
from amtlocal.viz._data import TuningData, _aware

EMBED_OPTIONS = {"renderer": "svg", "actions": {"export": True, "source": False, "compiled": False, "editor": False}}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px 0; }
p.meta { color: #555; margin: 0 0 16px 0; font-size: 13px; }
table.summary { border-collapse: collapse; margin-bottom: 24px; font-size: 13px; }
table.summary th, table.summary td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
table.summary th { background: #f4f4f4; font-weight: 600; }
table.summary td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.summary code { font-size: 12px; }
p.note { color: #666; font-size: 12px; }
p.chart-error { color: #b00020; font-size: 14px; }
#amtlocal-charts { margin-top: 8px; }
"""


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def summary_rows(data: TuningData) -> list[dict[str, Any]]:
    """Per tuning job (oldest first): the facts of the summary table.

    Returns:
        ``[{"name", "status", "strategy", "parents", "requested", "training_jobs": {status: n}, "total",
        "best_value", "best_training_job", "best_hyperparameters": {name: value}, "wall_seconds"}, ...]``
    """
    rows = []
    trials = data.trials
    for job in data.jobs:
        desc = job.desc
        own = trials[trials["TuningJobName"] == job.name] if not trials.empty else trials
        counts = own["TrainingJobStatus"].value_counts().to_dict() if not own.empty else {}
        scored = own[own["FinalObjectiveValue"].notna()] if not own.empty else own
        best = None
        if not scored.empty:
            best = scored.loc[
                scored["FinalObjectiveValue"].idxmin() if data.minimize else scored["FinalObjectiveValue"].idxmax()
            ]
        created, ended = _aware(desc.get("CreationTime")), _aware(desc.get("HyperParameterTuningEndTime"))
        runtime = (desc.get("ConsumedResources") or {}).get("RuntimeInSeconds")
        if created and ended:
            wall = (ended - created).total_seconds()
        elif runtime is not None:
            wall = float(runtime)
        elif created:
            wall = (dt.datetime.now(dt.timezone.utc) - created).total_seconds()
        else:
            wall = None
        rows.append(
            {
                "name": job.name,
                "status": desc.get("HyperParameterTuningJobStatus", "?"),
                "strategy": (desc.get("HyperParameterTuningJobConfig") or {}).get("Strategy", "?"),
                "parents": job.parents,
                "requested": job.requested,
                "training_jobs": {str(k): int(v) for k, v in counts.items()},
                "total": int(len(own)),
                "best_value": None if best is None else float(best["FinalObjectiveValue"]),
                "best_training_job": None if best is None else best["TrainingJobName"],
                "best_hyperparameters": {}
                if best is None
                else {p: best[p] for p in data.parameters if p in best.index and not _isna(best[p])},
                "wall_seconds": wall,
            }
        )
    return rows


def _isna(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN
    except Exception:  # noqa: BLE001
        return False


def summary_html(data: TuningData) -> str:
    """The summary table (one row per tuning job) as an HTML fragment; every value escaped."""
    direction = "Minimize" if data.minimize else "Maximize"
    head = [
        "Tuning job",
        "Status",
        "Strategy",
        "Warm start from",
        "Training jobs",
        f"Best {data.objective}",
        "Best hyperparameters",
        "Best training job",
        "Wall time",
    ]
    out = [
        '<table class="summary">',
        "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead>",
        "<tbody>",
    ]
    for r in summary_rows(data):
        counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(r["training_jobs"].items())) or "none"
        hps = ", ".join(f"{k}={_fmt_value(v)}" for k, v in r["best_hyperparameters"].items()) or "-"
        name = html.escape(r["name"]) + (
            "" if r["requested"] else ' <span title="reached as a warm-start parent">(parent)</span>'
        )
        cells = [
            f"<td><code>{name}</code></td>",
            f"<td>{html.escape(r['status'])}</td>",
            f"<td>{html.escape(r['strategy'])}</td>",
            f"<td>{html.escape(', '.join(r['parents'])) or '-'}</td>",
            f'<td class="num">{r["total"]} ({html.escape(counts)})</td>',
            f'<td class="num">{"-" if r["best_value"] is None else html.escape(_fmt_value(r["best_value"]))}</td>',
            f"<td><code>{html.escape(hps)}</code></td>",
            f"<td><code>{html.escape(r['best_training_job'] or '-')}</code></td>",
            f'<td class="num">{_fmt_seconds(r["wall_seconds"])}</td>',
        ]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    out.insert(0, f'<p class="meta">Objective: {html.escape(direction)} <code>{html.escape(data.objective)}</code></p>')
    return "\n".join(out)


def _script_json(obj: Any) -> str:
    """JSON that is safe inside a <script> element."""
    return (
        json.dumps(obj)
        .replace("</", "<\\/")
        .replace("<!--", "<\\!--")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


@functools.lru_cache(maxsize=2)
def _bundle(vl_version: str) -> str:
    """vega-embed + Vega + Vega-Lite as one JavaScript text (vl-convert-python's bundle; ~1 s to build, so cached)."""
    import vl_convert as vlc

    return vlc.javascript_bundle(vl_version=vl_version)


def _vl_version() -> str:
    import altair as alt

    try:
        from altair.utils._importers import vl_version_for_vl_convert

        return vl_version_for_vl_convert()
    except Exception:  # noqa: BLE001 - a private helper; derive it from the schema version instead
        major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
        return f"v{major}_{minor}"


def render_html(spec: dict[str, Any], data: TuningData, title: str, skipped: list[str] | None = None) -> str:
    """A complete, self-contained HTML page: header, summary table, then the chart ``spec`` (Vega-Lite dict)."""
    import vl_convert as vlc

    import amtlocal

    bundle = _bundle(_vl_version())
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    backends = sorted({getattr(j.backend, "name", "?") for j in data.jobs})
    note = ""
    if skipped:
        note = f'<p class="note">Not drawn, for lack of data: {html.escape(", ".join(skipped))}.</p>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_CSS}</style>
<script type="text/javascript">
// vega-embed bundle (Vega, Vega-Lite, vega-embed) from vl-convert-python {html.escape(getattr(vlc, "__version__", ""))}
{bundle}
</script>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="meta">Generated {generated} by amtlocal {html.escape(amtlocal.__version__)} from the {html.escape(", ".join(backends))} backend; {len(data.trials)} training jobs in {len(data.jobs)} tuning job(s).</p>
{summary_html(data)}
{note}
<div id="amtlocal-charts"></div>
<script type="text/javascript">
  const spec = {_script_json(spec)};
  vegaEmbed("#amtlocal-charts", spec, {_script_json(EMBED_OPTIONS)}).catch(function (err) {{
    // Said in the page, not only on the browser's console.
    var note = document.createElement("p");
    note.className = "note chart-error";
    note.textContent = "The charts could not be drawn: " + (err && err.message ? err.message : String(err));
    document.getElementById("amtlocal-charts").appendChild(note);
    console.error(err);
  }});
</script>
</body>
</html>
"""


def write_report(
    job_names: Any,
    path: Any,
    backend: str | Backend | None = None,
    png: bool = False,
    *,
    trials_only: bool = False,
    advanced: bool = True,
    importance_evaluator: str = "fanova",
) -> Path:
    """Write the report of tuning job(s) ``job_names`` (names or tuners; warm-start ancestors are included).

    Beyond amtviz (which only displays in a notebook): a summary table on top (per tuning job: status, strategy,
    warm-start parents, training jobs by status, best objective with its hyperparameters and training job, wall
    time), then the :func:`~amtlocal.viz.visualize_tuning_job` dashboard with ``advanced`` views.

    Args:
        path: the HTML file to write (parent folders are created).
        backend: where to look the jobs up (see :func:`~amtlocal.viz.visualize_tuning_job`).
        png: also write ``<path without suffix>.png``, a static image of the charts (vl-convert).
        trials_only: skip the metric series (no learning curves).

    Returns:
        The path of the HTML file.
    """
    from amtlocal.viz._charts import Dashboard
    from amtlocal.viz._data import gather

    data = gather(job_names, backend=backend, trials_only=trials_only)
    board = Dashboard(data, advanced=advanced, importance_evaluator=importance_evaluator)
    chart = board.chart()
    spec = chart.to_dict()
    requested = [j.name for j in data.jobs if j.requested]
    title = f"Tuning report: {', '.join(requested)}"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(spec, data, title, board.skipped), encoding="utf-8")
    if png:
        write_png(spec, path.with_suffix(".png"))
    return path


def write_png(spec: dict[str, Any], path: Any, scale: float = 1.5) -> Path:
    """A static PNG of a Vega-Lite ``spec`` via vl-convert (no browser). Returns the path."""
    import vl_convert as vlc

    path = Path(path)
    path.write_bytes(vlc.vegalite_to_png(spec, vl_version=_vl_version(), scale=scale))
    return path
