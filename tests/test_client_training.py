"""``amtlocal.client()``'s training-job operations (issue 13 item 6): CreateTrainingJob, DescribeTrainingJob,
ListTrainingJobs (and its paginator), StopTrainingJob and botocore's TrainingJobCompletedOrStopped waiter, for
standalone jobs and for a tuning job's own. Responses are checked against botocore's output shapes through
botocore's Stubber on a genuine ``boto3.client("sagemaker")`` (which validates every member's type), and against the
real values the scripts printed."""

from __future__ import annotations

import datetime as dt
import time

import botocore.session
import pytest
from botocore.exceptions import ClientError, ParamValidationError, WaiterError

import amtlocal
from amtlocal.testing import GOOD_SCRIPT, fake_aws, make_request, use_script

TRAIN = """import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument('-x', type=int, default=1)
p.add_argument('--sleep', type=float, default=0)
a = p.parse_args()
data = open(os.path.join(os.environ['SM_CHANNEL_TRAIN'], 'train.csv')).read()
open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write(data)
print('f1: %d' % a.x, flush=True)
time.sleep(a.sleep)
"""
FAST = {"Delay": 0.2, "MaxAttempts": 300}  # WaiterConfig: the model's 120 s delay is for the cloud


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    fake_aws(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def model():
    return botocore.session.get_session().get_service_model("sagemaker")


def _missing_required(value, shape, path="") -> list[str]:
    out = []
    if shape.type_name == "structure":
        out += [f"{path}.{n}" for n in shape.required_members if n not in value]
        for n, member in shape.members.items():
            if n in value:
                out += _missing_required(value[n], member, f"{path}.{n}")
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            out += _missing_required(item, shape.member, f"{path}[{i}]")
    return out


def _stubbed_boto3(operation: str, response: dict, params: dict):
    """A genuine boto3 SageMaker client answering ``operation`` with ``response`` (the Stubber validates the response
    against the output shape: member names and types), so the same user code can run against it."""
    import boto3
    from botocore.stub import Stubber

    real = boto3.client("sagemaker")
    stub = Stubber(real)
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    stub.add_response(operation, body, params)
    stub.activate()
    return real, stub


def training_request(name: str, hyperparameters: dict | None = None, max_runtime: int = 60) -> dict:
    d = make_request("x", max_runtime=max_runtime)["TrainingJobDefinition"]
    return {
        "TrainingJobName": name,
        "HyperParameters": dict(d["StaticHyperParameters"], **(hyperparameters or {})),
        "AlgorithmSpecification": d["AlgorithmSpecification"],
        "RoleArn": d["RoleArn"],
        "InputDataConfig": d["InputDataConfig"],
        "OutputDataConfig": {"S3OutputPath": "file://out"},
        "ResourceConfig": d["ResourceConfig"],
        "StoppingCondition": d["StoppingCondition"],
    }


def test_describe_training_job_of_a_tuning_jobs_best_has_boto3s_shape_and_real_values(workdir, monkeypatch, model):
    use_script(workdir, GOOD_SCRIPT)
    monkeypatch.chdir(workdir)
    sm = amtlocal.client()
    request = make_request("best", strategy="Grid", max_jobs=None, seed=None, categorical=[("x", ["2", "5", "3"])])
    request["TrainingJobDefinition"]["OutputDataConfig"] = {"S3OutputPath": "file://out"}  # packed: ModelArtifacts
    arn = sm.create_hyper_parameter_tuning_job(**request)["HyperParameterTuningJobArn"]
    deadline = time.time() + 60
    while (t := sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="best"))[
        "HyperParameterTuningJobStatus"
    ] != "Completed":
        assert time.time() < deadline and t["HyperParameterTuningJobStatus"] == "InProgress"
        time.sleep(0.2)
    best = t["BestTrainingJob"]["TrainingJobName"]
    summary_shape = model.shape_for("HyperParameterTrainingJobSummary")
    listed_children = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="best")
    for summary in [t["BestTrainingJob"], *listed_children["TrainingJobSummaries"]]:  # no member of amtlocal's own
        assert set(summary) <= set(summary_shape.members), set(summary) - set(summary_shape.members)
    d = sm.describe_training_job(TrainingJobName=best)

    shape = model.operation_model("DescribeTrainingJob").output_shape
    assert _missing_required(d, shape) == [] and set(d) - {"ResponseMetadata"} <= set(shape.members)
    assert d["TrainingJobName"] == best and d["TuningJobArn"] == arn
    assert d["TrainingJobStatus"] == "Completed" and d["SecondaryStatus"] == "Completed"
    assert [(m["MetricName"], m["Value"]) for m in d["FinalMetricDataList"]] == [("f1", 5.0)]
    assert d["HyperParameters"]["x"] == "5" and d["HyperParameters"]["_tuning_objective_metric"] == "f1"
    assert d["HyperParameters"]["sagemaker_program"] == '"train.py"'
    # datetimes as boto3 gives them: tzlocal() (botocore's parser of the wire's epoch seconds), to the millisecond
    from dateutil.tz import tzlocal

    for key in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"):
        assert isinstance(d[key], dt.datetime) and isinstance(d[key].tzinfo, tzlocal), key
        assert d[key].microsecond % 1000 == 0
    assert isinstance(d["FinalMetricDataList"][0]["Timestamp"].tzinfo, tzlocal)
    assert isinstance(d["SecondaryStatusTransitions"][0]["StartTime"].tzinfo, tzlocal)
    assert d["CreationTime"] <= d["TrainingStartTime"] <= d["TrainingEndTime"]

    # the same user code against a genuine boto3 client answered with this response: botocore accepts every type
    real, stub = _stubbed_boto3("describe_training_job", d, {"TrainingJobName": best})
    assert real.describe_training_job(TrainingJobName=best)["FinalMetricDataList"][0]["Value"] == 5.0
    stub.assert_no_pending_responses()

    # a tuning job's training jobs are listed by ListTrainingJobs too, with the tuning job's three
    listed = sm.list_training_jobs(NameContains="best-", SortBy="Name")["TrainingJobSummaries"]
    assert len(listed) == 3 and best in [s["TrainingJobName"] for s in listed]
    assert all(s["TrainingJobStatus"] == "Completed" for s in listed)


def test_create_wait_describe_list_and_page_standalone_training_jobs(workdir, monkeypatch, model):
    use_script(workdir, TRAIN)
    monkeypatch.chdir(workdir)
    sm = amtlocal.client()
    out = sm.create_training_job(**training_request("solo-1", {"x": "7"}))
    assert out["TrainingJobArn"].endswith(":training-job/solo-1") and out["ResponseMetadata"]["HTTPStatusCode"] == 200
    sm.create_training_job(**training_request("solo-2", {"x": "2"}))
    sm.create_training_job(**training_request("other", {"x": "4"}))
    waiter = sm.get_waiter("training_job_completed_or_stopped")
    for name in ("solo-1", "solo-2", "other"):
        waiter.wait(TrainingJobName=name, WaiterConfig=FAST)
    d = sm.describe_training_job(TrainingJobName="solo-1")
    assert _missing_required(d, model.operation_model("DescribeTrainingJob").output_shape) == []
    assert d["TrainingJobStatus"] == "Completed" and "TuningJobArn" not in d
    assert d["FinalMetricDataList"][0]["Value"] == 7.0 and d["HyperParameters"]["x"] == "7"
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == f"file://{workdir}/out/solo-1/output/model.tar.gz"
    assert (workdir / "out" / "solo-1" / "output" / "model.tar.gz").is_file()

    listed = sm.list_training_jobs(NameContains="SOLO", SortBy="Name", SortOrder="Descending")
    assert [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]] == ["solo-2", "solo-1"]
    query = {"NameContains": "SOLO", "SortBy": "Name", "SortOrder": "Descending"}
    real, stub = _stubbed_boto3("list_training_jobs", listed, query)
    real.list_training_jobs(**query)
    stub.assert_no_pending_responses()

    assert sm.can_paginate("list_training_jobs")
    pages = list(sm.get_paginator("list_training_jobs").paginate(SortBy="Name", PaginationConfig={"PageSize": 2}))
    assert [[s["TrainingJobName"] for s in p["TrainingJobSummaries"]] for p in pages] == [
        ["other", "solo-1"],
        ["solo-2"],
    ]
    full = sm.get_paginator("list_training_jobs").paginate(StatusEquals="Completed", SortBy="Name").build_full_result()
    assert [s["TrainingJobName"] for s in full["TrainingJobSummaries"]] == ["other", "solo-1", "solo-2"]
    first = sm.describe_training_job(TrainingJobName="solo-1")["CreationTime"]
    after = sm.list_training_jobs(CreationTimeAfter=first, SortBy="CreationTime")["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in after] == ["solo-2", "other"]
    before = sm.list_training_jobs(CreationTimeBefore=after[0]["CreationTime"])["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in before] == ["solo-1"]
    assert sm.list_training_jobs(StatusEquals="Failed")["TrainingJobSummaries"] == []
    assert sm.list_training_jobs(WarmPoolStatusEquals="InUse")["TrainingJobSummaries"] == []


def test_stop_training_job_and_the_waiter_end_it_stopped(workdir, monkeypatch):
    use_script(workdir, TRAIN)
    monkeypatch.chdir(workdir)
    sm = amtlocal.client()
    sm.create_training_job(**training_request("long", {"sleep": "60"}))
    assert sm.describe_training_job(TrainingJobName="long")["TrainingJobStatus"] == "InProgress"
    deadline = time.time() + 30
    while sm.describe_training_job(TrainingJobName="long")["SecondaryStatus"] != "Training":
        assert time.time() < deadline
        time.sleep(0.1)
    assert sm.stop_training_job(TrainingJobName="long")["ResponseMetadata"]["HTTPStatusCode"] == 200
    started = time.time()
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="long", WaiterConfig=FAST)
    assert time.time() - started < 30
    d = sm.describe_training_job(TrainingJobName="long")
    assert d["TrainingJobStatus"] == "Stopped" and d["SecondaryStatus"] == "Stopped"
    with pytest.raises(ClientError) as e:  # an ended job: the service's ValidationException, nothing changes
        sm.stop_training_job(TrainingJobName="long")
    assert e.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "The request was rejected because the training job is in status Stopped.",
    }
    assert e.value.operation_name == "StopTrainingJob"
    assert sm.describe_training_job(TrainingJobName="long")["TrainingJobStatus"] == "Stopped"


def test_the_waiter_fails_on_a_failed_job_and_on_an_unknown_one(workdir, monkeypatch):
    use_script(workdir, "import sys\nprint('boom', file=sys.stderr)\nsys.exit(3)\n")
    monkeypatch.chdir(workdir)
    sm = amtlocal.client()
    sm.create_training_job(**training_request("doomed"))
    waiter = sm.get_waiter("training_job_completed_or_stopped")
    with pytest.raises(WaiterError, match="terminal failure state") as e:
        waiter.wait(TrainingJobName="doomed", WaiterConfig=FAST)
    assert e.value.last_response["TrainingJobStatus"] == "Failed"
    assert "ExitCode 3" in e.value.last_response["FailureReason"]
    with pytest.raises(WaiterError, match="ValidationException"):
        waiter.wait(TrainingJobName="never-made", WaiterConfig=FAST)
    assert sm.waiter_names == ["training_job_completed_or_stopped"]
    with pytest.raises(ValueError, match="Waiter does not exist: endpoint_in_service"):
        sm.get_waiter("endpoint_in_service")


def test_training_job_errors_are_botocore_client_errors_with_amts_codes(workdir, monkeypatch):
    use_script(workdir, TRAIN)
    monkeypatch.chdir(workdir)
    sm = amtlocal.client()
    with pytest.raises(ClientError) as e:
        sm.describe_training_job(TrainingJobName="nope")
    assert e.value.response["Error"] == {"Code": "ValidationException", "Message": "Requested resource not found."}
    assert e.value.operation_name == "DescribeTrainingJob"
    with pytest.raises(sm.exceptions.ResourceNotFound) as e:
        sm.stop_training_job(TrainingJobName="nope")
    assert e.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ParamValidationError, match="RoleArn"):  # botocore's own check, before anything
        sm.create_training_job(**{k: v for k, v in training_request("norole").items() if k != "RoleArn"})
    req = training_request("nocode")
    req["HyperParameters"]["sagemaker_submit_directory"] = '"file://missing"'
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**req)
    assert e.value.response["Error"]["Code"] == "ValidationException" and "sagemaker_submit_directory" in str(e.value)
    assert sm.list_training_jobs()["TrainingJobSummaries"] == []  # nothing recorded
    sm.create_training_job(**training_request("taken"))
    with pytest.raises(sm.exceptions.ResourceInUse) as e:
        sm.create_training_job(**training_request("TAKEN"))
    assert e.value.response["Error"]["Code"] == "ResourceInUse" and e.value.operation_name == "CreateTrainingJob"
    with pytest.raises(ClientError) as e:
        sm.list_training_jobs(NextToken="garbage")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="taken", WaiterConfig=FAST)


@pytest.mark.parametrize(
    ("operation", "params", "field"),
    [
        ("list_hyper_parameter_tuning_jobs", {"SortBy": "LastModifiedTime"}, "SortBy"),
        ("list_hyper_parameter_tuning_jobs", {"StatusEquals": "Finished"}, "StatusEquals"),
        ("list_hyper_parameter_tuning_jobs", {"SortOrder": "Up"}, "SortOrder"),
        ("list_training_jobs", {"StatusEquals": "Done"}, "StatusEquals"),
        ("list_training_jobs", {"SortBy": "FinalObjectiveMetricValue"}, "SortBy"),
        (
            "list_training_jobs_for_hyper_parameter_tuning_job",
            {"HyperParameterTuningJobName": "t", "StatusEquals": "Bogus"},
            "StatusEquals",
        ),
        ("describe_training_job", {"TrainingJobName": "x" * 64}, "TrainingJobName"),
        ("stop_hyper_parameter_tuning_job", {"HyperParameterTuningJobName": "bad_name"}, "HyperParameterTuningJobName"),
    ],
)
def test_every_operation_refuses_what_its_input_model_forbids_as_the_service_does(
    workdir, monkeypatch, operation, params, field
):
    """Values the service model forbids (an enum's other values, too long, off-pattern) that boto3 itself lets
    through are the service's ValidationException naming the member, for every operation; before, the list
    operations answered an empty page (or raised KeyError for an unknown SortBy)."""
    monkeypatch.chdir(workdir)
    with pytest.raises(ClientError) as e:
        getattr(amtlocal.client(), operation)(**params)
    err = e.value.response["Error"]
    assert err["Code"] == "ValidationException" and err["Message"].startswith(f"{field}: "), err


def test_create_training_job_refuses_a_regex_that_does_not_compile_before_recording_anything(workdir, monkeypatch):
    """As a tuning job's definitions are checked: the request is refused naming the regex, and no job is recorded
    (before, the job was recorded, crashed in the scraper and was later called killed)."""
    use_script(workdir, TRAIN)
    monkeypatch.chdir(workdir)
    sm = amtlocal.client()
    request = training_request("bad-regex")
    request["AlgorithmSpecification"]["MetricDefinitions"] = [{"Name": "f1", "Regex": "f1: ([0-9"}]
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**request)
    err = e.value.response["Error"]
    assert err["Code"] == "ValidationException"
    assert err["Message"].startswith("AlgorithmSpecification.MetricDefinitions[0].Regex: regex must compile: ")
    assert sm.list_training_jobs()["TrainingJobSummaries"] == []
    request["MaxNumberOfTrainingJobs"] = True  # not a member: botocore's own ParamValidationError, before the service
    with pytest.raises(ParamValidationError):
        sm.create_training_job(**request)
    request.pop("MaxNumberOfTrainingJobs")
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": True}  # an int to Python, not to the service
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**request)
    assert e.value.response["Error"]["Message"] == (
        "StoppingCondition.MaxRuntimeInSeconds: must be an integer, got bool True"
    )
    request["AlgorithmSpecification"] = training_request("good")["AlgorithmSpecification"]
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": 28 * 86400 + 1}
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**request)
    assert e.value.response["Error"]["Message"] == (
        "StoppingCondition.MaxRuntimeInSeconds: must be at most 2419200 (28 days; got 2419201)"
    )
    assert sm.list_training_jobs()["TrainingJobSummaries"] == []


def test_identical_data_and_algorithm_needs_the_parents_training_image(workdir, monkeypatch):
    """AMT_REFERENCE.md, Warm start: IdenticalDataAndAlgorithm means the same algorithm (image) and data; a child
    with another image was accepted and its jobs ranked with the parent's. Its data is not compared (SDK v3 uploads
    a channel of its own per job), so the same data named from another spec folder, or another folder, passes."""
    use_script(workdir, GOOD_SCRIPT)
    monkeypatch.chdir(workdir)
    sm = amtlocal.client()
    sm.create_hyper_parameter_tuning_job(**make_request("wsparent", integer=[("x", 1, 9, "Auto")], max_jobs=1))
    deadline = time.time() + 60
    while (
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="wsparent")["HyperParameterTuningJobStatus"]
        != "Completed"
    ):
        assert time.time() < deadline
        time.sleep(0.2)

    def child(name: str, image: str | None = None) -> dict:
        req = make_request(name, integer=[("x", 1, 9, "Auto")], max_jobs=1)
        if image:
            req["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = image
        req["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "wsparent"}],
            "WarmStartType": "IdenticalDataAndAlgorithm",
        }
        return req

    other_image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(**child("wsimage", image=other_image))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"].startswith(
        "WarmStartConfig.WarmStartType: IdenticalDataAndAlgorithm needs the training image of parent 'wsparent'"
    )
    listed = sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    assert [j["HyperParameterTuningJobName"] for j in listed] == ["wsparent"]
    sm.create_hyper_parameter_tuning_job(**child("wssame"))
    transfer = child("wstransfer", image=other_image)
    transfer["WarmStartConfig"]["WarmStartType"] = "TransferLearning"
    sm.create_hyper_parameter_tuning_job(**transfer)
