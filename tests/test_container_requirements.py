"""requirements.txt installed as the framework container installs it, into a cached overlay (issue 13 item 4)."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import site
import subprocess
import sys
import textwrap
import uuid
import zipfile
from pathlib import Path

import pytest

from amtlocal.container import _requirements, ensure_requirements, requirements_key
from amtlocal.exceptions import RequirementsInstallError


def _wheel(folder: Path, module: str, value: int) -> Path:
    """A pure-Python wheel of one module ``module`` with ``VALUE = value``, built by hand (offline, no build step)."""
    dist = module.replace("_", "-")
    files = {
        f"{module}/__init__.py": f"VALUE = {value}\n",
        f"{module}-0.1.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n",
        f"{module}-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: amtlocal-test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append(f"{module}-0.1.dist-info/RECORD,,")
    files[f"{module}-0.1.dist-info/RECORD"] = "\n".join(record) + "\n"
    path = folder / f"{module}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


@pytest.fixture
def code_with_wheel(tmp_path):
    """A code folder whose requirements.txt names a wheel beside it (relative path), pip kept offline."""
    module = "amtl_tiny_" + uuid.uuid4().hex[:8]
    code = tmp_path / "code"
    (code / "deps").mkdir(parents=True)
    wheel = _wheel(code / "deps", module, 42)
    (code / "requirements.txt").write_text(f"--no-index\n./deps/{wheel.name}\n")
    (code / "train.py").write_text(f"import {module}\nprint('value', {module}.VALUE)\n")
    return code, module


def test_installed_packages_import_in_the_job_not_in_the_tuner(tmp_path, code_with_wheel):
    code, module = code_with_wheel
    env = ensure_requirements(code, tmp_path / "home")
    assert env is not None and env.reused is False
    assert env.log.startswith("Installing dependencies from requirements.txt\n")
    assert f"Successfully installed {module.replace('_', '-')}-0.1" in env.log
    assert env.path.parent == (tmp_path / "home" / "environments").resolve() and env.path.name == env.key
    # a new process (PYTHONPATH) runs the script with the package
    proc = subprocess.run(
        [sys.executable, "train.py"],
        cwd=code,
        env=env.environment(dict(os.environ)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "value 42\n"
    # a forked child (sys.path first) too
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            sys.path[:0] = env.sys_path
            mod = __import__(module)
            os.write(w, str(mod.VALUE).encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    assert os.read(r, 100) == b"42"
    os.close(r)
    # the tuner's own environment is unchanged: not importable here, nothing installed in its site folders
    assert importlib.util.find_spec(module) is None
    for d in filter(os.path.isdir, site.getsitepackages()):  # Debian's Python lists folders that do not exist
        assert not any(n.startswith(module) for n in os.listdir(d))


def test_second_job_reuses_the_overlay_without_pip(tmp_path, code_with_wheel, monkeypatch):
    code, module = code_with_wheel
    first = ensure_requirements(code, tmp_path / "home")

    def no_pip(*args, **kwargs):
        raise AssertionError("pip ran for a cached requirements.txt")

    monkeypatch.setattr(_requirements, "_run_pip", no_pip)
    # another job: another copy of the same code folder
    other = tmp_path / "job2" / "code"
    other.parent.mkdir()
    import shutil

    shutil.copytree(code, other)
    second = ensure_requirements(other, tmp_path / "home")
    assert second.reused is True
    assert second.path == first.path and second.sys_path == first.sys_path
    assert second.log == first.log  # the install log is the first part of every job's log
    # a changed file (here: another package version in the same wheel name is simulated by a new line) is a new key
    (other / "requirements.txt").write_text((other / "requirements.txt").read_text() + "# pinned\n")
    assert requirements_key(other) != requirements_key(code)


def test_key_follows_local_package_content(tmp_path, code_with_wheel):
    code, module = code_with_wheel
    before = requirements_key(code)
    wheel = next((code / "deps").iterdir())
    _wheel(code / "deps", module, 43)  # same file name, other content
    assert next((code / "deps").iterdir()) == wheel
    assert requirements_key(code) != before


def test_two_processes_installing_at_once_build_it_once(tmp_path, code_with_wheel):
    code, module = code_with_wheel
    home = tmp_path / "home"
    prog = textwrap.dedent(f"""
        import json, sys
        from amtlocal.container import ensure_requirements
        e = ensure_requirements({str(code)!r}, {str(home)!r})
        print(json.dumps({{"reused": e.reused, "path": str(e.path)}}))
    """)
    procs = [
        subprocess.Popen([sys.executable, "-c", prog], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    assert sorted(r["reused"] for r in results) == [False, True]  # one built it, the other waited and reused it
    assert results[0]["path"] == results[1]["path"]
    entries = sorted(os.listdir(home / "environments"))
    key = Path(results[0]["path"]).name
    assert entries == [key, f"{key}.lock"]  # no half-built temporary folder left
    proc = subprocess.run(
        [sys.executable, "-c", f"import {module}; print({module}.VALUE)"],
        env={**os.environ, "PYTHONPATH": str(next(Path(results[0]["path"]).glob("lib/*/site-packages")))},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout == "42\n", proc.stderr


def test_failed_install_gives_sagemakers_failure_reason(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "requirements.txt").write_text("--no-index\namtl-no-such-package==9.9\n")
    with pytest.raises(RequirementsInstallError) as info:
        ensure_requirements(code, tmp_path / "home")
    reason = info.value.failure_reason
    assert str(info.value) == reason
    assert reason.startswith('AlgorithmError: InstallRequirementsError:\nExitCode 1\nErrorMessage "')
    assert "No matching distribution found for amtl-no-such-package==9.9" in reason
    assert reason.endswith(f'"\nCommand "{sys.executable} -m pip install -r requirements.txt"')
    assert "No matching distribution" in info.value.log
    # nothing cached: the next job tries again
    assert [n for n in os.listdir(tmp_path / "home" / "environments") if not n.endswith(".lock")] == []


def test_no_requirements_file_means_no_overlay(tmp_path):
    (tmp_path / "code").mkdir()
    assert ensure_requirements(tmp_path / "code", tmp_path / "home") is None
    assert not (tmp_path / "home").exists()


def test_a_package_from_pypi(tmp_path):
    """PyPI is reachable here and in CI: a small pure-Python package the tuner's environment does not have."""
    assert importlib.util.find_spec("inflection") is None
    code = tmp_path / "code"
    code.mkdir()
    (code / "requirements.txt").write_text("inflection==0.5.1\n")
    env = ensure_requirements(code, tmp_path / "home", timeout=300)
    proc = subprocess.run(
        [sys.executable, "-c", "import inflection; print(inflection.underscore('TrainingJobName'))"],
        env=env.environment(dict(os.environ)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout == "training_job_name\n", proc.stderr
    assert importlib.util.find_spec("inflection") is None


def test_a_half_built_overlay_of_a_killed_installer_is_cleared(tmp_path, code_with_wheel):
    code, module = code_with_wheel
    envs = tmp_path / "home" / "environments"
    stale = envs / f".{requirements_key(code)[:16]}-killed"
    (stale / "lib").mkdir(parents=True)
    env = ensure_requirements(code, tmp_path / "home")
    assert not stale.exists()
    assert sorted(os.listdir(envs)) == [env.key, f"{env.key}.lock"]
    assert any(n.startswith(module) for n in os.listdir(env.sys_path[0]))


# -- pinned versions in tuning jobs: the fork server imports nothing the overlay provides from the tuner's environment
PIN = "1.3.2"  # what the user's requirements.txt pins; the tuner's environment has another joblib


def _pin_tuner_joblib(code: Path, version: str = PIN) -> Path:
    """Write ``code/deps/joblib-<version>-py3-none-any.whl`` (a copy of the tuner's own joblib, offline, saying
    ``__version__ = version``) and ``code/requirements.txt`` naming it, as a user pins ``joblib==<version>``.
    Returns the wheel's path."""
    import re

    import joblib

    assert joblib.__version__ != version
    root = Path(joblib.__file__).parent
    info = f"joblib-{version}.dist-info"
    files: dict[str, bytes] = {}
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root)
        if rel.parts[0] == "test" or "__pycache__" in rel.parts:
            continue
        data = p.read_bytes()
        if rel.as_posix() == "__init__.py":
            data, n = re.subn(rb'^__version__ = "[^"]*"', f'__version__ = "{version}"'.encode(), data, flags=re.M)
            assert n == 1
        files[f"joblib/{rel.as_posix()}"] = data
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: joblib\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: amtlocal-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    (code / "deps").mkdir(exist_ok=True)
    wheel = code / "deps" / f"joblib-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    (code / "requirements.txt").write_text(f"--no-index\n./deps/{wheel.name}\n")
    return wheel


TOP_LEVEL = """
import sys
preloaded = ",".join(m for m in ("joblib", "sklearn") if m in sys.modules)  # imported before this script ran
import argparse
import sklearn  # imports joblib itself: the pinned one must be what it gets
print("transitive", sys.modules["joblib"].__version__, sys.modules["joblib"].__file__)
import joblib
print("joblib", joblib.__version__, joblib.__file__)
print("preloaded", preloaded)
p = argparse.ArgumentParser(); p.add_argument("-x", type=int); a = p.parse_args()
print("f1: %d" % a.x)
"""

LAZY = """
import argparse
import sys

def main():
    preloaded = "joblib" in sys.modules
    import joblib
    print("joblib", joblib.__version__, joblib.__file__)
    print("preloaded", preloaded)
    p = argparse.ArgumentParser(); p.add_argument("-x", type=int); a = p.parse_args()
    print("f1: %d" % a.x)

main()
"""


def _seen(store, tuning_name: str) -> dict[str, dict[str, str]]:
    """Job name -> {first word of a line: the rest} for the lines the scripts above print."""
    from amtlocal.backends.local import LocalBackend

    backend = LocalBackend(store)
    out = {}
    for j in backend.list_training_jobs(tuning_name, MaxResults=20)["TrainingJobSummaries"]:
        assert j["TrainingJobStatus"] == "Completed", j
        lines = [ln.split(" ", 1) for ln in backend.training_job_logs(j["TrainingJobName"])]
        out[j["TrainingJobName"]] = {w[0]: (w[1] if len(w) > 1 else "") for w in lines if w[0] in _WORDS}
    return out


_WORDS = {"transitive", "joblib", "preloaded"}


def _overlay_file(store, code: Path) -> str:
    key = requirements_key(code)
    return str(next((Path(store.home) / "environments" / key).resolve().glob("lib/*/site-packages/joblib/__init__.py")))


def test_fork_server_tuning_jobs_see_the_pinned_version_imported_at_top_level_and_by_a_dependency(
    workdir, store, monkeypatch
):
    """Issue 13 (new user): every tuning job got the tuner's joblib, preloaded by the zygote, instead of the pin."""
    from amtlocal.testing import make_request, run_job, use_script

    monkeypatch.setenv("AMTLOCAL_LAUNCHER", "fork")
    _pin_tuner_joblib(workdir / "code")
    use_script(workdir, TOP_LEVEL)
    req = make_request("pintop", max_jobs=3, parallel=1, strategy="Grid", seed=None, categorical=[("x", "123")])
    assert run_job(req, workdir, store)["HyperParameterTuningJobStatus"] == "Completed"
    seen = _seen(store, "pintop")
    pinned = f"{PIN} {_overlay_file(store, workdir / 'code')}"
    assert len(seen) == 3
    for job, lines in seen.items():
        assert lines["transitive"] == pinned, job  # scikit-learn's own import of joblib
        assert lines["joblib"] == pinned, job
        assert lines["preloaded"] == "joblib,sklearn", job  # forked from the warm zygote, not a new process


def test_fork_server_tuning_jobs_see_the_pinned_version_imported_lazily_and_learned(workdir, store, monkeypatch):
    """Issue 13 (new user): a lazy import got the pin in job 1 only; the zygote then learned the tuner's joblib. Here
    the overlay is built already, so the zygote starts before the first job (as prestart starts it)."""
    from amtlocal.testing import make_request, run_job, use_script

    monkeypatch.setenv("AMTLOCAL_LAUNCHER", "fork")
    _pin_tuner_joblib(workdir / "code")
    assert ensure_requirements(workdir / "code", store.home).reused is False
    use_script(workdir, LAZY)
    cats = [("x", [str(i) for i in range(1, 5)])]
    req = make_request("pinlazy", max_jobs=4, parallel=1, strategy="Grid", seed=None, categorical=cats)
    assert run_job(req, workdir, store)["HyperParameterTuningJobStatus"] == "Completed"
    seen = _seen(store, "pinlazy")
    pinned = f"{PIN} {_overlay_file(store, workdir / 'code')}"
    assert sorted(lines["joblib"] for lines in seen.values()) == [pinned] * 4
    # the first job imported it itself; the zygote then learned it (from the overlay), so a later job finds it
    assert sorted(lines["preloaded"] for lines in seen.values())[-1] == "True"


def test_the_fork_server_of_a_pinned_code_folder_starts_with_its_overlay(tmp_path, monkeypatch):
    """runner_for/prestart: no zygote without the jobs' overlay first (none until pip built it; then with it)."""
    from amtlocal.backends.local._process import overlay_sys_path
    from amtlocal.container import ScriptModeJob, requirements_sys_path
    from amtlocal.runners import close_prestarted, prestart, runner_for

    monkeypatch.setenv("AMTLOCAL_LAUNCHER", "fork")
    code, home = tmp_path / "code", tmp_path / "home"
    code.mkdir()
    (code / "train.py").write_text("import joblib\n")
    assert requirements_sys_path(code, home) == []
    _pin_tuner_joblib(code)
    assert requirements_sys_path(code, home) is None  # pip has not built it yet
    job = ScriptModeJob(code, "train.py", {}, {}, "ml.m5.large", {})
    assert overlay_sys_path(job, home) is None
    runner = runner_for("train.py", code, env={}, sys_path=None)
    try:
        assert runner._servers == {}  # nothing imported before the overlay exists
    finally:
        runner.close()
    prestart("train.py", code, env={}, sys_path=None)
    try:
        from amtlocal.runners import _prestarted

        assert _prestarted == {}
    finally:
        close_prestarted()
    built = ensure_requirements(code, home)
    assert requirements_sys_path(code, home) == overlay_sys_path(job, home) == built.sys_path
    runner = runner_for("train.py", code, env={}, sys_path=built.sys_path)
    try:
        (server,) = runner._servers.values()
        assert server.sys_path == built.sys_path
    finally:
        runner.close()
