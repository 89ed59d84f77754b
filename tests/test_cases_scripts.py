"""Every script of shared/cases/scripts (copied to tests/cases/scripts) ends as its docstring says."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from amtlocal.testing import F1, LOSS, SCORE, VAL_ACC, make_request, run_job, summaries, use_script

CASE_SCRIPTS = Path(__file__).parent / "cases" / "scripts"

CRITERIA = ['"gini"', '"entropy"', '"log_loss"']


@pytest.fixture(autouse=True, params=["fork", "process"])
def launcher(request, monkeypatch):
    """Every case runs under both launchers: the warm fork server (default) and a new process per job."""
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", request.param)
    return request.param


def _processes_of(training_job_name: str) -> list[int]:
    """PIDs whose environment names this training job (its entry point and anything it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"TRAINING_JOB_NAME={training_job_name}".encode() in env:
            found.append(int(entry.name))
    return found


def test_args_strict_hyperparameters_arrive_as_the_toolkit_sends_them(workdir):
    use_script(workdir, CASE_SCRIPTS / "args_strict.py")
    req = make_request(
        "args",
        max_jobs=3,
        integer=[("n-estimators", 1, 200, "Auto")],
        categorical=[("criterion", CRITERIA)],
        static={"run-name": '"my run"', "k": "3"},
    )
    desc = run_job(req, workdir)
    jobs = summaries("args")
    assert [j["TrainingJobStatus"] for j in jobs] == ["Completed"] * 3, [j.get("FailureReason") for j in jobs]
    assert all(j["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 1.0 for j in jobs)
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    # argv as to_cmd_args builds it: sorted keys, -k for one letter, no quotes, ints without .0
    job_dir = Path(os.environ["AMTLOCAL_HOME"]) / "jobs" / "args" / jobs[0]["TrainingJobName"]
    hps = json.loads((job_dir / "input" / "config" / "hyperparameters.json").read_text())
    assert hps["_tuning_objective_metric"] == "f1" and hps["run-name"] == '"my run"' and hps["k"] == "3"
    assert hps["criterion"] in CRITERIA and str(int(hps["n-estimators"])) == hps["n-estimators"]


def test_exit_nonzero_fails_with_exit_code_and_stderr_and_the_tuning_job_goes_on(workdir):
    use_script(workdir, CASE_SCRIPTS / "exit_nonzero.py")
    desc = run_job(make_request("fails", max_jobs=3, integer=[("x", 1, 5, "Auto")]), workdir)
    jobs = summaries("fails")
    assert len(jobs) == 3  # went on after the first failure
    for j in jobs:
        assert j["TrainingJobStatus"] == "Failed"
        assert j["ObjectiveStatus"] == "Failed"
        assert "FinalHyperParameterTuningJobObjectiveMetric" not in j
        assert "ExitCode 3" in j["FailureReason"] and "ValueError: bad batch" in j["FailureReason"]
    assert desc["TrainingJobStatusCounters"]["NonRetryableError"] == 3
    assert desc["ObjectiveStatusCounters"] == {"Succeeded": 0, "Pending": 0, "Failed": 3}
    assert desc["HyperParameterTuningJobStatus"] == "Failed"
    assert desc["FailureReason"].startswith("No training job succeeded after 3 attempts")


def test_some_jobs_fail_and_the_tuning_job_completes_with_the_others(workdir):
    use_script(
        workdir,
        (
            "import argparse, sys\n"
            "p = argparse.ArgumentParser(); p.add_argument('--mode'); a = p.parse_args()\n"
            "if a.mode == 'fail':\n"
            "    print('ValueError: bad batch', file=sys.stderr); sys.exit(3)\n"
            "print('f1: 0.8')\n"
        ),
    )
    desc = run_job(
        make_request("mixed", strategy="Grid", max_jobs=None, seed=None, categorical=[("mode", ['"fail"', '"ok"'])]),
        workdir,
    )
    statuses = sorted(j["TrainingJobStatus"] for j in summaries("mixed"))
    assert statuses == ["Completed", "Failed"]
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.8


@pytest.mark.slow
def test_hang_is_stopped_at_max_runtime_with_its_grandchild(workdir):
    use_script(workdir, CASE_SCRIPTS / "hang.py")
    desc = run_job(make_request("hang", max_jobs=2, parallel=2, max_runtime=2, integer=[("x", 1, 5, "Auto")]), workdir)
    jobs = summaries("hang")
    assert len(jobs) == 2
    for j in jobs:
        assert j["TrainingJobStatus"] == "Stopped"
        assert "MaxRuntimeExceeded" in j["FailureReason"]
        elapsed = (j["TrainingEndTime"] - j["TrainingStartTime"]).total_seconds()
        assert 1.5 <= elapsed < 10
        assert _processes_of(j["TrainingJobName"]) == []  # the grandchild is gone too
    assert desc["TrainingJobStatusCounters"]["Stopped"] == 2


def test_nan_objective_fails_and_never_becomes_best(workdir):
    use_script(workdir, CASE_SCRIPTS / "nan_metric.py")
    desc = run_job(make_request("nan", max_jobs=1, integer=[("x", 1, 5, "Auto")]), workdir)
    (j,) = summaries("nan")
    assert j["TrainingJobStatus"] == "Completed"
    assert j["ObjectiveStatus"] == "Failed"
    assert "nan" in j["FailureReason"]
    assert "BestTrainingJob" not in desc


def test_inf_objective_is_not_the_best_of_a_maximize_job(workdir):
    use_script(
        workdir,
        (
            "import argparse\n"
            "p = argparse.ArgumentParser(); p.add_argument('--mode'); a = p.parse_args()\n"
            "print('f1: inf' if a.mode == 'inf' else 'f1: 0.5')\n"
        ),
    )
    desc = run_job(
        make_request("inf", strategy="Grid", max_jobs=None, seed=None, categorical=[("mode", ['"inf"', '"finite"'])]),
        workdir,
    )
    by_mode = {j["TunedHyperParameters"]["mode"]: j for j in summaries("inf")}
    assert by_mode['"inf"']["ObjectiveStatus"] == "Failed"
    assert desc["BestTrainingJob"]["TrainingJobName"] == by_mode['"finite"']["TrainingJobName"]
    assert desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.5


def test_no_metric_completes_with_objective_failed_naming_the_regex(workdir):
    use_script(workdir, CASE_SCRIPTS / "no_metric.py")
    desc = run_job(make_request("nometric", max_jobs=1, integer=[("x", 1, 5, "Auto")]), workdir)
    (j,) = summaries("nometric")
    assert j["TrainingJobStatus"] == "Completed"
    assert j["ObjectiveStatus"] == "Failed"
    assert "FinalHyperParameterTuningJobObjectiveMetric" not in j
    assert F1["Regex"] in j["FailureReason"] and "'f1'" in j["FailureReason"]
    assert desc["ObjectiveStatusCounters"]["Failed"] == 1


@pytest.mark.parametrize("objective,otype,expected", [("loss", "Minimize", 0.00015), ("score", "Maximize", -0.25)])
def test_scientific_notation_and_negative_values(workdir, objective, otype, expected):
    use_script(workdir, CASE_SCRIPTS / "sci_notation.py")
    desc = run_job(
        make_request(
            f"sci-{objective}",
            metrics=(LOSS, SCORE),
            objective=objective,
            objective_type=otype,
            max_jobs=1,
            integer=[("x", 1, 5, "Auto")],
        ),
        workdir,
    )
    assert desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(expected)


def test_metric_on_stderr_is_scraped(workdir):
    use_script(workdir, CASE_SCRIPTS / "stderr_metric.py")
    desc = run_job(
        make_request(
            "stderr",
            metrics=({"Name": "valid-f1", "Regex": F1["Regex"]},),
            objective="valid-f1",
            max_jobs=1,
            integer=[("x", 1, 5, "Auto")],
        ),
        workdir,
    )
    assert desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.93


def test_epochs_final_value_is_the_last_and_every_value_is_kept(workdir):
    use_script(workdir, CASE_SCRIPTS / "epochs.py")
    desc = run_job(
        make_request(
            "epochs",
            metrics=(VAL_ACC,),
            objective="val_acc",
            max_jobs=1,
            continuous=[("lr", 0.1, 0.1000001, "Linear")],
            static={"epochs": "9"},
        ),
        workdir,
    )
    best = desc["BestTrainingJob"]
    series = [
        json.loads(line)
        for line in (
            Path(os.environ["AMTLOCAL_HOME"]) / "jobs" / "epochs" / best["TrainingJobName"] / "logs" / "metrics.jsonl"
        )
        .read_text()
        .splitlines()
    ]
    values = [p["Value"] for p in series if p["MetricName"] == "val_acc"]
    assert len(values) == 9 and values == sorted(values)
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == values[-1]
    assert all(p["Timestamp"] > 0 for p in series)
