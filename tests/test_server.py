"""The SageMaker API on localhost (amtlocal.server): real servers on loopback, real clients (boto3, the AWS CLI, SDK
v2), the amtlocal_endpoint fixture of amtlocal's pytest plugin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from botocore.exceptions import ClientError

from amtlocal.lifecycle import TERMINAL_STATUSES
from amtlocal.testing import API_TRAIN_SCRIPT, api_project, described_when, fake_aws
from amtlocal.testing import api_tuning_request as tuning_request


@pytest.fixture(autouse=True)
def _aws(monkeypatch, tmp_path):
    fake_aws(monkeypatch, tmp_path)  # no real account is ever reached, whatever the fixture under test does


@pytest.fixture
def project(tmp_path):
    """A user's project: code/train.py and data/train.csv."""
    return api_project(tmp_path)


def training_request(project: Path, name: str, sleep: str = "0") -> dict:
    tuning = tuning_request(project, "unused", sleep=sleep)["TrainingJobDefinition"]
    return {
        "TrainingJobName": name,
        "HyperParameters": {**tuning.pop("StaticHyperParameters"), "learning-rate": "0.25"},
        **tuning,
    }


def wait_tuning(sm, name: str, timeout: float = 120) -> dict:
    return described_when(sm, name, tuple(TERMINAL_STATUSES), timeout)


def test_boto3_tuning_job_runs_locally_through_the_fixture(amtlocal_endpoint, project):
    """A user's test: boto3 only, the fixture gives the endpoint; three real training jobs, scraped objectives."""
    assert os.environ["AWS_ENDPOINT_URL"] == amtlocal_endpoint.url
    sm = boto3.client("sagemaker")
    arn = sm.create_hyper_parameter_tuning_job(**tuning_request(project, "user-tuning"))["HyperParameterTuningJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:hyper-parameter-tuning-job/user-tuning"

    desc = wait_tuning(sm, "user-tuning")
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["TrainingJobStatusCounters"]["Completed"] == 3
    assert desc["CreationTime"].tzinfo is not None  # a timestamp on the wire (epoch seconds), parsed by botocore

    jobs = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="user-tuning")
    summaries = jobs["TrainingJobSummaries"]
    assert len(summaries) == 3
    for s in summaries:
        assert s["TrainingJobStatus"] == "Completed"
        lr = float(s["TunedHyperParameters"]["learning-rate"])
        assert 0.01 <= lr <= 0.5
        assert s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(round(lr * 10, 4), abs=1e-4)
    best = max(summaries, key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert desc["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]

    listed = sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    assert [j["HyperParameterTuningJobName"] for j in listed] == ["user-tuning"]
    # the job is in the endpoint's store: the CLI's view of the same home agrees
    out = subprocess.run(
        [sys.executable, "-m", "amtlocal", "describe", "user-tuning", "--home", str(amtlocal_endpoint.home)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out)["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]


def test_training_job_create_describe_stop_and_tags(amtlocal_endpoint, project):
    sm = boto3.client("sagemaker")
    arn = sm.create_training_job(
        **training_request(project, "slow-job", sleep="60"), Tags=[{"Key": "team", "Value": "ml"}]
    )["TrainingJobArn"]
    desc = sm.describe_training_job(TrainingJobName="slow-job")
    assert desc["TrainingJobStatus"] == "InProgress"
    assert desc["HyperParameters"]["learning-rate"] == "0.25"
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}])
    sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "dev"}]
    names = [s["TrainingJobName"] for s in sm.list_training_jobs()["TrainingJobSummaries"]]
    assert names == ["slow-job"]

    sm.stop_training_job(TrainingJobName="slow-job")
    deadline = time.monotonic() + 30
    while sm.describe_training_job(TrainingJobName="slow-job")["TrainingJobStatus"] != "Stopped":
        assert time.monotonic() < deadline, "StopTrainingJob did not stop the job"
        time.sleep(0.3)
    with pytest.raises(ClientError) as e:  # over the wire too: an ended job's stop is the service's HTTP 400
        sm.stop_training_job(TrainingJobName="slow-job")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert (
        e.value.response["Error"]["Message"]
        == "The request was rejected because the training job is in status Stopped."
    )
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    sm.create_training_job(**training_request(project, "quick-job"))
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName="quick-job", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    done = sm.describe_training_job(TrainingJobName="quick-job")
    assert done["TrainingJobStatus"] == "Completed"
    assert done["FinalMetricDataList"][0]["MetricName"] == "validation:score"
    assert done["FinalMetricDataList"][0]["Value"] == pytest.approx(2.5)


def test_a_tuning_jobs_tags_are_on_every_training_job_it_launched(amtlocal_endpoint, project):
    """AMT copies the Tags of CreateHyperParameterTuningJob onto each training job it launches (before, a child's
    ListTags was empty); a child's own AddTags come on top, and a standalone job keeps only its own."""
    sm = boto3.client("sagemaker")
    tags = [{"Key": "team", "Value": "ml"}, {"Key": "cost", "Value": "research"}]
    sm.create_hyper_parameter_tuning_job(**tuning_request(project, "tagged", max_jobs=2), Tags=tags)
    assert wait_tuning(sm, "tagged")["HyperParameterTuningJobStatus"] == "Completed"
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="tagged")
    arns = [c["TrainingJobArn"] for c in children["TrainingJobSummaries"]]
    assert len(arns) == 2
    for arn in arns:
        assert sm.list_tags(ResourceArn=arn)["Tags"] == tags
    sm.add_tags(ResourceArn=arns[0], Tags=[{"Key": "cost", "Value": "kept"}, {"Key": "stage", "Value": "dev"}])
    assert sm.list_tags(ResourceArn=arns[0])["Tags"] == [
        {"Key": "team", "Value": "ml"},
        {"Key": "cost", "Value": "kept"},
        {"Key": "stage", "Value": "dev"},
    ]
    assert sm.list_tags(ResourceArn=arns[1])["Tags"] == tags
    sm.delete_tags(ResourceArn=arns[1], TagKeys=["team"])  # an inherited tag is the job's own to delete
    assert sm.list_tags(ResourceArn=arns[1])["Tags"] == [{"Key": "cost", "Value": "research"}]
    assert sm.list_tags(ResourceArn=arns[0])["Tags"][0] == {"Key": "team", "Value": "ml"}


def test_tags_added_to_a_tuning_job_reach_only_the_training_jobs_it_launches_later(amtlocal_endpoint, project):
    """AddTags' doc: tags added to a tuning job are added to the training jobs it launches after the call, not to
    those launched before; DeleteTags on the tuning job leaves its launched jobs' tags alone."""
    sm = boto3.client("sagemaker")
    arn = sm.create_hyper_parameter_tuning_job(
        **tuning_request(project, "late-tags", max_jobs=2, sleep="3"), Tags=[{"Key": "team", "Value": "ml"}]
    )["HyperParameterTuningJobArn"]
    deadline = time.monotonic() + 60
    while not sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="late-tags")[
        "TrainingJobSummaries"
    ]:
        assert time.monotonic() < deadline, "no training job launched"
        time.sleep(0.2)
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "late"}])  # the first job runs (3 s), one to go
    assert wait_tuning(sm, "late-tags")["HyperParameterTuningJobStatus"] == "Completed"
    sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "late"}]
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="late-tags", SortBy="CreationTime", SortOrder="Ascending"
    )["TrainingJobSummaries"]
    first, second = (sm.list_tags(ResourceArn=c["TrainingJobArn"])["Tags"] for c in children)
    assert first == [{"Key": "team", "Value": "ml"}]
    assert second == [{"Key": "team", "Value": "ml"}, {"Key": "stage", "Value": "late"}]


def test_tags_of_a_job_that_does_not_exist_are_a_validation_error(amtlocal_endpoint, project):
    """AddTags/ListTags/DeleteTags on the ARN of no job: ValidationException (what SageMaker answers for a resource
    that is gone), and nothing is stored for a job of that name."""
    sm = boto3.client("sagemaker")
    for arn in (
        "arn:aws:sagemaker:us-east-1:000000000000:training-job/does-not-exist",
        "arn:aws:sagemaker:us-east-1:000000000000:hyper-parameter-tuning-job/does-not-exist",
    ):
        for call, kwargs in (
            (sm.add_tags, {"Tags": [{"Key": "a", "Value": "b"}]}),
            (sm.list_tags, {}),
            (sm.delete_tags, {"TagKeys": ["a"]}),
        ):
            with pytest.raises(ClientError) as err:
                call(ResourceArn=arn, **kwargs)
            assert err.value.response["Error"] == {
                "Code": "ValidationException",
                "Message": f"Resource Arn: {arn} not found.",
            }
            assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    arn = sm.create_training_job(**training_request(project, "does-not-exist"))["TrainingJobArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []  # the refused AddTags left nothing behind


def test_errors_are_the_services(amtlocal_endpoint, project):
    sm = boto3.client("sagemaker")
    bad = tuning_request(project, "bad-spec")
    bad["HyperParameterTuningJobConfig"]["ParameterRanges"]["ContinuousParameterRanges"][0]["MinValue"] = "0.9"
    with pytest.raises(ClientError) as err:
        sm.create_hyper_parameter_tuning_job(**bad)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "ContinuousParameterRanges[0]" in err.value.response["Error"]["Message"]

    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="no-such-job")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.stop_training_job(TrainingJobName="no-such-job")
    with pytest.raises(ClientError) as err:  # what the service answers DescribeTrainingJob of an unknown name
        sm.describe_training_job(TrainingJobName="no-such-job")
    assert err.value.response["Error"] == {"Code": "ValidationException", "Message": "Requested resource not found."}

    sm.create_hyper_parameter_tuning_job(**tuning_request(project, "taken", max_jobs=1))
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_hyper_parameter_tuning_job(**tuning_request(project, "taken", max_jobs=1))
    assert wait_tuning(sm, "taken")["HyperParameterTuningJobStatus"] == "Completed"


def test_list_training_jobs_takes_max_results_before_status_equals(amtlocal_endpoint, project):
    """ListTrainingJobs' doc: with StatusEquals and MaxResults both set, MaxResults jobs are first retrieved ignoring
    StatusEquals, then filtered by it: a page may be short or empty and still carry a NextToken. Without MaxResults,
    StatusEquals filters the whole listing."""
    sm = boto3.client("sagemaker")
    for name in ("st-a", "st-b", "st-c"):
        request = training_request(project, name)
        if name == "st-b":
            request["HyperParameters"]["learning-rate"] = "not-a-number"  # argparse exits 2: Failed
        sm.create_training_job(**request)
        deadline = time.monotonic() + 60
        while sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress":
            assert time.monotonic() < deadline, f"{name} did not end"
            time.sleep(0.3)

    def page(**kw):
        r = sm.list_training_jobs(SortBy="Name", **kw)
        return [(s["TrainingJobName"], s["TrainingJobStatus"]) for s in r["TrainingJobSummaries"]], r.get("NextToken")

    assert page()[0] == [("st-a", "Completed"), ("st-b", "Failed"), ("st-c", "Completed")]
    failed, token = page(MaxResults=2, StatusEquals="Failed")
    assert failed == [("st-b", "Failed")] and token
    assert page(MaxResults=2, StatusEquals="Failed", NextToken=token) == ([], None)  # st-c filtered out: empty
    first, token = page(MaxResults=1, StatusEquals="Completed")
    assert first == [("st-a", "Completed")] and token
    empty, token = page(MaxResults=1, StatusEquals="Completed", NextToken=token)
    assert empty == [] and token  # st-b's page: nothing left after the filter, yet more to come
    assert page(MaxResults=1, StatusEquals="Completed", NextToken=token) == ([("st-c", "Completed")], None)
    assert page(StatusEquals="Completed") == ([("st-a", "Completed"), ("st-c", "Completed")], None)
    full = sm.get_paginator("list_training_jobs").paginate(
        StatusEquals="Completed", SortBy="Name", PaginationConfig={"PageSize": 1}
    )
    assert [s["TrainingJobName"] for s in full.build_full_result()["TrainingJobSummaries"]] == ["st-a", "st-c"]


def _raw(url: str, target: str, body: bytes) -> tuple[int, dict]:
    """A JSON 1.1 request as bytes on the wire, bypassing botocore's client-side validation."""
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_wire_protocol_validation_and_epoch_timestamps(amtlocal_endpoint, project):
    url = amtlocal_endpoint.url
    status, body = _raw(url, "SageMaker.CreateHyperParameterTuningJob", b'{"HyperParameterTuningJobName": "x"}')
    assert status == 400 and body["__type"] == "ValidationException"
    assert "HyperParameterTuningJobConfig" in body["message"]  # botocore's ParamValidator names the missing member
    status, body = _raw(url, "SageMaker.DescribeHyperParameterTuningJob", b"not json")
    assert status == 400 and body["__type"] == "SerializationException"

    request = json.dumps(tuning_request(project, "wire-job", max_jobs=1)).encode()
    status, body = _raw(url, "SageMaker.CreateHyperParameterTuningJob", request)
    assert status == 200 and body == {
        "HyperParameterTuningJobArn": "arn:aws:sagemaker:us-east-1:000000000000:hyper-parameter-tuning-job/wire-job"
    }
    status, body = _raw(
        url, "SageMaker.DescribeHyperParameterTuningJob", b'{"HyperParameterTuningJobName": "wire-job"}'
    )
    assert status == 200
    assert isinstance(body["CreationTime"], float) and abs(body["CreationTime"] - time.time()) < 120
    wait_tuning(boto3.client("sagemaker"), "wire-job")


def test_malformed_values_and_unknown_operations_are_client_errors_not_500s(amtlocal_endpoint):
    """A timestamp no date can hold, an enum's other value and an operation the service lacks are answered as the
    service answers them (400 and the JSON error), never Werkzeug's HTML 500 or an empty 404; boto3 then does not
    retry them as server faults."""
    url = amtlocal_endpoint.url
    status, body = _raw(url, "SageMaker.ListTrainingJobs", b'{"CreationTimeAfter": 1e20}')
    assert status == 400 and body["__type"] == "ValidationException" and "CreationTimeAfter" in body["message"]
    status, body = _raw(url, "SageMaker.ListHyperParameterTuningJobs", b'{"SortBy": "Foo"}')
    assert status == 400 and body["__type"] == "ValidationException"
    assert body["message"].startswith("SortBy: must be one of Name, Status, CreationTime")
    status, body = _raw(url, "SageMaker.NoSuchOperation", b"{}")
    assert status == 400 and body["__type"] == "UnknownOperationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        boto3.client("sagemaker").list_hyper_parameter_tuning_jobs(SortBy="LastModifiedTime")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_moto_answers_the_rest_on_the_same_port(amtlocal_endpoint):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=amtlocal_endpoint.bucket, Key="data/train.csv", Body=b"1,2\n")
    assert s3.get_object(Bucket=amtlocal_endpoint.bucket, Key="data/train.csv")["Body"].read() == b"1,2\n"
    assert amtlocal_endpoint.bucket == "sagemaker-us-east-1-000000000000"
    assert boto3.client("sts").get_caller_identity()["Account"] == "000000000000"

    iam = boto3.client("iam")
    role = iam.get_role(RoleName="amtlocal-local")["Role"]
    assert role["Arn"] == amtlocal_endpoint.role_arn
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    results = iam.simulate_principal_policy(
        PolicySourceArn=role["Arn"], ActionNames=["sagemaker:CreateTrainingJob", "s3:GetObject"]
    )["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in results] == [
        ("sagemaker:CreateTrainingJob", "allowed"),
        ("s3:GetObject", "allowed"),
    ]
    # a SageMaker operation amtlocal does not run is moto's
    sm = boto3.client("sagemaker")
    sm.create_experiment(ExperimentName="exp")
    assert sm.describe_experiment(ExperimentName="exp")["ExperimentName"] == "exp"

    config = Path(os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"]).read_text()
    assert "DefaultS3Bucket: sagemaker-us-east-1-000000000000" in config
    assert f"RoleArn: {role['Arn']}" in config


def test_sdk_v2_default_bucket_needs_no_sts_url(amtlocal_endpoint):
    pytest.importorskip("sagemaker", reason="the test extras install SDK v2")
    import sagemaker

    session = sagemaker.Session()
    assert session.default_bucket() == amtlocal_endpoint.bucket
    assert session.sagemaker_client.meta.endpoint_url == amtlocal_endpoint.url


def test_sdk_v2_attach_to_tuning_and_training_jobs_through_the_endpoint(amtlocal_endpoint, project):
    """SDK v2's attach paths read DescribeTrainingJob and DescribeHyperParameterTuningJob as the service answers them:
    OutputDataConfig.KmsKeyId ("" when unset), EnableNetworkIsolation, and the injected static hyperparameter
    _tuning_objective_metric (Estimator.attach, HyperparameterTuner.attach, best_estimator)."""
    import sagemaker
    from sagemaker.estimator import Estimator
    from sagemaker.tuner import HyperparameterTuner

    sm = boto3.client("sagemaker")
    sm.create_hyper_parameter_tuning_job(**tuning_request(project, "attach-tuning", max_jobs=2))
    sm.create_training_job(**training_request(project, "attach-job"))
    desc = wait_tuning(sm, "attach-tuning")
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    statics = desc["TrainingJobDefinition"]["StaticHyperParameters"]
    assert statics["_tuning_objective_metric"] == "validation:score"  # in the response only
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName="attach-job", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    job = sm.describe_training_job(TrainingJobName="attach-job")
    assert job["OutputDataConfig"] == {"S3OutputPath": "s3://amtlocal-local/output", "KmsKeyId": ""}
    assert job["EnableNetworkIsolation"] is False
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    session = sagemaker.Session()

    est = Estimator.attach("attach-job", sagemaker_session=session)
    assert est.hyperparameters()["learning-rate"] == "0.25" and est.hyperparameters()["sleep"] == "0"
    assert est.output_path == "s3://amtlocal-local/output" and est.image_uri == image
    assert est.output_kms_key == "" and est.enable_network_isolation() is False
    assert est.model_data.endswith("/attach-job/output/model.tar.gz")

    tuner = HyperparameterTuner.attach("attach-tuning", sagemaker_session=session)
    assert tuner.objective_metric_name == "validation:score" and tuner.max_jobs == 2
    assert "_tuning_objective_metric" not in tuner.estimator.hyperparameters()  # the SDK removes it, as on AWS
    assert tuner.estimator.hyperparameters()["sleep"] == "0" and tuner.estimator.image_uri == image
    best_name = desc["BestTrainingJob"]["TrainingJobName"]
    assert tuner.best_training_job() == best_name
    best = tuner.best_estimator()
    assert best.latest_training_job.name == best_name
    assert best.hyperparameters()["learning-rate"] == desc["BestTrainingJob"]["TunedHyperParameters"]["learning-rate"]
    assert best.output_path == "s3://amtlocal-local/output" and best.image_uri == image


def test_sdk_v2_attach_to_a_tuning_job_created_with_hyperparameter_tuning_resource_config(amtlocal_endpoint, project):
    """SDK v2's tuner.fit sends HyperParameterTuningResourceConfig instead of ResourceConfig; its
    HyperparameterTuner.attach then reads the definition's ResourceConfig, which the describe answers (the instance
    the training jobs ran on) beside the HyperParameterTuningResourceConfig sent."""
    import sagemaker
    from sagemaker.tuner import HyperparameterTuner

    request = tuning_request(project, "attach-hpo-rc", max_jobs=1)
    definition = request["TrainingJobDefinition"]
    definition["HyperParameterTuningResourceConfig"] = {
        "InstanceType": "ml.c5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 40,
    }
    del definition["ResourceConfig"]
    sm = boto3.client("sagemaker")
    sm.create_hyper_parameter_tuning_job(**request)
    desc = wait_tuning(sm, "attach-hpo-rc")
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    answered = desc["TrainingJobDefinition"]
    assert answered["ResourceConfig"] == {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 40}
    assert answered["HyperParameterTuningResourceConfig"] == definition["HyperParameterTuningResourceConfig"]
    tuner = HyperparameterTuner.attach("attach-hpo-rc", sagemaker_session=sagemaker.Session())
    assert tuner.estimator.instance_type == "ml.c5.xlarge" and tuner.estimator.volume_size == 40
    assert tuner.best_training_job() == desc["BestTrainingJob"]["TrainingJobName"]


SDK3_PYTHON = Path(__file__).resolve().parents[1] / ".venv-sdk3" / "bin" / "python"
SDK3_AROUND = """
import json
from sagemaker.core.helper.session_helper import Session
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, SourceCode
from sagemaker.train.defaults import TrainDefaults

session = Session()
trainer = ModelTrainer(
    training_image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    source_code=SourceCode(source_dir=".", entry_script="train.py"),
    compute=Compute(instance_type="ml.m5.large", instance_count=1),
)
print(json.dumps({
    "bucket": session.default_bucket(),
    "config_role": trainer.role,
    "validated_role": TrainDefaults.get_role(role=trainer.role, sagemaker_session=session),
}))
"""


@pytest.mark.sdk3
def test_sdk_v3_default_bucket_and_role_validation_through_the_endpoint(amtlocal_endpoint, project):
    """SDK 3.27 around the API: default_bucket() from the SDK config (no STS at the regional URL), the role from the
    config, validated by v3 with IAM GetRole (trust policy) and SimulatePrincipalPolicy, which the server answers."""
    if not SDK3_PYTHON.exists():
        pytest.fail(f"the SDK v3 venv is missing: run `make .venv-sdk3/.installed` (expected {SDK3_PYTHON})")
    (project / "code" / "train.py").write_text(API_TRAIN_SCRIPT)
    run = subprocess.run(
        [str(SDK3_PYTHON), "-c", SDK3_AROUND], capture_output=True, text=True, cwd=project / "code", timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out == {
        "bucket": amtlocal_endpoint.bucket,
        "config_role": amtlocal_endpoint.role_arn,
        "validated_role": amtlocal_endpoint.role_arn,
    }


def test_non_loopback_peers_are_refused(amtlocal_endpoint):
    from werkzeug.test import Client

    app = amtlocal_endpoint.app  # the served WSGI app, called as a remote peer would reach it
    target = {"X-Amz-Target": "SageMaker.ListHyperParameterTuningJobs", "Content-Type": "application/x-amz-json-1.1"}
    remote = Client(app).post("/", data=b"{}", headers=target, environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert remote.status_code == 403
    assert json.loads(remote.data)["__type"] == "AccessDeniedException"
    local = Client(app).post("/", data=b"{}", headers=target, environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"})
    assert local.status_code == 200 and json.loads(local.data) == {"HyperParameterTuningJobSummaries": []}


def test_which_hosts_bind_loopback_only():
    from amtlocal.server._wsgi import binds_loopback

    assert binds_loopback("127.0.0.1") and binds_loopback("::1") and binds_loopback("localhost")
    assert not binds_loopback("0.0.0.0") and not binds_loopback("::") and not binds_loopback("192.0.2.10")


def test_a_non_loopback_host_serves_other_peers(tmp_path):
    from werkzeug.test import Client

    from amtlocal.server import Server

    server = Server(host="0.0.0.0", port=0, home=tmp_path / "home").start()
    try:
        assert server.url == f"http://127.0.0.1:{server.port}"
        target = {"X-Amz-Target": "SageMaker.ListTrainingJobs", "Content-Type": "application/x-amz-json-1.1"}
        resp = Client(server.app).post("/", data=b"{}", headers=target, environ_base={"REMOTE_ADDR": "192.0.2.10"})
        assert resp.status_code == 200 and json.loads(resp.data) == {"TrainingJobSummaries": []}
    finally:
        server.shutdown()


def test_aws_cli_creates_and_describes_a_tuning_job(amtlocal_endpoint, project, tmp_path):
    aws = Path(sys.executable).with_name("aws")
    assert aws.exists(), "the AWS CLI v1 (awscli) is a test extra"
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(tuning_request(project, "cli-job", max_jobs=2)))
    common = ["--endpoint-url", amtlocal_endpoint.url, "--output", "json"]
    created = subprocess.run(
        [str(aws), "sagemaker", "create-hyper-parameter-tuning-job", "--cli-input-json", f"file://{spec}", *common],
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["HyperParameterTuningJobArn"].endswith("/cli-job")
    wait_tuning(boto3.client("sagemaker"), "cli-job")
    described = subprocess.run(
        [
            str(aws),
            "sagemaker",
            "describe-hyper-parameter-tuning-job",
            "--hyper-parameter-tuning-job-name",
            "cli-job",
            *common,
        ],
        capture_output=True,
        text=True,
    )
    assert described.returncode == 0, described.stderr
    desc = json.loads(described.stdout)
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["TrainingJobStatusCounters"]["Completed"] == 2
    missing = subprocess.run(
        [
            str(aws),
            "sagemaker",
            "describe-hyper-parameter-tuning-job",
            "--hyper-parameter-tuning-job-name",
            "nope",
            *common,
        ],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 255 and "(ResourceNotFound)" in missing.stderr  # CLI v1: 255 on a service error


def test_endpoint_restores_the_environment(tmp_path, monkeypatch):
    import amtlocal

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://elsewhere:1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://s3-elsewhere:1")
    monkeypatch.setenv("AWS_PROFILE", "someone")
    before = dict(os.environ)
    with amtlocal.endpoint(home=tmp_path / "home") as ep:
        assert os.environ["AWS_ENDPOINT_URL"] == ep.url and ep.url.startswith("http://127.0.0.1:")
        assert "AWS_ENDPOINT_URL_S3" not in os.environ and "AWS_PROFILE" not in os.environ
        assert os.environ["AWS_ACCESS_KEY_ID"] == "amtlocal"
    assert dict(os.environ) == before


def test_import_amtlocal_stays_light():
    code = (
        "import sys, amtlocal, amtlocal.pytest_plugin, amtlocal.server; "
        "print(sorted(m for m in ('moto', 'werkzeug', 'botocore', 'flask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_serve_prints_exports_and_ctrl_c_stops_its_jobs(project, tmp_path):
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-m", "amtlocal", "serve", "--port", "0", "--home", str(home), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=project,
    )
    try:
        exports = {}
        while "SAGEMAKER_USER_CONFIG_OVERRIDE" not in exports:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            if line.startswith("export "):
                name, value = line[len("export ") :].strip().split("=", 1)
                exports[name] = value
        assert list(exports) == [
            "AWS_ENDPOINT_URL",
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "SAGEMAKER_USER_CONFIG_OVERRIDE",
        ]
        session = boto3.session.Session(
            aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
            region_name=exports["AWS_DEFAULT_REGION"],
        )
        sm = session.client("sagemaker", endpoint_url=exports["AWS_ENDPOINT_URL"])
        sm.create_hyper_parameter_tuning_job(**tuning_request(project, "interrupted", max_jobs=2, sleep="60"))
        deadline = time.monotonic() + 30
        while not sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="interrupted")[
            "TrainingJobSummaries"
        ]:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert "interrupted: Stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    from amtlocal.backends import get_backend

    backend = get_backend("local", home=home)
    assert backend.describe("interrupted")["HyperParameterTuningJobStatus"] == "Stopped"
    (job,) = list(backend.all_training_jobs("interrupted"))
    assert job["TrainingJobStatus"] == "Stopped"

    # the next server over the same store resumes it
    from amtlocal.server import Server

    server = Server(port=0, home=home, base_dir=project).start()
    try:
        assert server.resumed == ["interrupted"]
        assert backend.describe("interrupted")["HyperParameterTuningJobStatus"] == "InProgress"
    finally:
        assert server.shutdown() == {"interrupted": "Stopped"}
    # stopped again by that server's shutdown: recorded for the next one
    saved = json.loads((home / "server" / "interrupted.json").read_text())
    assert list(saved) == ["interrupted"] and saved["interrupted"]["base_dir"] == str(project)


def test_a_new_server_restores_s3_code_and_data_from_the_cache_and_resumes(project, tmp_path):
    """moto's S3 lives in the server's memory: a tuning job with s3:// code and data, stopped by its server's shutdown,
    resumes on the next server over the same home from the objects the S3 cache kept; without them it is not
    resumed but kept in interrupted.json (not dropped), and resumes once they are back."""
    import io
    import shutil
    import tarfile

    from amtlocal.server import Server

    home = tmp_path / "home"
    interrupted = home / "server" / "interrupted.json"
    server = Server(port=0, home=home, base_dir=project).start(export=True)
    try:
        s3, bucket = boto3.client("s3"), server.bucket
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w:gz") as tar:
            tar.add(project / "code" / "train.py", arcname="train.py")
        s3.put_object(Bucket=bucket, Key="code/sourcedir.tar.gz", Body=archive.getvalue())
        s3.put_object(Bucket=bucket, Key="data/train.csv", Body=b"1,2\n")
        request = tuning_request(project, "s3-resume", max_jobs=2, sleep="4")
        definition = request["TrainingJobDefinition"]
        definition["StaticHyperParameters"]["sagemaker_submit_directory"] = json.dumps(
            f"s3://{bucket}/code/sourcedir.tar.gz"
        )
        definition["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{bucket}/data"
        sm = boto3.client("sagemaker")
        sm.create_hyper_parameter_tuning_job(**request)
        deadline = time.monotonic() + 30
        while not sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="s3-resume")[
            "TrainingJobSummaries"
        ]:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        # a server process takes its S3 with it; in this one process, delete what it held
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": "code/sourcedir.tar.gz"}, {"Key": "data/train.csv"}]}
        )
    finally:
        assert server.shutdown() == {"s3-resume": "Stopped"}

    cache = home / "cache" / "s3"
    shutil.move(cache, tmp_path / "cache-aside")
    server = Server(port=0, home=home, base_dir=project).start(export=True)
    try:  # nothing to restore from: not resumed, kept for the next start
        assert server.resumed == []
        assert list(json.loads(interrupted.read_text())) == ["s3-resume"]
    finally:
        server.shutdown()
    assert list(json.loads(interrupted.read_text())) == ["s3-resume"]

    shutil.move(tmp_path / "cache-aside", cache)
    server = Server(port=0, home=home, base_dir=project).start(export=True)
    try:
        assert server.resumed == ["s3-resume"]
        assert not interrupted.exists()
        desc = wait_tuning(boto3.client("sagemaker"), "s3-resume")
        assert desc["HyperParameterTuningJobStatus"] == "Completed"
        assert desc["TrainingJobStatusCounters"]["Completed"] == 2
        body = boto3.client("s3").get_object(Bucket=server.bucket, Key="data/train.csv")["Body"].read()
        assert body == b"1,2\n"  # put back at its key
    finally:
        server.shutdown()


CURVE = """\
import argparse
p = argparse.ArgumentParser()
p.add_argument("--learning-rate", type=float)
p.add_argument("--sleep")
a = p.parse_args()
for epoch in range(3):
    print(f"validation:score={a.learning_rate * (epoch + 1):.4f}")
print("training finished")
"""


def test_cloudwatch_metrics_and_logs_of_a_training_job(amtlocal_endpoint, project):
    """What SageMaker publishes: the scraped series under /aws/sagemaker/TrainingJobs (Host and TrainingJobName
    dimensions) and the job's log as a stream of that log group; SDK v2's TrainingJobAnalytics reads them."""
    import datetime as dt

    (project / "code" / "train.py").write_text(CURVE)
    sm = boto3.client("sagemaker")
    sm.create_training_job(**training_request(project, "curve-job"))
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName="curve-job", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    desc = sm.describe_training_job(TrainingJobName="curve-job")
    assert desc["TrainingJobStatus"] == "Completed"

    cw = boto3.client("cloudwatch")
    metrics = cw.list_metrics(Namespace="/aws/sagemaker/TrainingJobs")["Metrics"]
    assert {(m["MetricName"], m["Dimensions"][0]["Name"], m["Dimensions"][0]["Value"]) for m in metrics} == {
        ("validation:score", "Host", "curve-job/algo-1"),
        ("validation:score", "TrainingJobName", "curve-job"),
    }
    now = dt.datetime.now(dt.timezone.utc)
    stats = cw.get_metric_statistics(
        Namespace="/aws/sagemaker/TrainingJobs",
        MetricName="validation:score",
        Dimensions=[{"Name": "Host", "Value": "curve-job/algo-1"}],
        StartTime=now - dt.timedelta(hours=1),
        EndTime=now + dt.timedelta(minutes=1),
        Period=3600,
        Statistics=["Maximum", "Minimum", "SampleCount"],
    )["Datapoints"]
    assert [(p["Minimum"], p["Maximum"], p["SampleCount"]) for p in stats] == [(0.25, 0.75, 3.0)]

    logs = boto3.client("logs")
    (stream,) = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="curve-job/")[
        "logStreams"
    ]
    assert stream["logStreamName"] == f"curve-job/algo-1-{int(desc['CreationTime'].timestamp())}"
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"], startFromHead=True
    )
    messages = [e["message"] for e in events["events"]]
    assert messages[-4:] == [
        "validation:score=0.2500",
        "validation:score=0.5000",
        "validation:score=0.7500",
        "training finished",
    ]
    again = logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs",
        logStreamName=stream["logStreamName"],
        nextToken=events["nextForwardToken"],
    )
    assert again["events"] == [] and again["nextForwardToken"] == events["nextForwardToken"]  # the end: same token
    found = logs.filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs", filterPattern="finished")["events"]
    assert [(e["logStreamName"], e["message"]) for e in found] == [(stream["logStreamName"], "training finished")]
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName="no-job/algo-1-1")

    pytest.importorskip("sagemaker", reason="the test extras install SDK v2")
    from sagemaker.analytics import TrainingJobAnalytics

    frame = TrainingJobAnalytics("curve-job", metric_names=["validation:score"], period=60).dataframe()
    # the three values were printed within one period: CloudWatch's Average of them
    assert list(frame["metric_name"]) == ["validation:score"]
    assert list(frame["value"]) == pytest.approx([0.5])


SEVEN_LINES = """\
import argparse
p = argparse.ArgumentParser()
p.add_argument("--learning-rate", type=float)
p.add_argument("--sleep")
p.parse_args()
for i in range(7):
    print(f"line {i}")
"""


def test_get_log_events_pages_forward_and_backward_as_cloudwatch_logs(amtlocal_endpoint, project):
    """GetLogEvents (botocore's logs model): startFromHead defaults to false (the latest events); nextForwardToken
    pages towards the newest, nextBackwardToken towards the oldest, each page oldest first; at either end the token
    passed in comes back, so both pagers stop."""
    (project / "code" / "train.py").write_text(SEVEN_LINES)
    sm = boto3.client("sagemaker")
    sm.create_training_job(**training_request(project, "seven-lines"))
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName="seven-lines", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    logs = boto3.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    (stream,) = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="seven-lines/")["logStreams"]
    name = stream["logStreamName"]

    def get(**kw):
        r = logs.get_log_events(logGroupName=group, logStreamName=name, **kw)
        return [e["message"] for e in r["events"]], r["nextForwardToken"], r["nextBackwardToken"]

    everything, _, _ = get(startFromHead=True)
    assert everything[-7:] == [f"line {i}" for i in range(7)]
    n = len(everything)

    tail, fwd, back = get(limit=3)  # startFromHead omitted: the latest three, oldest first
    assert tail == ["line 4", "line 5", "line 6"]
    assert get(limit=3, startFromHead=False)[0] == tail
    assert fwd == f"f/{n:056d}" and back == f"b/{n - 3:056d}"
    assert get(limit=3, nextToken=fwd) == ([], fwd, f"b/{n:056d}")  # nothing after the end: the same token back

    pages, token = [tail], back  # backward to the start, then the same token back
    for _ in range(n):
        page, _, new = get(limit=3, nextToken=token)
        if new == token:
            assert page == []
            break
        pages.insert(0, page)
        token = new
    else:
        pytest.fail("the backward pager never stopped")
    assert all(len(p) == 3 for p in pages[1:]) and 1 <= len(pages[0]) <= 3  # only the oldest page may be short
    assert [m for p in pages for m in p] == everything
    assert token == f"b/{0:056d}"

    head, fwd, back = get(limit=2, startFromHead=True)
    assert head == everything[:2] and back == f"b/{0:056d}"
    assert get(limit=2, nextToken=back) == ([], f"f/{0:056d}", back)  # nothing before the head: same token
    seen = list(head)
    for _ in range(n):
        page, new, _ = get(limit=2, nextToken=fwd)
        if new == fwd:
            assert page == []
            break
        assert len(page) <= 2
        seen += page
        fwd = new
    assert seen == everything and fwd == f"f/{n:056d}"

    with pytest.raises(logs.exceptions.InvalidParameterException):
        get(nextToken="x/3")
