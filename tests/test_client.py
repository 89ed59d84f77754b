"""``amtlocal.client()``: boto3's SageMaker tuning methods, taking and returning boto3's dicts, with jobs that really run.

The end-to-end test drives a real local tuning job with code that knows only boto3's method names and shapes, then
replays every recorded answer through botocore's Stubber on a genuine ``boto3.client("sagemaker")``: the same user code
runs unchanged against it, and the Stubber checks each of our responses against the service model's output shape.
"""

from __future__ import annotations

import copy
import time

import pytest

from amtlocal._client import LocalSageMakerClient, client
from amtlocal.testing import GOOD_SCRIPT, fake_aws, make_request, use_script

GOOD = GOOD_SCRIPT
SLOW = "import time, argparse\np = argparse.ArgumentParser(); p.add_argument('-x', type=int); p.parse_args()\ntime.sleep(60)\n"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    fake_aws(monkeypatch, tmp_path)


# -- user code: written only against boto3's SageMaker client ---------------------------------------------------------


def tune_and_rank(sm, request: dict, poll: float = 0.2, timeout: float = 90.0) -> dict:
    """Start a tuning job, wait for it, rank its training jobs (as a user would with boto3.client("sagemaker"))."""
    arn = sm.create_hyper_parameter_tuning_job(**request)["HyperParameterTuningJobArn"]
    name = request["HyperParameterTuningJobName"]
    deadline = time.time() + timeout
    while True:
        desc = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if desc["HyperParameterTuningJobStatus"] in ("Completed", "Failed", "Stopped") or time.time() > deadline:
            break
        time.sleep(poll)
    paginator = sm.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job")
    ranked = []
    for page in paginator.paginate(
        HyperParameterTuningJobName=name,
        SortBy="FinalObjectiveMetricValue",
        SortOrder="Descending",
        PaginationConfig={"PageSize": 2},
    ):
        ranked += [
            (s["TrainingJobName"], s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
            for s in page["TrainingJobSummaries"]
        ]
    listed = sm.list_hyper_parameter_tuning_jobs(NameContains=name, StatusEquals="Completed", SortBy="CreationTime")
    return {
        "arn": arn,
        "status": desc["HyperParameterTuningJobStatus"],
        "best": desc.get("BestTrainingJob", {}).get("TrainingJobName"),
        "ranked": ranked,
        "listed": [s["HyperParameterTuningJobName"] for s in listed["HyperParameterTuningJobSummaries"]],
    }


def _record(sm: LocalSageMakerClient) -> list:
    """Wrap the client's operations to record (operation, params, response)."""
    calls = []
    for op in sm.meta.method_to_api_mapping:
        original = getattr(sm, op)

        def wrapper(_op=op, _original=original, **kwargs):
            response = _original(**kwargs)
            calls.append((_op, copy.deepcopy(kwargs), copy.deepcopy(response)))
            return response

        setattr(sm, op, wrapper)
    return calls


def test_boto3_code_runs_a_real_local_tuning_job_end_to_end(workdir, monkeypatch):
    import boto3
    from botocore.stub import Stubber

    use_script(workdir, GOOD)
    monkeypatch.chdir(workdir)  # relative file:// paths in the request resolve against the working directory
    request = make_request("e2e", integer=[("x", 1, 9, "Auto")], max_jobs=3, parallel=2)
    sm = client()
    calls = _record(sm)
    result = tune_and_rank(sm, request)
    assert result["status"] == "Completed"
    assert result["arn"].endswith(":hyper-parameter-tuning-job/e2e")
    values = [v for _, v in result["ranked"]]
    assert len(values) == 3 and values == sorted(values, reverse=True)
    assert result["best"] == result["ranked"][0][0] and result["listed"] == ["e2e"]
    assert sum(op == "list_training_jobs_for_hyper_parameter_tuning_job" for op, _, _ in calls) == 2  # 2 pages of 2

    # The same user code against a genuine boto3 client, answered with what the local client answered.
    real = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(real) as stub:
        for op, params, response in calls:
            body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
            stub.add_response(op, body, params)  # validates `body` against the operation's output shape
        assert tune_and_rank(real, request, poll=0) == result
        stub.assert_no_pending_responses()


def test_errors_are_client_errors_with_amt_codes(workdir, monkeypatch):
    from botocore.exceptions import ClientError, OperationNotPageableError, ParamValidationError

    use_script(workdir, GOOD)
    sm = client(base_dir=workdir)
    with pytest.raises(ClientError) as e:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="nope")
    assert (
        e.value.response["Error"]["Code"] == "ResourceNotFound"
        and e.value.operation_name == "DescribeHyperParameterTuningJob"
    )
    assert isinstance(e.value, sm.exceptions.ResourceNotFound)  # catchable as on a boto3 client
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="nope")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="nope")

    # input shape checked first, as boto3 does (wrong type, unknown member, missing member)
    bad = make_request("typed")
    bad["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = "2"
    with pytest.raises(ParamValidationError, match="MaxParallelTrainingJobs"):
        sm.create_hyper_parameter_tuning_job(**bad)
    with pytest.raises(ParamValidationError):
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="x", Extra=1)
    with pytest.raises(ParamValidationError):
        sm.describe_hyper_parameter_tuning_job()

    # service-side validation: AMT's rules, with the field path
    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(
            **make_request("wrong-objective", objective="auc", integer=[("x", 1, 9, "Auto")])
        )
    assert (
        e.value.response["Error"]["Code"] == "ValidationException"
        and e.value.operation_name == "CreateHyperParameterTuningJob"
    )
    assert "HyperParameterTuningJobObjective.MetricName" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="nope-x", NextToken="zz")
    with pytest.raises(OperationNotPageableError):
        sm.get_paginator("describe_hyper_parameter_tuning_job")
    with pytest.raises(AttributeError, match="implements only"):
        sm.create_endpoint(EndpointName="x")
    with pytest.raises(ValueError):
        client("s3")


def test_stop_duplicate_name_and_listing_pages(workdir):
    from botocore.exceptions import ClientError

    use_script(workdir, SLOW)
    sm = client(base_dir=workdir)
    sm.create_hyper_parameter_tuning_job(**make_request("slow-a", integer=[("x", 1, 9, "Auto")], max_jobs=1))
    with pytest.raises(ClientError) as e:  # names are unique case-insensitively, as in AMT
        sm.create_hyper_parameter_tuning_job(**make_request("SLOW-A", integer=[("x", 1, 9, "Auto")], max_jobs=1))
    assert e.value.response["Error"]["Code"] == "ResourceInUse" and isinstance(e.value, sm.exceptions.ResourceInUse)
    sm.create_hyper_parameter_tuning_job(**make_request("slow-b", integer=[("x", 1, 9, "Auto")], max_jobs=1))

    page = sm.list_hyper_parameter_tuning_jobs(MaxResults=1, SortBy="Name")
    assert [s["HyperParameterTuningJobName"] for s in page["HyperParameterTuningJobSummaries"]] == ["slow-a"] and page[
        "NextToken"
    ]
    full = (
        sm.get_paginator("list_hyper_parameter_tuning_jobs")
        .paginate(SortBy="Name", SortOrder="Descending", PaginationConfig={"PageSize": 1})
        .build_full_result()
    )
    assert [s["HyperParameterTuningJobName"] for s in full["HyperParameterTuningJobSummaries"]] == ["slow-b", "slow-a"]
    assert set(full["HyperParameterTuningJobSummaries"][0]) >= {
        "HyperParameterTuningJobArn",
        "Strategy",
        "TrainingJobStatusCounters",
    }

    for name in ("slow-a", "slow-b"):
        assert (
            sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)["ResponseMetadata"]["HTTPStatusCode"]
            == 200
        )
    deadline = time.time() + 40  # the training jobs sleep 60 s: only a stop ends them sooner
    done = {}
    while time.time() < deadline:
        done = {
            n: [
                s["TrainingJobStatus"]
                for s in sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=n)[
                    "TrainingJobSummaries"
                ]
            ]
            for n in ("slow-a", "slow-b")
        }
        statuses = {
            n: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=n)["HyperParameterTuningJobStatus"]
            for n in ("slow-a", "slow-b")
        }
        if set(statuses.values()) == {"Stopped"} and all(v and set(v) == {"Stopped"} for v in done.values()):
            break
        time.sleep(0.3)
    assert statuses == {"slow-a": "Stopped", "slow-b": "Stopped"} and done == {
        "slow-a": ["Stopped"],
        "slow-b": ["Stopped"],
    }
    stopped = sm.list_hyper_parameter_tuning_jobs(StatusEquals="Stopped")["HyperParameterTuningJobSummaries"]
    assert len(stopped) == 2
    with pytest.raises(ClientError) as e:  # already ended: the service rejects the stop, nothing changes
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="slow-a")
    assert e.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "The request was rejected because the hyper-parameter tuning job slow-a is in status Stopped.",
    }
    assert (
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="slow-a")["HyperParameterTuningJobStatus"]
        == "Stopped"
    )


def test_a_create_that_loses_the_race_for_a_name_is_resource_in_use(workdir, monkeypatch):
    """Two creates of one name at once: the loser passed the existence check before the winner wrote its record,
    then found the job running in the winner's worker. It got ValidationException ("already running in another
    tuner process"); AMT answers ResourceInUse for a taken name, whatever the timing. The race is replayed by
    letting the existence check answer as it did before the winner's record existed."""
    from botocore.exceptions import ClientError

    use_script(workdir, SLOW)
    sm = client(base_dir=workdir)
    request = make_request("raced", integer=[("x", 1, 9, "Auto")], max_jobs=1)
    sm.create_hyper_parameter_tuning_job(**request)
    monkeypatch.setattr(type(sm._backend), "exists", lambda self, name: False)
    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(**request)
    assert e.value.response["Error"]["Code"] == "ResourceInUse" and isinstance(e.value, sm.exceptions.ResourceInUse)
    assert e.value.response["Error"]["Message"] == (
        "Resource Already Exists: Hyper Parameter Tuning Job with name raced already exists. Choose a different name."
    )
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="raced")


KNOWN_ARGS = (
    "import argparse\np = argparse.ArgumentParser(); p.add_argument('-x', type=int); a, _ = p.parse_known_args()\n"
    "print('f1: %d' % a.x)\n"
)


def _wait(sm, name: str, timeout: float = 60.0) -> dict:
    deadline = time.time() + timeout
    while True:
        desc = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if desc["HyperParameterTuningJobStatus"] in ("Completed", "Failed", "Stopped") or time.time() > deadline:
            return desc
        time.sleep(0.2)


@pytest.mark.parametrize("warm_start_type", ["TransferLearning", "IdenticalDataAndAlgorithm"])
def test_a_warm_start_with_more_than_10_changes_is_a_validation_exception(workdir, warm_start_type):
    """AMT's warm-start restriction: tunable hyperparameters made static (a categorical one counting once per value)
    plus changed static values (each counting 2, as the docs' red -> blue) are at most 10 against each parent.
    Before, a child that changed 11 static values of its parent was accepted."""
    from botocore.exceptions import ClientError

    use_script(workdir, KNOWN_ARGS)
    sm = client(base_dir=workdir)
    static = dict({f"s{i}": "1" for i in range(4)}, t="a")
    parent = make_request("chg-parent", max_jobs=1, integer=[("x", 1, 9, "Auto")], static=static)
    parent["HyperParameterTuningJobConfig"]["ParameterRanges"]["CategoricalParameterRanges"] = [
        {"Name": "c", "Values": ["a", "b", "c"]}
    ]
    sm.create_hyper_parameter_tuning_job(**parent)
    assert _wait(sm, "chg-parent")["HyperParameterTuningJobStatus"] == "Completed"
    warm = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "chg-parent"}]}
    warm["WarmStartType"] = warm_start_type

    def child(name: str, changed: int) -> dict:
        """``c`` made static (3 changes) and ``changed`` static values changed (2 each)."""
        req = make_request(name, max_jobs=1, integer=[("x", 1, 9, "Auto")], static=dict(static, c='"a"'))
        req["TrainingJobDefinition"]["StaticHyperParameters"].update({f"s{i}": "2" for i in range(changed)})
        req["TrainingJobDefinition"]["StaticHyperParameters"]["t"] = '"a"'  # the same value JSON-quoted: no change
        req["WarmStartConfig"] = warm
        return req

    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(**child("chg-11", 4))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == (
        "WarmStartConfig.ParentHyperParameterTuningJobs[0]: at most 10 changes against parent 'chg-parent', counting "
        "each tunable hyperparameter made static (a categorical one once per value) and each changed static value "
        "twice (old and new value); got 11: s0 1 -> 2 (2), s1 1 -> 2 (2), s2 1 -> 2 (2), s3 1 -> 2 (2), "
        "c tunable -> static (3)"
    )
    names = [
        s["HyperParameterTuningJobName"]
        for s in sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    ]
    assert names == ["chg-parent"]  # nothing recorded
    sm.create_hyper_parameter_tuning_job(**child("chg-9", 3))  # 3 + 3 * 2 = 9: within the limit
    assert _wait(sm, "chg-9")["HyperParameterTuningJobStatus"] == "Completed"
