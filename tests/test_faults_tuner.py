"""Every way a tuner ends runs the same shutdown (issue 16, kind 2): SIGTERM and SIGHUP are taken like Ctrl-C, an
unexpected error stops and records the training jobs and is the job's reason (never hidden by a second error), a full
disk is a FailureReason and a resume after space is freed finishes the job."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from amtlocal.testing import alive, make_request, summaries, use_script

# Appends "start <job> <pid>" then "done <job> <pid>" to --ledger; sleeps --long for the first --n-long training jobs
# (by order of start), --nap for the others. With --fill, the --fill-at'th training job fills the disk holding that
# file before it ends (a full disk mid-run).
LEDGER_SCRIPT = """
import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument('--ledger'); p.add_argument('--nap', type=float)
p.add_argument('--long', type=float, default=0); p.add_argument('--n-long', type=int, default=0); p.add_argument('-x', type=int)
p.add_argument('--fill', default=''); p.add_argument('--fill-at', type=int, default=0)
a = p.parse_args()
name = os.environ['TRAINING_JOB_NAME']
with open(a.ledger, 'a') as f: f.write('start %s %d\\n' % (name, os.getpid()))
order = open(a.ledger).read().count('start ')
time.sleep(a.long if order <= a.n_long else a.nap)
if a.fill and order == a.fill_at:
    try:
        with open(a.fill, 'ab') as f:
            while True:
                f.write(b'x' * 4096); f.flush()
    except OSError:
        pass
with open(a.ledger, 'a') as f: f.write('done %s %d\\n' % (name, os.getpid()))
print('f1: %.3f' % (a.x / 100))
"""


def _spec(
    workdir: Path,
    name: str,
    ledger: Path,
    max_jobs: int,
    parallel: int,
    nap: float,
    long: float = 0,
    n_long: int = 0,
    fill: Path | None = None,
    fill_at: int = 0,
) -> Path:
    use_script(workdir, LEDGER_SCRIPT)
    static = {"ledger": json.dumps(str(ledger)), "nap": str(nap), "long": str(long), "n-long": str(n_long)}
    if fill is not None:
        static.update({"fill": json.dumps(str(fill)), "fill-at": str(fill_at)})
    spec = workdir / f"{name}.json"
    spec.write_text(
        json.dumps(
            make_request(name, max_jobs=max_jobs, parallel=parallel, integer=[("x", 1, 100, "Auto")], static=static)
        )
    )
    return spec


def _amtlocal(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "amtlocal", "--home", str(home), *args]


def _tune(spec: Path, home: Path) -> subprocess.Popen:
    env = dict(os.environ, AMTLOCAL_STOP_GRACE_SECONDS="5")
    return subprocess.Popen(
        _amtlocal(home, "tune", str(spec)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def _ledger(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


def _wait_for(cond, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not cond():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


def _store(home: Path):
    from amtlocal.backends.local import LocalStore

    return LocalStore(home)


def _describe(home: Path, name: str) -> dict:
    from amtlocal.backends.local import describe

    return describe(_store(home).load(name))


def _check_resumed(home: Path, name: str, ledger: Path, max_jobs: int) -> list[dict]:
    """Completed with max_jobs Completed training jobs; no training job ran twice; the others Stopped (Interrupted)."""
    assert _describe(home, name)["HyperParameterTuningJobStatus"] == "Completed"
    jobs = summaries(name, _store(home))
    completed = [j for j in jobs if j["TrainingJobStatus"] == "Completed"]
    stopped = [j for j in jobs if j["TrainingJobStatus"] == "Stopped"]
    assert len(completed) == max_jobs and len(completed) + len(stopped) == len(jobs), jobs
    assert all(j["FailureReason"].startswith("Interrupted") for j in stopped)
    starts = Counter(e[1] for e in _ledger(ledger) if e[0] == "start")
    assert max(starts.values()) == 1, starts
    return stopped


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_and_record_the_training_jobs_and_the_job_resumes(workdir, tmp_path, sig):
    ledger, home = tmp_path / "ledger", tmp_path / "home"
    spec = _spec(workdir, "signalled", ledger, max_jobs=4, parallel=2, nap=0.2, long=60, n_long=2)
    tuner = _tune(spec, home)
    _wait_for(lambda: sum(e[0] == "start" for e in _ledger(ledger)) == 2, tuner)
    pids = [int(e[2]) for e in _ledger(ledger)]
    time.sleep(0.1)
    tuner.send_signal(sig)
    out, err = tuner.communicate(timeout=60)
    assert tuner.returncode == 130, err
    assert f"interrupted ({sig.name})" in err and "Stopped and resumes" in err and "Traceback" not in err, err
    assert _describe(home, "signalled")["HyperParameterTuningJobStatus"] == "Stopped"
    jobs = summaries("signalled", _store(home))
    assert [j["TrainingJobStatus"] for j in jobs] == ["Stopped", "Stopped"]
    assert all(j["FailureReason"].startswith("Interrupted") for j in jobs)
    assert not any(alive(p) for p in pids)  # stopped, not left behind
    assert not any(e[0] == "done" for e in _ledger(ledger))  # they did not run to their end either

    again = _tune(spec, home)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert len(_check_resumed(home, "signalled", ledger, max_jobs=4)) == 2


@pytest.mark.slow
def test_an_unexpected_store_error_stops_the_training_jobs_and_is_the_jobs_reason(
    workdir, tmp_path, monkeypatch, capsys
):
    """The first training job's result cannot be written (RuntimeError from the store): the other running job is
    stopped and recorded, the tuning job is Failed with that error as its reason (not a second error from the
    shutdown), the CLI prints one line, and the traceback is in the job's tuner.log."""
    from amtlocal.cli import main
    from amtlocal.store import LocalStore

    ledger, home = tmp_path / "ledger", tmp_path / "home"
    spec = _spec(workdir, "broken", ledger, max_jobs=4, parallel=2, nap=0.2, long=30, n_long=1)
    # The first training job to start sleeps 30 s; the second ends after 0.2 s and its record fails.
    real = LocalStore.record_result
    calls = []

    def failing_once(self, trial, summary, final_metrics=None, interrupted=False):
        calls.append(summary["TrainingJobName"])
        if len(calls) == 1:
            raise RuntimeError("the store refused the write")
        return real(self, trial, summary, final_metrics, interrupted)

    monkeypatch.setattr(LocalStore, "record_result", failing_once)
    monkeypatch.setenv("AMTLOCAL_STOP_GRACE_SECONDS", "5")
    started = time.monotonic()
    code = main(["--home", str(home), "tune", str(spec)])
    err = capsys.readouterr().err
    assert code == 1
    assert time.monotonic() - started < 25  # the 30 s job was stopped, not waited for
    lines = [line for line in err.splitlines() if line.startswith("amtlocal:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "tuning job broken is Failed: InternalServerError: RuntimeError: the store refused the write" in lines[0]
    desc = _describe(home, "broken")
    assert desc["HyperParameterTuningJobStatus"] == "Failed"
    assert desc["FailureReason"] == "InternalServerError: RuntimeError: the store refused the write"
    log_text = (home / "jobs" / "broken" / "tuner.log").read_text()
    assert "Traceback" in log_text and "RuntimeError: the store refused the write" in log_text
    pids = [int(e[2]) for e in _ledger(ledger) if e[0] == "start"]
    assert len(pids) == 2 and not any(alive(p) for p in pids)
    long_job = _ledger(ledger)[0][1]  # the first to start: stopped by the shutdown and recorded
    by_name = {j["TrainingJobName"]: j for j in summaries("broken", _store(home))}
    assert by_name[long_job]["TrainingJobStatus"] == "Stopped" and by_name[long_job]["FailureReason"].startswith(
        "Interrupted"
    )


@contextlib.contextmanager
def _small_tmpfs(folder: Path, size: str = "2m"):
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.slow
def test_a_full_disk_is_the_jobs_reason_and_a_resume_after_freeing_space_finishes(workdir, tmp_path):
    ledger = tmp_path / "ledger"
    with _small_tmpfs(tmp_path / "small") as small:
        home, filler = small / "home", small / "filler"
        spec = _spec(workdir, "fulldisk", ledger, max_jobs=4, parallel=1, nap=0.05, fill=filler, fill_at=2)
        tuner = _tune(spec, home)
        out, err = tuner.communicate(timeout=120)
        assert tuner.returncode == 1, err
        lines = [line for line in err.splitlines() if line.startswith("amtlocal:")]
        assert len(lines) == 1 and "Traceback" not in err, err
        assert "tuning job fulldisk is Stopped: No space left on device: " in lines[0], err
        assert filler.stat().st_size > 1_000_000  # the disk was really full
        filler.unlink()
        desc = _describe(home, "fulldisk")
        assert desc["HyperParameterTuningJobStatus"] == "Stopped"
        assert desc["FailureReason"].startswith(f"No space left on device: {home}")
        assert not any(alive(int(e[2])) for e in _ledger(ledger) if e[0] == "start")

        again = _tune(spec, home)
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        assert "FailureReason" not in _describe(home, "fulldisk")
        jobs = summaries("fulldisk", _store(home))
        assert sum(j["TrainingJobStatus"] == "Completed" for j in jobs) == 4, jobs


def test_sigterm_to_a_standalone_training_jobs_worker_stops_and_records_it(workdir, tmp_path):
    """A training job run in the background (CreateTrainingJob, wait=False): SIGTERM to its worker stops the job
    (SIGTERM to its process group, grace) and records it Stopped with the signal named; nothing is left running."""
    from amtlocal.backends.local import LocalBackend

    d = make_request("x")["TrainingJobDefinition"]
    request = {
        "TrainingJobName": "termed",
        "HyperParameters": dict(d["StaticHyperParameters"], sleep="60"),
        "RoleArn": d["RoleArn"],
        "AlgorithmSpecification": d["AlgorithmSpecification"],
        "InputDataConfig": d["InputDataConfig"],
        "OutputDataConfig": {"S3OutputPath": "file://out"},
        "ResourceConfig": d["ResourceConfig"],
        "StoppingCondition": d["StoppingCondition"],
    }
    use_script(
        workdir,
        "import time, argparse\np = argparse.ArgumentParser(); p.add_argument('--sleep', type=float)\n"
        "a = p.parse_args(); print('training', flush=True); time.sleep(a.sleep)\n",
    )
    local = LocalBackend(home=tmp_path / "home", stop_grace=5)
    local.create_training_job(request, workdir, wait=False)
    worker = local._workers["termed"]
    deadline = time.time() + 30
    while local.store.find_training_job("termed").pid is None and time.time() < deadline:
        time.sleep(0.05)
    pid = local.store.find_training_job("termed").pid
    assert pid and alive(pid)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 130
    d = LocalBackend(local.store).describe_training_job("termed")
    assert d["TrainingJobStatus"] == "Stopped", d
    assert d["FailureReason"] == "Stopped: interrupted (SIGTERM) in the process that ran it"
    assert (d["TrainingEndTime"] - d["TrainingStartTime"]).total_seconds() < 20
    assert not alive(pid)
