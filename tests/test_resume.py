"""A tuner killed with SIGKILL mid-job: running the same tuning job again continues it, and no training job runs twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from amtlocal.testing import make_request, summaries, use_script

LEDGER_SCRIPT = """
import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument('--ledger'); p.add_argument('-x', type=int); a = p.parse_args()
name = os.environ['TRAINING_JOB_NAME']
with open(a.ledger, 'a') as f: f.write('start ' + name + '\\n')
time.sleep(0.4)
with open(a.ledger, 'a') as f: f.write('done ' + name + '\\n')
print('f1: %.3f' % (a.x / 100))
"""


def _tune(spec, home):
    return subprocess.Popen(
        [sys.executable, "-m", "amtlocal", "--home", str(home), "tune", str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _ledger(path):
    if not path.exists():
        return []
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(10))
def test_sigkill_then_resume_runs_each_training_job_once(workdir, tmp_path, attempt):
    use_script(workdir, LEDGER_SCRIPT)
    ledger = tmp_path / "ledger.txt"
    req = make_request(
        "resume", max_jobs=6, parallel=2, integer=[("x", 1, 100, "Auto")], static={"ledger": json.dumps(str(ledger))}
    )
    spec = workdir / "spec.json"
    spec.write_text(json.dumps(req))
    home = tmp_path / "home"

    tuner = _tune(spec, home)
    deadline = time.time() + 60
    while sum(1 for e in _ledger(ledger) if e[0] == "done") < 2:
        assert tuner.poll() is None, tuner.communicate()
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.2)  # now jobs are running
    os.kill(tuner.pid, signal.SIGKILL)
    tuner.wait()

    again = _tune(spec, home)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err

    from amtlocal.backends.local import LocalStore

    jobs = summaries("resume", LocalStore(home))
    completed = [j for j in jobs if j["TrainingJobStatus"] == "Completed"]
    assert len(completed) == 6  # MaxNumberOfTrainingJobs
    starts = Counter(name for verb, name in _ledger(ledger) if verb == "start")
    assert max(starts.values()) == 1  # no training job ran twice
    assert {j["TrainingJobName"] for j in completed} <= set(starts)
    interrupted = [j for j in jobs if j["TrainingJobStatus"] == "Stopped"]
    assert all("Interrupted" in j["FailureReason"] for j in interrupted)
    assert len(jobs) == 6 + len(interrupted)
    names = [j["TrainingJobName"] for j in jobs]
    assert len(set(names)) == len(names)
