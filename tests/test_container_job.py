"""prepare_job_container: the runner's one call, end to end with a real script, a real install and a real archive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import textwrap
import uuid

import joblib
import pytest
from test_container_requirements import _wheel

from amtlocal.container import OptMlSupport, optml_support, pack_output, prepare_job_container

TRAIN = textwrap.dedent("""
    import json, os, joblib
    import {module}
    rows = open("/opt/ml/input/data/train/data.csv").read().split()
    hps = json.load(open("/opt/ml/input/config/hyperparameters.json"))
    joblib.dump({{"job": hps["job"], "rows": rows, "value": {module}.VALUE}}, "/opt/ml/model/model.joblib")
    print("saved", hps["job"], os.environ["SM_MODEL_DIR"], os.environ["SM_CHANNEL_TRAIN"])
""")


@pytest.fixture
def make_job(tmp_path):
    module = "amtl_tiny_" + uuid.uuid4().hex[:8]

    def make(name: str, requirements: str | None = None):
        job = tmp_path / "jobs" / name
        code = job / "code"
        for d in ("model", "output/data", "input/config", "input/data/train"):
            (job / d).mkdir(parents=True)
        (job / "input/data/train/data.csv").write_text(f"{name}-1\n{name}-2\n")
        (job / "input/config/hyperparameters.json").write_text(json.dumps({"job": name}))
        (code / "deps").mkdir(parents=True)
        wheel = _wheel(code / "deps", module, 7)
        (code / "requirements.txt").write_text(requirements or f"--no-index\n./deps/{wheel.name}\n")
        (code / "train.py").write_text(TRAIN.format(module=module))
        return job, code

    return make, module


def test_two_jobs_with_requirements_and_opt_ml_as_a_new_process(tmp_path, make_job):
    make, module = make_job
    support = optml_support()
    jobs = {n: make(n) for n in ("job-a", "job-b")}
    env = {
        n: {
            **os.environ,
            "SM_MODEL_DIR": str(job / "model"),
            "SM_CHANNEL_TRAIN": str(job / "input/data/train"),
            "SAGEMAKER_BASE_DIR": str(job),
        }
        for n, (job, _code) in jobs.items()
    }
    plans = {
        n: prepare_job_container(job, code, "train.py", [sys.executable, "train.py"], env[n], tmp_path / "home")
        for n, (job, code) in jobs.items()
    }
    if not support.available:  # the documented clear failure, before anything runs
        for plan in plans.values():
            assert plan.failure_reason.startswith("ClientError: the script uses SageMaker's container paths")
            assert 'uses /opt/ml/model/model.joblib (use os.environ["SM_MODEL_DIR"])' in plan.failure_reason
        return
    assert sorted(p.install_reused for p in plans.values()) == [False, True]  # one pip run for both jobs
    for n, plan in plans.items():
        job, code = jobs[n]
        assert plan.failure_reason is None
        assert plan.log.startswith("Installing dependencies from requirements.txt\n")
        assert plan.optml_dir == job.resolve()
        assert plan.argv[-2:] == [sys.executable, "train.py"] and plan.argv[-3] == "--"
        assert plan.env["PYTHONPATH"].split(os.pathsep)[0] == plan.sys_path[0]
        assert (plan.env["SM_MODEL_DIR"], "SAGEMAKER_BASE_DIR" in plan.env) == ("/opt/ml/model", False)
    procs = {
        n: subprocess.Popen(
            plan.argv,
            env=plan.env,
            cwd=jobs[n][1],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for n, plan in plans.items()
    }
    for n, p in procs.items():
        out, err = p.communicate(timeout=60)
        assert (p.returncode, out) == (0, f"saved {n} /opt/ml/model /opt/ml/input/data/train\n"), err
    for n, (job, _code) in jobs.items():
        art = pack_output(job, str(tmp_path / "out"), n)
        with tarfile.open(art.model_path) as tar:
            assert tar.getnames() == ["model.joblib"]
            tar.extractall(tmp_path / "unpacked" / n, filter="data")
        assert joblib.load(tmp_path / "unpacked" / n / "model.joblib") == {
            "job": n,
            "rows": [f"{n}-1", f"{n}-2"],
            "value": 7,
        }


def test_unsupported_opt_ml_fails_the_job_before_it_starts(tmp_path, make_job):
    make, _module = make_job
    job, code = make("job")
    plan = prepare_job_container(
        job,
        code,
        "train.py",
        [sys.executable, "train.py"],
        {},
        tmp_path / "home",
        optml=OptMlSupport(False, "mount namespaces need Linux; this is darwin"),
    )
    assert plan.optml_dir is None and plan.argv == [sys.executable, "train.py"]
    assert plan.failure_reason.startswith(
        "ClientError: the script uses SageMaker's container paths, which amtlocal "
        "cannot show at /opt/ml here (mount namespaces need Linux; this is darwin)"
    )
    assert (
        'train.py line 4 uses /opt/ml/input/data/train/data.csv (use os.environ["SM_CHANNEL_TRAIN"])'
        in plan.failure_reason
    )


def test_failed_install_fails_the_job_with_pips_error(tmp_path, make_job):
    make, _module = make_job
    job, code = make("job", requirements="--no-index\namtl-missing-dependency==1.0\n")
    plan = prepare_job_container(job, code, "train.py", [sys.executable, "train.py"], {}, tmp_path / "home")
    assert plan.failure_reason.startswith("AlgorithmError: InstallRequirementsError:\nExitCode 1\n")
    assert "No matching distribution found for amtl-missing-dependency==1.0" in plan.failure_reason
    assert "No matching distribution found" in plan.log
    assert plan.optml_dir is None


def test_no_install_for_a_shell_entry_point(tmp_path, make_job):
    """The toolkit installs requirements.txt for a Python entry point only."""
    make, _module = make_job
    job, code = make("job", requirements="--no-index\namtl-missing-dependency==1.0\n")
    plan = prepare_job_container(
        job, code, "run.sh", ["/bin/sh", "run.sh"], {"PATH": "/usr/bin"}, tmp_path / "home", optml=False
    )
    assert plan.failure_reason is None and plan.log == "" and plan.sys_path == []
    assert plan.argv == ["/bin/sh", "run.sh"] and plan.env == {"PATH": "/usr/bin"}
