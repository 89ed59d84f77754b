"""``visualize_tuning_job`` at every moment of a job's life, its text summary, and its offline notebook display.

A fake backend serves each moment in AMT's shapes (nothing started, all running without a start time yet, some
running, some failed, a stopped job, no objective yet); one real local job is drawn 0.5 s after ``fit(wait=False)``
returns and again after it completed.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from test_viz import ODD_RANGES, FakeBackend, by_name, fake_job, fake_summary

from amtlocal.testing import F1, use_script

HPS = {"model.lr": 0.01, "momentum": 0.95, "batch[size]": 32, "act": '"relu"'}


def running(job: str, i: int, started: bool = True) -> dict:
    s = fake_summary(job, i, HPS, None, status="InProgress")
    s.pop("TrainingEndTime")
    s.pop("ObjectiveStatus")
    if not started:
        s.pop("TrainingStartTime")
    return s


def moment(status: str, summaries: list[dict], name: str = "m") -> FakeBackend:
    desc = fake_job(name, ODD_RANGES)
    desc["HyperParameterTuningJobStatus"] = status
    if status in ("InProgress", "Stopping"):
        desc.pop("HyperParameterTuningEndTime")
    return FakeBackend({name: desc}, {name: summaries})


def draw(backend: FakeBackend, name: str = "m"):
    from amtlocal.viz import visualize_tuning_job

    chart = visualize_tuning_job(name, backend=backend, advanced=True)
    spec = chart.to_dict()  # compiles: every value JSON-able, the schema validates
    return chart, spec, set(by_name(spec)) if "vconcat" in spec else set()


def test_nothing_started_yet_says_so():
    chart, spec, _ = draw(moment("InProgress", []))
    assert "No training jobs yet in m" in json.dumps(spec)
    text = chart._repr_mimebundle_()["text/plain"].splitlines()
    assert text[0] == f"Tuning job {'m':25s} status: InProgress"
    assert "No training jobs have reported valid results yet." in text
    assert text[-1] == "Pending: no training job has started yet."


@pytest.mark.parametrize("started", [True, False])
def test_all_training_jobs_in_progress_draws_the_timeline(started):
    # the TypeError of issue 17: every end time missing, "now" put into a column of another datetime unit
    chart, spec, names = draw(moment("InProgress", [running("m", 1, started), running("m", 2, started)]))
    if not started:  # created, not started: a line of text, never empty axes
        assert spec["mark"]["type"] == "text" and "2 training job(s) in m, none started yet" in json.dumps(spec)
    else:
        assert names == {"timeline"}
        rows = spec["datasets"]["trials"]
        assert [r["TrainingJobStatus"] for r in rows] == ["InProgress", "InProgress"]
        now_ms = time.time() * 1000
        assert all(abs(r["_end"] - now_ms) < 60_000 for r in rows)  # a running job's bar ends now
    text = chart._repr_mimebundle_()["text/plain"]
    assert "Training jobs: 2 InProgress" in text
    assert "Pending: 2 training job(s) still running" in text and "no objective yet for validation:f1" in text


def test_some_running_some_failed_some_completed():
    rows = [
        fake_summary("m", 1, HPS, 0.7),
        fake_summary("m", 2, HPS, 0.9),
        fake_summary("m", 3, HPS, None, status="Failed"),
        running("m", 4),
    ]
    chart, spec, names = draw(moment("InProgress", rows))
    assert {"progress", "timeline", "ranked"} <= names
    statuses = sorted(r["TrainingJobStatus"] for r in spec["datasets"]["trials"])
    assert statuses == ["Completed", "Completed", "Failed", "InProgress"]
    assert sorted(r["validation:f1"] for r in spec["datasets"]["scored"]) == [0.7, 0.9]
    text = chart._repr_mimebundle_()["text/plain"].splitlines()
    assert "Number of training jobs with valid objective: 2" in text and "Lowest: 0.7 Highest 0.9" in text
    assert "Training jobs: 2 Completed, 1 Failed, 1 InProgress" in text
    assert text[-1].startswith("Pending: 1 training job(s) still running")


def test_stopped_job_and_job_with_only_failures():
    stopped = [fake_summary("m", 1, HPS, 0.5), fake_summary("m", 2, HPS, None, status="Stopped")]
    chart, spec, names = draw(moment("Stopped", stopped))
    assert "timeline" in names and "progress" in names
    text = chart._repr_mimebundle_()["text/plain"]
    assert f"Tuning job {'m':25s} status: Stopped" in text and "Pending" not in text
    failed = [fake_summary("m", 1, HPS, None, status="Failed")]
    chart, spec, names = draw(moment("Failed", failed))
    assert names == {"timeline"}
    text = chart._repr_mimebundle_()["text/plain"]
    assert "No training jobs have reported valid results yet." in text and "Pending" not in text


def test_offline_display_inlines_vega_and_leaves_altairs_renderer_alone():
    import altair as alt

    active = alt.renderers.active
    chart, spec, _ = draw(moment("Completed", [fake_summary("m", 1, HPS, 0.5), fake_summary("m", 2, HPS, 0.6)]))
    assert isinstance(chart, alt.VConcatChart) and alt.renderers.active == active
    bundle = chart._repr_mimebundle_()
    html = bundle["text/html"]
    assert not re.search(r"<script[^>]*\bsrc=", html) and "cdn.jsdelivr" not in html and "unpkg" not in html
    assert "window.vegaEmbed=" in html.replace(" ", "") or "vegaEmbed=" in html
    embedded = json.loads(
        re.search(r'vegaEmbed\("#amtlocal-viz-[0-9a-f]+", (\{.*\}), \{"renderer"', html, re.S).group(1)
    )
    assert embedded == spec
    assert "Lowest: 0.5 Highest 0.6" in html  # the summary above the chart
    # copies keep the display (Altair copies with the instance's class); the user's own charts are untouched
    assert "text/html" in chart.properties(title="x")._repr_mimebundle_()
    plain = alt.Chart(alt.Data(values=[{"a": 1}])).mark_point()
    assert type(plain)._repr_mimebundle_ is alt.Chart._repr_mimebundle_


@pytest.mark.slow
def test_real_job_half_a_second_after_fit_and_after_completion(workdir):
    from amtlocal import HyperparameterTuner, IntegerParameter, SKLearn
    from amtlocal.viz import visualize_tuning_job

    use_script(
        workdir,
        "import argparse, time\np = argparse.ArgumentParser(); p.add_argument('--xx', type=int)\n"
        "a, _ = p.parse_known_args(); time.sleep(1.0); print('f1: %d' % a.xx)\n",
    )
    est = SKLearn(entry_point=str(workdir / "code" / "train.py"), framework_version="1.2-1", metric_definitions=[F1])
    tuner = HyperparameterTuner(
        est, "f1", {"xx": IntegerParameter(1, 9)}, strategy="Random", max_jobs=3, max_parallel_jobs=2, random_seed=3
    )
    tuner.fit({"train": str(workdir / "data")}, wait=False)
    time.sleep(0.5)
    early = visualize_tuning_job(tuner)
    early.to_dict()
    text = early._repr_mimebundle_()["text/plain"]
    assert "status: InProgress" in text and "Pending:" in text
    tuner.wait()
    done = visualize_tuning_job(tuner)
    spec = done.to_dict()
    assert len(spec["datasets"]["trials"]) == 3 and {r["TrainingJobStatus"] for r in spec["datasets"]["trials"]} == {
        "Completed"
    }
    text = done._repr_mimebundle_()["text/plain"]
    assert (
        "status: Completed" in text
        and "Number of training jobs with valid objective: 3" in text
        and "Pending" not in text
    )
