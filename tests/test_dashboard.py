"""``amtlocal dashboard``: optuna-dashboard serves the local store (one study per tuning job, one trial per training
job), started as the user would start it, on a free port of 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from amtlocal.testing import GOOD_SCRIPT, make_request, use_script

pytest.importorskip("optuna_dashboard", reason="the dashboard extra (optuna-dashboard) is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, deadline: float) -> dict:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.loads(r.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.slow
def test_dashboard_serves_the_local_store(workdir, tmp_path):
    from amtlocal.backends import get_backend

    use_script(workdir, GOOD_SCRIPT)
    req = make_request("dash-job", max_jobs=3, integer=[("x", 1, 9, "Linear")])
    backend = get_backend("local")
    backend.create_tuning_job(req, workdir, wait=True)
    names = sorted(s["TrainingJobName"] for s in backend.all_training_jobs("dash-job"))
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "amtlocal", "dashboard", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=dict(os.environ),
    )
    try:
        studies = _get(f"http://127.0.0.1:{port}/api/studies", time.monotonic() + 60)["study_summaries"]
        study = next(s for s in studies if s["study_name"] == "dash-job")
        detail = _get(f"http://127.0.0.1:{port}/api/studies/{study['study_id']}", time.monotonic() + 30)
        trials = detail["trials"]
        assert len(trials) == 3 and {t["state"] for t in trials} == {"Complete"}
        assert sorted(int(p["param_external_value"]) for t in trials for p in t["params"]) == sorted(
            t["values"][0] for t in trials
        )
        attrs = json.dumps([t["user_attrs"] for t in trials])
        assert all(n in attrs for n in names)  # each trial carries its AMT training job name
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # only the group this test started
        proc.communicate(timeout=30)


def test_dashboard_refuses_the_sagemaker_backend():
    r = subprocess.run(
        [sys.executable, "-m", "amtlocal", "--backend", "sagemaker", "dashboard"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "amtlocal pull" in r.stderr and "Traceback" not in r.stderr
