"""DescribeTrainingJob, ListTrainingJobs and the log of a tuning job's training jobs (issue 13), checked against
botocore's output shapes and against what the script printed."""

from __future__ import annotations

import botocore.session
import pytest

from amtlocal.backends.local import LocalBackend, LocalStore
from amtlocal.exceptions import TrainingJobNotFound
from amtlocal.testing import GOOD_SCRIPT, make_request, run_job, use_script

SCRIPT = GOOD_SCRIPT + "import sys\nprint('stderr line', file=sys.stderr)\nsys.exit(3 if a.x == 2 else 0)\n"


def _missing_required(value, shape, path="") -> list[str]:
    """Every required member of ``shape`` missing from ``value``, recursively (structures, lists, maps)."""
    out = []
    if shape.type_name == "structure":
        for name in shape.required_members:
            if name not in value:
                out.append(f"{path}.{name}")
        for name, member in shape.members.items():
            if name in value:
                out += _missing_required(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            out += _missing_required(item, shape.member, f"{path}[{i}]")
    return out


@pytest.fixture(scope="module")
def model():
    return botocore.session.get_session().get_service_model("sagemaker")


@pytest.fixture
def ran(workdir, tmp_path):
    use_script(workdir, SCRIPT)
    store = LocalStore(tmp_path / "home")
    req = make_request("tj", max_jobs=None, strategy="Grid", seed=None, categorical=[("x", ["1", "2", "3"])])
    run_job(req, workdir, store)
    return LocalBackend(store)


def test_describe_training_job_of_a_tuning_job_has_the_api_shape_and_real_values(ran, model):
    backend = ran
    tuning = backend.describe("tj")
    best = tuning["BestTrainingJob"]
    d = backend.describe_training_job(best["TrainingJobName"])
    shape = model.operation_model("DescribeTrainingJob").output_shape
    assert _missing_required(d, shape) == []
    assert set(d) <= set(shape.members)
    assert d["TrainingJobStatus"] == "Completed" and d["SecondaryStatus"] == "Completed"
    assert d["TuningJobArn"] == tuning["HyperParameterTuningJobArn"]
    assert (
        d["HyperParameters"]["x"] == best["TunedHyperParameters"]["x"] == "3"
        and d["HyperParameters"]["_tuning_objective_metric"] == "f1"
    )
    assert d["FinalMetricDataList"][0]["MetricName"] == "f1" and d["FinalMetricDataList"][0]["Value"] == 3.0
    assert (
        d["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://example-bucket/out/{d['TrainingJobName']}/output/model.tar.gz"
    )
    assert d["TrainingStartTime"] <= d["TrainingEndTime"] and d["BillableTimeInSeconds"] >= 1
    assert [t["Status"] for t in d["SecondaryStatusTransitions"]] == ["Starting", "Training", "Completed"]
    assert d["StoppingCondition"] == {"MaxRuntimeInSeconds": 60}


def test_a_failed_training_job_describes_its_failure(ran):
    (failed,) = [
        s
        for s in ran.list_training_jobs("tj", MaxResults=10)["TrainingJobSummaries"]
        if s["TrainingJobStatus"] == "Failed"
    ]
    d = ran.describe_training_job(failed["TrainingJobName"].upper())  # names are case-insensitive
    assert d["TrainingJobStatus"] == "Failed" and d["SecondaryStatus"] == "Failed"
    assert (
        d["FailureReason"].startswith("AlgorithmError: ExecuteUserScriptError") and "ExitCode 3" in d["FailureReason"]
    )
    assert "stderr line" in list(ran.training_job_logs(failed["TrainingJobName"]))


def test_list_training_jobs_filters_sorts_and_pages(ran, model):
    every = ran.training_jobs(MaxResults=100)["TrainingJobSummaries"]
    assert len(every) == 3
    shape = model.operation_model("ListTrainingJobs").output_shape
    assert _missing_required({"TrainingJobSummaries": every}, shape) == []
    assert [r["TrainingJobStatus"] for r in ran.training_jobs(StatusEquals="Failed")["TrainingJobSummaries"]] == [
        "Failed"
    ]
    names = sorted(r["TrainingJobName"] for r in every)
    page1 = ran.training_jobs(SortBy="Name", MaxResults=2)
    page2 = ran.training_jobs(SortBy="Name", MaxResults=2, NextToken=page1["NextToken"])
    assert [r["TrainingJobName"] for r in page1["TrainingJobSummaries"] + page2["TrainingJobSummaries"]] == names
    assert "NextToken" not in page2
    assert ran.training_jobs(NameContains="nothing-like-it")["TrainingJobSummaries"] == []
    assert [
        r["TrainingJobName"] for r in ran.training_jobs(SortBy="Name", SortOrder="Descending")["TrainingJobSummaries"]
    ] == names[::-1]


def test_an_unknown_training_job_is_not_found(ran):
    with pytest.raises(TrainingJobNotFound):
        ran.describe_training_job("tj-999-deadbeef")
    with pytest.raises(TrainingJobNotFound):
        list(ran.training_job_logs("nope"))


# -- standalone training jobs (CreateTrainingJob) ----------------------------------------------------------------------


def training_request(name: str, hyperparameters: dict | None = None, max_runtime: int = 60) -> dict:
    """A CreateTrainingJob request over ``file://code`` and ``file://data``, from the tuning tests' definition."""
    d = make_request("x", max_runtime=max_runtime)["TrainingJobDefinition"]
    hps = dict(d["StaticHyperParameters"], **(hyperparameters or {}))
    return {
        "TrainingJobName": name,
        "HyperParameters": hps,
        "AlgorithmSpecification": d["AlgorithmSpecification"],
        "RoleArn": d["RoleArn"],
        "InputDataConfig": d["InputDataConfig"],
        "OutputDataConfig": {"S3OutputPath": "file://out"},
        "ResourceConfig": d["ResourceConfig"],
        "StoppingCondition": d["StoppingCondition"],
    }


TRAIN = """import argparse, os, sys, time
p = argparse.ArgumentParser(); p.add_argument('-x', type=int, default=1); p.add_argument('--sleep', type=float, default=0)
a = p.parse_args()
rows = open(os.path.join(os.environ['SM_CHANNEL_TRAIN'], 'train.csv')).read()
open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write(rows)
print('f1: %d' % a.x, flush=True)
time.sleep(a.sleep)
sys.exit(4 if a.x < 0 else 0)
"""


@pytest.fixture
def local(workdir, tmp_path):
    use_script(workdir, TRAIN)
    return LocalBackend(LocalStore(tmp_path / "home"), stop_grace=2)


def test_a_standalone_training_job_runs_and_describes_as_describe_training_job(local, workdir, model, tmp_path):
    d = local.create_training_job(training_request("solo", {"x": "7"}), workdir)
    assert _missing_required(d, model.operation_model("DescribeTrainingJob").output_shape) == []
    assert set(d) <= set(model.operation_model("DescribeTrainingJob").output_shape.members)
    assert d["TrainingJobStatus"] == "Completed" and d["SecondaryStatus"] == "Completed" and "TuningJobArn" not in d
    assert [t["Status"] for t in d["SecondaryStatusTransitions"]] == ["Starting", "Training", "Completed"]
    assert d["FinalMetricDataList"][0]["MetricName"] == "f1" and d["FinalMetricDataList"][0]["Value"] == 7.0
    assert d["HyperParameters"]["x"] == "7" and d["BillableTimeInSeconds"] >= 1
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == f"file://{workdir}/out/solo/output/model.tar.gz"
    import tarfile

    with tarfile.open(workdir / "out" / "solo" / "output" / "model.tar.gz") as tar:
        assert tar.extractfile("model.txt").read() == b"1,2\n"  # the model the script saved
    assert d["CreationTime"] <= d["TrainingStartTime"] <= d["TrainingEndTime"]
    assert (tmp_path / "home" / "training-jobs" / "solo" / "model" / "model.txt").read_text() == "1,2\n"
    assert "f1: 7" in list(local.training_job_logs("solo"))
    assert [r["TrainingJobName"] for r in local.training_jobs()["TrainingJobSummaries"]] == ["solo"]
    assert local.describe_training_job("SOLO")["TrainingJobName"] == "solo"


def test_a_failing_standalone_job_is_failed_with_the_algorithm_error(local, workdir):
    d = local.create_training_job(training_request("bad", {"x": "-1"}), workdir)
    assert d["TrainingJobStatus"] == "Failed" and d["SecondaryStatus"] == "Failed"
    assert (
        d["FailureReason"].startswith("AlgorithmError: ExecuteUserScriptError") and "ExitCode 4" in d["FailureReason"]
    )


def test_max_runtime_stops_a_standalone_job(local, workdir):
    d = local.create_training_job(training_request("slow", {"sleep": "30"}, max_runtime=1), workdir)
    assert d["TrainingJobStatus"] == "Stopped" and d["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert d["FailureReason"].startswith("MaxRuntimeExceeded")
    assert (d["TrainingEndTime"] - d["TrainingStartTime"]).total_seconds() < 10


def test_bad_requests_fail_before_anything_is_recorded(local, workdir):
    from amtlocal.exceptions import AmtValidationError, TrainingJobExists

    req = training_request("nocode")
    del req["HyperParameters"]["sagemaker_program"]
    with pytest.raises(AmtValidationError) as e:
        local.create_training_job(req, workdir)
    assert e.value.field == "CreateTrainingJob.HyperParameters.sagemaker_program"
    req = training_request("s3out")
    req["OutputDataConfig"]["S3OutputPath"] = "s3://bucket/out"
    with pytest.raises(AmtValidationError) as e:
        local.create_training_job(req, workdir)
    assert e.value.field == "CreateTrainingJob.OutputDataConfig.S3OutputPath"
    req = training_request("noshape")
    del req["RoleArn"]
    with pytest.raises(AmtValidationError, match="RoleArn"):
        local.create_training_job(req, workdir)
    assert local.training_jobs()["TrainingJobSummaries"] == []
    local.create_training_job(training_request("twice"), workdir)
    with pytest.raises(TrainingJobExists):
        local.create_training_job(training_request("TWICE"), workdir)


def _wait_status(backend, name: str, wanted: set, timeout: float = 30) -> dict:
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        d = backend.describe_training_job(name)
        if d["TrainingJobStatus"] in wanted:
            return d
        time.sleep(0.1)
    raise AssertionError(f"{name} stayed {d['TrainingJobStatus']}")


def test_wait_false_runs_in_a_worker_and_stop_training_job_stops_it(local, workdir):
    d = local.create_training_job(training_request("bg", {"sleep": "60"}), workdir, wait=False)
    assert d["TrainingJobStatus"] == "InProgress"
    _wait_status(local, "bg", {"InProgress"})
    import time

    deadline = time.time() + 30
    while local.describe_training_job("bg")["SecondaryStatus"] != "Training" and time.time() < deadline:
        time.sleep(0.1)
    local.stop_training_job("bg")
    d = _wait_status(local, "bg", {"Stopped"})
    assert d["SecondaryStatus"] == "Stopped" and (d["TrainingEndTime"] - d["TrainingStartTime"]).total_seconds() < 30
    local._workers["bg"].wait(30)


def test_a_job_held_in_stopping_shows_a_stopping_secondary_status_transition(workdir, tmp_path):
    """A script that ignores SIGTERM stays Stopping for the grace period: SecondaryStatusTransitions gets a Stopping
    entry (SecondaryStatusTransition.Status in botocore's model) opened at the stop, closing Training's; the end
    closes it: Starting, Training, Stopping, Stopped."""
    import time

    use_script(
        workdir,
        """import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print('f1: 1', flush=True)
time.sleep(60)
""",
    )
    backend = LocalBackend(LocalStore(tmp_path / "home"), stop_grace=2)
    backend.create_training_job(training_request("deaf"), workdir, wait=False)
    deadline = time.time() + 30
    while backend.describe_training_job("deaf")["SecondaryStatus"] != "Training":
        assert time.time() < deadline, "the job never reached Training"
        time.sleep(0.1)
    before = time.time()
    backend.stop_training_job("deaf")
    d = _wait_status(backend, "deaf", {"Stopping", "Stopped"})
    assert d["TrainingJobStatus"] == "Stopping" and d["SecondaryStatus"] == "Stopping"  # SIGTERM ignored: 2 s grace
    starting, train, stopping = d["SecondaryStatusTransitions"]
    assert [starting["Status"], train["Status"], stopping["Status"]] == ["Starting", "Training", "Stopping"]
    assert stopping["StatusMessage"] == "Stopping the training job" and "EndTime" not in stopping
    assert train["EndTime"] == stopping["StartTime"] and stopping["StartTime"].timestamp() >= before - 0.01
    d = _wait_status(backend, "deaf", {"Stopped"})
    assert [t["Status"] for t in d["SecondaryStatusTransitions"]] == ["Starting", "Training", "Stopping", "Stopped"]
    stopping, stopped = d["SecondaryStatusTransitions"][2:]
    assert stopping["EndTime"] == stopped["StartTime"] == d["TrainingEndTime"]
    assert (stopping["EndTime"] - stopping["StartTime"]).total_seconds() >= 1.5  # the grace it was held for
    backend._workers["deaf"].wait(30)


def test_a_sigkilled_launcher_leaves_the_job_failed_with_a_reason_not_in_progress(local, workdir):
    import os
    import signal
    import time

    from amtlocal.testing import alive

    local.create_training_job(training_request("killed", {"sleep": "60"}), workdir, wait=False)
    worker = local._workers["killed"]
    deadline = time.time() + 30
    while (local.store.find_training_job("killed").pid is None) and time.time() < deadline:
        time.sleep(0.05)
    pid = local.store.find_training_job("killed").pid
    assert pid and alive(pid)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    d = LocalBackend(local.store).describe_training_job("killed")  # a new reader, as the next process would be
    assert d["TrainingJobStatus"] == "Failed" and d["FailureReason"].startswith(
        "InternalServerError: the process running"
    )
    deadline = time.time() + 5
    while alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not alive(pid)  # its process group was ended too


def test_stop_training_job_of_a_tuning_job_stops_that_job_only(workdir, tmp_path):
    import time

    flag = workdir / "first-ran"
    use_script(
        workdir,
        f"""import os, time
import argparse
p = argparse.ArgumentParser(); p.add_argument('-x', type=int); a = p.parse_args()
print('f1: %d' % a.x, flush=True)
if not os.path.exists({str(flag)!r}):
    open({str(flag)!r}, 'w').close()
    time.sleep(60)
""",
    )
    backend = LocalBackend(LocalStore(tmp_path / "home"), stop_grace=2)
    backend.create_tuning_job(make_request("kid", max_jobs=2, integer=[("x", 1, 9, "Linear")]), workdir, wait=False)
    deadline, first = time.time() + 60, None
    while time.time() < deadline and first is None:
        rows = [r for r in backend.training_jobs()["TrainingJobSummaries"] if r["TrainingJobStatus"] == "InProgress"]
        first = rows[0]["TrainingJobName"] if rows and flag.exists() else None
        time.sleep(0.1)
    assert first is not None
    started = time.time()
    backend.stop_training_job(first)
    d = _wait_status(backend, first, {"Stopped", "Completed", "Failed"})
    assert d["TrainingJobStatus"] == "Stopped" and time.time() - started < 15
    tuning = backend.wait("kid", poll=0.2)
    assert tuning["HyperParameterTuningJobStatus"] == "Completed"  # the tuning job went on
    statuses = sorted(r["TrainingJobStatus"] for r in backend.list_training_jobs("kid")["TrainingJobSummaries"])
    assert statuses == ["Completed", "Stopped"]
