"""Security (issue #7 part 4): argv lists and no shell anywhere; names checked against AMT's patterns before they
become folder names; YAML loaded safely; AWS credentials of the tuner never reach training jobs, the store or the
logs; exactly which environment variables reach a training job."""

from __future__ import annotations

import ast
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import amtlocal
from amtlocal.backends.local import LocalStore
from amtlocal.backends.local._process import TrainingJobProcess
from amtlocal.container import SCRUBBED_ENVIRONMENT
from amtlocal.exceptions import AmtValidationError
from amtlocal.testing import make_request, run_job, summaries, use_script

PACKAGE = Path(amtlocal.__file__).parent


# -- no shell -------------------------------------------------------------------------------------------------------
def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            owner = getattr(f.value, "id", "") if isinstance(f, ast.Attribute) else ""
            yield node, owner, name


def test_no_shell_anywhere_in_the_package():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, owner, name in _calls(tree):
            where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
            if any(
                k.arg == "shell" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                for k in node.keywords
            ):
                offenders.append(f"{where} shell=")
            if (owner, name) in {
                ("os", "system"),
                ("os", "popen"),
                ("subprocess", "getoutput"),
                ("subprocess", "getstatusoutput"),
            }:
                offenders.append(f"{where} {owner}.{name}")
            if owner == "os" and name.startswith(("spawn", "exec", "posix_spawn")):
                # The /opt/ml wrapper execs the job's argv list (no shell) so that it stays the job's process.
                # So does the per-job supervisor (an argv list, no shell).
                if (name, path.relative_to(PACKAGE).as_posix()) not in {
                    ("execvp", "container/_optml_exec.py"),
                    ("execvpe", "runners/_supervisor.py"),
                }:
                    offenders.append(f"{where} {owner}.{name}")
        for node in ast.walk(tree):  # ["sh", "-c", <command string>]
            if isinstance(node, ast.List):
                words = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                if "-c" in words and any(w.rsplit("/", 1)[-1] in ("sh", "bash", "zsh", "dash") for w in words):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} sh -c")
    assert offenders == []


SHELLISH = "$(touch PWNED); rm -rf x && echo `touch PWNED2` | cat > PWNED3 'q' \"dq\" *"

ECHO_ARGV = """
import json, os, sys
json.dump(sys.argv[1:], open(os.path.join(os.environ['SM_MODEL_DIR'], 'argv.json'), 'w'))
print('f1: 0.5')
"""


def test_shell_syntax_in_a_hyperparameter_arrives_literally_through_an_argv_list(workdir, monkeypatch):
    seen = []
    spawn = TrainingJobProcess._spawn

    def recording(self, argv, env, cwd, **container):
        seen.append(argv)
        return spawn(self, argv, env, cwd, **container)

    monkeypatch.setattr(TrainingJobProcess, "_spawn", recording)
    use_script(workdir, ECHO_ARGV)
    run_job(
        make_request("shellish", max_jobs=1, integer=[("x", 1, 5, "Auto")], static={"cmd": json.dumps(SHELLISH)}),
        workdir,
    )
    (argv,) = seen
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
    (job,) = summaries("shellish")
    got = json.loads(
        (
            Path(os.environ["AMTLOCAL_HOME"]) / "jobs" / "shellish" / job["TrainingJobName"] / "model" / "argv.json"
        ).read_text()
    )
    assert got[got.index("--cmd") + 1] == SHELLISH
    assert not [p for p in workdir.rglob("PWNED*")] and not list(Path.cwd().glob("PWNED*"))


# -- names become folder names ------------------------------------------------------------------------------------
BAD_NAMES = ["../evil", "a/b", "..", ".", "", "-lead", "trail-", "under_score", "a" * 33, "sp ace", "x\x00y", "ü"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_tuning_job_names_never_become_folders(workdir, tmp_path, name):
    store = LocalStore(tmp_path / "home")
    with pytest.raises(AmtValidationError):
        store.job_dir(name)
    if len(name) != 33:  # 33 characters: too long for a tuning job, fine for a training job (63)
        with pytest.raises(AmtValidationError):
            store.training_job_dir("ok", name)
    use_script(workdir, "print('f1: 0.5')\n")
    with pytest.raises(AmtValidationError) as e:
        run_job(make_request(name, max_jobs=1, integer=[("x", 1, 5, "Auto")]), workdir, store=store)
    assert "HyperParameterTuningJobName" in str(e.value)
    jobs = tmp_path / "home" / "jobs"
    assert not jobs.exists() or list(jobs.iterdir()) == []
    assert not (tmp_path / "evil").exists()


def test_training_job_names_are_checked_too(tmp_path):
    store = LocalStore(tmp_path / "home")
    assert store.training_job_dir("t", "t-001-0123abcd").name == "t-001-0123abcd"
    for bad in ("t/../../x", "t-001-" + "a" * 60, "t_1"):
        with pytest.raises(AmtValidationError):
            store.training_job_dir("t", bad)


def test_cli_job_name_override_is_checked_before_anything_runs(workdir, tmp_path):
    use_script(workdir, "print('f1: 0.5')\n")
    spec = workdir / "spec.json"
    spec.write_text(json.dumps(make_request("fine", max_jobs=1, integer=[("x", 1, 5, "Auto")])))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "amtlocal",
            "--home",
            str(tmp_path / "home"),
            "tune",
            str(spec),
            "--job-name",
            "../evil",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "HyperParameterTuningJobName" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "evil").exists() and not (tmp_path / "home" / "jobs").exists()


# -- YAML -----------------------------------------------------------------------------------------------------------
def test_yaml_specs_are_loaded_safely(workdir, tmp_path):
    from amtlocal.spec import load_spec

    marker = tmp_path / "PWNED"
    spec = workdir / "evil.yaml"
    spec.write_text(f'HyperParameterTuningJobName: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(AmtValidationError) as e:
        load_spec(spec)
    assert "not valid YAML" in str(e.value)
    r = subprocess.run(
        [sys.executable, "-m", "amtlocal", "validate", str(spec)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert not marker.exists()


# -- the environment of a training job ------------------------------------------------------------------------------
SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAAMTLOCALTESTKEY1",
    "AWS_SECRET_ACCESS_KEY": "amtlocal-test-secret-0123456789abcdef",
    "AWS_SESSION_TOKEN": "amtlocal-test-session-token-xyz",
    "AWS_SECURITY_TOKEN": "amtlocal-test-security-token-xyz",
    "AWS_PROFILE": "amtlocal-test-profile",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "amtlocal-test-ecs-token",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/tmp/amtlocal-test-token-file",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/creds",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "/tmp/amtlocal-test-web-identity",
    "AWS_ROLE_ARN": "arn:aws:iam::111122223333:role/test",
    "AWS_ROLE_SESSION_NAME": "amtlocal-test-session",
    "AWS_SHARED_CREDENTIALS_FILE": "/tmp/amtlocal-test-credentials",
    "AWS_CONFIG_FILE": "/tmp/amtlocal-test-config",
}

DUMP_ENV = """
import json, os
json.dump(dict(os.environ), open(os.path.join(os.environ['SM_MODEL_DIR'], 'env.json'), 'w'))
print('f1: 0.5')
print('AWS_SECRET_ACCESS_KEY=' + os.environ.get('AWS_SECRET_ACCESS_KEY', '<absent>'))
"""

# What a training job's environment is: the tuner's environment without these (AWS credentials) ...
assert SCRUBBED_ENVIRONMENT == frozenset(SECRETS)
# ... plus the script-mode contract's variables ...
CONTRACT = {
    "TRAINING_JOB_NAME",
    "TRAINING_JOB_ARN",
    "SAGEMAKER_JOB_NAME",
    "SAGEMAKER_REGION",
    "SAGEMAKER_BASE_DIR",
    "PYTHONUNBUFFERED",
}
# ... every SM_* variable of the toolkit, and the definition's Environment map.


def test_credentials_never_reach_jobs_store_or_logs_and_the_job_environment_is_exactly_documented(
    workdir, monkeypatch, caplog
):
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AMTLOCAL_TEST_PASSTHROUGH", "kept")
    use_script(workdir, DUMP_ENV)
    req = make_request("envjob", max_jobs=1, integer=[("x", 1, 5, "Auto")])
    req["TrainingJobDefinition"]["Environment"] = {"MY_SETTING": "on"}
    tuner_env = dict(os.environ)
    with caplog.at_level(logging.DEBUG):
        run_job(req, workdir)
    (job,) = summaries("envjob")
    home = Path(os.environ["AMTLOCAL_HOME"])
    env = json.loads((home / "jobs" / "envjob" / job["TrainingJobName"] / "model" / "env.json").read_text())

    assert not SCRUBBED_ENVIRONMENT & env.keys()
    expected_keys = (
        (tuner_env.keys() - SCRUBBED_ENVIRONMENT) | CONTRACT | {"MY_SETTING"} | {k for k in env if k.startswith("SM_")}
    )
    assert env.keys() == expected_keys
    for k in tuner_env.keys() - SCRUBBED_ENVIRONMENT - CONTRACT:
        if not k.startswith("SM_"):
            assert env[k] == tuner_env[k], k
    assert env["AMTLOCAL_TEST_PASSTHROUGH"] == "kept" and env["AWS_REGION"] == "eu-west-1" and env["MY_SETTING"] == "on"
    assert env["TRAINING_JOB_NAME"] == job["TrainingJobName"] and env["PYTHONUNBUFFERED"] == "1"
    assert {"SM_HPS", "SM_MODEL_DIR", "SM_CHANNEL_TRAIN", "SM_OUTPUT_DIR", "SM_TRAINING_ENV"} <= env.keys()

    # Never stored or logged: not in any file of the home (store.db included), not in the log records.
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for v in SECRETS.values():
                assert v.encode() not in data, f"{v} in {path}"
    assert (
        b"AWS_SECRET_ACCESS_KEY=<absent>"
        in (home / "jobs" / "envjob" / job["TrainingJobName"] / "logs" / "output.log").read_bytes()
    )
    for v in SECRETS.values():
        assert v not in caplog.text
