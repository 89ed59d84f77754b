"""The runner contract (amtlocal.runners.BaseRunner), checked on every runner: argv as given, exactly env, cwd, stdin
from /dev/null, stdout and stderr as pipes, a new session (process group id = pid), poll, stop by group."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from amtlocal.runners import BaseRunner, Command, ProcessRunner, close_prestarted, prestart, runner_for

SCRIPT = """import os, sys, time
print(os.getcwd(), sys.argv[1:], os.environ.get('ONLY'), 'HOME' in os.environ, os.getpgid(0) == os.getpid(), os.getsid(0) == os.getppid(), flush=True)
print(sys.stdin.read() == '', file=sys.stderr, flush=True)
if sys.argv[1] == 'wait':
    time.sleep(60)
sys.exit(int(sys.argv[2]))
"""


@pytest.fixture(params=["process", "fork"])
def runner(request, tmp_path, monkeypatch) -> BaseRunner:
    (tmp_path / "train.py").write_text(SCRIPT)
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", request.param)
    r = runner_for("train.py", tmp_path, env={"PATH": os.environ.get("PATH", "")}, slots=1)
    assert r.name == request.param
    yield r
    r.close()


def _command(tmp_path, *args: str) -> Command:
    return Command(
        [sys.executable, str(tmp_path / "train.py"), *args], {"ONLY": "this; $(not a shell)"}, tmp_path, "job"
    )


def test_a_runner_runs_argv_env_and_cwd_as_given_in_a_new_session(runner, tmp_path):
    ex = runner.start(_command(tmp_path, "go", "3"))
    out, err = ex.stdout.read().decode(), ex.stderr.read().decode()
    deadline = time.time() + 30
    while (rc := runner.poll(ex, timeout=0.2)) is None and time.time() < deadline:
        pass
    assert rc == 3
    assert out.strip() == f"{tmp_path} ['go', '3'] this; $(not a shell) False False True"
    assert err.strip() == "True"


def test_a_runner_stops_the_process_group(runner, tmp_path):
    ex = runner.start(_command(tmp_path, "wait", "0"))
    ex.stdout.readline()  # it runs
    assert runner.poll(ex) is None
    assert runner.stop(ex, signal.SIGTERM)
    deadline = time.time() + 30
    while (rc := runner.poll(ex, timeout=0.2)) is None and time.time() < deadline:
        pass
    assert rc == -signal.SIGTERM


def test_a_program_the_fork_server_cannot_fork_gets_a_process(tmp_path, monkeypatch):
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", "fork")
    assert isinstance(runner_for("train.sh", tmp_path), ProcessRunner)
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", "process")
    (tmp_path / "train.py").write_text("")
    assert isinstance(runner_for("train.py", tmp_path), ProcessRunner)


class _FakeForkRunner(BaseRunner):
    """Stands in for ForkServerRunner: records each one made and whether it was closed."""

    name = "fork"
    made: list[_FakeForkRunner] = []

    def __init__(self, *args, **kwargs):
        self.closed = False
        _FakeForkRunner.made.append(self)

    def start(self, command):
        raise OSError("not a real runner")

    def close(self):
        self.closed = True


@pytest.fixture
def fake_fork(monkeypatch):
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", "fork")
    monkeypatch.setattr("amtlocal.runners._fork.ForkServerRunner", _FakeForkRunner)
    _FakeForkRunner.made = []
    yield _FakeForkRunner.made
    close_prestarted()


def test_runner_for_hands_out_the_prestarted_runner_once_and_only_for_the_same_arguments(tmp_path, fake_fork):
    (tmp_path / "train.py").write_text(SCRIPT)
    env = {"PATH": "/bin"}
    prestart("train.py", tmp_path, env=env, slots=1)
    prestart("train.py", tmp_path, env=env, slots=1)  # already started: not a second one
    assert len(fake_fork) == 1
    assert runner_for("train.py", tmp_path, env=env, slots=1) is fake_fork[0]
    assert runner_for("train.py", tmp_path, env=env, slots=1) is fake_fork[1]  # handed out once; then a new one
    prestart("train.py", tmp_path, env={"PATH": "/usr/bin"}, slots=1)  # another environment: another server
    assert runner_for("train.py", tmp_path, env=env, slots=1) is fake_fork[3]
    assert not fake_fork[2].closed
    close_prestarted()  # the one nobody took is stopped
    assert fake_fork[2].closed and not any(r.closed for r in (fake_fork[0], fake_fork[1], fake_fork[3]))


def test_prestart_starts_nothing_for_the_process_launcher(tmp_path, monkeypatch, fake_fork):
    (tmp_path / "train.py").write_text(SCRIPT)
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", "process")
    prestart("train.py", tmp_path, env={}, slots=1)
    assert fake_fork == [] and isinstance(runner_for("train.py", tmp_path, env={}, slots=1), ProcessRunner)


def test_a_tuning_jobs_runners_are_the_ones_started_before_its_validation(workdir, fake_fork):
    """The CLI's order: prestart_runners(spec) before spec.validate(); the tuning job then takes those runners."""
    from amtlocal.backends.local import LocalStore, LocalTuningJob, prestart_runners
    from amtlocal.spec import TuningSpec
    from amtlocal.testing import make_request, use_script

    use_script(workdir, SCRIPT)
    spec = TuningSpec(make_request("warm", integer=[("x", 1, 9, "Auto")]), workdir)
    prestart_runners(spec)
    assert len(fake_fork) == 1
    job = LocalTuningJob(spec, LocalStore(workdir / "home"))
    job._start_runners()  # what run() does first
    assert list(job._runners.values()) == [fake_fork[0]] and len(fake_fork) == 1


def test_a_request_reading_s3_is_not_prestarted(workdir, fake_fork, monkeypatch):
    """prestart_runners fetches nothing before validation: a definition with s3:// channels is not even resolved."""
    from amtlocal.backends.local import _definitions, prestart_runners
    from amtlocal.spec import TuningSpec
    from amtlocal.testing import make_request, use_script

    resolved = []
    resolve = _definitions.Definition.resolve
    monkeypatch.setattr(
        _definitions.Definition, "resolve", lambda self, *a, **k: resolved.append(self.raw) or resolve(self, *a, **k)
    )
    use_script(workdir, SCRIPT)
    req = make_request("s3data", integer=[("x", 1, 9, "Auto")])
    req["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://bucket/train"
    prestart_runners(TuningSpec(req, workdir))
    assert fake_fork == [] and resolved == []
    prestart_runners(TuningSpec(make_request("local", integer=[("x", 1, 9, "Auto")]), workdir))
    assert len(fake_fork) == 1
