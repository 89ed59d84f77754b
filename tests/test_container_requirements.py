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
