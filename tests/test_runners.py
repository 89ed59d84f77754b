"""The runner contract (amtlocal.runners.BaseRunner), checked on every runner: argv as given, exactly env, cwd, stdin
from /dev/null, stdout and stderr as pipes, a new session (process group id = pid), poll, stop by group."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from amtlocal.runners import BaseRunner, Command, ProcessRunner, runner_for

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
