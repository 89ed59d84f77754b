"""Several worker processes on one PostgreSQL storage work one tuning job: no training job runs twice, and
MaxParallelTrainingJobs holds across all of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from amtlocal.testing import make_request, use_script

pytestmark = pytest.mark.postgres

LEDGER_SCRIPT = """
import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument('--ledger'); p.add_argument('-x', type=int); a = p.parse_args()
with open(a.ledger, 'a') as f: f.write('%s start %r\\n' % (os.environ['TRAINING_JOB_NAME'], time.time()))
time.sleep(0.3)
with open(a.ledger, 'a') as f: f.write('%s end %r\\n' % (os.environ['TRAINING_JOB_NAME'], time.time()))
print('f1: %d' % a.x)
"""


@pytest.fixture(scope="module")
def postgres_url(postgres_cluster):
    """The URL of a private PostgreSQL cluster (``conftest.postgres_cluster``), or ``$AMTLOCAL_TEST_POSTGRES_URL``."""
    return os.environ.get("AMTLOCAL_TEST_POSTGRES_URL") or postgres_cluster.url


@pytest.mark.slow
def test_two_workers_share_one_tuning_job(workdir, tmp_path, postgres_url):
    use_script(workdir, LEDGER_SCRIPT)
    ledger = tmp_path / "ledger.txt"
    req = make_request(
        "pgjob", max_jobs=20, parallel=2, integer=[("x", 1, 100, "Auto")], static={"ledger": json.dumps(str(ledger))}
    )
    spec = workdir / "spec.json"
    spec.write_text(json.dumps(req))
    cmd = [
        sys.executable,
        "-m",
        "amtlocal",
        "--home",
        str(tmp_path / "home"),
        "--storage",
        postgres_url,
        "tune",
        str(spec),
        "--worker-slots",
        "1",
    ]
    # Three workers of one slot each, MaxParallelTrainingJobs 2: the cap can only hold if it is counted across workers.
    workers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], outs

    from amtlocal.backends.local import LocalStore, list_training_jobs

    study = LocalStore(tmp_path / "home", postgres_url).load("pgjob")
    jobs = list_training_jobs(study, MaxResults=100)["TrainingJobSummaries"]
    assert len(jobs) == 20 and all(j["TrainingJobStatus"] == "Completed" for j in jobs)
    assert len({j["TrainingJobName"] for j in jobs}) == 20
    workers_seen = {t.user_attrs["process"]["worker"] for t in study.get_trials() if t.user_attrs.get("role") == "own"}
    assert len(workers_seen) >= 2  # they shared the work
    events = [line.split() for line in ledger.read_text().splitlines()]
    starts = [name for name, what, _ in events if what == "start"]
    assert len(starts) == len(set(starts)) == 20  # none ran twice
    timeline = sorted((float(t), 1 if what == "start" else -1) for _, what, t in events)
    running, peak = 0, 0
    for _, delta in timeline:
        running += delta
        peak = max(peak, running)
    assert peak <= 2  # MaxParallelTrainingJobs across both workers
