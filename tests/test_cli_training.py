"""The training-job commands (issue 13 item 6): ``amtlocal train``, ``training-jobs``, ``describe-training-job``,
``logs [--follow]``, ``stop-training-job``, run as a user runs them (a subprocess), with their exit codes; and the
acceptance line for a killed launcher: a standalone job whose ``amtlocal train`` is SIGKILLed is described Failed or
Stopped with a reason by the next ``amtlocal describe-training-job``, never InProgress forever."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from amtlocal.testing import alive, make_request

SCRIPT = """import argparse, os, sys, time
p = argparse.ArgumentParser(); p.add_argument('-x', type=int, default=1)
p.add_argument('--sleep', type=float, default=0)
a = p.parse_args()
data = open(os.path.join(os.environ['SM_CHANNEL_TRAIN'], 'train.csv')).read()
open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write(data)
for i in range(3):
    print('epoch %d' % i, flush=True)
    time.sleep(a.sleep / 3)
print('f1: %d' % a.x, flush=True)
sys.exit(5 if a.x < 0 else 0)
"""


def amtlocal(*args, cwd=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "amtlocal", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


@pytest.fixture
def project(tmp_path):
    """A project folder ``proj/`` with ``code/train.py`` and ``data/train.csv``, and a folder to run commands from
    elsewhere (``cwd``), so relative ``file://`` paths must resolve against the spec's folder, not the working one."""
    proj = tmp_path / "proj"
    (proj / "code").mkdir(parents=True)
    (proj / "data").mkdir()
    (proj / "code" / "train.py").write_text(SCRIPT)
    (proj / "data" / "train.csv").write_text("1,2\n")
    (tmp_path / "cwd").mkdir()
    return proj


def write_spec(proj, name: str, hyperparameters: dict | None = None, yaml: bool = False) -> str:
    d = make_request("x")["TrainingJobDefinition"]
    request = {
        "TrainingJobName": name,
        "HyperParameters": dict(d["StaticHyperParameters"], **(hyperparameters or {})),
        "AlgorithmSpecification": d["AlgorithmSpecification"],
        "RoleArn": d["RoleArn"],
        "InputDataConfig": d["InputDataConfig"],
        "OutputDataConfig": {"S3OutputPath": "file://out"},
        "ResourceConfig": d["ResourceConfig"],
        "StoppingCondition": d["StoppingCondition"],
    }
    path = proj / f"{name}.{'yaml' if yaml else 'json'}"
    if yaml:
        import yaml as pyyaml

        path.write_text(pyyaml.safe_dump(request))
    else:
        path.write_text(json.dumps(request))
    return str(path)


def test_train_describe_logs_and_list_a_standalone_job(project, tmp_path):
    cwd = tmp_path / "cwd"
    r = amtlocal("train", write_spec(project, "solo", {"x": "7"}), cwd=cwd)
    assert r.returncode == 0, r.stderr
    model = f"file://{project}/out/solo/output/model.tar.gz"
    assert r.stdout.strip() == f"solo: Completed; f1=7; model {model}"
    import tarfile

    with tarfile.open(project / "out" / "solo" / "output" / "model.tar.gz") as tar:
        assert tar.extractfile("model.txt").read() == b"1,2\n"

    r = amtlocal("describe-training-job", "solo", cwd=cwd)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["TrainingJobStatus"] == "Completed" and d["HyperParameters"]["x"] == "7"
    assert d["FinalMetricDataList"][0]["MetricName"] == "f1" and d["FinalMetricDataList"][0]["Value"] == 7.0
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == model
    assert d["CreationTime"].endswith("+00:00") and d["CreationTime"] <= d["TrainingEndTime"]  # ISO 8601
    assert r.stdout.startswith('{\n    "')  # the AWS CLI's 4-space JSON

    r = amtlocal("logs", "solo", cwd=cwd)
    assert r.returncode == 0 and [x for x in r.stdout.splitlines() if x.startswith(("epoch", "f1"))] == [
        "epoch 0",
        "epoch 1",
        "epoch 2",
        "f1: 7",
    ]

    # a YAML spec, a failing job (exit 1 with the reason) and a taken name (exit 2, one line)
    r = amtlocal("train", write_spec(project, "other", {"x": "3"}, yaml=True), cwd=cwd)
    assert r.returncode == 0 and r.stdout.startswith("other: Completed; f1=3"), r.stderr
    r = amtlocal("train", write_spec(project, "broken", {"x": "-1"}), cwd=cwd)
    assert r.returncode == 1
    assert r.stdout.splitlines()[0].startswith("broken: Failed; f1=-1; AlgorithmError: ExitCode 5")
    r = amtlocal("train", write_spec(project, "SOLO"), cwd=cwd)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "already exists" in r.stderr

    r = amtlocal("training-jobs", cwd=cwd)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["TRAINING", "JOB", "STATUS"]
    assert [x.split()[:2] for x in lines[1:]] == [["solo", "Completed"], ["other", "Completed"], ["broken", "Failed"]]
    r = amtlocal("training-jobs", "--json", "--sort-by", "Name", "--sort-order", "Descending", cwd=cwd)
    listed = json.loads(r.stdout)["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in listed] == ["solo", "other", "broken"]
    assert set(listed[0]) <= {
        "TrainingJobName",
        "TrainingJobArn",
        "CreationTime",
        "TrainingEndTime",
        "LastModifiedTime",
        "TrainingJobStatus",
        "SecondaryStatus",
        "WarmPoolStatus",
        "TrainingPlanArn",
    }

    def names(*a):
        page = json.loads(amtlocal("training-jobs", "--json", *a, cwd=cwd).stdout)["TrainingJobSummaries"]
        return [s["TrainingJobName"] for s in page]

    assert names("--status-equals", "Failed") == ["broken"]
    assert names("--name-contains", "OTH") == ["other"]
    assert names("--max-results", "2") == ["solo", "other"]
    assert names("--creation-time-after", listed[1]["CreationTime"]) == ["broken"]
    assert names("--creation-time-before", listed[1]["CreationTime"]) == ["solo"]

    r = amtlocal("describe-training-job", "nope", cwd=cwd)
    assert r.returncode == 1 and r.stderr.startswith("amtlocal: error:") and r.stderr.count("\n") == 1
    r = amtlocal("train", str(project / "missing.json"), cwd=cwd)
    assert r.returncode == 2 and "missing.json" in r.stderr


def test_a_bad_request_exits_2_naming_the_field_before_anything_runs(project, tmp_path):
    spec = write_spec(project, "bad")
    request = json.loads(open(spec).read())
    request["HyperParameters"]["sagemaker_submit_directory"] = '"file://nowhere"'
    open(spec, "w").write(json.dumps(request))
    r = amtlocal("train", spec, cwd=tmp_path / "cwd")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "sagemaker_submit_directory" in r.stderr
    assert json.loads(amtlocal("training-jobs", "--json").stdout)["TrainingJobSummaries"] == []


def test_no_wait_then_logs_follow_until_the_job_ends_and_stop_training_job(project, tmp_path):
    cwd = tmp_path / "cwd"
    r = amtlocal("train", write_spec(project, "bg", {"x": "4", "sleep": "1.5"}), "--no-wait", cwd=cwd)
    assert r.returncode == 0 and r.stdout.strip() == "bg", r.stderr
    r = amtlocal("logs", "bg", "--follow", cwd=cwd, timeout=60)
    assert r.returncode == 0, r.stderr
    assert [x for x in r.stdout.splitlines() if x.startswith(("epoch", "f1"))] == [
        "epoch 0",
        "epoch 1",
        "epoch 2",
        "f1: 4",
    ]
    assert json.loads(amtlocal("describe-training-job", "bg", cwd=cwd).stdout)["TrainingJobStatus"] == "Completed"

    amtlocal("train", write_spec(project, "long", {"sleep": "60"}), "--no-wait", cwd=cwd)
    deadline = time.time() + 30
    while json.loads(amtlocal("describe-training-job", "long").stdout)["SecondaryStatus"] != "Training":
        assert time.time() < deadline
        time.sleep(0.2)
    r = amtlocal("stop-training-job", "long")
    assert r.returncode == 0 and r.stdout.strip() in ("long: Stopping", "long: Stopped")
    r = amtlocal("logs", "long", "--follow", timeout=60)  # ends once the stop has taken effect
    assert r.returncode == 0 and "epoch 0" in r.stdout
    d = json.loads(amtlocal("describe-training-job", "long").stdout)
    assert d["TrainingJobStatus"] == "Stopped" and d["SecondaryStatus"] == "Stopped"
    assert amtlocal("stop-training-job", "long").stdout.strip() == "long: already Stopped; nothing to stop"


def test_a_sigkilled_amtlocal_train_leaves_the_job_failed_with_a_reason(project, tmp_path):
    """Issue 13's acceptance: the launcher (`amtlocal train`, which runs the job in its own process) is SIGKILLed
    mid-job; the next `amtlocal describe-training-job` says Failed with a reason, and the script's process is gone."""
    cwd = tmp_path / "cwd"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "amtlocal", "train", write_spec(project, "doomed", {"sleep": "60"})],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    from amtlocal.backends.local import LocalStore

    store = LocalStore()  # the test's AMTLOCAL_HOME, as the subprocesses see it
    deadline = time.time() + 60
    pid = None
    while pid is None:
        assert time.time() < deadline and launcher.poll() is None
        try:
            pid = store.find_training_job("doomed").pid
        except Exception:  # noqa: BLE001 - not created yet
            pass
        time.sleep(0.05)
    assert alive(pid)
    os.kill(launcher.pid, signal.SIGKILL)
    launcher.wait(10)
    r = amtlocal("describe-training-job", "doomed", cwd=cwd)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["TrainingJobStatus"] in ("Failed", "Stopped") and d["FailureReason"]
    assert d["TrainingJobStatus"] == "Failed" and d["FailureReason"].startswith("InternalServerError")
    assert d["SecondaryStatus"] == "Failed" and "TrainingEndTime" in d
    deadline = time.time() + 10
    while alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not alive(pid)  # the script's process group was ended by the recovery
    r = amtlocal("training-jobs", "--status-equals", "InProgress", "--json", cwd=cwd)
    assert json.loads(r.stdout)["TrainingJobSummaries"] == []


def test_a_tuning_jobs_training_jobs_answer_the_training_job_commands(tmp_path):
    from amtlocal.testing import GOOD_SCRIPT, run_job

    work = tmp_path / "w"
    (work / "code").mkdir(parents=True)
    (work / "data").mkdir()
    (work / "data" / "train.csv").write_text("1,2\n")
    (work / "code" / "train.py").write_text(GOOD_SCRIPT)
    desc = run_job(make_request("tj", strategy="Grid", max_jobs=None, seed=None, categorical=[("x", ["2", "6"])]), work)
    best = desc["BestTrainingJob"]["TrainingJobName"]
    d = json.loads(amtlocal("describe-training-job", best).stdout)
    assert d["TuningJobArn"] == desc["HyperParameterTuningJobArn"] and d["FinalMetricDataList"][0]["Value"] == 6.0
    assert "f1: 6" in amtlocal("logs", best, "--follow").stdout
    listed = json.loads(amtlocal("training-jobs", "--json", "--name-contains", "tj-").stdout)["TrainingJobSummaries"]
    assert len(listed) == 2 and {s["TrainingJobStatus"] for s in listed} == {"Completed"}


def test_the_commands_are_in_help_and_help_imports_nothing_heavy():
    code = (
        "import sys; from amtlocal.cli import build_parser; h = build_parser().format_help(); "
        "print(h); print([m for m in ('boto3', 'botocore', 'optuna', 'pandas', 'yaml') if m in sys.modules])"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    for command in ("train", "training-jobs", "describe-training-job", "logs", "stop-training-job"):
        assert f"    {command} " in r.stdout or f"    {command}\n" in r.stdout, command
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_tuning_job_commands_given_a_training_job_name_or_spec_name_the_right_command(project, tmp_path):
    cwd = tmp_path / "cwd"
    spec = write_spec(project, "solo-hint", {"x": "2"})
    assert amtlocal("train", spec, cwd=cwd).returncode == 0
    for command in ("describe", "report"):
        r = amtlocal(command, "solo-hint", cwd=cwd)
        assert r.returncode == 1, r.stderr
        assert r.stderr.strip() == (
            "amtlocal: error: Tuning job 'solo-hint' not found in the local store; "
            "'solo-hint' is a training job: amtlocal describe-training-job solo-hint"
        )
    r = amtlocal("describe", "no-such-job", cwd=cwd)  # an unknown name: no hint
    assert r.stderr.strip() == "amtlocal: error: Tuning job 'no-such-job' not found in the local store"
    r = amtlocal("validate", spec, cwd=cwd)
    assert r.returncode == 2
    assert "is a CreateTrainingJob request (TrainingJobName 'solo-hint')" in r.stderr
    assert f"`amtlocal train {spec}` validates a training job's request before it runs it" in r.stderr
