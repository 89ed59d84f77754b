"""SageMakerBackend's training-job methods without network: moto for STS, S3, CreateTrainingJob, DescribeTrainingJob,
ListTrainingJobs and CloudWatch Logs; botocore's Stubber for StopTrainingJob (moto lacks it)."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from amtlocal import PyTorch, SKLearn
from amtlocal.backends.sagemaker import SageMakerBackend
from amtlocal.exceptions import AmtValidationError, TrainingJobNotFound
from amtlocal.testing import fake_aws

ROLE = "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole"
BUCKET = "sagemaker-us-east-1-123456789012"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    fake_aws(monkeypatch, tmp_path)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text("print('f1: 0.5')\n")
    (tmp_path / "code" / "requirements.txt").write_text("tinydb\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("1,2\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_fit_on_sagemaker_uploads_then_creates_and_describes(project, monkeypatch):
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AMTLOCAL_ROLE_ARN", ROLE)
    with mock_aws():
        be = SageMakerBackend(poll_seconds=0.01)
        est = PyTorch(
            "train.py",
            source_dir="code",
            framework_version="2.1",
            py_version="py310",
            backend=be,
            use_spot_instances=True,
            max_run=600,
            max_wait=1200,
            output_path=str(project / "out"),
        )
        est.fit({"train": "data"}, job_name="pt-cloud")  # moto completes a training job at once
        desc = be.describe_training_job("pt-cloud")
        assert desc["TrainingJobStatus"] == "Completed" and "ResponseMetadata" not in desc
        assert desc["EnableManagedSpotTraining"] is True
        assert desc["StoppingCondition"] == {"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 1200}
        assert (
            desc["AlgorithmSpecification"]["TrainingImage"]
            == "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu-py310"
        )
        assert (
            desc["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/"
        )  # the local output folder is not the cloud's
        hps = desc["HyperParameters"]
        assert json.loads(hps["sagemaker_submit_directory"]) == f"s3://{BUCKET}/pt-cloud/source/sourcedir.tar.gz"
        assert (
            desc["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{BUCKET}/pt-cloud/input/train/"
        )
        s3 = boto3.client("s3", region_name="us-east-1")
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
        assert keys == ["pt-cloud/input/train/train.csv", "pt-cloud/source/sourcedir.tar.gz"]
        body = s3.get_object(Bucket=BUCKET, Key="pt-cloud/source/sourcedir.tar.gz")["Body"].read()
        assert sorted(tarfile.open(fileobj=io.BytesIO(body)).getnames()) == ["requirements.txt", "train.py"]
        assert est.model_data == desc["ModelArtifacts"]["S3ModelArtifacts"]

        SKLearn("train.py", source_dir="code", framework_version="1.2-1", backend=be).fit(
            "data", job_name="sk-cloud", wait=False
        )
        page = be.training_jobs(NameContains="cloud", SortBy="Name", SortOrder="Ascending")
        assert [s["TrainingJobName"] for s in page["TrainingJobSummaries"]] == ["pt-cloud", "sk-cloud"]
        with pytest.raises(TrainingJobNotFound, match="not found on SageMaker"):
            be.describe_training_job("no-such-job")
        attached = PyTorch.attach("pt-cloud", backend=be)
        assert attached.use_spot_instances and attached.max_wait == 1200 and attached.framework_version == "2.1"


def test_invalid_request_fails_before_any_aws_call(project, monkeypatch):
    import botocore.client

    monkeypatch.setenv("AMTLOCAL_ROLE_ARN", ROLE)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", lambda *a: pytest.fail("AWS was called"))
    req = SKLearn("train.py", source_dir="code", framework_version="1.2-1").training_job_request("data", job_name="bad")
    req["ResourceConfig"]["InstanceCount"] = "two"
    with pytest.raises(AmtValidationError, match="InstanceCount"):
        SageMakerBackend().create_training_job(req, project)
    monkeypatch.delenv("AMTLOCAL_ROLE_ARN")
    req = SKLearn("train.py", source_dir="code", framework_version="1.2-1").training_job_request(
        "data", job_name="norole"
    )
    with pytest.raises(AmtValidationError) as e:
        SageMakerBackend(region="us-east-1").build_training_request(req, project, upload=False)
    assert e.value.field == "RoleArn"


def test_dry_run_training_request_makes_no_aws_call(project, monkeypatch):
    import botocore.client

    monkeypatch.setenv("AMTLOCAL_ROLE_ARN", ROLE)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", lambda *a: pytest.fail("AWS was called"))
    req = SKLearn("train.py", source_dir="code", framework_version="1.2-1").training_job_request("data", job_name="dry")
    cloud = SageMakerBackend(region="eu-west-1").build_training_request(req, project, upload=False)
    bucket = "sagemaker-eu-west-1-111122223333"  # no STS: the role's account names the default bucket
    assert cloud["OutputDataConfig"]["S3OutputPath"] == f"s3://{bucket}/"
    assert cloud["HyperParameters"]["sagemaker_submit_directory"] == f'"s3://{bucket}/dry/source/sourcedir.tar.gz"'
    assert cloud["HyperParameters"]["sagemaker_region"] == '"eu-west-1"'
    assert (
        cloud["AlgorithmSpecification"]["TrainingImage"]
        == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    assert req["OutputDataConfig"]["S3OutputPath"] == "s3://amtlocal-local/output"  # the local request is not modified


def test_stop_training_job_with_stubber():
    import boto3
    from botocore.stub import Stubber

    sm = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(sm)
    stub.add_response("stop_training_job", {}, {"TrainingJobName": "running"})
    stub.add_client_error(
        "stop_training_job",
        "ValidationException",
        "The job is not in progress",
        expected_params={"TrainingJobName": "done"},
    )
    stub.add_response("describe_training_job", _description("done", "Completed"), {"TrainingJobName": "done"})
    stub.add_client_error(
        "stop_training_job",
        "ValidationException",
        "Requested resource not found.",
        expected_params={"TrainingJobName": "gone"},
    )
    with stub:
        be = SageMakerBackend(sagemaker_client=sm)
        be.stop_training_job("running")
        be.stop_training_job("done")  # already ended: left as it is
        with pytest.raises(TrainingJobNotFound):
            be.stop_training_job("gone")
    stub.assert_no_pending_responses()


def _description(name: str, status: str) -> dict:
    import datetime as dt

    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:111122223333:training-job/{name}",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://b/{name}/output/model.tar.gz"},
        "TrainingJobStatus": status,
        "SecondaryStatus": status,
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "x/y:1"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        "CreationTime": now,
    }


def test_logs_come_from_cloudwatch_logs_as_the_sdk_reads_them():
    import time

    import boto3
    from moto import mock_aws

    now_ms = int(time.time() * 1000)  # CloudWatch Logs refuses events older than 14 days
    with mock_aws():
        logs = boto3.client("logs", region_name="us-east-1")
        group = "/aws/sagemaker/TrainingJobs"
        logs.create_log_group(logGroupName=group)
        for stream, lines in (
            ("job-a/algo-1-1700000000", ["start", "f1: 0.5"]),
            ("job-a/algo-2-1700000000", ["worker"]),
            ("job-b/algo-1-1700000000", ["other job"]),
        ):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": now_ms + i, "message": m} for i, m in enumerate(lines)],
            )
        be = SageMakerBackend(region="us-east-1")
        assert list(be.training_job_logs("job-a")) == ["start", "f1: 0.5", "worker"]
        assert list(be.training_job_logs("job-c")) == []
