"""A tuning job whose background worker dies (SIGKILL, as the out-of-memory killer sends) behind ``amtlocal serve``:
the server resumes it once in a new worker and records it Failed at a later death, so a boto3 poll or waiter ends
(it stayed InProgress for ever before). Real servers on loopback, real boto3 clients, real workers killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from amtlocal.lifecycle import LOST_WORKER_FAILED, STOPPED_BY_FAILURE, TERMINAL_STATUSES
from amtlocal.lifecycle._orphans import ORPHAN_REASON
from amtlocal.testing import API_TRAIN_SCRIPT, alive, api_project, api_tuning_request, described_when, fake_aws

NOT_IN_PROGRESS = (*TERMINAL_STATUSES, "Stopping")


@pytest.fixture(autouse=True)
def _aws(monkeypatch, tmp_path):
    fake_aws(monkeypatch, tmp_path)


@pytest.fixture
def project(tmp_path):
    return api_project(tmp_path)


def two_at_a_time(project: Path, name: str, max_jobs: int, sleep: str) -> dict:
    """A CreateHyperParameterTuningJob request as a boto3 user writes it: two training jobs at a time, each sleeping
    ``sleep`` seconds before it prints its objective."""
    return api_tuning_request(project, name, max_jobs=max_jobs, sleep=sleep, parallel=2)


def until(what, timeout: float, step: float = 0.2):
    """``what()`` once it is truthy; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(step)


def children(sm, name: str) -> list[dict]:
    return sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name, MaxResults=100)[
        "TrainingJobSummaries"
    ]


def running(sm, name: str) -> list[dict]:
    return [s for s in children(sm, name) if s["TrainingJobStatus"] == "InProgress"]


def test_a_killed_worker_is_resumed_once_then_a_second_death_is_failed(amtlocal_endpoint, project):
    sm = boto3.client("sagemaker")
    workers = amtlocal_endpoint.backend._workers
    sm.create_hyper_parameter_tuning_job(**two_at_a_time(project, "oom", max_jobs=6, sleep="30"))
    first = until(lambda: running(sm, "oom") if len(running(sm, "oom")) == 2 else None, 60)
    pid1 = workers["oom"].pid
    os.kill(pid1, signal.SIGKILL)

    # nobody reads it meanwhile: the server, the worker's parent, notices and starts a new worker by itself
    until(lambda: workers["oom"].pid != pid1 and alive(workers["oom"].pid), 10)
    pid2 = workers["oom"].pid
    desc = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="oom")
    assert desc["HyperParameterTuningJobStatus"] == "InProgress"
    assert desc["TrainingJobStatusCounters"]["Stopped"] == 2
    for s in first:  # cut short: recorded as every interrupted training job, their configurations run again
        d = sm.describe_training_job(TrainingJobName=s["TrainingJobName"])
        assert (d["TrainingJobStatus"], d["FailureReason"]) == ("Stopped", ORPHAN_REASON)
    for s in first:
        assert not alive(_pid_of(amtlocal_endpoint, "oom", s["TrainingJobName"]))

    # the new worker runs the job on: two new training jobs (the interrupted configurations again)
    second = until(
        lambda: (
            [s for s in running(sm, "oom") if s["TrainingJobName"] not in {f["TrainingJobName"] for f in first}]
            if len(running(sm, "oom")) == 2
            else None
        ),
        30,
    )
    assert sorted(s["TunedHyperParameters"]["learning-rate"] for s in second) == sorted(
        s["TunedHyperParameters"]["learning-rate"] for s in first
    )
    os.kill(pid2, signal.SIGKILL)
    started = time.monotonic()
    waiter = sm.get_waiter("training_job_completed_or_stopped")
    waiter.wait(TrainingJobName=second[0]["TrainingJobName"], WaiterConfig={"Delay": 1, "MaxAttempts": 15})
    desc = described_when(sm, "oom", NOT_IN_PROGRESS, 10)
    assert time.monotonic() - started < 10
    causes = "; ".join(
        f"the worker process (pid {pid}) was killed by SIGKILL (the out-of-memory killer sends it)"
        for pid in (pid1, pid2)
    )
    assert desc["HyperParameterTuningJobStatus"] == "Failed"
    assert desc["FailureReason"] == LOST_WORKER_FAILED.format(n=2, causes=causes, resumes=1)
    assert desc["TrainingJobStatusCounters"] == {
        "Completed": 0,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 4,
    }
    assert "HyperParameterTuningEndTime" in desc
    for s in second:
        d = sm.describe_training_job(TrainingJobName=s["TrainingJobName"])
        assert (d["TrainingJobStatus"], d["FailureReason"]) == ("Stopped", STOPPED_BY_FAILURE)
        assert not alive(_pid_of(amtlocal_endpoint, "oom", s["TrainingJobName"]))
    assert workers["oom"].pid == pid2  # no third worker
    time.sleep(1.5)  # the watchdog looked again: still Failed, nothing restarted
    assert workers["oom"].pid == pid2
    assert (
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="oom")["FailureReason"]
        == desc["FailureReason"]
    )


def _pid_of(server, tuning_job: str, training_job: str) -> int:
    (rec,) = [t for t in server.backend.store.trials(server.backend.store.load(tuning_job)) if t.name == training_job]
    return rec.pid


def test_a_worker_of_an_earlier_server_is_taken_over_when_read(project, tmp_path):
    """The first server is killed (its worker runs on, reparented), then the worker is: the next server, not its
    parent, takes the job over at the first Describe and it completes; the CLI's describe and list meanwhile say that
    no tuner runs it (and change nothing)."""
    from amtlocal.server import endpoint

    home = tmp_path / "home"
    worker = _orphan_of_a_killed_server(project, home, "orphaned", max_jobs=4, sleep="2")

    cli = [sys.executable, "-m", "amtlocal"]
    out = subprocess.run(
        [*cli, "describe", "orphaned", "--home", str(home)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout)["HyperParameterTuningJobStatus"] == "InProgress"
    assert "note: no tuner runs orphaned any more" in out.stderr
    listed = subprocess.run([*cli, "list", "--home", str(home)], capture_output=True, text=True, check=True).stdout
    assert "(no tuner runs it: run it again to resume, or amtlocal stop)" in listed

    with endpoint(home=home, base_dir=project) as second:
        sm = boto3.client("sagemaker")
        desc = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="orphaned")
        assert desc["HyperParameterTuningJobStatus"] == "InProgress"
        assert desc["TrainingJobStatusCounters"]["Stopped"] == 2  # the two cut short, recorded at once
        assert second.backend._workers["orphaned"].pid != worker
        record = second.backend.store.tuning_job("orphaned")
        assert record.worker_deaths == [f"the worker process (pid {worker}) ended (killed?)"]
        desc = described_when(sm, "orphaned", NOT_IN_PROGRESS, 60)
        assert desc["HyperParameterTuningJobStatus"] == "Completed"
        assert desc["TrainingJobStatusCounters"]["Completed"] == 4
        assert desc["TrainingJobStatusCounters"]["Stopped"] == 2
    listed = subprocess.run([*cli, "list", "--home", str(home)], capture_output=True, text=True, check=True).stdout
    assert "no tuner runs it" not in listed


def _orphan_of_a_killed_server(project: Path, home: Path, name: str, max_jobs: int, sleep: str) -> int:
    """A tuning job created through an ``amtlocal serve`` then killed (SIGKILL: its worker runs on, reparented),
    whose worker is killed once two training jobs run: no process holds the job. Returns the worker's pid."""
    first = subprocess.Popen(
        [sys.executable, "-m", "amtlocal", "serve", "--port", "0", "--home", str(home), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=project,
    )
    try:
        url = ""
        while not url:
            line = first.stdout.readline()
            assert line, "amtlocal serve ended"
            if line.startswith("export AWS_ENDPOINT_URL="):
                url = line.strip().split("=", 1)[1]
        sm = boto3.client("sagemaker", endpoint_url=url)
        sm.create_hyper_parameter_tuning_job(**two_at_a_time(project, name, max_jobs=max_jobs, sleep=sleep))
        until(lambda: len(running(sm, name)) == 2, 60)
    finally:
        first.kill()
        first.wait()
    worker = int((home / "jobs" / name / "tuner.lock").read_text())
    os.kill(worker, signal.SIGKILL)
    until(lambda: not alive(worker), 5)

    return worker


def test_a_job_taken_over_is_stopped_by_the_servers_shutdown_and_resumed_by_the_next(project, tmp_path):
    """A job a server took over (not created through it) is its job: its shutdown stops it (Stopped) and saves its
    stored request for the next server, which resumes it."""
    from amtlocal.server import Server

    home = tmp_path / "home"
    _orphan_of_a_killed_server(project, home, "adopted", max_jobs=4, sleep="30")
    server = Server(port=0, home=home, base_dir=tmp_path).start(export=True)
    try:
        sm = boto3.client("sagemaker")
        assert (
            sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="adopted")[
                "HyperParameterTuningJobStatus"
            ]
            == "InProgress"
        )
        assert server.backend.tuning_workers() == ["adopted"]
    finally:
        assert server.shutdown() == {"adopted": "Stopped"}
    saved = json.loads((home / "server" / "interrupted.json").read_text())
    assert list(saved) == ["adopted"] and saved["adopted"]["base_dir"] == str(project)
    assert saved["adopted"]["request"]["HyperParameterTuningJobName"] == "adopted"

    server = Server(port=0, home=home).start()
    try:
        assert server.resumed == ["adopted"]
    finally:
        assert server.shutdown() == {"adopted": "Stopped"}


def test_a_worker_killed_while_stopping_leaves_the_job_stopped(project, tmp_path):
    """A stop was asked for and taken (Stopping: the training jobs, which ignore SIGTERM, have their grace period) when
    the worker is killed: the job is recorded Stopped, not resumed, its training jobs ended and recorded Stopped."""
    from amtlocal.server import endpoint

    (project / "code" / "train.py").write_text(
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + API_TRAIN_SCRIPT
    )
    with endpoint(home=tmp_path / "home", stop_grace=60) as server:
        sm = boto3.client("sagemaker")
        sm.create_hyper_parameter_tuning_job(**two_at_a_time(project, "stopping", max_jobs=4, sleep="60"))
        jobs = until(lambda: running(sm, "stopping") if len(running(sm, "stopping")) == 2 else None, 60)
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="stopping")
        desc = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="stopping")
        assert desc["HyperParameterTuningJobStatus"] == "Stopping"
        worker = server.backend._workers["stopping"]
        os.kill(worker.pid, signal.SIGKILL)
        desc = described_when(sm, "stopping", ("Stopped",), 10)
        assert desc["TrainingJobStatusCounters"]["Stopped"] == 2
        assert desc["TrainingJobStatusCounters"]["InProgress"] == 0
        assert "FailureReason" not in desc
        assert server.backend._workers["stopping"] is worker  # not resumed
        for s in jobs:
            d = sm.describe_training_job(TrainingJobName=s["TrainingJobName"])
            assert (d["TrainingJobStatus"], d["FailureReason"]) == ("Stopped", ORPHAN_REASON)
            assert not alive(_pid_of(server, "stopping", s["TrainingJobName"]))
        assert server.backend.store.tuning_job("stopping").worker_deaths == [
            f"the worker process (pid {worker.pid}) was killed by SIGKILL (the out-of-memory killer sends it)"
        ]


def test_only_a_local_job_with_no_live_holder_is_taken_for_lost(project, tmp_path):
    """A job pulled from SageMaker while InProgress runs in AWS: never taken over here; a local one whose lock no
    process holds is, and one whose lock a process holds is not."""
    from amtlocal import lifecycle
    from amtlocal.backends.local import LocalBackend
    from amtlocal.store import LocalStore

    store = LocalStore(tmp_path / "home")
    request = two_at_a_time(project, "pulled", max_jobs=2, sleep="0")
    store.import_tuning_job(dict(request, HyperParameterTuningJobStatus="InProgress"), [])
    assert store.tuning_job("pulled").status == "InProgress"
    assert not lifecycle.holder_lost(store, "pulled")
    assert LocalBackend(store=store).take_over("pulled") is None
    assert store.tuning_job("pulled").worker_deaths == []

    store.create(dict(request, HyperParameterTuningJobName="local"), project)
    assert lifecycle.holder_lost(store, "local")
    with store.job_lock("local"):
        assert not lifecycle.holder_lost(store, "local")
