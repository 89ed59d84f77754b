"""Several worker processes on one PostgreSQL storage work one tuning job: no training job runs twice, and
MaxParallelTrainingJobs holds across all of them."""

from __future__ import annotations

import glob
import json
import os
import shutil
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
def postgres_url(tmp_path_factory):
    """A private PostgreSQL cluster on a Unix socket (no TCP), from Debian's postgresql package (.ci/run installs it)."""
    if os.environ.get("AMTLOCAL_TEST_POSTGRES_URL"):
        yield os.environ["AMTLOCAL_TEST_POSTGRES_URL"]
        return
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run must install Debian's postgresql package")
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    bindir = os.path.dirname(bins[-1])
    import tempfile

    root = __import__("pathlib").Path(
        tempfile.mkdtemp(prefix="amtlocal-pg-")
    )  # not under pytest's 0700 tmp: postgres must reach it
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*prefix, f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, capture_output=True
    )
    port = "54329"
    subprocess.run(
        [
            *prefix,
            f"{bindir}/pg_ctl",
            "-D",
            str(data),
            "-w",
            "-l",
            str(root / "log"),
            "-o",
            f"-k {sock} -p {port} -c listen_addresses=''",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [*prefix, f"{bindir}/createdb", "-h", str(sock), "-p", port, "-U", "postgres", "amt"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg2://postgres@/amt?host={sock}&port={port}"
    finally:
        subprocess.run([*prefix, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


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
