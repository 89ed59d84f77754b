"""Altair chart builders: the amtviz dashboard over a :class:`~amtlocal.viz._data.TuningData`.

Every view reads one of a few named datasets stored once at the top level (``trials``: every training job,
``scored``: those with a finite objective, ``parallel``/``parallel_axes``: the parallel-coordinates frames,
``importance``, ``metrics``: the learning curves). Two selection parameters are defined once at the top level and
listed with the views that drive them:

- ``brush``: one x-interval brush, dragged on any view with a continuous x (start time, trial index, a numeric
  hyperparameter, the timeline); every view dims (or, for densities and box plots, filters) the training jobs outside.
- ``hover``: the training job under the pointer (field ``TrainingJobName``); it lights that job, and only that job,
  in every view (empty selection lights nothing).

Colour is always the tuning job (one legend entry per tuning job); training job status is the point shape and the
timeline's fill. A view with no data is left out rather than drawn empty.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from typing import Any

import altair as alt

from amtlocal.spec.ranges import Range
from amtlocal.viz._data import TuningData

W, H = 270, 180
WIDE = 2 * W + 60
COLS = 3
MAX_METRIC_ROWS = 4000
#: Tuning job colours: no pure red or green, which mean Failed / Completed in the status fill.
JOB_COLORS = [
    "#4c78a8",
    "#f58518",
    "#b279a2",
    "#72b7b2",
    "#9d755d",
    "#eeca3b",
    "#ff9da6",
    "#bab0ac",
    "#1b9e9e",
    "#7570b3",
]
STATUS_COLORS = {
    "Completed": "#4c9a2a",
    "Failed": "#d62728",
    "Stopped": "#ff7f0e",
    "InProgress": "#1f77b4",
    "Stopping": "#9467bd",
}


def vl_field(name: str) -> str:
    """A column name as a Vega-Lite field reference: every character Vega's access-path parser reads (backslash,
    dot and brackets: nested access; quotes: a quoted segment) is escaped with a backslash."""
    return re.sub(r"""([\\.\[\]'"])""", r"\\\1", name)


def tip_title(name: str) -> str:
    """A channel or tooltip title holding ``name``: Vega-Lite writes these titles into Vega expressions (tooltips, a
    box plot's summaries, ARIA descriptions) escaping their double quotes but not their backslashes (a name ending in
    a backslash would end the string early), so they are doubled there; axes take ``name`` itself as their title."""
    return name.replace("\\", "\\\\")


def _records(df) -> list[dict[str, Any]]:
    """DataFrame -> JSON-safe records: timestamps as epoch milliseconds (so brushes compare numbers), NaN as null."""
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = [None if pd.isna(t) else round(t.timestamp() * 1000, 3) for t in out[col]]
    return json.loads(out.to_json(orient="records", double_precision=15))


def bandwidth(values) -> float:
    """Kernel bandwidth from the data (Silverman's rule of thumb: 0.9 * min(sd, IQR/1.34) * n^-1/5).

    Falls back to 5% of the values' magnitude when they do not spread (one value, or all equal).
    """
    import numpy as np

    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(x) == 0:
        return 1.0
    sd = float(x.std(ddof=1)) if len(x) > 1 else 0.0
    q75, q25 = np.percentile(x, [75, 25])
    spread = min(sd, (q75 - q25) / 1.34) if q75 > q25 else sd
    bw = 0.9 * spread * len(x) ** -0.2
    if not bw > 0:
        bw = 0.05 * (abs(float(x.mean())) or 1.0)
    return float(bw)


def _jitter(name: str) -> float:
    """A stable pseudo-random offset in [-0.5, 0.5) per training job (same picture on every render)."""
    return (zlib.crc32(name.encode()) % 10000) / 10000 - 0.5


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values for a log axis over [lo, hi]: 1x and 3x each power of ten (decades only when that is too many)."""
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    ticks = [m * 10.0**k for k in range(k0, k1 + 1) for m in (1, 3)]
    ticks = [float(f"{t:.12g}") for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
    if len(ticks) > 7:
        ticks = [t for t in ticks if f"{t:e}".startswith("1")]
    return ticks if len(ticks) >= 2 else [lo, math.sqrt(lo * hi), hi]


def _num(value: float, integer: bool = False) -> str:
    """A short axis label: ``3``, ``0.0316``, ``1e-04``."""
    return str(int(round(value))) if integer else f"{value:.3g}"


def _columnize(charts: list, cols: int = COLS):
    rows = [alt.hconcat(*charts[i : i + cols]) for i in range(0, len(charts), cols)]
    return rows[0] if len(rows) == 1 else alt.vconcat(*rows)


def _section(title: str, rows: list):
    rows = [r for r in rows if r is not None]
    if not rows:
        return None
    return alt.vconcat(*rows, title=alt.Title(title, fontSize=16, anchor="start", offset=8))


class Dashboard:
    """Builds the views of one dashboard; :meth:`chart` assembles them. See the module docstring."""

    def __init__(self, data: TuningData, advanced: bool = False, importance_evaluator: str = "fanova"):
        import pandas as pd

        self.d = data
        self.advanced = advanced
        self.evaluator = importance_evaluator
        self.obj = data.objective
        self.objf = vl_field(data.objective)
        trials = data.trials.copy()
        if not trials.empty:
            trials["_jitter"] = [_jitter(n) for n in trials["TrainingJobName"]]
            now = pd.Timestamp.now(tz="UTC")
            running = trials["TrainingJobStatus"].isin(["InProgress", "Stopping"])
            end = trials["TrainingEndTime"].where(trials["TrainingEndTime"].notna(), trials["TrainingStartTime"])
            end = end.astype("datetime64[us, UTC]")  # a unit that holds "now" whatever the data's unit was
            end[running & trials["TrainingEndTime"].isna()] = now
            trials["_end"] = end
        self.trials = trials
        self.scored = trials[trials["FinalObjectiveValue"].notna()] if not trials.empty else trials
        self.params = [p for p in data.parameters if p in trials.columns]
        self.datasets: dict[str, list] = {}
        self.brush_views: list[str] = []
        self.hover_views: list[str] = []
        self.views: list[str] = []  # every view drawn, by name
        self.skipped: list[str] = []  # views left out for lack of data
        self.brush = alt.selection_interval(name="brush", encodings=["x"])
        self.hover = alt.selection_point(
            name="hover", on="mouseover", clear="mouseout", fields=["TrainingJobName"], empty=False, nearest=False
        )
        if not self.scored.empty:
            lo, hi = float(self.scored[self.obj].min()), float(self.scored[self.obj].max())
            pad = (hi - lo) * 0.06 or abs(lo) * 0.05 or 1.0
            self.obj_domain = [lo - pad, hi + pad]

    # -- shared pieces -------------------------------------------------------------------------------------------
    def _data(self, name: str, df) -> alt.NamedData:
        if name not in self.datasets:
            self.datasets[name] = _records(df)
        return alt.NamedData(name=name)

    def _scored(self) -> alt.NamedData:
        cols = [
            "TuningJobName",
            "TrainingJobName",
            "TrainingJobStatus",
            "TrialIndex",
            "Rank",
            self.obj,
            *self.params,
            "TrainingStartTime",
            "TrainingEndTime",
            "TrainingElapsedTimeSeconds",
            "_jitter",
        ]
        return self._data("scored", self.scored[list(dict.fromkeys(cols))])

    def _trials(self) -> alt.NamedData:
        cols = [
            "TuningJobName",
            "TrainingJobName",
            "TrainingJobStatus",
            "TrialIndex",
            self.obj,
            *self.params,
            "TrainingStartTime",
            "TrainingEndTime",
            "_end",
            "TrainingElapsedTimeSeconds",
        ]
        if "FailureReason" in self.trials.columns:
            cols.append("FailureReason")
        return self._data("trials", self.trials[list(dict.fromkeys(cols))])

    def _own(self, chart, name: str, brush: bool, hover: bool = True):
        """Name a unit view and register it as a driver of the brush and/or the hover selection."""
        if brush:
            self.brush_views.append(name)
        if hover:
            self.hover_views.append(name)
        self.views.append(name)
        return chart.properties(name=name)

    def color(self, legend: bool = True) -> alt.Color:
        """Colour by tuning job: one legend entry per tuning job, the same colours in every view."""
        return alt.Color(
            "TuningJobName:N",
            title="Tuning job",
            scale=alt.Scale(domain=self.d.job_names, range=JOB_COLORS),
            legend=alt.Legend(labelLimit=320) if legend else None,
        )

    def y_objective(self, title: str | None = None) -> alt.Y:
        return alt.Y(
            field=self.objf,
            type="quantitative",
            title=tip_title(title or self.obj),
            axis=alt.Axis(title=title or self.obj),
            scale=alt.Scale(zero=False, domain=self.obj_domain, nice=False),
        )

    def tooltip(self, with_objective: bool = True) -> list:
        tt = (
            [alt.Tooltip(field=self.objf, type="quantitative", title=tip_title(self.obj), format=".6~g")]
            if with_objective
            else []
        )
        for p in self.params:
            rng = self.d.space[p]
            tt.append(
                alt.Tooltip(
                    field=vl_field(p),
                    type="nominal" if rng.categorical else "quantitative",
                    title=tip_title(p),
                    **({} if rng.categorical else {"format": ".4~g"}),
                )
            )
        tt += [
            alt.Tooltip("TrainingJobName:N", title="training job"),
            alt.Tooltip("TuningJobName:N", title="tuning job"),
            alt.Tooltip("TrainingJobStatus:N", title="status"),
            alt.Tooltip("TrialIndex:Q", title="trial"),
            alt.Tooltip("TrainingStartTime:T", title="started", format="%Y-%m-%d %H:%M:%S"),
            alt.Tooltip("TrainingElapsedTimeSeconds:Q", title="elapsed (s)", format=".1f"),
        ]
        return tt

    def _point_encodings(self) -> dict[str, Any]:
        enc = {
            "color": self.color(),
            "tooltip": self.tooltip(),
            "opacity": alt.condition(self.brush, alt.value(0.9), alt.value(0.15)),
            "size": alt.condition(self.hover, alt.value(200), alt.value(55)),
            "stroke": alt.condition(self.hover, alt.value("black"), alt.value("transparent")),
        }
        if self.scored["TrainingJobStatus"].nunique() > 1:
            enc["shape"] = alt.Shape("TrainingJobStatus:N", title="Status")
        return enc

    def _points(self, name: str, x, brush: bool, **extra):
        chart = (
            alt.Chart(self._scored())
            .mark_point(filled=True, strokeWidth=2)
            .encode(x=x, y=self.y_objective(), **self._point_encodings(), **extra)
        )
        return self._own(chart, name, brush=brush)

    def _best_so_far(self, x, sort_field: str):
        op = "min" if self.d.minimize else "max"
        return (
            alt.Chart(self._scored())
            .transform_window(
                window=[alt.WindowFieldDef(op=op, field=self.objf, **{"as": "_best"})],
                frame=[None, 0],
                sort=[alt.SortField(field=sort_field)],
                groupby=["TuningJobName"],
            )
            .mark_line(interpolate="step-after", strokeDash=[5, 3], strokeWidth=1.6)
            .encode(
                x=x,
                y=alt.Y(
                    "_best:Q",
                    title=tip_title(self.obj),
                    axis=alt.Axis(title=self.obj),
                    scale=alt.Scale(zero=False, domain=self.obj_domain, nice=False),
                ),
                color=self.color(),
                tooltip=[
                    alt.Tooltip("TuningJobName:N", title="tuning job"),
                    alt.Tooltip("_best:Q", title=tip_title(f"best {self.obj} so far"), format=".6~g"),
                ],
            )
        )

    # -- the views -----------------------------------------------------------------------------------------------
    def progress(self):
        """Objective vs training start time, with a dashed best-so-far step line per tuning job."""
        if self.scored.empty:
            self.skipped.append("progress")
            return None
        x = alt.X("TrainingStartTime:T", title="training start", axis=alt.Axis(format="%H:%M:%S", labelOverlap=True))
        best = self._best_so_far(x, "TrainingStartTime")
        return alt.layer(best, self._points("progress", x, brush=True)).properties(
            width=W, height=H, title=alt.Title(f"{self.obj} over time", subtitle="dashed: best so far per tuning job")
        )

    def trial_index(self):
        """Objective vs trial index (creation order within each tuning job), with the best-so-far step line."""
        if self.scored.empty:
            self.skipped.append("trial_index")
            return None
        x = alt.X(
            "TrialIndex:Q",
            title="trial (creation order in its tuning job)",
            scale=alt.Scale(zero=False, nice=False, padding=6),
            axis=alt.Axis(format="d", tickMinStep=1),
        )
        best = self._best_so_far(x, "TrialIndex")
        return alt.layer(best, self._points("trial_index", x, brush=True)).properties(
            width=W, height=H, title=alt.Title(f"{self.obj} by trial", subtitle="dashed: best so far per tuning job")
        )

    def density(self):
        """Objective density per tuning job (Gaussian KDE, bandwidth from the data), filtered by the brush."""
        if len(self.scored) < 2:
            self.skipped.append("density")
            return None
        bw = bandwidth(self.scored[self.obj])
        self.views.append("density")
        lo, hi = float(self.scored[self.obj].min()) - 3 * bw, float(self.scored[self.obj].max()) + 3 * bw
        return (
            alt.Chart(self._scored())
            .transform_filter(self.brush)
            .transform_density(
                density=self.objf,
                groupby=["TuningJobName"],
                bandwidth=bw,
                extent=[lo, hi],
                steps=200,
                as_=["_value", "_density"],
            )
            .mark_area(opacity=0.35, line=True)
            .encode(
                x=alt.X(
                    "_value:Q",
                    title=tip_title(self.obj),
                    axis=alt.Axis(title=self.obj),
                    scale=alt.Scale(zero=False, nice=False),
                ),
                y=alt.Y("_density:Q", title="density", stack=None),
                color=self.color(),
                tooltip=[alt.Tooltip("TuningJobName:N", title="tuning job")],
            )
            .properties(
                name="density",
                width=W,
                height=H,
                title=alt.Title(
                    f"{self.obj} density per tuning job", subtitle=f"Gaussian KDE, bandwidth {bw:.3g} (Silverman)"
                ),
            )
        )

    def _x_hyperparameter(self, i: int, name: str, rng: Range) -> tuple[Any, list, bool]:
        """(x encoding, transforms, continuous?) for hyperparameter ``name``; axes come from the search space."""
        values = self.scored[name].dropna()
        f = vl_field(name)
        if rng.categorical:
            domain = rng.labels + sorted({str(v) for v in values} - set(rng.labels))
            return (
                alt.X(
                    field=f,
                    type="nominal",
                    title=tip_title(name),
                    scale=alt.Scale(domain=domain),
                    sort=domain,
                    axis=alt.Axis(labelAngle=0, labelLimit=120, title=name),
                ),
                [],
                False,
            )
        lo = min([rng.low, *values.astype(float)])
        hi = max([rng.high, *values.astype(float)])
        if rng.reverse_log and hi < 1:
            calc = {"as": f"_rev{i}", "calculate": f"1 - datum[{json.dumps(name)}]"}
            x = alt.X(
                f"_rev{i}:Q",
                title=tip_title(f"{name} (reverse log)"),
                scale=alt.Scale(type="log", domain=[1 - hi, 1 - lo], reverse=True, zero=False, nice=False),
                axis=alt.Axis(
                    labelExpr="format(1 - datum.value, '.4~g')", labelOverlap=True, title=f"{name} (reverse log)"
                ),
            )
            return x, [calc], True
        if rng.log and lo > 0:
            scale = alt.Scale(type="log", domain=[lo, hi], nice=False, padding=8)
            axis = alt.Axis(format="~g", labelOverlap=True, title=f"{name} (log)", values=log_ticks(lo, hi))
        else:
            scale = alt.Scale(type="linear", domain=[lo, hi], zero=False, nice=False, padding=8)
            axis = alt.Axis(
                format="d" if rng.kind == "Integer" else "~g",
                labelOverlap=True,
                title=name,
                **({"tickMinStep": 1} if rng.kind == "Integer" else {}),
            )
        return alt.X(field=f, type="quantitative", title=tip_title(name), scale=scale, axis=axis), [], True

    def hyperparameters(self) -> list:
        """One scatter of the objective per hyperparameter; after each categorical one, the objective per category."""
        out = []
        if self.scored.empty:
            self.skipped.append("hyperparameters")
            return out
        for i, name in enumerate(self.params):
            if self.scored[name].isna().all():
                self.skipped.append(f"hp{i}")
                continue
            rng = self.d.space[name]
            x, transforms, continuous = self._x_hyperparameter(i, name, rng)
            extra = {}
            if rng.categorical:
                extra["xOffset"] = alt.XOffset(
                    "_jitter:Q", scale=alt.Scale(domain=[-0.5, 0.5], range=[-14, 14]), title=None
                )
            pts = self._points(f"hp{i}", x, brush=continuous, **extra)
            for t in transforms:
                pts = pts.transform_calculate(**{t["as"]: t["calculate"]})
            out.append(
                pts.properties(
                    width=W,
                    height=H,
                    title=alt.Title(f"{self.obj} vs {name}", subtitle=f"{rng.kind}, {rng.axis_scale}"),
                )
            )
            if rng.categorical:
                out.append(self.per_category(i, name, x))
        return out

    def per_category(self, i: int, name: str, x):
        """Objective per category value of a categorical hyperparameter: box plot (min-max whiskers), brush-filtered."""
        self.views.append(f"cat{i}")
        # Plain field names: Vega-Lite names a box plot's summaries after its fields (``upper_box_<field>``) and
        # writes them into expressions unescaped, so an odd name (a quote, a backslash) would break the chart.
        x, y = x.copy(), self.y_objective()
        x["field"], y["field"] = "_cat", "_obj"
        return (
            alt.Chart(self._scored())
            .transform_filter(self.brush)
            .transform_calculate(_cat=f"datum[{json.dumps(name)}]", _obj=f"datum[{json.dumps(self.obj)}]")
            .mark_boxplot(extent="min-max", size=22, color="#8c8c8c", median={"color": "black"})
            .encode(x=x, y=y)
            .properties(
                name=f"cat{i}",
                width=W,
                height=H,
                title=alt.Title(f"{self.obj} per {name}", subtitle="box: quartiles, whiskers: min to max"),
            )
        )

    def parallel(self):
        """Parallel coordinates: one line per training job across every hyperparameter axis and the objective."""
        import math as m

        import pandas as pd

        if len(self.scored) < 2 or not self.params:
            self.skipped.append("parallel")
            return None
        axes, ticks, rows = [], [], []
        positions: dict[str, Any] = {}
        for name in self.params:
            rng = self.d.space[name]
            col = self.scored[name]
            if col.isna().all():
                continue
            axes.append(name)
            if rng.categorical:
                cats = rng.labels + sorted({str(v) for v in col.dropna()} - set(rng.labels))
                pos = {c: (k / (len(cats) - 1) if len(cats) > 1 else 0.5) for k, c in enumerate(cats)}
                positions[name] = col.map(lambda v, pos=pos: pos.get(str(v)))
                ticks += [{"_axis": name, "_pos": p, "_label": c} for c, p in pos.items()]
                continue
            v = col.astype(float)
            lo, hi = min(rng.low, v.min()), max(rng.high, v.max())
            if rng.log and lo > 0:
                positions[name] = (v / lo).apply(m.log) / m.log(hi / lo) if hi > lo else v * 0 + 0.5
                mid = m.sqrt(lo * hi)
            elif rng.reverse_log and hi < 1:
                ulo, uhi = 1 - hi, 1 - lo
                positions[name] = ((uhi / (1 - v)).apply(m.log) / m.log(uhi / ulo)) if uhi > ulo else v * 0 + 0.5
                mid = 1 - m.sqrt(ulo * uhi)
            else:
                positions[name] = (v - lo) / (hi - lo) if hi > lo else v * 0 + 0.5
                mid = (lo + hi) / 2
            ticks += [
                {"_axis": name, "_pos": p, "_label": _num(val, rng.kind == "Integer")}
                for p, val in ((0, lo), (0.5, mid), (1, hi))
            ]
        obj = self.scored[self.obj].astype(float)
        lo, hi = obj.min(), obj.max()
        axes.append(self.obj)
        positions[self.obj] = (obj - lo) / (hi - lo) if hi > lo else obj * 0 + 0.5
        ticks += [
            {"_axis": self.obj, "_pos": p, "_label": _num(val)} for p, val in ((0, lo), (0.5, (lo + hi) / 2), (1, hi))
        ]
        base = self.scored[
            [
                "TuningJobName",
                "TrainingJobName",
                "TrainingJobStatus",
                "TrialIndex",
                self.obj,
                *self.params,
                "TrainingStartTime",
                "TrainingElapsedTimeSeconds",
            ]
        ]
        base = base.loc[:, ~base.columns.duplicated()]
        for k, name in enumerate(axes):
            part = base.copy()
            part["_axis"], part["_order"], part["_pos"] = name, k, positions[name].values
            rows.append(part)
        long = pd.concat(rows, ignore_index=True)
        axis_x = alt.X(
            "_axis:N",
            title=None,
            sort=axes,
            axis=alt.Axis(labelAngle=0, orient="top", labelLimit=110, domain=False, ticks=False),
        )
        y = alt.Y("_pos:Q", axis=None, scale=alt.Scale(domain=[-0.03, 1.03]))
        lines = (
            alt.Chart(self._data("parallel", long))
            .mark_line()
            .encode(
                x=axis_x,
                y=y,
                detail="TrainingJobName:N",
                color=self.color(),
                tooltip=self.tooltip(),
                opacity=alt.condition(self.brush, alt.value(0.8), alt.value(0.1)),
                strokeWidth=alt.condition(self.hover, alt.value(4), alt.value(1.5)),
            )
        )
        lines = self._own(lines, "parallel", brush=False)
        tick_data = self._data("parallel_axes", pd.DataFrame(ticks))
        rules = alt.Chart(tick_data).mark_rule(color="#bbbbbb").encode(x=axis_x)
        labels = (
            alt.Chart(tick_data)
            .mark_text(align="left", dx=4, fontSize=10, color="#555555")
            .encode(x=axis_x, y=y, text="_label:N")
        )
        return alt.layer(rules, lines, labels).properties(
            width=WIDE,
            height=H + 40,
            title=alt.Title(
                "Parallel coordinates",
                subtitle="one line per training job; axes span the search space (log where the range is)",
            ),
        )

    def importance(self):
        """Hyperparameter importance (Optuna's evaluator on a study rebuilt from the summaries)."""
        from amtlocal.viz._importance import LABELS, parameter_importance

        imp = parameter_importance(self.d.trials, self.d.space, self.obj, self.d.minimize, evaluator=self.evaluator)
        if imp.empty:
            self.skipped.append("importance")
            return None
        self.views.append("importance")
        return (
            alt.Chart(self._data("importance", imp))
            .mark_bar(color="#4c78a8")
            .encode(
                x=alt.X("importance:Q", title="importance (normalized)", scale=alt.Scale(domain=[0, 1])),
                y=alt.Y("parameter:N", sort="-x", title=None, axis=alt.Axis(labelLimit=150)),
                tooltip=["parameter:N", alt.Tooltip("importance:Q", format=".3f")],
            )
            .properties(
                name="importance",
                width=W - 60,
                height=max(60, 24 * len(imp)),
                title=alt.Title(
                    "Hyperparameter importance",
                    subtitle=f"Optuna {LABELS[self.evaluator]}, {len(self.scored)} training jobs",
                ),
            )
        )

    def ranked(self):
        """Training jobs ranked by objective (best first), coloured by tuning job."""
        if self.scored.empty:
            self.skipped.append("ranked")
            return None
        n = len(self.scored)
        bars = (
            alt.Chart(self._scored())
            .mark_bar()
            .encode(
                x=alt.X("Rank:O", title=f"rank (1 = best {self.obj})", axis=alt.Axis(labelAngle=0, labelOverlap=True)),
                y=self.y_objective(),
                y2=alt.Y2(datum=self.obj_domain[0]),
                **{k: v for k, v in self._point_encodings().items() if k not in ("size", "shape")},
                strokeWidth=alt.condition(self.hover, alt.value(2), alt.value(0)),
            )
        )
        return self._own(bars, "ranked", brush=False).properties(
            width=W,
            height=H,
            title=alt.Title("Training jobs ranked", subtitle=f"{n} with an objective, coloured by tuning job"),
        )

    def ecdf(self):
        """Empirical CDF of the objective per tuning job."""
        if len(self.scored) < 2:
            self.skipped.append("ecdf")
            return None
        base = alt.Chart(self._scored()).transform_window(
            window=[alt.WindowFieldDef(op="cume_dist", **{"as": "_ecdf"})],
            sort=[alt.SortField(field=self.objf)],
            groupby=["TuningJobName"],
        )
        x = alt.X(
            field=self.objf,
            type="quantitative",
            title=tip_title(self.obj),
            axis=alt.Axis(title=self.obj),
            scale=alt.Scale(zero=False, domain=self.obj_domain, nice=False),
        )
        y = alt.Y("_ecdf:Q", title=f"fraction of training jobs with {self.obj} ≤ x", scale=alt.Scale(domain=[0, 1]))
        line = base.mark_line(interpolate="step-after", strokeWidth=1.6).encode(x=x, y=y, color=self.color())
        pts = base.mark_point(filled=True).encode(x=x, y=y, **self._point_encodings())
        pts = self._own(pts, "ecdf", brush=True)
        return alt.layer(line, pts).properties(width=W, height=H, title=alt.Title(f"ECDF of {self.obj} per tuning job"))

    def timeline(self):
        """Timeline of the training jobs (start to end), filled by status; every training job, failed ones too."""
        started = self.trials[self.trials["TrainingStartTime"].notna()] if not self.trials.empty else self.trials
        if started.empty:
            self.skipped.append("timeline")
            return None
        n = len(started)
        statuses = [s for s in STATUS_COLORS if s in set(started["TrainingJobStatus"])]
        statuses += sorted(set(started["TrainingJobStatus"]) - set(statuses))
        fill = alt.Fill(
            "TrainingJobStatus:N",
            title="Status (timeline)",
            scale=alt.Scale(domain=statuses, range=[STATUS_COLORS.get(s, "#7f7f7f") for s in statuses]),
        )
        tooltip = self.tooltip(with_objective=True)
        if "FailureReason" in self.trials.columns:
            tooltip.append(alt.Tooltip("FailureReason:N", title="failure"))
        bars = (
            alt.Chart(self._trials())
            .transform_filter("isValid(datum.TrainingStartTime)")
            .mark_bar(height={"band": 0.8})
            .encode(
                x=alt.X("TrainingStartTime:T", title="time", axis=alt.Axis(format="%H:%M:%S", labelOverlap=True)),
                x2="_end:T",
                y=alt.Y(
                    "TrainingJobName:N",
                    sort=alt.EncodingSortField(field="TrainingStartTime", op="min"),
                    title=None,
                    axis=alt.Axis(labels=n <= 40, ticks=n <= 40, labelLimit=200, labelFontSize=10),
                ),
                fill=fill,
                tooltip=tooltip,
                opacity=alt.condition(self.brush, alt.value(0.95), alt.value(0.2)),
                stroke=alt.condition(self.hover, alt.value("black"), alt.value("transparent")),
                strokeWidth=alt.condition(self.hover, alt.value(2), alt.value(0)),
            )
        )
        bars = self._own(bars, "timeline", brush=True)
        return bars.properties(
            width=WIDE,
            height=max(90, min(14 * n, 420)),
            title=alt.Title("Timeline of training jobs", subtitle=f"{n} training jobs by status"),
        )

    def learning_curves(self) -> list:
        """One chart per metric (every metric definition with values): value vs seconds since training start."""
        m = self.d.metrics
        out = []
        if m is None or m.empty:
            self.skipped.append("learning_curves")
            return out
        m = m[m["TrainingJobName"].isin(self.trials["TrainingJobName"])]
        if len(m) > MAX_METRIC_ROWS:  # keep the curves' shape, not every point (and stay under Altair's row limit)
            k = math.ceil(len(m) / MAX_METRIC_ROWS)
            keep = (m.groupby(["TrainingJobName", "label"]).cumcount() % k == 0) | ~m.duplicated(
                ["TrainingJobName", "label"], keep="last"
            )
            m = m[keep]
        cols = [
            "TuningJobName",
            "TrainingJobName",
            "TrainingJobStatus",
            "TrialIndex",
            "label",
            "value",
            "rel_seconds",
            "step",
            *self.params,
            "TrainingStartTime",
            "TrainingElapsedTimeSeconds",
            self.obj,
        ]
        data = self._data("metrics", m[[c for c in dict.fromkeys(cols) if c in m.columns]])
        for k, metric in enumerate(self.d.metric_names):
            part = m[m["label"] == metric]
            if part.empty:
                self.skipped.append(f"metric:{metric}")
                continue
            many = part.groupby("TrainingJobName").size().max()
            tooltip = [
                alt.Tooltip("value:Q", title=metric, format=".6~g"),
                alt.Tooltip("step:Q", title="report"),
                alt.Tooltip("rel_seconds:Q", title="seconds", format=".1f"),
                *self.tooltip(with_objective=False),
            ]
            chart = (
                alt.Chart(data)
                .transform_filter(alt.FieldEqualPredicate(field="label", equal=metric))
                .mark_line(point=bool(many <= 25), interpolate="linear")
                .encode(
                    x=alt.X("rel_seconds:Q", title="seconds since training start"),
                    y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
                    detail="TrainingJobName:N",
                    color=self.color(),
                    tooltip=tooltip,
                    opacity=alt.condition(self.brush, alt.value(0.85), alt.value(0.12)),
                    strokeWidth=alt.condition(self.hover, alt.value(4), alt.value(1.4)),
                )
            )
            chart = self._own(chart, f"metric{k}", brush=False)
            suffix = " (objective)" if metric == self.obj else ""
            out.append(
                chart.properties(
                    width=W,
                    height=H,
                    title=alt.Title(
                        f"{metric}{suffix}",
                        subtitle=f"{part['TrainingJobName'].nunique()} training jobs, {int(many)} values max",
                    ),
                )
            )
        return out

    # -- assembly ------------------------------------------------------------------------------------------------
    @staticmethod
    def _message(text: str):
        """One line of text instead of empty axes."""
        return (
            alt.Chart(alt.Data(values=[{"text": text}]))
            .mark_text(fontSize=14, align="left")
            .encode(text="text:N")
            .properties(width=500, height=40)
        )

    def chart(self):
        """The whole dashboard as one Altair chart (a VConcatChart with top-level params and datasets)."""
        if self.trials.empty:
            return self._message(f"No training jobs yet in {', '.join(self.d.job_names)}")
        sections = []
        top = [c for c in (self.progress(), self.trial_index(), self.density()) if c is not None]
        sections.append(_section("Tuning progress", [alt.hconcat(*top)] if top else []))
        hps = self.hyperparameters()
        sections.append(_section("Hyperparameters (axes from the search space)", [_columnize(hps)] if hps else []))
        if self.advanced:
            across = [c for c in (self.parallel(), self.importance()) if c is not None]
            sections.append(_section("Across hyperparameters", [alt.hconcat(*across)] if across else []))
        jobs_row = [c for c in (self.ranked(), self.ecdf() if self.advanced else None) if c is not None]
        timeline = self.timeline()
        sections.append(_section("Training jobs", [alt.hconcat(*jobs_row) if jobs_row else None, timeline]))
        curves = self.learning_curves()
        sections.append(_section("Learning curves (scraped metrics)", [_columnize(curves)] if curves else []))
        sections = [s for s in sections if s is not None]
        if not sections:  # training jobs created but none started: nothing to place on an axis yet
            return self._message(
                f"{len(self.trials)} training job(s) in {', '.join(self.d.job_names)}, none started yet"
            )
        params = []
        if self.brush_views:
            params.append(
                alt.TopLevelSelectionParameter(
                    name="brush",
                    select=alt.IntervalSelectionConfig(type="interval", encodings=["x"]),
                    views=self.brush_views,
                )
            )
        if self.hover_views:
            params.append(
                alt.TopLevelSelectionParameter(
                    name="hover",
                    select=alt.PointSelectionConfig(
                        type="point", on="mouseover", clear="mouseout", fields=["TrainingJobName"], nearest=False
                    ),
                    views=self.hover_views,
                )
            )
        requested = [j.name for j in self.d.jobs if j.requested]
        parents = [j.name for j in self.d.jobs if not j.requested]
        direction = "Minimize" if self.d.minimize else "Maximize"
        subtitle = [
            f"objective: {direction} {self.obj}; {len(self.trials)} training jobs in {len(self.d.jobs)} tuning job(s)"
            + (f" (warm-start ancestors: {', '.join(parents)})" if parents else ""),
            "drag on a time or numeric axis to brush (double-click clears); hover a mark to follow its training job",
        ]
        chart = alt.vconcat(
            *sections,
            datasets=self.datasets,
            title=alt.Title(f"Tuning: {', '.join(requested)}", subtitle=subtitle, fontSize=18, anchor="start"),
        )
        chart = (
            chart.configure_concat(spacing=28)
            .configure_title(anchor="start", subtitleColor="#555555")
            .configure_axis(labelFontSize=11, titleFontSize=12, titleFontWeight="normal")
            .configure_legend(labelFontSize=11, titleFontSize=12)
        )
        if params:
            # Altair renames views inside concatenated layers (``progress`` -> ``progress_0``) whenever the chart is
            # rebuilt, so read the names it will emit and point the params' ``views`` at them.
            emitted = _unit_names(chart.to_dict(validate=False))
            final = {re.sub(r"_\d+$", "", n): n for n in emitted}
            final.update({n: n for n in emitted})
            for p in params:
                p.views = [final.get(v, v) for v in p.views]
            chart.params = params
        return chart


def _unit_names(spec: dict) -> list[str]:
    """Names of the unit views of a Vega-Lite spec dict."""
    out, stack = [], [spec]
    while stack:
        s = stack.pop()
        if "mark" in s and "name" in s:
            out.append(s["name"])
        for key in ("vconcat", "hconcat", "concat", "layer"):
            stack.extend(s.get(key, []))
    return out


def dashboard(data: TuningData, advanced: bool = False, importance_evaluator: str = "fanova"):
    """The Altair chart of :class:`Dashboard` for ``data`` (amtviz's ``create_charts``, with its faults fixed)."""
    return Dashboard(data, advanced, importance_evaluator).chart()
