"""amtlocal.container wired behind the runner seam (issue 13 items 2, 4, 5), end to end under both launchers: /opt/ml
per job, requirements.txt overlays, checkpoints, and model.tar.gz for standalone and tuning jobs alike; then the SDK
v2 face (SKLearn / PyTorch estimators, fit, HyperparameterTuner, best_estimator, model_data) on the local backend."""

from __future__ import annotations

import importlib.util
import io
import tarfile
import textwrap
import uuid
from pathlib import Path

import joblib
import pytest

from amtlocal.backends.local import LocalBackend, LocalStore
from amtlocal.container import optml_support
from amtlocal.testing import ROLE_ARN, make_request, make_wheel, run_job, use_script

LAUNCHERS = ["process", "fork"]


def _model(model_data: str) -> dict:
    """The ``model.joblib`` inside a ``model.tar.gz`` named by ModelArtifacts (a ``file://`` URI or a path)."""
    path = model_data[len("file://") :] if model_data.startswith("file://") else model_data
    with tarfile.open(path) as tar:
        assert tar.getnames() == ["model.joblib"]
        return joblib.load(io.BytesIO(tar.extractfile("model.joblib").read()))


# -- /opt/ml: two jobs in parallel, each seeing only its own folder --------------------------------------------------
OPTML_SCRIPT = """
import argparse, json, os, time
import joblib
start = time.time()
p = argparse.ArgumentParser(); p.add_argument("--xx", type=int); a, _ = p.parse_known_args()
name = os.environ["TRAINING_JOB_NAME"]
open(f"/opt/ml/model/{name}.marker", "w").write("mine")
time.sleep(1.5)  # the other job runs meanwhile
seen = sorted(os.listdir("/opt/ml/model"))
os.remove(f"/opt/ml/model/{name}.marker")
rows = open("/opt/ml/input/data/train/train.csv").read()
hps = json.load(open("/opt/ml/input/config/hyperparameters.json"))
joblib.dump({"job": name, "xx": a.xx, "hp": hps["xx"], "rows": rows, "seen": seen,
             "model_dir": os.environ["SM_MODEL_DIR"], "start": start, "end": time.time()}, "/opt/ml/model/model.joblib")
print(f"f1: {a.xx}")
"""


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_optml_script_runs_two_parallel_jobs_each_model_in_its_own_model_tar_gz(workdir, store, monkeypatch, launcher):
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", launcher)
    use_script(workdir, OPTML_SCRIPT)
    req = make_request("optml", max_jobs=2, parallel=2, strategy="Grid", seed=None, categorical=[("xx", ["3", "7"])])
    req["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] = "file://out"
    tuning = run_job(req, workdir, store)
    backend = LocalBackend(store)
    jobs = backend.list_training_jobs("optml", MaxResults=10)["TrainingJobSummaries"]
    assert len(jobs) == 2
    if not optml_support().available:  # the documented failure: names the path and the SM_* variable
        for j in jobs:
            d = backend.describe_training_job(j["TrainingJobName"])
            assert d["TrainingJobStatus"] == "Failed"
            assert "/opt/ml/model" in d["FailureReason"] and "SM_MODEL_DIR" in d["FailureReason"]
        return
    assert tuning["HyperParameterTuningJobStatus"] == "Completed"
    models = {}
    for j in jobs:
        name = j["TrainingJobName"]
        d = backend.describe_training_job(name)
        assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
        expected = workdir / "out" / name / "output" / "model.tar.gz"
        assert d["ModelArtifacts"]["S3ModelArtifacts"] == f"file://{expected}"
        m = _model(d["ModelArtifacts"]["S3ModelArtifacts"])
        assert m["job"] == name and m["seen"] == [f"{name}.marker"]  # never the other job's file
        assert m["rows"] == "1,2\n" and m["model_dir"] == "/opt/ml/model"
        assert str(m["xx"]) == j["TunedHyperParameters"]["xx"] == m["hp"]
        models[name] = m
    a, b = models.values()
    assert a["start"] < b["end"] and b["start"] < a["end"], "the two jobs did not run in parallel"
    assert sorted(m["xx"] for m in models.values()) == [3, 7]
    assert not Path("/opt/ml").exists()  # nothing made on the host


# -- requirements.txt ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_requirements_package_imports_in_the_tuning_jobs_not_in_the_tuner(workdir, store, monkeypatch, launcher):
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", launcher)
    module = "amtl_req_" + uuid.uuid4().hex[:8]
    (workdir / "code" / "deps").mkdir()
    wheel = make_wheel(workdir / "code" / "deps", module, 42)
    (workdir / "code" / "requirements.txt").write_text(f"--no-index\n./deps/{wheel.name}\n")
    use_script(
        workdir,
        f"import argparse, {module}\np = argparse.ArgumentParser(); p.add_argument('-x', type=int)\n"
        f"a = p.parse_args()\nprint('f1: %d' % (a.x + {module}.VALUE))\n",
    )
    tuning = run_job(make_request("req", max_jobs=2, parallel=2, integer=[("x", 1, 5, "Linear")]), workdir, store)
    assert tuning["HyperParameterTuningJobStatus"] == "Completed"
    backend = LocalBackend(store)
    for j in backend.list_training_jobs("req", MaxResults=10)["TrainingJobSummaries"]:
        assert j["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == int(j["TunedHyperParameters"]["x"]) + 42
        log = list(backend.training_job_logs(j["TrainingJobName"]))
        assert "Processing ./deps/" in "\n".join(log[:10]) and log[-1].startswith("f1: ")  # pip's output first
    assert importlib.util.find_spec(module) is None


def test_failed_install_fails_the_job_with_pip_error_and_starts_nothing(workdir, store):
    (workdir / "code" / "requirements.txt").write_text("--no-index\n./deps/missing-0.1-py3-none-any.whl\n")
    use_script(workdir, "open('started', 'w').write('yes')\nprint('f1: 1')\n")
    run_job(make_request("badreq", max_jobs=1), workdir, store)
    backend = LocalBackend(store)
    (j,) = backend.list_training_jobs("badreq", MaxResults=10)["TrainingJobSummaries"]
    d = backend.describe_training_job(j["TrainingJobName"])
    assert d["TrainingJobStatus"] == "Failed"
    assert d["FailureReason"].startswith("AlgorithmError: InstallRequirementsError:")
    assert "missing-0.1-py3-none-any.whl" in d["FailureReason"]
    assert any("missing-0.1-py3-none-any.whl" in line for line in backend.training_job_logs(j["TrainingJobName"]))
    assert not (store.training_job_dir("badreq", j["TrainingJobName"]) / "code" / "started").exists()


# -- checkpoints ---------------------------------------------------------------------------------------------------
CHECKPOINT_SCRIPT = """
import os
path = "/opt/ml/checkpoints/count"
n = int(open(path).read()) if os.path.exists(path) else 0
open(path, "w").write(str(n + 1))
print(f"f1: {n + 1}")
"""


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_checkpoints_are_restored_into_the_next_job_and_synced_back(workdir, store, monkeypatch, launcher):
    if not optml_support().available:
        pytest.skip("needs /opt/ml (the failure where it is missing is checked above)")
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", launcher)
    use_script(workdir, CHECKPOINT_SCRIPT)
    req = make_request("ckpt", max_jobs=2, parallel=1, strategy="Grid", seed=None, categorical=[("x", ["1", "2"])])
    req["TrainingJobDefinition"]["CheckpointConfig"] = {"S3Uri": "file://ckpt"}
    run_job(req, workdir, store)
    jobs = sorted(
        LocalBackend(store).list_training_jobs("ckpt", MaxResults=10)["TrainingJobSummaries"],
        key=lambda j: j["CreationTime"],
    )
    assert [j["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for j in jobs] == [1, 2]
    assert (workdir / "ckpt" / "count").read_text() == "2"


# -- the SDK v2 face -----------------------------------------------------------------------------------------------
SDK_SCRIPT = """
import argparse, os
import joblib
p = argparse.ArgumentParser(); p.add_argument("--depth", type=int, default=1); a, _ = p.parse_known_args()
rows = open(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv")).read()
joblib.dump({"depth": a.depth, "rows": rows, "extra": EXTRA}, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
print(f"score={a.depth / 10}")
"""
SCORE = [{"Name": "score", "Regex": r"score=([0-9.]+)"}]


def _sdk_project(root: Path, extra_import: str = "") -> tuple[Path, Path]:
    src, data = root / "src", root / "data"
    src.mkdir()
    data.mkdir()
    (data / "train.csv").write_text("1,2\n3,4\n")
    body = SDK_SCRIPT.replace("EXTRA", f"{extra_import}.VALUE" if extra_import else "None")
    (src / "train.py").write_text((f"import {extra_import}\n" if extra_import else "") + textwrap.dedent(body))
    return src, data


def _tune_and_check(est, data: Path, expected_extra) -> None:
    from amtlocal.api import HyperparameterTuner, IntegerParameter

    tuner = HyperparameterTuner(
        est, "score", {"depth": IntegerParameter(2, 9)}, metric_definitions=SCORE, max_jobs=2, max_parallel_jobs=2
    )
    tuner.fit({"train": f"file://{data}"})
    best = tuner.best_estimator()
    model = _model(best.model_data)
    described = LocalBackend(LocalStore()).describe(tuner.latest_tuning_job.name)
    best_job = described["BestTrainingJob"]
    assert model["depth"] == int(best_job["TunedHyperParameters"]["depth"])
    assert model["depth"] / 10 == best_job["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert model["rows"] == "1,2\n3,4\n" and model["extra"] == expected_extra
    assert best.model_data.endswith(f"/{best_job['TrainingJobName']}/output/model.tar.gz")


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_sklearn_fit_then_tuner_best_estimator_model_data(tmp_path, monkeypatch, launcher):
    from amtlocal.api import SKLearn

    monkeypatch.setenv("AMTLOCAL_LAUNCHER", launcher)
    src, data = _sdk_project(tmp_path)
    est = SKLearn(
        entry_point="train.py",
        source_dir=str(src),
        role=ROLE_ARN,
        instance_type="ml.m5.large",
        instance_count=1,
        framework_version="1.2-1",
        output_path=f"file://{tmp_path / 'out'}",
        hyperparameters={"depth": 4},
        metric_definitions=SCORE,
    )
    est.fit({"train": f"file://{data}"}, logs=False)
    name = est.latest_training_job.name
    assert est.model_data == f"file://{tmp_path / 'out' / name / 'output' / 'model.tar.gz'}"
    assert _model(est.model_data) == {"depth": 4, "rows": "1,2\n3,4\n", "extra": None}
    frame = est.training_job_analytics.dataframe()
    assert list(frame["metric_name"]) == ["score"] and list(frame["value"]) == [0.4]
    assert LocalBackend(LocalStore()).metric_series(None, name)[0]["Value"] == 0.4
    _tune_and_check(est, data, None)


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_pytorch_spot_estimator_with_requirements_fit_and_tune(tmp_path, monkeypatch, launcher):
    from amtlocal.api import PyTorch

    monkeypatch.setenv("AMTLOCAL_LAUNCHER", launcher)
    module = "amtl_sdk_" + uuid.uuid4().hex[:8]
    src, data = _sdk_project(tmp_path, module)
    (src / "deps").mkdir()
    wheel = make_wheel(src / "deps", module, 7)
    (src / "requirements.txt").write_text(f"--no-index\n./deps/{wheel.name}\n")
    est = PyTorch(
        entry_point="train.py",
        source_dir=str(src),
        role=ROLE_ARN,
        instance_type="ml.m5.large",
        instance_count=1,
        framework_version="2.1",
        py_version="py310",
        output_path=f"file://{tmp_path / 'out'}",
        use_spot_instances=True,
        max_run=600,
        max_wait=1200,
        checkpoint_s3_uri=f"file://{tmp_path / 'ckpt'}",
        hyperparameters={"depth": 3},
        metric_definitions=SCORE,
    )
    est.fit({"train": f"file://{data}"}, logs=False)
    d = LocalBackend(LocalStore()).describe_training_job(est.latest_training_job.name)
    assert d["TrainingJobStatus"] == "Completed" and d["EnableManagedSpotTraining"] is True
    assert d["StoppingCondition"]["MaxWaitTimeInSeconds"] == 1200
    assert _model(est.model_data) == {"depth": 3, "rows": "1,2\n3,4\n", "extra": 7}
    assert importlib.util.find_spec(module) is None  # installed for the job only
    _tune_and_check(est, data, 7)


# -- the runner seam itself ----------------------------------------------------------------------------------------
def _runner(launcher: str, code: Path):
    from amtlocal.runners import ProcessRunner
    from amtlocal.runners._fork import ForkServerRunner

    return ProcessRunner() if launcher == "process" else ForkServerRunner(code / "show.py", code)


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_runner_shows_optml_dir_and_puts_sys_path_first(tmp_path, launcher):
    import os
    import sys

    from amtlocal.runners import Command

    if not optml_support().available:
        pytest.skip("needs /opt/ml")
    code, job, extra = tmp_path / "code", tmp_path / "job", tmp_path / "extra"
    for d in (code, job, extra):
        d.mkdir()
    (job / "marker").write_text("job folder")
    (extra / "amtl_extra_mod.py").write_text("WHERE = 'extra'\n")
    (code / "show.py").write_text(
        "import os, sys, amtl_extra_mod\nprint(open('/opt/ml/marker').read(), os.getppid(),"
        f" amtl_extra_mod.WHERE, sys.path.index({str(extra)!r}))\n"
    )
    runner = _runner(launcher, code)
    try:
        proc = runner.start(
            Command(
                [sys.executable, "show.py"],
                dict(os.environ, PYTHONPATH=str(extra)),
                code,
                "j",
                optml_dir=job,
                sys_path=[str(extra)],
            )
        )
        assert runner.poll(proc, timeout=30) == 0, proc.stderr.read()
        text, parent, where, index = proc.stdout.read().decode().split()[-4:]
        # the entry point runs under the job's supervisor (runners/_supervisor.py), the execution's own process
        assert text == "folder" and int(parent) == proc.pid and where == "extra" and index == "1"
    finally:
        runner.close()


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_runner_refused_namespace_exits_126_without_running_the_script(tmp_path, launcher):
    import os
    import sys

    from amtlocal.container import EXIT_CANNOT_ENTER
    from amtlocal.runners import Command

    code = tmp_path / "code"
    code.mkdir()
    (code / "show.py").write_text("open('ran', 'w').write('yes')\n")
    runner = _runner(launcher, code)
    try:
        proc = runner.start(
            Command([sys.executable, "show.py"], dict(os.environ), code, "j", optml_dir=tmp_path / "no-such-folder")
        )
        assert runner.poll(proc, timeout=30) == EXIT_CANNOT_ENTER
        assert b"amtlocal: cannot show the job folder at /opt/ml" in proc.stderr.read()
        assert not (code / "ran").exists()
    finally:
        runner.close()
