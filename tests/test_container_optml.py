"""SageMaker's container paths: each job sees its own folder at /opt/ml, or fails at once saying what to use instead
(issue 13 item 5)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from amtlocal.container import (
    EXIT_CANNOT_ENTER,
    OPTML_MODULE_FILE,
    enter_job_namespace,
    optml_environment,
    optml_exec_argv,
    optml_failure_reason,
    optml_support,
    scan_optml_paths,
    sm_variable_for,
)
from amtlocal.exceptions import OptMlUnavailable

SUPPORT = optml_support()

# A script as SageMaker examples write it when they ignore SM_*: hardcoded container paths only.
TRAIN = textwrap.dedent("""
    import json, os, time
    hps = json.load(open("/opt/ml/input/config/hyperparameters.json"))
    rows = open("/opt/ml/input/data/train/data.csv").read().split()
    time.sleep(0.3)  # both jobs are inside their namespaces at the same time
    seen = sorted(os.listdir("/opt/ml/model"))  # the other job's model must not be there
    with open("/opt/ml/model/model.joblib", "w") as f:
        json.dump({"job": hps["job"], "rows": rows, "seen": seen}, f)
    print("done", hps["job"])
""")


def _job(root: Path, name: str) -> Path:
    """A job folder laid out as /opt/ml, its train channel a link to data outside it (as the local backend does)."""
    job = root / name
    for d in ("code", "model", "input/config", "input/data", "output/data"):
        (job / d).mkdir(parents=True)
    data = root / f"data-{name}"
    data.mkdir()
    (data / "data.csv").write_text(f"{name}-row1\n{name}-row2\n")
    (job / "input" / "data" / "train").symlink_to(data, target_is_directory=True)
    (job / "input" / "config" / "hyperparameters.json").write_text(json.dumps({"job": name}))
    (job / "code" / "train.py").write_text(TRAIN)
    return job


def _opt_state() -> list[tuple[str, int, int]]:
    return (
        sorted(
            (e.name, e.stat(follow_symlinks=False).st_ino, e.stat(follow_symlinks=False).st_mode)
            for e in os.scandir("/opt")
        )
        if os.path.isdir("/opt")
        else []
    )


def _expect_own_model(job: Path, name: str) -> None:
    model = json.loads((job / "model" / "model.joblib").read_text())
    assert model == {"job": name, "rows": [f"{name}-row1", f"{name}-row2"], "seen": []}


needs_optml = pytest.mark.skipif(not SUPPORT.available, reason=f"/opt/ml cannot be shown here: {SUPPORT.reason}")


def test_support_is_known_on_linux():
    if sys.platform.startswith("linux"):
        assert SUPPORT.available or SUPPORT.reason, "a refusal must say why"
    else:
        assert not SUPPORT.available and "Linux" in SUPPORT.reason


@needs_optml
def test_two_parallel_new_processes_each_see_their_own_opt_ml(tmp_path):
    before = _opt_state()
    jobs = {n: _job(tmp_path, n) for n in ("job-a", "job-b")}
    procs = {
        n: subprocess.Popen(
            optml_exec_argv(job, [sys.executable, "train.py"]),
            cwd=job / "code",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for n, job in jobs.items()
    }
    for n, p in procs.items():
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert out == f"done {n}\n"
    for n, job in jobs.items():
        _expect_own_model(job, n)
    assert _opt_state() == before  # nothing left on the host
    assert not os.path.exists("/opt/ml") or "ml" in [e[0] for e in before]


@needs_optml
def test_two_parallel_forked_children_each_see_their_own_opt_ml(tmp_path):
    """The fork-server path: enter_job_namespace in a freshly forked child, then run the script in it."""
    before = _opt_state()
    jobs = {n: _job(tmp_path, n) for n in ("fork-a", "fork-b")}
    pids = {}
    for n, job in jobs.items():
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                os.setsid()
                enter_job_namespace(job)
                os.chdir(job / "code")
                import runpy

                runpy.run_path("train.py", run_name="__main__")
                code = 0
            except BaseException as e:  # noqa: BLE001
                os.write(2, f"{type(e).__name__}: {e}\n".encode())
            finally:
                os._exit(code)
        pids[n] = pid
    for pid in pids.values():
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    for n, job in jobs.items():
        _expect_own_model(job, n)
    assert _opt_state() == before


@needs_optml
def test_the_wrapper_becomes_the_job(tmp_path):
    """exec, not a child: the Popen's pid is the script's pid, its own session and process group."""
    job = _job(tmp_path, "job")
    prog = "import os; print(os.getpid(), os.getpgid(0), os.getsid(0), os.getcwd(), os.environ['MARK'])"
    p = subprocess.Popen(
        optml_exec_argv(job, [sys.executable, "-c", prog]),
        cwd=job / "code",
        env={**os.environ, "MARK": "kept"},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    out, _ = p.communicate(timeout=30)
    assert out.split() == [str(p.pid), str(p.pid), str(p.pid), str(job / "code"), "kept"]
    assert p.returncode == 0


@needs_optml
def test_stopping_the_job_signals_the_script_itself(tmp_path):
    """A stop (SIGTERM to the job's process group) reaches the script, which can handle it, as without /opt/ml."""
    job = _job(tmp_path, "job")
    prog = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: (print('got SIGTERM', flush=True), sys.exit(3)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    p = subprocess.Popen(
        optml_exec_argv(job, [sys.executable, "-c", prog]), stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert p.stdout.readline() == "ready\n"
    os.killpg(p.pid, signal.SIGTERM)
    assert p.wait(timeout=10) == 3
    assert p.stdout.read() == "got SIGTERM\n"


@needs_optml
def test_the_job_cannot_write_elsewhere_in_opt(tmp_path):
    job = _job(tmp_path, "job")
    before = _opt_state()
    prog = "import os\ntry:\n    open('/opt/amtlocal-stray', 'w')\n    print('wrote')\nexcept OSError as e:\n    print('refused')"
    out = subprocess.run(
        optml_exec_argv(job, [sys.executable, "-c", prog]), capture_output=True, text=True, timeout=30
    ).stdout
    assert not os.path.exists("/opt/amtlocal-stray")
    assert _opt_state() == before
    if "ml" not in [e[0] for e in before]:  # /opt was covered by the read-only tmpfs
        assert out == "refused\n"


def test_wrapper_refusal_exits_126_without_running_the_job(tmp_path):
    marker = tmp_path / "ran"
    p = subprocess.run(
        optml_exec_argv(tmp_path / "missing", [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert p.returncode == EXIT_CANNOT_ENTER
    assert p.stderr.startswith("amtlocal: cannot show the job folder at /opt/ml: ")
    assert "missing" in p.stderr
    assert not marker.exists()


def test_enter_refusal_is_optmlunavailable(tmp_path):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: a missing folder is refused before any namespace is made
        try:
            enter_job_namespace(tmp_path / "missing")
            os.write(w, b"entered")
        except OptMlUnavailable as e:
            os.write(w, f"OptMlUnavailable {e}".encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    text = os.read(r, 1000).decode()
    os.close(r)
    assert text.startswith("OptMlUnavailable cannot show the job folder at /opt/ml: ")


def test_failure_reason_names_each_path_and_its_variable(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(
        textwrap.dedent("""\
        import json, joblib
        hps = json.load(open("/opt/ml/input/config/hyperparameters.json"))
        df = open("/opt/ml/input/data/train/data.csv")
        joblib.dump(1, "/opt/ml/model/model.joblib")
        joblib.dump(2, "/opt/ml/model/other.joblib")
    """)
    )
    reason = optml_failure_reason(code, "unshare(CLONE_NEWUSER | CLONE_NEWNS) refused: Operation not permitted")
    assert reason.startswith(
        "ClientError: the script uses SageMaker's container paths, which amtlocal cannot show "
        "at /opt/ml here (unshare(CLONE_NEWUSER | CLONE_NEWNS) refused: Operation not permitted)"
    )
    assert (
        "train.py line 2 uses /opt/ml/input/config/hyperparameters.json (use SM_HPS (or the command-line arguments))"
        in reason
    )
    assert 'train.py line 3 uses /opt/ml/input/data/train/data.csv (use os.environ["SM_CHANNEL_TRAIN"])' in reason
    assert 'train.py line 4 uses /opt/ml/model/model.joblib (use os.environ["SM_MODEL_DIR"])' in reason
    assert [h[1] for h in scan_optml_paths(code)] == [2, 3, 4, 5]


def test_no_failure_when_the_code_never_names_opt_ml(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("import os\nprint(os.environ['SM_MODEL_DIR'])\n")
    assert optml_failure_reason(code, "no namespaces") is None


def test_no_failure_for_opt_ml_in_comments_docstrings_and_sm_fallbacks(tmp_path):
    """SageMaker's own examples name /opt/ml as the fallback of an SM_* variable: that works everywhere."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(
        textwrap.dedent('''\
        """Trains a model; in SageMaker the model goes to /opt/ml/model."""
        import argparse, os
        from os import environ, getenv

        # SageMaker mounts the data at /opt/ml/input/data/train
        parser = argparse.ArgumentParser()
        parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
        parser.add_argument("--train", default=os.getenv("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
        parser.add_argument("--out", default=environ.get("SM_OUTPUT_DATA_DIR", os.path.join("/opt/ml", "output")))
        x = getenv("SM_OUTPUT_DIR", "/opt/ml/output")

        def f():
            """Reads /opt/ml/input/config/hyperparameters.json? No: SM_HPS."""
    ''')
    )
    (code / "run.sh").write_text("#!/bin/sh\n# /opt/ml/model is SM_MODEL_DIR\npython train.py\n")
    assert scan_optml_paths(code) == []
    assert optml_failure_reason(code, "no namespaces") is None
    # ... but a default that SageMaker would not override counts, and so does a non-SM variable's fallback
    (code / "train.py").write_text(
        'import os\nparser.add_argument("--model-dir", default="/opt/ml/model")\n'
        'd = os.environ.get("DATA", "/opt/ml/input/data/train")\n'
    )
    assert scan_optml_paths(code) == [("train.py", 2, "/opt/ml/model"), ("train.py", 3, "/opt/ml/input/data/train")]


@pytest.mark.parametrize(
    "path, variable",
    [
        ("/opt/ml/model", "SM_MODEL_DIR"),
        ("/opt/ml/model/m.pt", "SM_MODEL_DIR"),
        ("/opt/ml/input/data/validation", "SM_CHANNEL_VALIDATION"),
        ("/opt/ml/output/data/x", "SM_OUTPUT_DATA_DIR"),
        ("/opt/ml/output", "SM_OUTPUT_DIR"),
        ("/opt/ml/output/failure", "SM_OUTPUT_DIR"),
        ("/opt/ml/input/config", "SM_INPUT_CONFIG_DIR"),
        ("/opt/ml/code", "SM_MODULE_DIR"),
        ("/opt/ml/modelx", "the SM_* variables"),
    ],
)
def test_sm_variable_for(path, variable):
    assert sm_variable_for(path) == variable


@needs_optml
def test_the_namespace_module_loads_by_path_in_a_plain_interpreter(tmp_path):
    """As the fork server's zygote (a plain script importing no amtlocal) would use it: load by path, fork, enter."""
    job = _job(tmp_path, "zygote-job")
    prog = textwrap.dedent(f"""
        import importlib.util, os, sys
        spec = importlib.util.spec_from_file_location("_amtlocal_optml", {OPTML_MODULE_FILE!r})
        optml = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(optml)
        assert not [m for m in sys.modules if m.startswith("amtlocal")]
        pid = os.fork()
        if pid == 0:
            optml.enter_job_namespace({str(job)!r})
            print(open("/opt/ml/input/config/hyperparameters.json").read(), flush=True)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
    """)
    p = subprocess.run([sys.executable, "-I", "-S", "-c", prog], capture_output=True, text=True, timeout=30)
    assert (p.returncode, p.stdout) == (0, '{"job": "zygote-job"}\n'), p.stderr


def test_sm_variables_read_opt_ml_inside_the_namespace(tmp_path):
    job = tmp_path / "job"
    env = {
        "SM_MODEL_DIR": f"{job}/model",
        "SM_CHANNEL_TRAIN": f"{job}/input/data/train",
        "SM_TRAINING_ENV": json.dumps({"model_dir": f"{job}/model", "other": f"{job}x/model", "root": str(job)}),
        "SAGEMAKER_BASE_DIR": str(job),
        "PYTHONPATH": f"{job}/code",
        "TRAINING_JOB_NAME": "j",
    }
    out = optml_environment(env, job)
    assert out == {
        "SM_MODEL_DIR": "/opt/ml/model",
        "SM_CHANNEL_TRAIN": "/opt/ml/input/data/train",
        "SM_TRAINING_ENV": json.dumps({"model_dir": "/opt/ml/model", "other": f"{job}x/model", "root": "/opt/ml"}),
        "PYTHONPATH": f"{job}/code",
        "TRAINING_JOB_NAME": "j",
    }
    assert env["SM_MODEL_DIR"] == f"{job}/model"  # the caller's dict is unchanged
