"""amtlocal.progress: what each display shows, where it shows, and the tuner's fit/wait using it.

The notebook display itself is exercised in a real kernel by tests/test_notebook.py."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest

from amtlocal.progress import JobProgress, Snapshot, environment, make_display
from amtlocal.progress._terminal import LogDisplay, TerminalDisplay
from amtlocal.testing import F1, use_script

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


def tuning_desc(status="InProgress", completed=2, running=2, failed=1, best=0.93, end=None) -> dict:
    d = {
        "HyperParameterTuningJobName": "job",
        "HyperParameterTuningJobStatus": status,
        "CreationTime": T0,
        "HyperParameterTuningJobConfig": {
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2},
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "f1"},
        },
        "TrainingJobStatusCounters": {
            "Completed": completed,
            "InProgress": running,
            "RetryableError": 0,
            "NonRetryableError": failed,
            "Stopped": 0,
        },
    }
    if best is not None:
        d["BestTrainingJob"] = {
            "TrainingJobName": "job-002-abc",
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "f1", "Value": best},
        }
    if end is not None:
        d["HyperParameterTuningEndTime"] = T0 + dt.timedelta(seconds=end)
    return d


def test_tuning_job_line_and_summary():
    running = Snapshot.from_tuning_job(tuning_desc())
    assert running.line().startswith("job: 3/6 training jobs done, 2 running, 1 failed, best f1 0.93 (job-002-abc), ")
    done = Snapshot.from_tuning_job(tuning_desc("Completed", completed=5, running=0, end=65))
    assert done.ended and done.elapsed == 65
    assert (
        done.summary()
        == "job: Completed in 0:01:05; 6 training jobs (5 completed, 1 failed); best f1 0.93 (job-002-abc)"
    )
    none = Snapshot.from_tuning_job(tuning_desc(completed=0, running=2, failed=0, best=None))
    assert none.line().startswith("job: 0/6 training jobs done, 2 running, best f1 -, ")
    failed = tuning_desc("Failed", completed=0, running=0, failed=5, best=None, end=3)
    failed["FailureReason"] = "No training job succeeded after 5 attempts."
    assert Snapshot.from_tuning_job(failed).summary() == (
        "job: Failed in 0:00:03; 5 training jobs (0 completed, 5 failed); No training job succeeded after 5 attempts."
    )


def test_training_job_line_and_summary():
    desc = {
        "TrainingJobName": "tj",
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Training",
        "CreationTime": T0,
    }
    assert Snapshot.from_training_job(desc).line().startswith("tj: InProgress (Training), ")
    desc.update(
        TrainingJobStatus="Completed",
        TrainingEndTime=T0 + dt.timedelta(seconds=12),
        FinalMetricDataList=[{"MetricName": "f1", "Value": 0.5, "Timestamp": T0}],
    )
    assert Snapshot.from_training_job(desc).summary() == "tj: Completed in 0:00:12; f1 0.5"


def test_terminal_display_redraws_one_line_then_prints_the_summary():
    out = io.StringIO()
    d = TerminalDisplay(out)
    d.update(Snapshot.from_tuning_job(tuning_desc(completed=0, failed=0, best=None)))
    d.update(Snapshot.from_tuning_job(tuning_desc(completed=0, failed=0, best=None)))  # same line: not redrawn
    d.update(Snapshot.from_tuning_job(tuning_desc()))
    d.close(Snapshot.from_tuning_job(tuning_desc("Completed", completed=5, running=0, end=65)))
    parts = out.getvalue().split("\r\033[K")
    assert parts[0] == "" and len(parts) == 4
    assert parts[1].startswith("job: 0/6") and parts[2].startswith("job: 3/6")
    assert (
        parts[3] == "job: Completed in 0:01:05; 6 training jobs (5 completed, 1 failed); best f1 0.93 (job-002-abc)\n"
    )


def test_terminal_display_steps_aside_for_log_lines_and_draws_itself_again():
    # a job's log lines (fit streams them) must not be glued to the redrawn line: "0:00:042026-12-05 01:03:02 ..."
    out = io.StringIO()
    d = TerminalDisplay(out)
    d.update(Snapshot.from_tuning_job(tuning_desc()))
    line = out.getvalue()[len("\r\033[K") :]
    with d.paused():
        out.write("a log record\n")
    assert out.getvalue() == f"\r\033[K{line}\r\033[Ka log record\n{line}"


def test_log_display_logs_a_start_and_an_end_line_only(caplog):
    caplog.set_level(logging.INFO, logger="amtlocal")
    d = LogDisplay()
    for completed in (0, 1, 2):
        d.update(Snapshot.from_tuning_job(tuning_desc(completed=completed)))
    d.close(Snapshot.from_tuning_job(tuning_desc("Completed", completed=5, running=0, end=65)))
    assert [r.getMessage() for r in caplog.records] == [
        "Tuning job job: started, up to 6 training jobs",
        "job: Completed in 0:01:05; 6 training jobs (5 completed, 1 failed); best f1 0.93 (job-002-abc)",
    ]


def test_environment_choice(monkeypatch):
    monkeypatch.setenv("AMTLOCAL_PROGRESS", "terminal")
    assert environment() == "terminal" and isinstance(make_display(), TerminalDisplay)
    monkeypatch.setenv("AMTLOCAL_PROGRESS", "off")
    assert make_display() is None
    monkeypatch.setenv("AMTLOCAL_PROGRESS", "loud")
    with pytest.raises(ValueError, match="AMTLOCAL_PROGRESS must be one of notebook, terminal, log, off"):
        environment()
    monkeypatch.delenv("AMTLOCAL_PROGRESS")
    assert environment() == "log"  # pytest captures stderr: not a tty, and no kernel


class Recorder(LogDisplay):
    live = True

    def __init__(self):
        super().__init__()
        self.shown: list[Snapshot] = []
        self.closed: list[Snapshot | None] = []

    def update(self, snap):
        self.shown.append(snap)

    def close(self, snap):
        self.closed.append(snap)


def test_progress_callbacks_are_enriched_by_a_describe():
    from amtlocal.backends import Progress

    descs = [
        tuning_desc(completed=0, running=1, failed=0, best=None),
        tuning_desc(completed=1, running=2, failed=1, best=0.9),
    ]
    rec = Recorder()
    prog = JobProgress(rec, lambda: descs[0], Snapshot.from_tuning_job, poll=3600)
    prog(Progress("job", 0, 6, 1, None, "f1"))  # first callback: described
    descs[0] = descs[1]
    prog(Progress("job", 2, 6, 2, 0.9, "f1"))  # within the poll interval: the callback's counts, last failures
    assert [s.done for s in rec.shown] == [0, 2] and rec.shown[-1].running == 2 and rec.shown[-1].best == 0.9
    assert rec.shown[-1].best_job is None  # the best changed since the last describe: its job is not known yet
    prog.close()
    prog.close()
    assert len(rec.closed) == 1 and rec.closed[0].best_job == "job-002-abc" and rec.closed[0].failed == 1


@pytest.mark.slow
def test_tuner_fit_and_wait_show_progress_in_a_log(workdir, caplog, monkeypatch):
    from amtlocal import HyperparameterTuner, IntegerParameter, SKLearn

    monkeypatch.delenv("AMTLOCAL_PROGRESS", raising=False)
    caplog.set_level(logging.INFO, logger="amtlocal")
    use_script(
        workdir,
        "import argparse\np = argparse.ArgumentParser(); p.add_argument('--xx', type=int)\n"
        "a, _ = p.parse_known_args(); print('f1: %d' % a.xx)\n",
    )
    est = SKLearn(entry_point=str(workdir / "code" / "train.py"), framework_version="1.2-1", metric_definitions=[F1])
    tuner = HyperparameterTuner(est, "f1", {"xx": IntegerParameter(1, 9)}, strategy="Random", max_jobs=3, random_seed=2)
    tuner.fit({"train": str(workdir / "data")})
    name = tuner.latest_tuning_job.name
    lines = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith(("Tuning job " + name + ":", name + ":"))
    ]
    assert lines[0] == f"Tuning job {name}: started, up to 3 training jobs"
    assert lines[-1].startswith(f"{name}: Completed in ") and "; 3 training jobs (3 completed); best f1 " in lines[-1]
    assert len(lines) == 2
    caplog.clear()
    tuner.fit({"train": str(workdir / "data")}, wait=False)
    tuner.wait()
    name = tuner.latest_tuning_job.name
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith(name + ": Completed in ")]
    caplog.clear()
    tuner.fit({"train": str(workdir / "data")}, progress=False)
    assert not [r for r in caplog.records if "training jobs (" in r.getMessage()]
    text = repr(tuner)
    assert (
        f"Tuning job: {tuner.latest_tuning_job.name}" in text and "Training jobs: 3 completed, 0 running (of 3)" in text
    )
    assert "Best training job: " in text and "Folder: " in text
    assert "Status: Completed" in repr(tuner.latest_tuning_job) and "<table>" in tuner.latest_tuning_job._repr_html_()


def test_estimator_fit_shows_its_training_job_in_a_log_and_as_a_table(caplog, monkeypatch, tmp_path):
    from test_estimator_api import RecordingBackend

    from amtlocal import SKLearn

    monkeypatch.delenv("AMTLOCAL_PROGRESS", raising=False)
    caplog.set_level(logging.INFO, logger="amtlocal")
    (tmp_path / "train.py").write_text("print('f1: 0.5')\n")
    backend = RecordingBackend(statuses=("InProgress", "Completed"))
    est = SKLearn(entry_point=str(tmp_path / "train.py"), framework_version="1.2-1", backend=backend)
    assert repr(est).endswith("(no training job yet)")
    est.fit(str(tmp_path), logs=False)
    name = est.latest_training_job.name
    lines = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    assert lines[0] == f"Training job {name}: started"
    assert lines[-1].startswith(f"{name}: Completed in ") and len(lines) == 2
    text = repr(est)
    assert f"Training job: {name}" in text and "Status: Completed" in text and "Model: " in text
    assert "<th" in est._repr_html_() and name in est._repr_html_()
    assert f"Training job: {name}" in repr(est.latest_training_job)


def test_the_display_polls_aws_less_often_than_the_local_store():
    from types import SimpleNamespace

    from amtlocal.progress import tuning_job_progress

    assert tuning_job_progress(SimpleNamespace(name="local"), "j", env="log").poll == 1.0
    assert tuning_job_progress(SimpleNamespace(name="sagemaker"), "j", env="log").poll == 10.0  # AWS throttles Describe
    assert tuning_job_progress(SimpleNamespace(name="sagemaker"), "j", env="off") is None


def test_tuner_fit_redraws_the_terminal_line_while_a_training_job_runs(workdir, monkeypatch, capsys):
    # Before, tuner.fit's line was drawn only when the backend reported (a training job's end): frozen for minutes.
    import re

    from amtlocal import HyperparameterTuner, IntegerParameter, SKLearn
    from amtlocal.testing import F1, use_script

    monkeypatch.setenv("AMTLOCAL_PROGRESS", "terminal")
    use_script(workdir, "import time\ntime.sleep(2.5)\nprint('f1: 1')\n")
    est = SKLearn(entry_point=str(workdir / "code" / "train.py"), framework_version="1.2-1", metric_definitions=[F1])
    tuner = HyperparameterTuner(est, "f1", {"xx": IntegerParameter(1, 5)}, max_jobs=1, strategy="Random")
    tuner.fit({"train": str(workdir / "data")}, job_name="tick")
    draws = capsys.readouterr().err.split("\r\033[K")
    running = [d for d in draws if d.startswith("tick: 0/1 training jobs done, 1 running, best f1 -, ")]
    clocks = {re.search(r", (\d:\d\d:\d\d)$", d.rstrip("\n")).group(1) for d in running}
    assert {"0:00:01", "0:00:02"} & clocks, draws
    assert draws[-1].startswith("tick: Completed in 0:00:0")
