"""Issue 14's first acceptance line, end to end: unchanged SDK v3 and SDK v2 user scripts against the local endpoint.

Each test runs a user's script (``tests/e2e/v3_user_script.py`` in ``.venv-sdk3``, ``tests/e2e/v2_user_script.py``
in this venv, which has SDK v2) in a subprocess whose environment holds ONLY what ``amtlocal serve`` prints (endpoint,
region, dummy credentials, the SDK config) plus ``PATH`` and a private ``HOME`` (so no ``~/.aws`` is read). The
script uploads the digits data to ``s3://`` itself, trains once, runs a Random and a Bayesian tuning job (3 jobs,
2 in parallel), warm-starts a third from both, and prints ``RESULT {json}`` with what the SDK and boto3 read back.

The objectives are checked against a fresh fit here: the user's ``train.py`` is deterministic (``random_state=0``),
so the accuracy each job's hyperparameters give is recomputed in this process and must equal the value scraped from
the job's log (``FinalMetricDataList``, the analytics frame, the tuning job's best job).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
E2E = Path(__file__).with_name("e2e")
SOURCE = E2E / "source"
SDK3_PYTHON = ROOT / ".venv-sdk3" / "bin" / "python"
METRIC = "validation:accuracy"
RANGES = {"n-estimators": (2, 12), "max-depth": (2, 8)}
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
EXPORTED = [
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "SAGEMAKER_USER_CONFIG_OVERRIDE",
]


def _accuracy(n_estimators: int, max_depth: int) -> float:
    """What tests/e2e/source/train.py prints for these hyperparameters on the scripts' data (digits, first 600 rows,
    70/30 split), to the 6 decimals it prints."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier

    digits = load_digits()
    data = np.column_stack([digits.target, digits.data])[:600].astype(float)
    cut = int(len(data) * 0.7)
    model = RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth, random_state=0, n_jobs=1)
    model.fit(data[:cut, 1:], data[:cut, 0])
    return round(model.score(data[cut:, 1:], data[cut:, 0]), 6)


def _run_user_script(python: Path, script: Path, exported: dict[str, str], tmp_path: Path) -> dict:
    """Run ``script`` with only ``exported`` (+ PATH, a private HOME); return its ``RESULT`` JSON."""
    assert list(exported) == EXPORTED  # exactly what serve prints, nothing added
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "user-home"), **exported}
    (tmp_path / "user-home").mkdir()
    proc = subprocess.run(
        [str(python), str(script), str(SOURCE), str(tmp_path / "user-work")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


def _check_tuning(t: dict, strategy: str) -> dict[str, float]:
    """A tuning job as the script read it back: Completed, 3 Completed jobs in range, each objective the real fit's
    and the same in DescribeTrainingJob, the analytics frame and the best job. Returns ``{job: objective}``."""
    assert t["status"] == "Completed", t
    assert t["strategy"] == strategy
    assert t["counters"] == {"Completed": 3, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    assert len(t["analytics"]) == 3 and set(t["jobs"]) == {row["TrainingJobName"] for row in t["analytics"]}
    objectives = {}
    for row in t["analytics"]:
        name = row["TrainingJobName"]
        job = t["jobs"][name]
        assert name.startswith(t["name"] + "-")
        assert row["TrainingJobStatus"] == job["status"] == "Completed", job["failure"]
        hps = {k: int(job["hyperparameters"][k]) for k in RANGES}
        for k, (low, high) in RANGES.items():
            assert low <= hps[k] <= high and row[k] == hps[k]
        expected = _accuracy(hps["n-estimators"], hps["max-depth"])
        assert 0.3 < expected <= 1.0
        assert job["final_metrics"] == {METRIC: pytest.approx(expected, abs=1e-6)}
        assert row["FinalObjectiveValue"] == pytest.approx(expected, abs=1e-6)
        assert job["model"].endswith(f"/{name}/output/model.tar.gz")
        objectives[name] = expected
    best = max(objectives.values())
    assert t["best_training_job"] == t["best_described"]
    assert objectives[t["best_training_job"]] == best
    return objectives


def _check_result(r: dict, bucket: str) -> None:
    """What both SDKs' scripts must have seen (the version-specific fields are checked by each test)."""
    assert r["bucket"] == bucket and r["train_uri"].startswith(f"s3://{bucket}/")
    training = r["training"]
    assert training["status"] == "Completed", training["failure"]
    assert training["final_metrics"] == {METRIC: pytest.approx(_accuracy(4, 4), abs=1e-6)}
    assert training["model"].startswith(f"s3://{bucket}/") and training["model"].endswith("/output/model.tar.gz")
    assert training["model_members"] == ["model.joblib"]
    tuning = r["tuning"]
    random_jobs = _check_tuning(tuning["random"], "Random")
    bayes_jobs = _check_tuning(tuning["bayesian"], "Bayesian")
    warm_jobs = _check_tuning(tuning["warm"], "Bayesian")
    for t in (tuning["random"], tuning["bayesian"]):
        assert t["warm_start"] is None and t["overall_best"] is None
    warm = tuning["warm"]
    assert warm["warm_start"]["WarmStartType"] == "IdenticalDataAndAlgorithm"
    parents = {p["HyperParameterTuningJobName"] for p in warm["warm_start"]["ParentHyperParameterTuningJobs"]}
    assert parents == {tuning["random"]["name"], tuning["bayesian"]["name"]}
    # OverallBestTrainingJob: the best over the warm start's own jobs and its parents'
    everything = {**random_jobs, **bayes_jobs, **warm_jobs}
    assert everything[warm["overall_best"]] == max(everything.values())


@pytest.fixture
def served(tmp_path):
    """``amtlocal serve --port 0`` (the installed console script) in a subprocess over a fresh store; yields the
    variables it printed as ``export`` lines. Ctrl-C (SIGINT) at the end; it must exit 0."""
    cli = Path(sys.executable).with_name("amtlocal")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "SAGEMAKER_USER_CONFIG_OVERRIDE"}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", "0", "--home", str(tmp_path / "serve-home")],
        stdout=subprocess.PIPE,
        stderr=log,  # one line per request: a pipe nobody reads would fill and block the server
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        exported: dict[str, str] = {}
        while "SAGEMAKER_USER_CONFIG_OVERRIDE" not in exported:
            line = proc.stdout.readline()
            assert line, (tmp_path / "serve.log").read_text()[-3000:]
            if line.startswith("export "):
                name, value = line[len("export ") :].strip().split("=", 1)
                exported[name] = value
        yield exported
        # the SDKs retry a 5xx quietly: none may have been answered (one log line per request)
        assert not re.findall(r".* 5\d\d$", (tmp_path / "serve.log").read_text(), re.M)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, (tmp_path / "serve.log").read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.sdk3
@pytest.mark.slow
def test_unchanged_sdk_v3_script_against_amtlocal_serve(served, tmp_path):
    """ModelTrainer.train(), Random and Bayesian HyperparameterTuner.tune(), a warm start from both, best job and
    analytics, all from SDK 3.27 against ``amtlocal serve``."""
    if not SDK3_PYTHON.exists():
        pytest.fail(f"the SDK v3 venv is missing: run `make sdk3-venv` (expected {SDK3_PYTHON})")
    r = _run_user_script(SDK3_PYTHON, E2E / "v3_user_script.py", served, tmp_path)
    bucket = "sagemaker-us-east-1-000000000000"  # the server's default bucket, read by the SDK from its config
    _check_result(r, bucket)
    assert r["image"] == SKLEARN_IMAGE  # sagemaker.core.image_uris.retrieve("sklearn", version="1.2-1")
    # v3's two contracts: ModelTrainer sends plain str() hyperparameters and no sagemaker_program (its drivers run
    # the script); its tuner sends sagemaker_program / sagemaker_submit_directory unquoted
    assert r["training"]["hyperparameters"] == {"n-estimators": "4", "max-depth": "4"}
    for t in r["tuning"].values():
        for job in t["jobs"].values():
            assert job["hyperparameters"]["sagemaker_program"] == "train.py"
            assert job["hyperparameters"]["sagemaker_submit_directory"].startswith(f"s3://{bucket}/")


@pytest.mark.slow
def test_unchanged_sdk_v2_script_against_the_endpoint_helper(tmp_path, caplog):
    """SKLearn.fit(), Random and Bayesian HyperparameterTuner.fit()/wait(), a warm start from both, best job,
    analytics and the training job's CloudWatch metrics, all from SDK v2 against ``amtlocal.endpoint()``."""
    import amtlocal

    caplog.set_level(logging.INFO, logger="amtlocal.server")  # one record per request served
    with amtlocal.endpoint(home=tmp_path / "endpoint-home", region="us-east-1") as server:
        exported = dict(server.environment)
        r = _run_user_script(Path(sys.executable), E2E / "v2_user_script.py", exported, tmp_path)
    served = [rec.getMessage() for rec in caplog.records if rec.name == "amtlocal.server"]
    assert len(served) > 50 and not [m for m in served if re.search(r" 5\d\d$", m)]
    _check_result(r, server.bucket)
    training = r["training"]
    assert training["image"] == SKLEARN_IMAGE
    # v2's SKLearn sends its framework hyperparameters JSON-encoded
    assert training["hyperparameters"]["sagemaker_program"] == '"train.py"'
    assert json.loads(training["hyperparameters"]["sagemaker_submit_directory"]).startswith(f"s3://{server.bucket}/")
    # TrainingJobAnalytics reads CloudWatch (namespace /aws/sagemaker/TrainingJobs): the scraped value
    assert [(m["metric_name"], m["value"]) for m in training["cloudwatch"]] == [
        (METRIC, pytest.approx(_accuracy(4, 4), abs=1e-6))
    ]
