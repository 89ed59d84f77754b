"""AMT fidelity: Grid, Hyperband, early stopping, completion criteria, time limits, seeds, scaling, definitions."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import pytest

from amtlocal.spec import validation_errors
from amtlocal.testing import VAL_ACC, make_request, run_job, summaries, use_script

CASE_SCRIPTS = Path(__file__).parent / "cases" / "scripts"

VALUE_SCRIPT = """
import argparse, time
p = argparse.ArgumentParser(); p.add_argument('-x', type=float, default=0); p.add_argument('-c', default='a')
p.add_argument('-d', default='u'); p.add_argument('--sleep', type=float, default=0); p.add_argument('--const', type=float)
a = p.parse_args()
print('f1: %r' % (a.const if a.const is not None else a.x), flush=True)
time.sleep(a.sleep)
"""


def tuned(name):
    return [j["TunedHyperParameters"] for j in sorted(summaries(name), key=lambda s: s["TrainingJobName"])]


def epochs_spent(name):
    home = Path(os.environ["AMTLOCAL_HOME"]) / "jobs" / name
    total = 0
    for f in home.glob("*/logs/metrics.jsonl"):
        total += sum(1 for line in f.read_text().splitlines() if json.loads(line)["MetricName"] == "val_acc")
    return total


def test_grid_runs_every_combination_once(workdir):
    use_script(workdir, VALUE_SCRIPT)
    req = make_request(
        "grid",
        strategy="Grid",
        max_jobs=None,
        seed=None,
        parallel=2,
        categorical=[("c", ['"a"', '"b"', '"c"']), ("d", ['"u"', '"v"'])],
    )
    desc = run_job(req, workdir)
    combos = [(t["c"], t["d"]) for t in tuned("grid")]
    assert len(combos) == 6 and len(set(combos)) == 6
    assert desc["TrainingJobStatusCounters"]["Completed"] == 6
    bad = make_request(
        "grid2",
        strategy="Grid",
        max_jobs=5,
        seed=None,
        categorical=[("c", ['"a"', '"b"', '"c"']), ("d", ['"u"', '"v"'])],
    )
    assert any(e.field.startswith("HyperParameterTuningJobConfig.ResourceLimits") for e in validation_errors(bad))


def _epochs_request(name, **kw):
    return make_request(
        name,
        metrics=(VAL_ACC,),
        objective="val_acc",
        max_jobs=9,
        parallel=1,
        continuous=[("lr", 0.01, 0.9, "Logarithmic")],
        static={"epochs": "9"},
        seed=7,
        **kw,
    )


@pytest.mark.slow
def test_hyperband_and_early_stopping_stop_weak_jobs_and_spend_fewer_epochs(workdir):
    use_script(workdir, CASE_SCRIPTS / "epochs.py")
    run_job(_epochs_request("ep-random"), workdir)
    hb = run_job(
        _epochs_request(
            "ep-hyperband",
            **{
                "Strategy": "Hyperband",
                "StrategyConfig": {"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}},
            },
        ),
        workdir,
    )
    es = run_job(_epochs_request("ep-median", TrainingJobEarlyStoppingType="Auto"), workdir)
    random_epochs = epochs_spent("ep-random")
    assert random_epochs == 81
    for name, desc in (("ep-hyperband", hb), ("ep-median", es)):
        assert desc["HyperParameterTuningJobStatus"] == "Completed"
        stopped = [j for j in summaries(name) if j["TrainingJobStatus"] == "Stopped"]
        assert stopped, name  # weak jobs were stopped
        assert all(j["ObjectiveStatus"] == "Succeeded" for j in stopped)  # their last value still counts
        assert epochs_spent(name) < random_epochs, name


def test_hyperband_max_resource_inferred_or_rejected(workdir):
    use_script(workdir, CASE_SCRIPTS / "epochs.py")
    req = _epochs_request("hb-infer", Strategy="Hyperband")
    assert validation_errors(req) == []  # MaxResource from the static 'epochs'
    del req["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"]
    errors = validation_errors(req)
    assert errors and "epochs" in str(errors[0])


def test_target_objective_completes_early(workdir):
    use_script(workdir, VALUE_SCRIPT)
    req = make_request(
        "target",
        max_jobs=30,
        integer=[("x", 1, 10, "Linear")],
        TuningJobCompletionCriteria={"TargetObjectiveMetricValue": 8.0},
    )
    desc = run_job(req, workdir)
    values = [float(t["x"]) for t in tuned("target")]
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert values[-1] >= 8 and all(v < 8 for v in values[:-1]) and len(values) < 30
    assert "TuningJobCompletionDetails" in desc


def test_best_objective_not_improving_and_convergence(workdir):
    use_script(workdir, VALUE_SCRIPT)
    req = make_request(
        "flat",
        max_jobs=20,
        integer=[("x", 1, 10, "Linear")],
        static={"const": "0.5"},
        TuningJobCompletionCriteria={"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}},
    )
    desc = run_job(req, workdir)
    assert desc["TrainingJobStatusCounters"]["Completed"] == 4  # 1 improves (the first), then 3 do not
    assert desc["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"] == 3
    conv = make_request(
        "conv",
        max_jobs=20,
        integer=[("x", 1, 10, "Linear")],
        static={"const": "0.5"},
        TuningJobCompletionCriteria={"ConvergenceDetected": {"CompleteOnConvergence": "Enabled"}},
    )
    desc = run_job(conv, workdir)
    assert desc["TrainingJobStatusCounters"]["Completed"] == 10
    assert "ConvergenceDetectedTime" in desc["TuningJobCompletionDetails"]


def test_tuning_job_max_runtime_stops_running_jobs(workdir, store):
    from amtlocal.backends.local import LocalTuningJob
    from amtlocal.spec import TuningSpec

    use_script(workdir, VALUE_SCRIPT)
    req = make_request("deadline", max_jobs=5, integer=[("x", 1, 10, "Linear")], static={"sleep": "30"})
    req["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] = 120
    job = LocalTuningJob(TuningSpec(req, workdir), store, stop_grace=2)
    study = job.prepare()
    study.set_user_attr("runtime_used", 118.5)  # earlier runs of this job used most of the budget
    desc = job.run()
    jobs = summaries("deadline", store)
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert len(jobs) == 1 and jobs[0]["TrainingJobStatus"] == "Stopped"
    assert desc["ConsumedResources"]["RuntimeInSeconds"] >= 120
    # No completion criteria: nothing is checked per training job, and the count is made at the end
    assert desc["TuningJobCompletionDetails"] == {"NumberOfTrainingJobsObjectiveNotImproving": 0}  # as before


@pytest.mark.parametrize("strategy,parallel", [("Random", 2), ("Bayesian", 1), ("Hyperband", 2)])
def test_same_seed_same_sequence(workdir, strategy, parallel):
    use_script(workdir, VALUE_SCRIPT)
    kw = {"Strategy": strategy}
    for name in ("seed-a", "seed-b"):
        run_job(
            make_request(
                name,
                max_jobs=12,
                parallel=parallel,
                seed=42,
                continuous=[("x", 0.0, 1.0, "Linear")],
                categorical=[("c", ['"a"', '"b"', '"c"'])],
                static={"epochs": "1"} if strategy == "Hyperband" else None,
                **kw,
            ),
            workdir,
        )
    assert tuned("seed-a") == tuned("seed-b")
    run_job(
        make_request(
            "seed-c",
            max_jobs=12,
            parallel=parallel,
            seed=43,
            continuous=[("x", 0.0, 1.0, "Linear")],
            categorical=[("c", ['"a"', '"b"', '"c"'])],
            static={"epochs": "1"} if strategy == "Hyperband" else None,
            **kw,
        ),
        workdir,
    )
    assert tuned("seed-c") != tuned("seed-a")


def test_scaling_types(workdir):
    use_script(workdir, VALUE_SCRIPT + "print('y', flush=True)\n")
    req = make_request(
        "scales",
        max_jobs=30,
        parallel=2,
        integer=[("x", 1, 1000, "Logarithmic")],
        continuous=[("r", 0.9, 0.9999, "ReverseLogarithmic"), ("a", 1e-5, 1e-1, "Auto"), ("l", 1.0, 2.0, "Auto")],
    )
    req["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_program"] = '"train.py"'
    use_script(
        workdir,
        "import argparse\np = argparse.ArgumentParser()\nfor k in ('-x', '-r', '-a', '-l'): p.add_argument(k, type=float)\na = p.parse_args()\nprint('f1: %r' % a.x)\n",
    )
    run_job(req, workdir)
    t = tuned("scales")
    xs, rs, auto_log = [int(v["x"]) for v in t], [float(v["r"]) for v in t], [float(v["a"]) for v in t]
    assert all(1 <= x <= 1000 for x in xs) and statistics.median(xs) < 200  # log scale: most values small
    assert all(0.9 <= r <= 0.9999 for r in rs) and statistics.median(rs) > 0.99  # reverse log: crowded near 1
    assert all(1e-5 <= a <= 1e-1 for a in auto_log) and statistics.median(auto_log) < 1e-2  # Auto -> log (4 decades)
    assert errors_for_integer_reverse_log()


def errors_for_integer_reverse_log():
    req = make_request("rl", integer=[("x", 1, 10, "ReverseLogarithmic")])
    return any("ReverseLogarithmic" in str(e) for e in validation_errors(req))


def test_several_training_job_definitions(workdir):
    use_script(workdir, VALUE_SCRIPT)
    base = make_request("multi", max_jobs=6, parallel=2)
    d = base.pop("TrainingJobDefinition")
    cfg = base["HyperParameterTuningJobConfig"]
    objective = cfg.pop("HyperParameterTuningJobObjective")
    cfg.pop("ParameterRanges")
    d1 = dict(
        d,
        DefinitionName="small",
        TuningObjective=objective,
        HyperParameterRanges={
            "IntegerParameterRanges": [{"Name": "x", "MinValue": "1", "MaxValue": "3", "ScalingType": "Linear"}]
        },
    )
    d2 = dict(
        d,
        DefinitionName="big",
        TuningObjective=objective,
        HyperParameterRanges={
            "IntegerParameterRanges": [{"Name": "x", "MinValue": "100", "MaxValue": "300", "ScalingType": "Linear"}],
            "CategoricalParameterRanges": [{"Name": "c", "Values": ['"a"', '"b"']}],
        },
    )
    base["TrainingJobDefinitions"] = [d1, d2]
    assert validation_errors(base) == []
    desc = run_job(base, workdir)
    jobs = summaries("multi")
    assert len(jobs) == 6 and desc["HyperParameterTuningJobStatus"] == "Completed"
    for j in jobs:
        x = int(j["TunedHyperParameters"]["x"])
        if j["TrainingJobDefinitionName"] == "small":
            assert 1 <= x <= 3 and set(j["TunedHyperParameters"]) == {"x"}
        else:
            assert (
                j["TrainingJobDefinitionName"] == "big"
                and 100 <= x <= 300
                and set(j["TunedHyperParameters"]) == {"x", "c"}
            )
    assert desc["BestTrainingJob"]["TrainingJobDefinitionName"] == "big"


def test_resumed_job_does_not_replay_its_first_proposals(workdir, store):
    """Stopped after 3 training jobs, then resumed: the next proposals are new, not the first three again."""
    from amtlocal.backends.local import LocalTuningJob
    from amtlocal.spec import TuningSpec

    use_script(workdir, VALUE_SCRIPT)
    req = make_request("replay", max_jobs=6, parallel=1, seed=5, continuous=[("x", 0.0, 1.0, "Linear")])
    first = make_request("replay", max_jobs=3, parallel=1, seed=5, continuous=[("x", 0.0, 1.0, "Linear")])
    run_job(first, workdir, store)
    study = store.load("replay")
    study.set_user_attr("request", req)  # the same job, now allowed 6 training jobs (as after a Stop)
    study.set_user_attr("status", "Stopped")
    LocalTuningJob(TuningSpec(req, workdir), store, stop_grace=2).run()
    xs = [t["x"] for t in tuned("replay")]
    assert len(xs) == 6 and len(set(xs)) == 6


def test_grid_same_seed_same_order(workdir):
    use_script(workdir, VALUE_SCRIPT)
    cats = [("c", ['"a"', '"b"', '"c"']), ("d", ['"u"', '"v"'])]
    for name in ("grid-seed-a", "grid-seed-b"):
        run_job(make_request(name, strategy="Grid", max_jobs=None, seed=11, categorical=cats), workdir)
    assert tuned("grid-seed-a") == tuned("grid-seed-b")
    assert len({tuple(sorted(t.items())) for t in tuned("grid-seed-a")}) == 6


def test_progress_counts_the_jobs_that_replaced_a_finished_one(workdir):
    """A snapshot is taken after the next job starts: at parallelism 2 with jobs left, 2 are running."""
    use_script(
        workdir,
        "import argparse, time\np = argparse.ArgumentParser(); p.add_argument('-x', type=int); a = p.parse_args()\n"
        "time.sleep(0.2)\nprint('f1: %d' % a.x)\n",
    )
    seen = []
    run_job(
        make_request("prog", max_jobs=6, parallel=2, integer=[("x", 1, 9, "Linear")]), workdir, progress=seen.append
    )
    middle = [(p.finished, p.running) for p in seen if 0 < p.finished <= 4]
    assert middle and all(running == 2 for _, running in middle), middle
    assert (seen[-1].finished, seen[-1].running, seen[-1].total) == (6, 0, 6)
    # The first jobs' start is shown at once, not when the first of them ends ("0 running" for minutes otherwise)
    assert [(p.finished, p.running) for p in seen[:2]] == [(0, 0), (0, 2)]
