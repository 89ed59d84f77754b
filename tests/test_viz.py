"""amtviz parity and beyond: the data read through the AMT shapes, and the chart specs (``to_dict()``).

Real local tuning jobs (built once per session): a Random parent, a Bayesian child warm-started from it, and a
grandchild warm-started from the child, on a script that prints ``loss:`` and ``f1:`` per epoch and fails for one
corner of the space. Edge cases (odd names, no data) use a fake backend that serves the same AMT shapes.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from amtlocal.backends import Backend
from amtlocal.exceptions import TuningJobNotFound
from amtlocal.testing import F1, LOSS, make_request, run_job, use_script

SCRIPT = """
import argparse, math, sys, time
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float); p.add_argument("--optimizer"); p.add_argument("--layers", type=int)
a, _ = p.parse_known_args()
if a.optimizer == "rmsprop" and a.layers >= 4:
    sys.exit("diverged")
bonus = {"adam": 0.05, "sgd": 0.0, "rmsprop": 0.02}[a.optimizer]
peak = 1 - abs(math.log10(a.lr) + 2.2) / 4 + bonus - abs(a.layers - 3) * 0.02
for e in range(1, 5):
    f1 = peak * (1 - 0.5 ** e)
    print(f"epoch {e} loss: {1 - f1 + 0.1 / e:.5f} f1: {f1:.5f}", flush=True)
    time.sleep(0.05)
"""
JOBS = ("viz-random", "viz-bayes", "viz-grand")
_BUILT: dict[str, Any] = {}


def build_viz_jobs(root: Path):
    """Run the three tuning jobs into ``root/home``; returns (LocalBackend, home). Cached for the session."""
    if "backend" in _BUILT:
        return _BUILT["backend"], _BUILT["home"]
    from amtlocal.backends.local import LocalBackend, LocalStore

    home, work = root / "home", root / "work"
    (work / "code").mkdir(parents=True)
    (work / "data").mkdir()
    (work / "data" / "train.csv").write_text("1,2\n")
    use_script(work, SCRIPT)
    storage = f"sqlite:///{home / 'store.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AMTLOCAL_HOME", str(home))
        mp.delenv("AMTLOCAL_STORAGE", raising=False)
        store = LocalStore(home, storage)
        common = dict(
            metrics=(F1, LOSS),
            objective="f1",
            continuous=[("lr", 1e-4, 0.3, "Logarithmic")],
            integer=[("layers", 1, 6, "Linear")],
            categorical=[("optimizer", ["sgd", "adam", "rmsprop"])],
            parallel=2,
        )
        run_job(make_request("viz-random", strategy="Random", max_jobs=6, **common), work, store)
        child = make_request("viz-bayes", strategy="Bayesian", max_jobs=4, **{**common, "seed": 7})
        child["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "viz-random"}],
            "WarmStartType": "IdenticalDataAndAlgorithm",
        }
        run_job(child, work, store)
        grand = make_request("viz-grand", strategy="Random", max_jobs=3, **{**common, "seed": 11})
        grand["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "viz-bayes"}],
            "WarmStartType": "TransferLearning",
        }
        run_job(grand, work, store)
    _BUILT.update(backend=LocalBackend(store=store), home=home)
    return _BUILT["backend"], home


@pytest.fixture(scope="session")
def viz_jobs(tmp_path_factory):
    """(LocalBackend, home) holding viz-random <- viz-bayes <- viz-grand (warm starts)."""
    return build_viz_jobs(tmp_path_factory.mktemp("viz"))


@pytest.fixture(scope="session")
def grand_spec(viz_jobs):
    """The advanced dashboard spec of viz-grand (and its ancestors), with its data frames."""
    from amtlocal.viz import visualize_tuning_job

    chart, trials, full = visualize_tuning_job("viz-grand", return_dfs=True, advanced=True, backend=viz_jobs[0])
    return chart.to_dict(), trials, full


# -- spec helpers ------------------------------------------------------------------------------------------------
def units(spec: dict) -> list[dict]:
    """Every unit view (a dict with ``mark``) in a Vega-Lite spec, depth first."""
    out = []
    if "mark" in spec:
        out.append(spec)
    for key in ("vconcat", "hconcat", "concat", "layer"):
        for sub in spec.get(key, []):
            out += units(sub)
    return out


def base(name: str) -> str:
    """A view's name without the ``_<position>`` Altair appends to views inside concatenated layers."""
    return re.sub(r"_\d+$", "", name)


def by_name(spec: dict) -> dict[str, dict]:
    """Named views (units and layers) by base name."""
    out = {}

    def walk(s):
        if "name" in s:
            out[base(s["name"])] = s
        for key in ("vconcat", "hconcat", "concat", "layer"):
            for sub in s.get(key, []):
                walk(sub)

    walk(spec)
    return out


def mark_type(unit: dict) -> str:
    return unit["mark"] if isinstance(unit["mark"], str) else unit["mark"]["type"]


def layer_with(spec: dict, name: str) -> dict:
    """The layer chart that contains unit ``name``."""

    def walk(s):
        for key in ("vconcat", "hconcat", "concat"):
            for sub in s.get(key, []):
                found = walk(sub)
                if found:
                    return found
        if any(base(u.get("name", "")) == name for u in s.get("layer", [])):
            return s
        return None

    return walk(spec)


def conditions(obj: Any) -> list[dict]:
    """Every ``condition`` dict under ``obj``."""
    found = []
    if isinstance(obj, dict):
        if "condition" in obj:
            c = obj["condition"]
            found += c if isinstance(c, list) else [c]
        for v in obj.values():
            found += conditions(v)
    elif isinstance(obj, list):
        for v in obj:
            found += conditions(v)
    return found


# -- data --------------------------------------------------------------------------------------------------------
def test_warm_start_parents_are_jobs_of_their_own_at_every_level(grand_spec):
    _, trials, full = grand_spec
    assert list(dict.fromkeys(trials["TuningJobName"])) == list(JOBS)  # oldest first; grand -> bayes -> random
    counts = trials["TuningJobName"].value_counts().to_dict()
    assert counts == {"viz-random": 6, "viz-bayes": 4, "viz-grand": 3}
    for _job, part in trials.groupby("TuningJobName"):
        assert sorted(part["TrialIndex"]) == list(range(1, len(part) + 1))
    assert set(trials["Strategy"]) == {"Random", "Bayesian"}


def test_hyperparameters_cast_by_range_type_and_objective_column(grand_spec):
    _, trials, _ = grand_spec
    assert str(trials["layers"].dtype) == "int64"
    assert str(trials["lr"].dtype) == "float64" and trials["lr"].between(1e-4, 0.3).all()
    assert set(trials["optimizer"]) <= {"sgd", "adam", "rmsprop"}
    failed = trials[trials["TrainingJobStatus"] == "Failed"]
    assert len(failed) >= 1 and failed["f1"].isna().all()  # failed jobs stay (timeline) without an objective
    ok = trials[trials["TrainingJobStatus"] == "Completed"]
    assert ok["f1"].notna().all() and (ok["f1"] == ok["FinalObjectiveValue"]).all()
    best = ok.loc[ok["f1"].idxmax()]
    assert best["Rank"] == 1
    assert (
        str(trials["TrainingStartTime"].dtype).startswith("datetime64")
        and trials["TrainingStartTime"].dt.tz is not None
    )


def test_full_df_has_every_metric_series_joined_with_its_training_job(grand_spec):
    _, trials, full = grand_spec
    assert set(full["label"]) == {"f1", "loss"}
    completed = trials[trials["TrainingJobStatus"] == "Completed"]["TrainingJobName"]
    per_job = full[full["label"] == "f1"].groupby("TrainingJobName").size()
    assert set(per_job.index) == set(completed) and (per_job == 4).all()
    assert {"lr", "optimizer", "TuningJobName", "rel_seconds", "step", "ts"} <= set(full.columns)
    last = full[full["label"] == "f1"].sort_values("step").groupby("TrainingJobName").last()
    assert (last["value"] - last["FinalObjectiveValue"]).abs().max() < 1e-9  # the objective is the last f1 value


def test_tuner_names_lists_and_default_backend_agree(viz_jobs, monkeypatch):
    from amtlocal import HyperparameterTuner
    from amtlocal.viz import visualize_tuning_job

    backend, home = viz_jobs
    tuner = HyperparameterTuner.attach("viz-bayes", backend=backend)
    _, by_tuner, _ = visualize_tuning_job(tuner, return_dfs=True, trials_only=True)
    _, by_list, _ = visualize_tuning_job(
        ["viz-bayes", "viz-random", "viz-bayes"], return_dfs=True, trials_only=True, backend=backend
    )
    assert sorted(by_tuner["TrainingJobName"]) == sorted(by_list["TrainingJobName"])
    assert len(by_tuner) == 10  # the parent's 6 jobs are drawn too
    monkeypatch.setenv("AMTLOCAL_HOME", str(home))
    monkeypatch.setenv("AMTLOCAL_STORAGE", f"sqlite:///{home / 'store.db'}")
    _, by_name, _ = visualize_tuning_job("viz-bayes", return_dfs=True, trials_only=True)
    assert sorted(by_name["TrainingJobName"]) == sorted(by_list["TrainingJobName"])
    with pytest.raises(TuningJobNotFound):
        visualize_tuning_job("no-such-job", backend=backend)


# -- chart specs -------------------------------------------------------------------------------------------------
def test_views_marks_and_encodings(grand_spec):
    spec, trials, _ = grand_spec
    views = by_name(spec)
    for name in (
        "progress",
        "trial_index",
        "density",
        "hp0",
        "hp1",
        "hp2",
        "cat2",
        "parallel",
        "importance",
        "ranked",
        "ecdf",
        "timeline",
        "metric0",
        "metric1",
    ):
        assert name in views, name
    # objective vs start time, with a dashed best-so-far step line per tuning job
    progress = layer_with(spec, "progress")
    line, points = progress["layer"]
    assert mark_type(points) == "point" and points["encoding"]["x"] == {
        **points["encoding"]["x"],
        "field": "TrainingStartTime",
        "type": "temporal",
    }
    assert mark_type(line) == "line" and line["mark"]["interpolate"] == "step-after" and line["mark"]["strokeDash"]
    window = line["transform"][0]
    assert (
        window["window"][0]["op"] == "max" and window["groupby"] == ["TuningJobName"] and window["frame"] == [None, 0]
    )
    assert views["trial_index"]["encoding"]["x"]["field"] == "TrialIndex"
    # one scatter per hyperparameter, axes from the search space
    layers, lr, opt = views["hp0"]["encoding"]["x"], views["hp1"]["encoding"]["x"], views["hp2"]["encoding"]["x"]
    assert (layers["field"], layers["type"], layers["scale"]["type"], layers["scale"]["domain"]) == (
        "layers",
        "quantitative",
        "linear",
        [1.0, 6.0],
    )
    assert (lr["field"], lr["type"], lr["scale"]["type"], lr["scale"]["domain"]) == (
        "lr",
        "quantitative",
        "log",
        [1e-4, 0.3],
    )
    assert (opt["field"], opt["type"], opt["scale"]["domain"]) == ("optimizer", "nominal", ["sgd", "adam", "rmsprop"])
    # objective per category
    assert mark_type(views["cat2"]) == "boxplot" and views["cat2"]["encoding"]["x"]["field"] == "_cat"
    assert {"calculate": 'datum["optimizer"]', "as": "_cat"} in views["cat2"]["transform"]  # plain names (issue 16)
    # parallel coordinates: a line per training job
    assert (
        mark_type(views["parallel"]) == "line" and views["parallel"]["encoding"]["detail"]["field"] == "TrainingJobName"
    )
    # ranked jobs: bars coloured by tuning job; timeline: bars start..end filled by status (failed jobs included)
    assert mark_type(views["ranked"]) == "bar" and views["ranked"]["encoding"]["color"]["field"] == "TuningJobName"
    tl = views["timeline"]["encoding"]
    assert (
        mark_type(views["timeline"]) == "bar"
        and tl["x2"]["field"] == "_end"
        and tl["fill"]["field"] == "TrainingJobStatus"
    )
    assert views["timeline"]["data"]["name"] == "trials"
    assert {r["TrainingJobStatus"] for r in spec["datasets"]["trials"]} == {"Completed", "Failed"}
    # ECDF per job
    assert {
        w["op"]
        for t in views["ecdf"].get("transform", []) + layer_with(spec, "ecdf").get("transform", [])
        for w in t.get("window", [])
    } == {"cume_dist"}
    # learning curves: every metric definition, objective first
    filters = [views[f"metric{k}"]["transform"][0]["filter"]["equal"] for k in (0, 1)]
    assert filters == ["f1", "loss"]
    assert (
        mark_type(views["metric1"]) == "line" and views["metric1"]["encoding"]["detail"]["field"] == "TrainingJobName"
    )
    # tooltips everywhere a training job is drawn
    for name in ("progress", "hp1", "ranked", "timeline", "parallel", "metric0"):
        fields = {t.get("field") for t in views[name]["encoding"]["tooltip"]}
        assert {"TrainingJobName", "TuningJobName"} <= fields, name


def test_density_bandwidth_comes_from_the_data(grand_spec):
    from amtlocal.viz._charts import bandwidth

    spec, trials, _ = grand_spec
    density = [t["density"] for t in by_name(spec)["density"]["transform"] if "density" in t]
    t = next(t for t in by_name(spec)["density"]["transform"] if "density" in t)
    values = trials["f1"].dropna()
    assert t["groupby"] == ["TuningJobName"] and t["bandwidth"] == pytest.approx(bandwidth(values))
    assert density == ["f1"] and t["bandwidth"] != 0.01
    assert bandwidth([1, 2, 3, 4]) == pytest.approx(10 * bandwidth([0.1, 0.2, 0.3, 0.4]))  # scales with the data
    assert bandwidth([0.5, 0.5, 0.5]) > 0 and bandwidth([0.7]) > 0


def test_one_brush_and_one_hover_shared_by_the_views(grand_spec):
    spec, _, _ = grand_spec
    params = spec["params"]
    assert [p["name"] for p in params] == ["brush", "hover"]
    brush, hover = params
    assert brush["select"] == {"type": "interval", "encodings": ["x"]}
    emitted = {u["name"] for u in units(spec) if "name" in u}
    assert set(brush["views"]) <= emitted and set(hover["views"]) <= emitted  # views name real unit views
    brush_views, hover_views = [base(v) for v in brush["views"]], [base(v) for v in hover["views"]]
    assert {"progress", "trial_index", "hp0", "hp1", "timeline"} <= set(brush_views)
    assert "hp2" not in brush_views  # no interval brush on a nominal axis
    assert hover["select"]["type"] == "point" and hover["select"]["fields"] == ["TrainingJobName"]
    assert hover["select"]["on"] == "mouseover" and hover["select"]["clear"] == "mouseout"
    assert all(not u.get("params") for u in units(spec))  # defined once, at the top level
    views = by_name(spec)
    for name in hover_views:
        conds = [c for c in conditions(views[name]["encoding"]) if c.get("param") == "hover"]
        assert conds and all(c["empty"] is False for c in conds), name  # hover lights only the hovered job
    for name in ("progress", "hp0", "hp1", "hp2", "ranked", "parallel", "timeline", "metric0"):
        opacity = views[name]["encoding"]["opacity"]["condition"]
        assert opacity["param"] == "brush" and opacity.get("empty", True) is True, name
    for name in ("density", "cat2"):
        assert {"filter": {"param": "brush"}} in views[name]["transform"], name


def test_colour_is_the_tuning_job_never_the_training_job(grand_spec):
    spec, _, _ = grand_spec
    colors = [u["encoding"]["color"] for u in units(spec) if "color" in u.get("encoding", {})]
    assert colors and all(c["field"] == "TuningJobName" for c in colors)
    assert all(c["scale"]["domain"] == list(JOBS) for c in colors)
    assert len({json.dumps(c["scale"]) for c in colors}) == 1  # one shared scale -> one legend entry per tuning job


def test_spec_compiles_and_renders_with_vl_convert(grand_spec):
    import vl_convert as vlc

    spec, trials, _ = grand_spec
    svg = vlc.vegalite_to_svg(spec)
    for job in JOBS:
        assert job in svg  # legend entries
    assert svg.count("<path") > 50
    assert "lr (log)" in svg and "Timeline of training jobs" in svg and "Parallel coordinates" in svg


@pytest.mark.slow
def test_default_view_set_and_options(viz_jobs):
    from amtlocal.viz import visualize_tuning_job

    backend = viz_jobs[0]
    basic = by_name(visualize_tuning_job("viz-bayes", backend=backend).to_dict())
    assert "parallel" not in basic and "importance" not in basic and "ecdf" not in basic  # advanced only
    assert {"progress", "density", "hp1", "timeline", "metric0", "metric1"} <= set(basic)
    only_trials = visualize_tuning_job("viz-bayes", trials_only=True, backend=backend).to_dict()
    assert not any(k.startswith("metric") for k in by_name(only_trials)) and "metrics" not in only_trials["datasets"]
    chosen = by_name(visualize_tuning_job("viz-bayes", job_metrics=["loss"], backend=backend).to_dict())
    assert [v["transform"][0]["filter"]["equal"] for k, v in sorted(chosen.items()) if k.startswith("metric")] == [
        "f1",
        "loss",
    ]
    mdi = by_name(
        visualize_tuning_job(
            "viz-bayes", advanced=True, trials_only=True, backend=backend, importance_evaluator="mdi"
        ).to_dict()
    )
    assert "mean decrease in impurity" in json.dumps(mdi["importance"]["title"])


def test_importance_from_optuna_evaluators(grand_spec, viz_jobs):
    from amtlocal.viz._data import gather
    from amtlocal.viz._importance import parameter_importance

    spec, _, _ = grand_spec
    data = gather("viz-grand", backend=viz_jobs[0], trials_only=True)
    for evaluator in ("fanova", "mdi"):
        imp = parameter_importance(data.trials, data.space, data.objective, data.minimize, evaluator=evaluator)
        assert set(imp["parameter"]) == {"lr", "layers", "optimizer"}
        assert imp["importance"].sum() == pytest.approx(1.0) and imp["importance"].is_monotonic_decreasing
    assert {r["parameter"] for r in spec["datasets"]["importance"]} == {"lr", "layers", "optimizer"}
    with pytest.raises(ValueError):
        parameter_importance(data.trials, data.space, data.objective, data.minimize, evaluator="shap")


# -- a fake backend: odd names, other range types, too little data --------------------------------------------------
class FakeBackend(Backend):
    """Serves fixed DescribeHyperParameterTuningJob / training job summaries / metric series."""

    name = "fake"

    def __init__(self, jobs: dict[str, dict], summaries: dict[str, list], series: dict[str, list] | None = None):
        self.jobs, self.summaries, self.series = jobs, summaries, series or {}

    def create_tuning_job(self, request, base_dir, wait=True, progress=None):
        raise NotImplementedError

    def describe(self, name):
        if name not in self.jobs:
            raise TuningJobNotFound(name)
        return self.jobs[name]

    def list_training_jobs(self, name, **kwargs):
        return {"TrainingJobSummaries": self.summaries.get(name, [])}

    def list_tuning_jobs(self):
        return []

    def stop(self, name):
        pass

    def metric_series(self, tuning_job_name, training_job_name):
        return self.series.get(training_job_name, [])


T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


def fake_job(
    name: str, ranges: dict, objective=("Maximize", "validation:f1"), parents=(), metrics=("validation:f1",)
) -> dict:
    desc = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobStatus": "Completed",
        "CreationTime": T0,
        "HyperParameterTuningEndTime": T0 + dt.timedelta(minutes=30),
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "ParameterRanges": ranges,
            "HyperParameterTuningJobObjective": {"Type": objective[0], "MetricName": objective[1]},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 1},
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"MetricDefinitions": [{"Name": m, "Regex": "x"} for m in metrics]}
        },
    }
    if parents:
        desc["WarmStartConfig"] = {
            "WarmStartType": "TransferLearning",
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": p} for p in parents],
        }
    return desc


def fake_summary(job: str, i: int, hps: dict, value: float | None, status="Completed", metric="validation:f1") -> dict:
    s = {
        "TrainingJobName": f"{job}-{i:03d}-abcdef12",
        "TuningJobName": job,
        "TrainingJobStatus": status,
        "CreationTime": T0 + dt.timedelta(minutes=i),
        "TrainingStartTime": T0 + dt.timedelta(minutes=i, seconds=5),
        "TrainingEndTime": T0 + dt.timedelta(minutes=i + 1),
        "TunedHyperParameters": {k: str(v) for k, v in hps.items()},
        "ObjectiveStatus": "Succeeded" if value is not None else "Failed",
    }
    if value is not None:
        s["FinalHyperParameterTuningJobObjectiveMetric"] = {"Type": "Maximize", "MetricName": metric, "Value": value}
    return s


ODD_RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "model.lr", "MinValue": "0.0001", "MaxValue": "1", "ScalingType": "Logarithmic"},
        {"Name": "momentum", "MinValue": "0.9", "MaxValue": "0.999", "ScalingType": "ReverseLogarithmic"},
    ],
    "IntegerParameterRanges": [
        {"Name": "batch[size]", "MinValue": "16", "MaxValue": "1024", "ScalingType": "Logarithmic"}
    ],
    "CategoricalParameterRanges": [{"Name": "act", "Values": ['"relu"', '"tanh"']}],
}


def odd_backend() -> FakeBackend:
    rows = [
        (
            {
                "model.lr": 10 ** -(k % 4) / 2,
                "momentum": 0.9 + 0.01 * k,
                "batch[size]": 16 * 2 ** (k % 6),
                "act": '"relu"' if k % 2 else '"tanh"',
            },
            0.5 + 0.04 * k,
        )
        for k in range(8)
    ]
    parent = [fake_summary("odd-parent", i, hps, v) for i, (hps, v) in enumerate(rows[:4], 1)]
    child = [fake_summary("odd-child", i, hps, v) for i, (hps, v) in enumerate(rows[4:], 1)]
    child.append(fake_summary("odd-child", 9, rows[0][0], None, status="Failed"))
    series = {
        s["TrainingJobName"]: [
            {"MetricName": "validation:f1", "Value": 0.1 * e, "Timestamp": s["TrainingStartTime"].timestamp() + e}
            for e in range(1, 4)
        ]
        for s in parent + child
        if s["TrainingJobStatus"] == "Completed"
    }
    return FakeBackend(
        {
            "odd-parent": fake_job("odd-parent", ODD_RANGES),
            "odd-child": fake_job("odd-child", ODD_RANGES, parents=["odd-parent"]),
        },
        {"odd-parent": parent, "odd-child": child},
        series,
    )


def test_dotted_bracketed_and_colon_names_are_escaped_and_render():
    import vl_convert as vlc

    from amtlocal.viz import visualize_tuning_job

    chart, trials, full = visualize_tuning_job("odd-child", return_dfs=True, advanced=True, backend=odd_backend())
    spec = chart.to_dict()
    assert set(trials["act"]) == {"relu", "tanh"}  # JSON-quoted categoricals unquoted
    assert str(trials["batch[size]"].dtype) == "int64" and "validation:f1" in trials.columns
    views = by_name(spec)
    xs = {views[f"hp{i}"]["encoding"]["x"].get("title"): views[f"hp{i}"]["encoding"]["x"] for i in range(4)}
    assert xs["model.lr"]["field"] == "model\\.lr" and xs["model.lr"]["scale"]["type"] == "log"
    assert xs["batch[size]"]["field"] == "batch\\[size\\]" and xs["batch[size]"]["scale"]["type"] == "log"
    rev = xs["momentum (reverse log)"]
    assert (
        rev["scale"]["type"] == "log"
        and rev["scale"]["reverse"] is True
        and "1 - datum.value" in rev["axis"]["labelExpr"]
    )
    assert views["progress"]["encoding"]["y"]["field"] == "validation:f1"
    svg = vlc.vegalite_to_svg(spec)
    assert "model.lr: 0.05" in svg  # the mark's description: the dotted field was read, not taken as a path
    assert "batch[size]: 512" in svg
    assert len(full) == 8 * 3


def test_views_without_data_are_left_out():
    from amtlocal.viz import visualize_tuning_job
    from amtlocal.viz._charts import Dashboard
    from amtlocal.viz._data import gather

    # only failed training jobs: no objective views, but the timeline still shows them
    failed = [
        fake_summary(
            "bad", i, {"model.lr": 0.01, "momentum": 0.95, "batch[size]": 32, "act": '"relu"'}, None, status="Failed"
        )
        for i in (1, 2)
    ]
    be = FakeBackend({"bad": fake_job("bad", ODD_RANGES)}, {"bad": failed})
    board = Dashboard(gather("bad", backend=be), advanced=True)
    names = set(by_name(board.chart().to_dict()))
    assert names == {"timeline"}
    assert {
        "progress",
        "density",
        "hyperparameters",
        "importance",
        "parallel",
        "ranked",
        "ecdf",
        "learning_curves",
    } <= set(board.skipped)
    # no training jobs at all: a one-line message, not empty axes
    empty = FakeBackend({"new": fake_job("new", ODD_RANGES)}, {"new": []})
    spec = visualize_tuning_job("new", backend=empty).to_dict()
    assert mark_type(spec) == "text" and "No training jobs yet" in json.dumps(spec)
    # one scored job: scatters yes, density/ECDF/importance/parallel need two
    one = FakeBackend(
        {"one": fake_job("one", ODD_RANGES)},
        {"one": [fake_summary("one", 1, {"model.lr": 0.01, "momentum": 0.95, "batch[size]": 32, "act": "relu"}, 0.7)]},
    )
    names = set(by_name(visualize_tuning_job("one", advanced=True, trials_only=True, backend=one).to_dict()))
    assert {"progress", "hp0", "ranked", "timeline"} <= names
    assert not names & {"density", "ecdf", "importance", "parallel"}


def test_jobs_with_different_objectives_cannot_be_drawn_together():
    from amtlocal.viz import VizError, visualize_tuning_job

    be = FakeBackend(
        {"a": fake_job("a", ODD_RANGES), "b": fake_job("b", ODD_RANGES, objective=("Minimize", "validation:f1"))},
        {"a": [], "b": []},
    )
    with pytest.raises(ValueError, match="same objective"):
        visualize_tuning_job(["a", "b"], backend=be)
    assert issubclass(VizError, ValueError)


def test_importing_amtlocal_does_not_load_altair_or_pandas():
    code = "import sys, amtlocal; print(sorted(m for m in ('altair', 'pandas', 'vl_convert') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
