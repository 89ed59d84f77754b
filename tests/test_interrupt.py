"""Interruptions (issue #7 part 3), through the real CLI in child processes:

- Ctrl-C stops the running training jobs cleanly: exit 130, tuning job Stopped, no process left; running the same
  spec again resumes it to Completed, and no training job name ever runs twice.
- After SIGKILL of the tuner, the next run finds the orphaned training jobs still running, ends their processes,
  records them Stopped ("Interrupted ...") and runs their configurations again under new names.
- Two tuners started at once on one tuning job: one runs it, the other exits 1 with TuningJobBusy's message (or, if
  it starts after the first is done, finds it Completed); no training job runs twice; the store stays consistent.
"""

from __future__ import annotations

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

# Appends "start <job> <pid>" then "done <job> <pid>" to --ledger; sleeps --nap seconds between, or --long for the
# first --n-long training jobs of the tuning job (by order of start).
LEDGER_SCRIPT = """
import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument('--ledger'); p.add_argument('--nap', type=float)
p.add_argument('--long', type=float, default=0); p.add_argument('--n-long', type=int, default=0); p.add_argument('-x', type=int)
a = p.parse_args()
name = os.environ['TRAINING_JOB_NAME']
line = 'start %s %d\\n' % (name, os.getpid())
with open(a.ledger, 'a') as f: f.write(line)
order = open(a.ledger).read().count('start ')
time.sleep(a.long if order <= a.n_long else a.nap)
with open(a.ledger, 'a') as f: f.write('done %s %d\\n' % (name, os.getpid()))
print('f1: %.3f' % (a.x / 100))
"""

BUSY = "is already running in another tuner process"  # TuningJobBusy's message


def _spec(
    workdir: Path, name: str, ledger: Path, max_jobs: int, parallel: int, nap: float, long: float = 0, n_long: int = 0
) -> Path:
    use_script(workdir, LEDGER_SCRIPT)
    static = {"ledger": json.dumps(str(ledger)), "nap": str(nap), "long": str(long), "n-long": str(n_long)}
    spec = workdir / f"{name}.json"
    spec.write_text(
        json.dumps(
            make_request(name, max_jobs=max_jobs, parallel=parallel, integer=[("x", 1, 100, "Auto")], static=static)
        )
    )
    return spec


def _amtlocal(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "amtlocal", "--home", str(home), *args]


def _tune(spec: Path, home: Path, *args: str, grace: float | None = None) -> subprocess.Popen:
    """`amtlocal tune SPEC ARGS` in the background; ``grace``: its stop grace period (AMTLOCAL_STOP_GRACE_SECONDS)."""
    env = dict(os.environ, AMTLOCAL_STOP_GRACE_SECONDS=str(grace)) if grace is not None else None
    return subprocess.Popen(
        _amtlocal(home, "tune", str(spec), *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _stop(home: Path, name: str) -> subprocess.CompletedProcess:
    return subprocess.run(_amtlocal(home, "stop", name), capture_output=True, text=True, timeout=60)


def _stubborn_spec(workdir: Path, name: str, ledger: Path, first: str, others: str, **request) -> Path:
    """A spec whose script appends "start <job> <pid>" to ``ledger``, then runs ``first`` (the first training job
    to start) or ``others`` (Python statements, indented one level)."""
    use_script(
        workdir,
        "import os, signal, sys, time\n"
        f"open({str(ledger)!r}, 'a').write('start %s %d\\n' % (os.environ['TRAINING_JOB_NAME'], os.getpid()))\n"
        f"if open({str(ledger)!r}).read().count('start') == 1:\n    {first}\nelse:\n    {others}\n",
    )
    spec = workdir / f"{name}.json"
    spec.write_text(json.dumps(make_request(name, integer=[("x", 1, 9, "Auto")], **request)))
    return spec


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


def _describe(home: Path, name: str) -> dict:
    from amtlocal.backends.local import LocalStore, describe

    return describe(LocalStore(home).load(name))


def _store(home: Path):
    from amtlocal.backends.local import LocalStore

    return LocalStore(home)


def _check_resumed(home: Path, name: str, ledger: Path, max_jobs: int) -> list[dict]:
    """Completed with max_jobs Completed training jobs; every training job name started once; the others Stopped."""
    assert _describe(home, name)["HyperParameterTuningJobStatus"] == "Completed"
    jobs = summaries(name, _store(home))
    completed = [j for j in jobs if j["TrainingJobStatus"] == "Completed"]
    stopped = [j for j in jobs if j["TrainingJobStatus"] == "Stopped"]
    assert len(completed) == max_jobs and len(completed) + len(stopped) == len(jobs)
    assert all(j["FailureReason"].startswith("Interrupted") for j in stopped)
    starts = Counter(e[1] for e in _ledger(ledger) if e[0] == "start")
    assert max(starts.values()) == 1, starts  # no training job ran twice
    names = [j["TrainingJobName"] for j in jobs]
    assert len(set(names)) == len(names)
    # Every started script is a recorded training job (a job stopped before its script got going has no line).
    assert set(starts) <= set(names) and {j["TrainingJobName"] for j in completed} <= set(starts)
    return stopped


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(3))
def test_ctrl_c_at_any_moment_leaves_nothing_running_and_a_consistent_store(workdir, tmp_path, attempt):
    """Short jobs started back to back, Ctrl-C at a random moment: whatever the tuner was doing (starting a job,
    recording one, writing the store), it stops cleanly, and the resume runs each remaining job once."""
    import random

    ledger, home = tmp_path / "ledger", tmp_path / "home"
    spec = _spec(workdir, "anytime", ledger, max_jobs=12, parallel=2, nap=0.01)
    tuner = _tune(spec, home)
    _wait_for(lambda: any(e[0] == "start" for e in _ledger(ledger)), tuner)
    time.sleep(random.Random(attempt).uniform(0, 0.6))
    tuner.send_signal(signal.SIGINT)
    out, err = tuner.communicate(timeout=60)
    status = _describe(home, "anytime")["HyperParameterTuningJobStatus"]
    if tuner.returncode == 130:
        assert status == "Stopped" and "Traceback" not in err, err
    else:  # it had finished first (-2: the signal came while Python was exiting after the end)
        assert tuner.returncode in (0, -signal.SIGINT) and status == "Completed", (tuner.returncode, err)
    assert not any(alive(int(e[2])) for e in _ledger(ledger))
    again = _tune(spec, home)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    _check_resumed(home, "anytime", ledger, max_jobs=12)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_the_next_run_resumes(workdir, tmp_path):
    ledger, home = tmp_path / "ledger", tmp_path / "home"
    spec = _spec(workdir, "ctrlc", ledger, max_jobs=4, parallel=2, nap=0.3, long=60, n_long=2)
    tuner = _tune(spec, home)
    _wait_for(lambda: sum(e[0] == "start" for e in _ledger(ledger)) == 2, tuner)
    pids = [int(e[2]) for e in _ledger(ledger)]
    time.sleep(0.1)
    tuner.send_signal(signal.SIGINT)
    out, err = tuner.communicate(timeout=60)
    assert tuner.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    desc = _describe(home, "ctrlc")
    assert desc["HyperParameterTuningJobStatus"] == "Stopped"
    jobs = summaries("ctrlc", _store(home))
    assert [j["TrainingJobStatus"] for j in jobs] == ["Stopped", "Stopped"]
    assert all(j["FailureReason"].startswith("Interrupted") for j in jobs)
    # They ran: each keeps its start (timelines and TrainingElapsedTimeSeconds need it), about 0.1 s before its end.
    assert all(0 < (j["TrainingEndTime"] - j["TrainingStartTime"]).total_seconds() < 30 for j in jobs), jobs
    assert not any(alive(p) for p in pids)  # the training jobs were stopped, not left behind

    again = _tune(spec, home)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    stopped = _check_resumed(home, "ctrlc", ledger, max_jobs=4)
    assert len(stopped) == 2
    # `list` counts what counts toward MaxNumberOfTrainingJobs, and says what ran again (not "6/4")
    listed = subprocess.run(_amtlocal(home, "list"), capture_output=True, text=True)
    row = listed.stdout.splitlines()[1].split()
    assert row[:4] == ["ctrlc", "Random", "Completed", "4/4"] and listed.stdout.rstrip().endswith(
        "(+2 interrupted, run again)"
    )


def _kill_tuner_with_two_jobs_running(workdir: Path, tmp_path: Path, name: str) -> tuple[Path, Path, Path, list[int]]:
    """A 4-job tuning job whose tuner is SIGKILLed while its first two training jobs (60 s each) run; returns
    (spec, ledger, home, the orphans' pids)."""
    ledger, home = tmp_path / "ledger", tmp_path / "home"
    spec = _spec(workdir, name, ledger, max_jobs=4, parallel=2, nap=0.2, long=60, n_long=2)
    tuner = _tune(spec, home)
    _wait_for(lambda: sum(e[0] == "start" for e in _ledger(ledger)) == 2, tuner)
    pids = [int(e[2]) for e in _ledger(ledger)]
    time.sleep(0.2)
    tuner.kill()
    tuner.wait()
    return spec, ledger, home, pids


def test_after_sigkill_the_next_run_ends_the_orphans_and_continues(workdir, tmp_path):
    spec, ledger, home, pids = _kill_tuner_with_two_jobs_running(workdir, tmp_path, "orphans")
    time.sleep(0.3)
    assert all(alive(p) for p in pids)  # orphans: their tuner is gone, they still run

    started = time.time()
    again = _tune(spec, home)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert time.time() - started < 45  # it did not wait for the orphans' 60 s
    assert not any(alive(p) for p in pids)  # the next run ended them
    stopped = _check_resumed(home, "orphans", ledger, max_jobs=4)
    assert sorted(j["TrainingJobName"] for j in stopped) == sorted(e[1] for e in _ledger(ledger)[:2])
    assert all("tuner process ended" in j["FailureReason"] for j in stopped)
    assert all(0 < (j["TrainingEndTime"] - j["TrainingStartTime"]).total_seconds() < 60 for j in stopped), stopped


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(10))
def test_two_tuners_on_one_tuning_job(workdir, tmp_path, attempt):
    ledger, home = tmp_path / "ledger", tmp_path / "home"
    spec = _spec(workdir, "twice", ledger, max_jobs=3, parallel=2, nap=0.05)
    first, second = _tune(spec, home), _tune(spec, home)
    results = [p.communicate(timeout=120) + (p.returncode,) for p in (first, second)]
    for out, err, rc in results:
        assert rc in (0, 1), err
        if rc == 1:  # the loser: one clear line, no traceback
            assert BUSY in err and err.startswith("amtlocal: error:") and "Traceback" not in err, err
        else:
            assert "twice: Completed" in out, out
    assert 0 in [rc for _, _, rc in results]
    jobs = summaries("twice", _store(home))
    assert [j["TrainingJobStatus"] for j in jobs] == ["Completed"] * 3
    starts = Counter(e[1] for e in _ledger(ledger) if e[0] == "start")
    assert sorted(starts.values()) == [1, 1, 1] and set(starts) == {j["TrainingJobName"] for j in jobs}
    assert _describe(home, "twice")["TrainingJobStatusCounters"]["Completed"] == 3
    assert [n for n in _store(home).names()] == ["twice"]


def test_a_second_ctrl_c_kills_jobs_that_ignore_sigterm_and_still_records_them(workdir, tmp_path):
    """First Ctrl-C: SIGTERM and the grace period (the job shows Stopping meanwhile); a second one kills the training
    jobs at once, and the tuning job still ends Stopped, with its training jobs recorded Stopped and resumable."""
    ledger, home = tmp_path / "ledger", tmp_path / "home"
    ignore = "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    spec = _stubborn_spec(workdir, "stubborn", ledger, ignore, ignore, max_jobs=2, parallel=2)
    tuner = _tune(spec, home, "--job-name", "stub", grace=120)
    _wait_for(lambda: sum(e[0] == "start" for e in _ledger(ledger)) == 2, tuner)
    pids = [int(e[2]) for e in _ledger(ledger)]
    tuner.send_signal(signal.SIGINT)
    deadline = time.time() + 30
    while _describe(home, "stub")["HyperParameterTuningJobStatus"] != "Stopping":
        assert time.time() < deadline and tuner.poll() is None, "the first Ctrl-C did not show Stopping"
        time.sleep(0.1)
    assert all(alive(p) for p in pids)  # they ignore SIGTERM: the grace period runs
    started = time.time()
    tuner.send_signal(signal.SIGINT)
    out, err = tuner.communicate(timeout=30)
    assert time.time() - started < 10  # not the 120 s grace
    assert tuner.returncode == 130 and "Traceback" not in err, err
    assert "SIGKILL after 120 s; Ctrl-C again to kill them now" in err
    assert err.strip().endswith(
        f"amtlocal: interrupted; tuning job stub is Stopped and resumes when you run "
        f"`amtlocal tune {spec} --job-name stub` again"
    )
    assert _describe(home, "stub")["HyperParameterTuningJobStatus"] == "Stopped"
    jobs = summaries("stub", _store(home))
    assert [j["TrainingJobStatus"] for j in jobs] == ["Stopped", "Stopped"]
    assert all(j["FailureReason"].startswith("Interrupted") for j in jobs)
    assert not any(alive(p) for p in pids)


def test_stop_after_the_tuner_was_killed_ends_its_orphans(workdir, tmp_path):
    spec, ledger, home, pids = _kill_tuner_with_two_jobs_running(workdir, tmp_path, "deadstop")
    stop = _stop(home, "deadstop")
    assert (stop.returncode, stop.stdout.strip()) == (0, "deadstop: Stopped"), stop.stderr
    desc = _describe(home, "deadstop")
    assert desc["HyperParameterTuningJobStatus"] == "Stopped"
    assert desc["TrainingJobStatusCounters"]["InProgress"] == 0 and desc["TrainingJobStatusCounters"]["Stopped"] == 2
    jobs = summaries("deadstop", _store(home))
    assert all("tuner process ended" in j["FailureReason"] for j in jobs)
    assert not any(alive(p) for p in pids)
    again = _tune(spec, home)  # and the resume runs the stopped configurations again
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    _check_resumed(home, "deadstop", ledger, max_jobs=4)


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(3))
def test_two_background_starts_at_once_one_is_refused(workdir, tmp_path, attempt):
    ledger, home = tmp_path / "ledger", tmp_path / "home"
    spec = _spec(workdir, "bg", ledger, max_jobs=2, parallel=2, nap=0.5)
    cmd = _amtlocal(home, "tune", str(spec), "--no-wait")
    both = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = sorted((p.wait(timeout=120), *p.communicate()) for p in both)
    assert [rc for rc, _, _ in results] == [0, 1], results
    assert results[0][1].strip() == "bg"
    assert results[1][2].strip() == (
        "amtlocal: error: tuning job 'bg' is already running in another tuner process; "
        "follow it with `amtlocal describe bg`, or stop it with `amtlocal stop bg`"
    )
    deadline = time.time() + 60
    while _describe(home, "bg")["HyperParameterTuningJobStatus"] != "Completed":
        assert time.time() < deadline
        time.sleep(0.2)
    starts = Counter(e[1] for e in _ledger(ledger) if e[0] == "start")
    assert len(starts) == 2 and set(starts.values()) == {1}


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15])
def test_a_stop_racing_a_resume_is_honoured(workdir, tmp_path, delay):
    """`stop` while a resuming tuner starts up: whichever is first, the stop is not lost (the tuner ends Stopped soon)
    and `stop` never claims there is nothing to stop while the resumed tuner runs on."""
    ledger, home = tmp_path / "ledger", tmp_path / "home"
    spec = _spec(workdir, "race", ledger, max_jobs=4, parallel=2, nap=30)
    first = _tune(spec, home)
    _wait_for(lambda: sum(e[0] == "start" for e in _ledger(ledger)) == 2, first)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=60) == 130  # Stopped, resumable
    resumed = _tune(spec, home)
    lock = _store(home).lock("race")
    _wait_for(lambda: lock.holder() == resumed.pid, resumed)  # the resume has the job (still Stopped, or starting)
    time.sleep(delay)
    stop = _stop(home, "race")
    assert stop.returncode == 0 and stop.stdout.strip() in (
        "race: Stopping; its running training jobs are being stopped",
        "race: Stopped",
    ), (stop.stdout, stop.stderr)
    out, err = resumed.communicate(timeout=60)  # the scripts nap 30 s: it must have been stopped well before
    assert _describe(home, "race")["HyperParameterTuningJobStatus"] == "Stopped" and resumed.returncode == 1, (out, err)
    assert not any(alive(int(e[2])) for e in _ledger(ledger))


@pytest.mark.slow
def test_a_background_start_resumes_a_job_whose_earlier_run_was_stopped(workdir, tmp_path):
    """An old stop (it ended an earlier run) never ends a later background run: after stop, resume and a SIGKILL of
    that resumed tuner, `tune --no-wait` recovers the orphans and runs on."""
    ledger, home = tmp_path / "ledger", tmp_path / "home"
    spec = _spec(workdir, "again", ledger, max_jobs=6, parallel=2, nap=60)
    first = _tune(spec, home)
    _wait_for(lambda: sum(e[0] == "start" for e in _ledger(ledger)) == 2, first)
    cli = _amtlocal(home)
    assert subprocess.run([*cli, "stop", "again"], capture_output=True, timeout=60).returncode == 0
    assert first.wait(timeout=60) == 1
    resumed = _tune(spec, home)
    _wait_for(lambda: sum(e[0] == "start" for e in _ledger(ledger)) == 4, resumed)
    orphans = [int(e[2]) for e in _ledger(ledger)[2:]]
    resumed.kill()
    resumed.wait()
    bg = subprocess.run([*cli, "tune", str(spec), "--no-wait"], capture_output=True, text=True, timeout=60)
    assert (bg.returncode, bg.stdout.strip()) == (0, "again"), bg.stderr
    deadline = time.time() + 60
    while sum(e[0] == "start" for e in _ledger(ledger)) < 6:  # the background worker started the next two
        assert time.time() < deadline, (home / "jobs" / "again" / "tuner.log").read_text()
        time.sleep(0.05)
    desc = _describe(home, "again")
    assert desc["HyperParameterTuningJobStatus"] == "InProgress"
    assert desc["TrainingJobStatusCounters"] == {
        "Completed": 0,
        "InProgress": 2,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 4,
    }
    assert not any(alive(p) for p in orphans)  # the dead tuner's jobs were ended, not left running
    assert subprocess.run([*cli, "stop", "again"], capture_output=True, timeout=60).returncode == 0
    deadline = time.time() + 30
    while _describe(home, "again")["HyperParameterTuningJobStatus"] != "Stopped":
        assert time.time() < deadline
        time.sleep(0.2)


@pytest.mark.slow
def test_a_stop_while_the_tuner_finishes_still_ends_it_stopped(workdir, tmp_path):
    """The target is reached while another training job (ignoring SIGTERM) runs out its grace period: a stop during
    that wait is taken (the job ends Stopped), not acknowledged and then dropped for Completed."""
    ledger, home = tmp_path / "ledger", tmp_path / "home"
    spec = _stubborn_spec(
        workdir,
        "finishing",
        ledger,
        "time.sleep(0.5); print('f1: 0.9')",
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
        max_jobs=2,
        parallel=2,
        TuningJobCompletionCriteria={"TargetObjectiveMetricValue": 0.5},
    )
    tuner = _tune(spec, home, grace=8)
    # the target is reached: the tuner now waits out the other job's grace period
    _wait_for(
        lambda: (
            "finishing" in _store(home).names()
            and _describe(home, "finishing")["TrainingJobStatusCounters"]["Completed"] == 1
        ),
        tuner,
    )
    stop = _stop(home, "finishing")
    assert stop.returncode == 0 and stop.stdout.strip() in (
        "finishing: Stopping; its running training jobs are being stopped",
        "finishing: Stopped",
    ), stop.stdout
    tuner.communicate(timeout=60)
    assert _describe(home, "finishing")["HyperParameterTuningJobStatus"] == "Stopped"
    assert not any(alive(int(e[2])) for e in _ledger(ledger))


@pytest.mark.slow
def test_a_stop_after_the_job_failed_leaves_it_failed(workdir, tmp_path):
    """Five failures fail the tuning job while one training job (ignoring SIGTERM) runs out its grace period; a stop
    then changes nothing: the job stays Failed (never resumable), with its FailureReason."""
    ledger, home = tmp_path / "ledger", tmp_path / "home"
    spec = _stubborn_spec(
        workdir,
        "failing",
        ledger,
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
        "sys.exit(1)",
        max_jobs=8,
        parallel=2,
    )
    tuner = _tune(spec, home, grace=6)
    _wait_for(
        lambda: (
            "failing" in _store(home).names()
            and _describe(home, "failing")["TrainingJobStatusCounters"]["NonRetryableError"] >= 5
        ),
        tuner,
    )
    stop = _stop(home, "failing")
    assert stop.returncode == 0, stop.stderr
    tuner.communicate(timeout=60)
    desc = _describe(home, "failing")
    assert desc["HyperParameterTuningJobStatus"] == "Failed" and desc["FailureReason"].startswith(
        "No training job succeeded"
    )
    assert stop.stdout.strip() in (
        "failing: Failed (it ended before the stop took effect)",
        "failing: Stopping; its running training jobs are being stopped",
    ), stop.stdout
    assert not any(alive(int(e[2])) for e in _ledger(ledger))
