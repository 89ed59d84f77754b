"""Fault injection (issue #7): one script per kind of fault in tests/fault_scripts/. Each ends with AMT's status and a
useful FailureReason, the right objective value, and the tuning job going on: the fault is the first training job
of a tuning job, and the second one (healthy, ``f1: 0.5``) starts after it and completes."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from amtlocal.testing import F1, alive, make_request, run_job, summaries, use_script

FAULTS = Path(__file__).parent / "fault_scripts"
PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1000 * 1000


@pytest.fixture(autouse=True, params=["fork", "process"])
def launcher(request, monkeypatch):
    """Every case runs under both launchers: the warm fork server (default) and a new process per job."""
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", request.param)
    return request.param


def _run_fault(
    workdir: Path,
    script: str,
    name: str,
    metrics=(F1,),
    objective: str = "f1",
    max_runtime: int = 60,
    stop_grace: float = 3,
    static: dict | None = None,
) -> tuple[dict, dict]:
    """Run a 2-job tuning job whose first training job hits the fault; returns (the faulty job's summary, describe)."""
    use_script(workdir, FAULTS / script)
    hps = {"marker": json.dumps(str(workdir / "marker"))}
    hps.update(static or {})
    req = make_request(
        name,
        metrics=metrics,
        objective=objective,
        max_jobs=2,
        max_runtime=max_runtime,
        integer=[("x", 1, 100, "Auto")],
        static=hps,
    )
    desc = run_job(req, workdir, stop_grace=stop_grace)
    first, second = sorted(summaries(name), key=lambda j: j["TrainingJobName"])  # <name>-001-..., <name>-002-...
    # The tuning job went on after the fault: the next training job started after it and succeeded.
    assert second["TrainingJobStatus"] == "Completed" and second["ObjectiveStatus"] == "Succeeded", second
    assert second["TrainingStartTime"] >= first["TrainingEndTime"]
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    return first, desc


def _objective(job: dict) -> float | None:
    m = job.get("FinalHyperParameterTuningJobObjectiveMetric")
    return m["Value"] if m else None


def _job_dir(tuning: str, job: dict) -> Path:
    return Path(os.environ["AMTLOCAL_HOME"]) / "jobs" / tuning / job["TrainingJobName"]


def _series(tuning: str, job: dict, metric: str) -> list[float]:
    lines = (_job_dir(tuning, job) / "logs" / "metrics.jsonl").read_text().splitlines()
    return [p["Value"] for p in map(json.loads, lines) if p["MetricName"] == metric]


def _elapsed(job: dict) -> float:
    return (job["TrainingEndTime"] - job["TrainingStartTime"]).total_seconds()


class PeakRss:
    """Samples this process's resident memory every few ms; ``growth`` is the peak minus the RSS at entry (bytes)."""

    def __enter__(self) -> PeakRss:
        self.base = self.peak = self._rss()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def growth(self) -> int:
        return self.peak - self.base


# -- exits and signals --------------------------------------------------------------------------------------------
def test_non_zero_exit(workdir):
    job, _ = _run_fault(workdir, "exit_nonzero.py", "exit")
    assert job["TrainingJobStatus"] == "Failed" and job["ObjectiveStatus"] == "Failed"
    assert _objective(job) is None  # it printed f1: 0.9, but a failed job never ranks
    assert job["FailureReason"].startswith('AlgorithmError: ExecuteUserScriptError:\nExitCode 3\nErrorMessage "')
    assert "ValueError: bad batch" in job["FailureReason"] and "train.py" in job["FailureReason"]
    assert len(job["FailureReason"]) <= 1024


@pytest.mark.parametrize("sig,number,words", [("SIGSEGV", 11, "Segmentation fault"), ("SIGKILL", 9, "out-of-memory")])
def test_death_by_signal_names_the_signal(workdir, sig, number, words):
    job, _ = _run_fault(workdir, "signal_death.py", f"sig-{number}", static={"signal": json.dumps(sig)})
    assert job["TrainingJobStatus"] == "Failed" and job["ObjectiveStatus"] == "Failed" and _objective(job) is None
    reason = job["FailureReason"]
    assert reason.startswith(
        f"AlgorithmError: ExecuteUserScriptError:\nExitCode -{number} (killed by signal {number} ({sig}"
    )
    assert words in reason and "about to crash" in reason


@pytest.mark.slow
def test_hang_past_max_runtime_is_killed_after_the_grace_with_its_grandchild(workdir):
    job, _ = _run_fault(
        workdir,
        "hang_past_max_runtime.py",
        "hang",
        max_runtime=2,
        stop_grace=1,
        static={"pids": json.dumps(str(workdir / "pids"))},
    )
    assert job["TrainingJobStatus"] == "Stopped"
    assert (
        job["FailureReason"] == "MaxRuntimeExceeded: Training job runtime exceeded MaxRuntimeInSeconds provided (2 s)"
    )
    assert job["ObjectiveStatus"] == "Succeeded" and _objective(job) == 0.3  # printed before the stop: it counts
    assert 2.5 <= _elapsed(job) < 8  # SIGTERM ignored: SIGKILL after the 1 s grace
    pids = [int(p) for p in (workdir / "pids").read_text().split()]
    assert not any(alive(p) for p in pids)  # the grandchild went with the group


@pytest.mark.slow
def test_sigterm_handler_prints_a_last_metric_in_the_grace_period(workdir):
    job, _ = _run_fault(workdir, "sigterm_last_metric.py", "term", max_runtime=2, stop_grace=30)
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["FailureReason"].startswith("MaxRuntimeExceeded:")
    assert job["ObjectiveStatus"] == "Succeeded" and _objective(job) == 0.77
    assert _series("term", job, "f1") == [0.1, 0.77]
    assert _elapsed(job) < 10  # it ended by itself in the grace period, long before the 30 s SIGKILL


def test_own_failure_file_becomes_the_failure_reason(workdir):
    job, _ = _run_fault(workdir, "own_failure_file.py", "ownfail")
    assert job["TrainingJobStatus"] == "Failed" and job["ObjectiveStatus"] == "Failed" and _objective(job) is None
    assert job["FailureReason"] == "AlgorithmError: DataError: channel 'train' holds no rows"
    assert (_job_dir("ownfail", job) / "output" / "failure").read_text() == "DataError: channel 'train' holds no rows"


def test_grandchildren_left_behind_are_ended_with_the_group(workdir):
    job, _ = _run_fault(workdir, "grandchildren.py", "grand", static={"pids": json.dumps(str(workdir / "pids"))})
    assert job["TrainingJobStatus"] == "Completed" and _objective(job) == 0.42 and "FailureReason" not in job
    assert _elapsed(job) < 8  # not held open by the grandchild that kept stdout
    pids = [int(p) for p in (workdir / "pids").read_text().split()]
    assert len(pids) == 2 and not any(alive(p) for p in pids)


def test_a_grandchild_in_its_own_session_printing_after_the_exit_is_not_counted(workdir):
    job, _ = _run_fault(workdir, "escaped_grandchild.py", "late", static={"pids": json.dumps(str(workdir / "pids"))})
    assert job["TrainingJobStatus"] == "Completed" and _objective(job) == 0.42  # not its 0.99, printed after the exit
    assert _series("late", job, "f1") == [0.42]
    assert _elapsed(job) < 1.5  # the job ended with its entry point, not when the grandchild let go of stdout
    pid = int((workdir / "pids").read_text())
    deadline = time.time() + 5
    while alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


@pytest.mark.parametrize("call", ["setsid", "setpgrp"])
def test_an_entry_point_in_its_own_session_is_stopped_on_time_with_its_grandchild(workdir, call):
    job, _ = _run_fault(
        workdir,
        "own_session.py",
        f"sess-{call}",
        max_runtime=2,
        stop_grace=1,
        static={"pids": json.dumps(str(workdir / "pids")), "call": json.dumps(call)},
    )
    assert job["TrainingJobStatus"] == "Stopped"  # os.setsid()/os.setpgrp() succeeded: no PermissionError
    assert job["FailureReason"].startswith("MaxRuntimeExceeded:")
    assert _objective(job) == 0.3
    assert 2.5 <= _elapsed(job) < 6  # SIGTERM ignored by both: SIGKILL after the 1 s grace reaches them
    pids = [int(p) for p in (workdir / "pids").read_text().split()]
    assert len(pids) == 2 and not any(alive(p) for p in pids)


# -- what the output looks like -----------------------------------------------------------------------------------
def test_progress_bar_redrawn_with_carriage_returns(workdir):
    loss = {"Name": "loss", "Regex": r"loss=([0-9.]+)"}
    anchored = {"Name": "bar_end", "Regex": r"^train 100%.*loss=([0-9.]+)"}
    f1 = {"Name": "f1", "Regex": r"f1: ([0-9.]+)"}
    job, _ = _run_fault(workdir, "progress_bar.py", "bar", metrics=(f1, loss, anchored))
    assert job["TrainingJobStatus"] == "Completed" and _objective(job) == 0.81
    assert _series("bar", job, "loss") == [1.0, 0.5, 0.333, 0.25, 0.2]  # every redraw, in order: one raw line
    assert _series("bar", job, "bar_end") == []  # the raw line starts with \r, as in CloudWatch
    assert b"\rtrain  20%|#    | loss=1.000\rtrain  40%" in (_job_dir("bar", job) / "logs" / "output.log").read_bytes()


def test_ansi_colour_codes_are_seen_raw(workdir):
    acc = {"Name": "acc", "Regex": r"acc: ([0-9.]+)"}
    job, desc = _run_fault(workdir, "ansi_colour.py", "ansi", metrics=(F1, acc), objective="acc")
    assert job["TrainingJobStatus"] == "Completed" and job["ObjectiveStatus"] == "Failed" and _objective(job) is None
    assert "'acc' was never emitted" in job["FailureReason"] and acc["Regex"] in job["FailureReason"]
    assert "ANSI colour codes" in job["FailureReason"]
    assert _series("ansi", job, "f1") == [0.61]  # colour around a whole line does not hurt
    assert desc["ObjectiveStatusCounters"]["Failed"] == 1


def test_windows_line_endings(workdir):
    anchored = {"Name": "f1", "Regex": r"f1: ([0-9.]+)$"}
    job, _ = _run_fault(workdir, "crlf.py", "crlf", metrics=(anchored,))
    assert job["TrainingJobStatus"] == "Completed" and _objective(job) == 0.45
    assert _series("crlf", job, "f1") == [0.2, 0.45]
    assert b"f1: 0.45\r\n" in (_job_dir("crlf", job) / "logs" / "output.log").read_bytes()


def test_invalid_utf8(workdir):
    job, _ = _run_fault(workdir, "invalid_utf8.py", "utf8")
    assert job["TrainingJobStatus"] == "Completed" and _objective(job) == 0.66
    log = (_job_dir("utf8", job) / "logs" / "output.log").read_bytes()
    assert b"\xff\xfe\x80 f1: 0.66 \xc3\x28 done\n" in log and b"warning \xe2\x82 truncated\n" in log


def test_last_line_without_newline(workdir):
    job, _ = _run_fault(workdir, "no_final_newline.py", "nonl")
    assert job["TrainingJobStatus"] == "Completed" and _objective(job) == 0.55
    log = (_job_dir("nonl", job) / "logs" / "output.log").read_bytes()
    assert b"f1: 0.55\n" in log and b"warning without newline\n" in log


def test_single_line_of_tens_of_megabytes(workdir):
    with PeakRss() as mem:
        job, _ = _run_fault(workdir, "long_line.py", "longline", static={"mib": "40"})
    assert job["TrainingJobStatus"] == "Completed" and _objective(job) == 0.99
    assert _series("longline", job, "f1") == [0.11, 0.99]
    log = _job_dir("longline", job) / "logs" / "output.log"
    assert (
        log.stat().st_size == len(b"f1: 0.11 ") + 40 * 2**20 + len(b" f1: 0.99\n") + 40
    )  # + a \n after each cut piece
    log.unlink()
    assert mem.growth < 48 * 2**20, f"tuner memory grew by {mem.growth / 2**20:.1f} MiB"


def test_hundreds_of_megabytes_of_log_stream_in_flat_memory(workdir):
    with PeakRss() as mem:
        job, _ = _run_fault(workdir, "huge_log.py", "hugelog", static={"mb": "200"})
    assert job["TrainingJobStatus"] == "Completed" and _objective(job) == 0.95
    log = _job_dir("hugelog", job) / "logs" / "output.log"
    assert log.stat().st_size > 200 * MB
    log.unlink()
    series = _series("hugelog", job, "f1")
    assert len(series) > 2 * 100 and series[-1] == 0.95
    assert mem.growth < 64 * 2**20, f"tuner memory grew by {mem.growth / 2**20:.1f} MiB"


# -- the tuning job around failing training jobs -------------------------------------------------------------------
COUNTED_FAILURES = """
import argparse, sys
p = argparse.ArgumentParser(); p.add_argument('--ledger'); p.add_argument('--fail'); a, _ = p.parse_known_args()
with open(a.ledger, 'a') as f: f.write('run\\n')
n = len(open(a.ledger).read().split())
if str(n) in a.fail.split(','):
    print('RuntimeError: job %d fails' % n, file=sys.stderr); sys.exit(1)
print('f1: %.2f' % (n / 10))
"""


def _counted_failures(workdir, name: str, fail: str, max_jobs: int, parallel: int = 1) -> tuple[dict, list[dict]]:
    use_script(workdir, COUNTED_FAILURES)
    req = make_request(
        name,
        max_jobs=max_jobs,
        parallel=parallel,
        integer=[("x", 1, 100, "Auto")],
        static={"ledger": json.dumps(str(workdir / "ledger")), "fail": json.dumps(fail)},
    )
    desc = run_job(req, workdir)
    return desc, sorted(summaries(name), key=lambda j: j["TrainingJobName"])


def test_first_five_training_jobs_all_fail_the_tuning_job_fails_with_amts_message(workdir):
    desc, jobs = _counted_failures(workdir, "allfail", "1,2,3,4,5,6,7,8", max_jobs=8)
    assert len(jobs) == 5 and all(j["TrainingJobStatus"] == "Failed" for j in jobs)
    assert desc["HyperParameterTuningJobStatus"] == "Failed"
    assert desc["FailureReason"] == (
        "No training job succeeded after 5 attempts. "
        "Please take a look at the training job failures to get more details."
    )
    assert desc["TrainingJobStatusCounters"]["NonRetryableError"] == 5
    assert "BestTrainingJob" not in desc


def test_some_training_jobs_fail_and_the_tuning_job_goes_on(workdir):
    desc, jobs = _counted_failures(workdir, "somefail", "1,2,3,4,6", max_jobs=7)
    assert [j["TrainingJobStatus"] for j in jobs] == ["Failed"] * 4 + ["Completed", "Failed", "Completed"]
    assert all("RuntimeError: job" in j["FailureReason"] for j in jobs if j["TrainingJobStatus"] == "Failed")
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.7
    assert desc["ObjectiveStatusCounters"] == {"Succeeded": 2, "Pending": 0, "Failed": 5}


def test_job_stopped_because_the_tuning_job_failed_never_ranks(workdir, tmp_path, launcher):
    """The first job prints a metric and runs on; the next five fail: the tuning job fails, the first job is stopped,
    and its metric must not make it the best of a Failed tuning job."""
    marker = tmp_path / "first"
    use_script(
        workdir,
        (
            "import os, sys, time\n"
            f"try:\n    fd = os.open({str(marker)!r}, os.O_CREAT | os.O_EXCL)\nexcept FileExistsError:\n"
            "    print('boom', file=sys.stderr); sys.exit(2)\n"
            "print('f1: 0.9', flush=True)\ntime.sleep(60)\n"
        ),
    )
    desc = run_job(make_request("tjfailed", max_jobs=10, parallel=2, integer=[("x", 1, 100, "Auto")]), workdir)
    assert desc["HyperParameterTuningJobStatus"] == "Failed"
    assert "BestTrainingJob" not in desc
    jobs = summaries("tjfailed")
    stopped = [j for j in jobs if j["TrainingJobStatus"] == "Stopped"]
    assert len(stopped) == 1 and stopped[0]["ObjectiveStatus"] == "Failed"
    assert "tuning job failed" in stopped[0]["FailureReason"]


def test_log_and_metrics_are_on_disk_while_the_job_runs(workdir):
    """output.log and metrics.jsonl can be followed during the job (as CloudWatch streams a job's log), and so
    survive a tuner killed mid-job: each chunk read is written through, not held in a buffer until the end."""
    import time

    marker = workdir / "go-on"
    use_script(
        workdir,
        "import os, sys, time\nprint('epoch 1 f1: 0.25', flush=True)\n"
        f"t = time.time()\nwhile not os.path.exists({str(marker)!r}) and time.time() - t < 30: time.sleep(0.05)\n"
        "print('f1: 0.5')\n",
    )
    req = make_request("live", max_jobs=1, integer=[("x", 1, 9, "Auto")])
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(desc=run_job(req, workdir)))
    runner.start()
    try:
        home, deadline, log, series = Path(os.environ["AMTLOCAL_HOME"]), time.time() + 30, b"", []
        # the folder appears before its files, and the log and the series are two writes: poll until both are there
        while time.time() < deadline and not (series and log.endswith(b"\n")):
            logs = list((home / "jobs" / "live").glob("live-*/logs"))
            if logs and (logs[0] / "output.log").exists() and (logs[0] / "metrics.jsonl").exists():
                series = (logs[0] / "metrics.jsonl").read_text().splitlines()
                log = (logs[0] / "output.log").read_bytes()
            time.sleep(0.05)
        assert log == b"epoch 1 f1: 0.25\n"
        assert [(p["MetricName"], p["Value"]) for p in map(json.loads, series)] == [("f1", 0.25)]
    finally:
        marker.write_text("")
        runner.join(60)
    assert result["desc"]["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.5
