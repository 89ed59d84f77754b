"""Shared (PostgreSQL) mode survives a lost worker and a database restart (issue 16, kind 3).

A worker killed with its training jobs (its machine gone) has them recorded Stopped, "worker lost", by a surviving
worker within the documented bound (heartbeat interval + grace period + poll), and their configurations run again;
``stop`` leaves no training job InProgress; a database restart is ridden out, and a long outage ends the worker with
one message naming the database, the job resumable. Heartbeats are shortened for the tests (1 s, grace 2 s).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from amtlocal.testing import alive, make_request, summaries, use_script

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

HEARTBEAT, GRACE, POLL = 1, 2, 1.0
BOUND = HEARTBEAT + GRACE + POLL  # the documented bound (lifecycle.lost_bound_seconds)
SLACK = 3.0  # a loaded 2-core machine: process start-up, a poll that comes late

# Appends "start <job> <pid> <x>" then "done <job> <pid> <x>" to --ledger; the first --n-long training jobs to start
# sleep --long seconds, the others --nap.
LEDGER_SCRIPT = """
import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument('--ledger'); p.add_argument('--nap', type=float)
p.add_argument('--long', type=float, default=0); p.add_argument('--n-long', type=int, default=0); p.add_argument('-x', type=int)
a = p.parse_args()
name = os.environ['TRAINING_JOB_NAME']
with open(a.ledger, 'a') as f: f.write('start %s %d %d\\n' % (name, os.getpid(), a.x))
order = open(a.ledger).read().count('start ')
time.sleep(a.long if order <= a.n_long else a.nap)
with open(a.ledger, 'a') as f: f.write('done %s %d %d\\n' % (name, os.getpid(), a.x))
print('f1: %.6f' % (a.x / 1e6))
"""


def _spec(workdir: Path, name: str, ledger: Path, max_jobs: int, parallel: int, nap: float, long=0.0, n_long=0):
    use_script(workdir, LEDGER_SCRIPT)
    static = {"ledger": json.dumps(str(ledger)), "nap": str(nap), "long": str(long), "n-long": str(n_long)}
    # x from a million values: two configurations drawn alike would be a coincidence, not a re-run
    req = make_request(name, max_jobs=max_jobs, parallel=parallel, integer=[("x", 1, 1_000_000, "Auto")], static=static)
    spec = workdir / f"{name}.json"
    spec.write_text(json.dumps(req))
    return spec


def _env(**extra: str) -> dict:
    return dict(
        os.environ,
        AMTLOCAL_HEARTBEAT_SECONDS=str(HEARTBEAT),
        AMTLOCAL_HEARTBEAT_GRACE_SECONDS=str(GRACE),
        AMTLOCAL_STOP_GRACE_SECONDS="2",
        **extra,
    )


def _amtlocal(home: Path, url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "amtlocal", "--home", str(home), "--storage", url, *args]


_SPAWNED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_worker_left_behind():
    """A failing test (a worker that never ends, as on b082779) leaves no worker running."""
    yield
    while _SPAWNED:
        p = _SPAWNED.pop()
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _worker(home: Path, url: str, spec: Path, slots: int = 1, **env: str) -> subprocess.Popen:
    """A worker in a process group of its own (its machine, to kill whole)."""
    proc = subprocess.Popen(
        _amtlocal(home, url, "tune", str(spec), "--worker-slots", str(slots)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_env(**env),
        start_new_session=True,
    )
    _SPAWNED.append(proc)
    return proc


def _store(home: Path, url: str):
    from amtlocal.backends.local import LocalStore

    return LocalStore(home, url)


def _jobs(home: Path, url: str, name: str) -> list[dict]:
    return summaries(name, _store(home, url))


def _status(home: Path, url: str, name: str) -> str:
    from amtlocal.backends.local import describe

    return describe(_store(home, url).load(name))["HyperParameterTuningJobStatus"]


def _running_of(home: Path, url: str, name: str, worker: subprocess.Popen) -> list:
    """The InProgress training jobs (records) ``worker`` runs."""
    me = f"{socket.gethostname()}:{worker.pid}"
    try:
        trials = _store(home, url).trials(_store(home, url).load(name))
    except Exception:  # noqa: BLE001 - not created yet
        return []
    return [t for t in trials if t.worker == me and t.status == "InProgress" and t.pid]


def _wait_for(cond, *procs: subprocess.Popen, timeout: float = 90.0):
    deadline = time.time() + timeout
    while True:
        got = cond()
        if got:
            return got
        for p in procs:
            assert p.poll() is None, p.communicate()
        assert time.time() < deadline, "timed out"
        time.sleep(0.1)


def _lose(worker: subprocess.Popen, jobs: list) -> float:
    """Its machine is gone: SIGKILL to the worker's process group and to each of its training jobs' (they run in
    sessions of their own). Returns the time."""
    os.killpg(worker.pid, signal.SIGKILL)
    for rec in jobs:
        try:
            os.killpg(rec.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.wait()
    return time.time()


def test_a_lost_worker_s_training_job_is_recorded_stopped_and_run_again_by_the_survivor(
    workdir, tmp_path, postgres_cluster
):
    url, home, ledger = postgres_cluster.url, tmp_path / "home", tmp_path / "ledger"
    spec = _spec(workdir, "lost-one", ledger, max_jobs=6, parallel=2, nap=1.0, long=15, n_long=2)
    a, b = _worker(home, url, spec), _worker(home, url, spec)
    a_jobs = _wait_for(lambda: _running_of(home, url, "lost-one", a), a, b)
    _wait_for(lambda: _running_of(home, url, "lost-one", b), a, b)
    killed = _lose(a, a_jobs)
    out, err = b.communicate(timeout=60)
    assert b.returncode == 0, err
    assert _status(home, url, "lost-one") == "Completed"
    jobs = {j["TrainingJobName"]: j for j in _jobs(home, url, "lost-one")}
    lost = jobs[a_jobs[0].name]
    assert lost["TrainingJobStatus"] == "Stopped" and "worker lost" in lost["FailureReason"], lost
    assert lost["FailureReason"].startswith("Interrupted") and f":{a.pid} " in lost["FailureReason"]
    # recorded within the documented bound of the worker's end
    assert lost["TrainingEndTime"].timestamp() - killed <= BOUND + SLACK, (lost["TrainingEndTime"], killed)
    completed = [j for j in jobs.values() if j["TrainingJobStatus"] == "Completed"]
    configs = [j["TunedHyperParameters"]["x"] for j in completed]
    assert len(completed) == 6 and len(set(configs)) == 6, configs  # MaxNumberOfTrainingJobs distinct configurations
    assert lost["TunedHyperParameters"]["x"] in configs  # the lost configuration ran again
    assert all(j["TrainingJobStatus"] in ("Completed", "Stopped") for j in jobs.values())
    assert not any(alive(rec.pid) for rec in a_jobs)


@pytest.mark.parametrize("survivors", [1, 0], ids=["a-survivor-takes-it", "no-worker-left"])
def test_stop_with_a_lost_worker_s_job_leaves_none_in_progress_and_a_resume_completes(
    workdir, tmp_path, postgres_cluster, survivors
):
    url, home, ledger = postgres_cluster.url, tmp_path / "home", tmp_path / "ledger"
    name = f"lost-stop-{survivors}"
    spec = _spec(workdir, name, ledger, max_jobs=3, parallel=2, nap=0.3, long=30, n_long=1 + survivors)
    a = _worker(home, url, spec)
    b = _worker(home, url, spec) if survivors else None
    live = [p for p in (a, b) if p is not None]
    a_jobs = _wait_for(lambda: _running_of(home, url, name, a), *live)
    if b is not None:
        _wait_for(lambda: _running_of(home, url, name, b), *live)
    _lose(a, a_jobs)
    started = time.time()
    stop = subprocess.run(_amtlocal(home, url, "stop", name), capture_output=True, text=True, env=_env(), timeout=120)
    assert stop.returncode == 0, stop.stderr
    if b is not None:
        out, err = b.communicate(timeout=120)
        assert b.returncode == 1 and "Stopped" in out, (out, err)
    assert time.time() - started <= BOUND + 2 + SLACK + 5  # stop's 5 s for a live worker to take it, B's grace 2 s
    assert _status(home, url, name) == "Stopped"
    jobs = _jobs(home, url, name)
    assert not [j for j in jobs if j["TrainingJobStatus"] == "InProgress"], jobs
    lost = next(j for j in jobs if j["TrainingJobName"] == a_jobs[0].name)
    assert lost["TrainingJobStatus"] == "Stopped" and "worker lost" in lost["FailureReason"]

    again = _worker(home, url, spec, slots=2)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert _status(home, url, name) == "Completed"
    jobs = _jobs(home, url, name)
    assert sum(j["TrainingJobStatus"] == "Completed" for j in jobs) == 3, (jobs, err)
    assert all(j["TrainingJobStatus"] in ("Completed", "Stopped") for j in jobs)


def test_a_database_restart_during_a_run_is_ridden_out(workdir, tmp_path, postgres_cluster):
    url, home, ledger = postgres_cluster.url, tmp_path / "home", tmp_path / "ledger"
    spec = _spec(workdir, "db-restart", ledger, max_jobs=4, parallel=1, nap=1.0)
    w = _worker(home, url, spec)
    _wait_for(lambda: _running_of(home, url, "db-restart", w), w)
    postgres_cluster.stop()
    time.sleep(1.0)
    postgres_cluster.start()
    out, err = w.communicate(timeout=120)
    assert w.returncode == 0, err
    assert "StorageInternalError" not in err and "Traceback" not in err, err
    assert _status(home, url, "db-restart") == "Completed"
    jobs = _jobs(home, url, "db-restart")
    assert sum(j["TrainingJobStatus"] == "Completed" for j in jobs) == 4, jobs


def test_a_long_database_outage_ends_the_worker_with_one_message_and_the_job_resumes(
    workdir, tmp_path, postgres_cluster
):
    url, home, ledger = postgres_cluster.url, tmp_path / "home", tmp_path / "ledger"
    spec = _spec(workdir, "db-outage", ledger, max_jobs=3, parallel=1, nap=1.0)
    w = _worker(home, url, spec, AMTLOCAL_DB_RETRY_SECONDS="3")
    jobs = _wait_for(lambda: _running_of(home, url, "db-outage", w), w)
    postgres_cluster.stop()
    try:
        out, err = w.communicate(timeout=60)
    finally:
        postgres_cluster.start()
    assert w.returncode == 1, err
    lines = [line for line in err.splitlines() if line.startswith("amtlocal:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert f"the database {url} did not answer" in lines[0], lines
    assert "did not answer for 3 s" in lines[0] and "resumable" in lines[0], lines
    assert not alive(jobs[0].pid)  # its training job was stopped with it

    again = _worker(home, url, spec)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert _status(home, url, "db-outage") == "Completed"
    done = _jobs(home, url, "db-outage")
    assert sum(j["TrainingJobStatus"] == "Completed" for j in done) == 3
    assert all(j["TrainingJobStatus"] in ("Completed", "Stopped") for j in done), done


def test_a_worker_cut_off_for_the_grace_period_drops_its_lost_job_and_carries_on(workdir, tmp_path, postgres_cluster):
    """Fencing: a worker paused past the grace period (SIGSTOP: a long GC pause, a frozen VM) has its training job
    recorded lost and run again elsewhere; when it wakes up it stops that job and records nothing over the record."""
    url, home, ledger = postgres_cluster.url, tmp_path / "home", tmp_path / "ledger"
    spec = _spec(workdir, "cut-off", ledger, max_jobs=4, parallel=2, nap=1.0, long=12, n_long=2)
    a, b = _worker(home, url, spec), _worker(home, url, spec)
    a_jobs = _wait_for(lambda: _running_of(home, url, "cut-off", a), a, b)
    os.kill(a.pid, signal.SIGSTOP)  # the worker only: its training job runs on
    try:

        def recorded_lost():
            jobs = {j["TrainingJobName"]: j for j in _jobs(home, url, "cut-off")}
            return jobs[a_jobs[0].name]["TrainingJobStatus"] == "Stopped"

        _wait_for(recorded_lost, b, timeout=BOUND + SLACK + 10)
    finally:
        os.kill(a.pid, signal.SIGCONT)
    out_a, err_a = a.communicate(timeout=90)
    out_b, err_b = b.communicate(timeout=90)
    assert a.returncode == 0 and b.returncode == 0, (err_a, err_b)
    assert "recorded lost by another worker; stopping it here" in err_a, err_a
    jobs = {j["TrainingJobName"]: j for j in _jobs(home, url, "cut-off")}
    lost = jobs[a_jobs[0].name]
    assert lost["TrainingJobStatus"] == "Stopped" and "worker lost" in lost["FailureReason"], lost  # not overwritten
    completed = [j for j in jobs.values() if j["TrainingJobStatus"] == "Completed"]
    assert len(completed) == 4 and lost["TunedHyperParameters"]["x"] in [
        j["TunedHyperParameters"]["x"] for j in completed
    ]
    ledger_lines = [line.split() for line in ledger.read_text().splitlines()]
    assert ["done", a_jobs[0].name] not in [line[:2] for line in ledger_lines]  # stopped by its worker, not run out
