"""DescribeTrainingJob, ListTrainingJobs and the log of a tuning job's training jobs (issue 13), checked against
botocore's output shapes and against what the script printed."""
from __future__ import annotations

import botocore.session
import pytest

from amtlocal.backends.local import LocalBackend, LocalStore
from amtlocal.exceptions import TrainingJobNotFound
from conftest import GOOD_SCRIPT, make_request, run_job, use_script

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
    assert d["HyperParameters"]["x"] == best["TunedHyperParameters"]["x"] == "3" and d["HyperParameters"]["_tuning_objective_metric"] == "f1"
    assert d["FinalMetricDataList"][0]["MetricName"] == "f1" and d["FinalMetricDataList"][0]["Value"] == 3.0
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://example-bucket/out/{d['TrainingJobName']}/output/model.tar.gz"
    assert d["TrainingStartTime"] <= d["TrainingEndTime"] and d["BillableTimeInSeconds"] >= 1
    assert [t["Status"] for t in d["SecondaryStatusTransitions"]] == ["Starting", "Training", "Completed"]
    assert d["StoppingCondition"] == {"MaxRuntimeInSeconds": 60}


def test_a_failed_training_job_describes_its_failure(ran):
    (failed,) = [s for s in ran.list_training_jobs("tj", MaxResults=10)["TrainingJobSummaries"] if s["TrainingJobStatus"] == "Failed"]
    d = ran.describe_training_job(failed["TrainingJobName"].upper())  # names are case-insensitive
    assert d["TrainingJobStatus"] == "Failed" and d["SecondaryStatus"] == "Failed"
    assert d["FailureReason"].startswith("AlgorithmError: ExecuteUserScriptError") and "ExitCode 3" in d["FailureReason"]
    assert "stderr line" in list(ran.training_job_logs(failed["TrainingJobName"]))


def test_list_training_jobs_filters_sorts_and_pages(ran, model):
    every = ran.training_jobs(MaxResults=100)["TrainingJobSummaries"]
    assert len(every) == 3
    shape = model.operation_model("ListTrainingJobs").output_shape
    assert _missing_required({"TrainingJobSummaries": every}, shape) == []
    assert [r["TrainingJobStatus"] for r in ran.training_jobs(StatusEquals="Failed")["TrainingJobSummaries"]] == ["Failed"]
    names = sorted(r["TrainingJobName"] for r in every)
    page1 = ran.training_jobs(SortBy="Name", MaxResults=2)
    page2 = ran.training_jobs(SortBy="Name", MaxResults=2, NextToken=page1["NextToken"])
    assert [r["TrainingJobName"] for r in page1["TrainingJobSummaries"] + page2["TrainingJobSummaries"]] == names
    assert "NextToken" not in page2
    assert ran.training_jobs(NameContains="nothing-like-it")["TrainingJobSummaries"] == []
    assert [r["TrainingJobName"] for r in ran.training_jobs(SortBy="Name", SortOrder="Descending")["TrainingJobSummaries"]] == names[::-1]


def test_an_unknown_training_job_is_not_found(ran):
    with pytest.raises(TrainingJobNotFound):
        ran.describe_training_job("tj-999-deadbeef")
    with pytest.raises(TrainingJobNotFound):
        list(ran.training_job_logs("nope"))
