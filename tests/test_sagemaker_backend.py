"""SageMakerBackend lifecycle without network: moto for STS, S3, create and describe; botocore's Stubber for what moto
lacks (ListTrainingJobsForHyperParameterTuningJob, StopHyperParameterTuningJob) and for CloudWatch.

Stubbed responses are the local backend's own records of a real local run: Stubber validates every response against
the service model's output shape, so these tests also prove that both backends answer in AMT's shapes.
"""

from __future__ import annotations

import copy
import io
import json
import runpy
import tarfile

import pytest

from amtlocal.backends.sagemaker import CloudTuningJobNotFound, SageMakerBackend, is_rewritten
from amtlocal.exceptions import AmtValidationError, TuningJobExists, UnexpectedStatusException
from amtlocal.testing import GOOD_SCRIPT, fake_aws, make_request, run_job, use_script

ROLE = "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole"
GOOD = GOOD_SCRIPT


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    fake_aws(monkeypatch, tmp_path)


def stubbed(service: str = "sagemaker"):
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(service, region_name="us-east-1")
    return client, Stubber(client)


def flat(obj, path=""):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(flat(v, f"{path}.{k}" if path else k))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(flat(v, f"{path}[{i}]"))
        return out
    return {path: obj}


@pytest.fixture
def local_job(workdir):
    """A finished local tuning job (3 training jobs) and its AMT-shaped records."""
    from amtlocal.backends.local import LocalBackend

    use_script(workdir, GOOD)
    desc = run_job(make_request("done", integer=[("x", 1, 9, "Auto")], max_jobs=3, parallel=3), workdir)
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    rows = list(LocalBackend().all_training_jobs("done"))
    return desc, rows


# -- create / describe with moto --------------------------------------------------------------------------------------


def test_create_uploads_code_and_data_then_describe_round_trips(workdir, monkeypatch):
    import boto3
    from moto import mock_aws

    use_script(workdir, GOOD)
    (workdir / "code" / "lib").mkdir()
    (workdir / "code" / "lib" / "helper.py").write_text("X = 1\n")
    monkeypatch.setenv("AMTLOCAL_ROLE_ARN", ROLE)
    req = make_request("cloud-one", integer=[("x", 1, 9, "Auto")])
    req["TrainingJobDefinition"]["RoleArn"] = "arn:aws:iam::000000000000:role/amtlocal-local"
    req["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] = "s3://amtlocal-local/output"
    with mock_aws():
        be = SageMakerBackend(poll_seconds=0.01)
        be.create_tuning_job(req, workdir, wait=True)
        desc = be.describe("cloud-one")
        assert desc["HyperParameterTuningJobStatus"] == "Completed" and "ResponseMetadata" not in desc
        sent = {
            k: desc[k]
            for k in ("HyperParameterTuningJobName", "HyperParameterTuningJobConfig", "TrainingJobDefinition")
        }
        changed = {p for p, v in flat(sent).items() if flat(req).get(p) != v} | (set(flat(req)) - set(flat(sent)))
        assert changed and all(is_rewritten(p) for p in changed), changed
        s3 = boto3.client("s3", region_name="us-east-1")
        bucket = "sagemaker-us-east-1-123456789012"  # default bucket, created; account from STS (moto's)
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
        assert keys == ["cloud-one/input/train/train.csv", "cloud-one/source/sourcedir.tar.gz"]
        body = s3.get_object(Bucket=bucket, Key="cloud-one/source/sourcedir.tar.gz")["Body"].read()
        assert sorted(tarfile.open(fileobj=io.BytesIO(body)).getnames()) == ["lib", "lib/helper.py", "train.py"]
        assert (
            json.loads(sent["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"])
            == f"s3://{bucket}/cloud-one/source/sourcedir.tar.gz"
        )
        # the same name again: AMT's ResourceInUse, before anything is uploaded
        with pytest.raises(TuningJobExists):
            be.create_tuning_job(req, workdir, wait=False)
        with pytest.raises(CloudTuningJobNotFound, match="not found on SageMaker"):
            be.describe("no-such-job")
        assert [j["HyperParameterTuningJobName"] for j in be.list_tuning_jobs()] == ["cloud-one"]


def test_invalid_spec_fails_before_any_aws_call(workdir, monkeypatch):
    import botocore.client

    use_script(workdir, GOOD)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", lambda *a: pytest.fail("AWS was called"))
    with pytest.raises(AmtValidationError) as e:
        SageMakerBackend().create_tuning_job(
            make_request("bad", objective="auc", integer=[("x", 1, 9, "Auto")]), workdir
        )
    assert "MetricName" in e.value.field


def test_warm_start_parent_must_exist_on_sagemaker(workdir):
    from moto import mock_aws

    use_script(workdir, GOOD)
    req = make_request("child", integer=[("x", 1, 9, "Auto")])
    req["WarmStartConfig"] = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "only-local"}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    with mock_aws():
        with pytest.raises(AmtValidationError) as e:
            SageMakerBackend().create_tuning_job(req, workdir, wait=False)
    assert e.value.field == "WarmStartConfig.ParentHyperParameterTuningJobs[0].HyperParameterTuningJobName"
    assert "only-local" in e.value.rule


# -- list, stop, wait with Stubber ------------------------------------------------------------------------------------


def test_all_training_jobs_follows_every_page_and_stop(local_job):
    desc, rows = local_job
    sm, stub = stubbed()
    stub.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {"TrainingJobSummaries": rows[:2], "NextToken": "p2"},
        {"HyperParameterTuningJobName": "done", "MaxResults": 100},
    )
    stub.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {"TrainingJobSummaries": rows[2:]},
        {"HyperParameterTuningJobName": "done", "MaxResults": 100, "NextToken": "p2"},
    )
    stub.add_response("stop_hyper_parameter_tuning_job", {}, {"HyperParameterTuningJobName": "done"})
    # stopping a job that already ended: AMT answers ValidationException; like the local backend, nothing to do
    stub.add_client_error("stop_hyper_parameter_tuning_job", "ValidationException", "job is not in progress")
    stub.add_response("describe_hyper_parameter_tuning_job", desc, {"HyperParameterTuningJobName": "done"})
    stub.add_client_error("stop_hyper_parameter_tuning_job", "ResourceNotFound", "no such job")
    be = SageMakerBackend(sagemaker_client=sm)
    with stub:
        assert list(be.all_training_jobs("done")) == rows
        be.stop("done")
        be.stop("done")
        with pytest.raises(CloudTuningJobNotFound):
            be.stop("gone")
        stub.assert_no_pending_responses()


def test_list_tuning_jobs_reads_all_pages_newest_first(local_job):
    desc, _ = local_job
    summary = {
        k: desc[k]
        for k in (
            "HyperParameterTuningJobName",
            "HyperParameterTuningJobArn",
            "HyperParameterTuningJobStatus",
            "CreationTime",
            "TrainingJobStatusCounters",
            "ObjectiveStatusCounters",
        )
    }
    summary["Strategy"] = desc["HyperParameterTuningJobConfig"]["Strategy"]
    older = dict(summary, HyperParameterTuningJobName="older")
    sm, stub = stubbed()
    params = {"SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 100}
    stub.add_response(
        "list_hyper_parameter_tuning_jobs", {"HyperParameterTuningJobSummaries": [summary], "NextToken": "n"}, params
    )
    stub.add_response(
        "list_hyper_parameter_tuning_jobs", {"HyperParameterTuningJobSummaries": [older]}, dict(params, NextToken="n")
    )
    with stub:
        assert [j["HyperParameterTuningJobName"] for j in SageMakerBackend(sagemaker_client=sm).list_tuning_jobs()] == [
            "done",
            "older",
        ]


def test_wait_polls_with_progress_and_raises_for_failed(local_job):
    desc, _ = local_job
    running = copy.deepcopy(desc)
    running["HyperParameterTuningJobStatus"] = "InProgress"
    running["TrainingJobStatusCounters"].update(Completed=1, InProgress=2)
    failed = dict(
        copy.deepcopy(desc), HyperParameterTuningJobStatus="Failed", FailureReason="No training job succeeded"
    )
    sm, stub = stubbed()
    for response in (running, desc, failed):
        stub.add_response("describe_hyper_parameter_tuning_job", response, {"HyperParameterTuningJobName": "done"})
    seen = []
    be = SageMakerBackend(sagemaker_client=sm, poll_seconds=0.001)
    with stub:
        assert be.wait("done", progress=seen.append)["HyperParameterTuningJobStatus"] == "Completed"
        assert [(p.finished, p.running, p.total) for p in seen] == [(1, 2, 3), (3, 0, 3)]
        assert seen[-1].best == desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        with pytest.raises(UnexpectedStatusException, match="Failed. Reason: No training job succeeded"):
            be.wait("done")


def test_ctrl_c_while_waiting_leaves_the_cloud_job_running_and_says_how_to_stop_it(local_job):
    desc, _ = local_job
    running = dict(copy.deepcopy(desc), HyperParameterTuningJobStatus="InProgress")
    sm, stub = stubbed()
    stub.add_response("describe_hyper_parameter_tuning_job", running, {"HyperParameterTuningJobName": "done"})

    def interrupt(_progress):
        raise KeyboardInterrupt

    with stub:  # any other call (a stop) would fail the Stubber
        with pytest.raises(KeyboardInterrupt) as e:
            SageMakerBackend(sagemaker_client=sm, poll_seconds=0.001).wait("done", progress=interrupt)
        stub.assert_no_pending_responses()
    assert "keeps running on SageMaker" in str(e.value)
    assert "amtlocal --backend sagemaker stop done" in str(e.value) and "stop-hyper-parameter-tuning-job" in str(
        e.value
    )


def test_analytics_best_job_and_attach_work_unchanged_on_cloud_answers(local_job):
    from amtlocal import HyperparameterTuner
    from amtlocal.backends.local import LocalBackend

    desc, rows = local_job
    sm, stub = stubbed()
    stub.add_response("describe_hyper_parameter_tuning_job", desc, {"HyperParameterTuningJobName": "done"})  # attach
    stub.add_response("describe_hyper_parameter_tuning_job", desc, {"HyperParameterTuningJobName": "done"})  # best job
    stub.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": rows[:1], "NextToken": "a"}, None
    )
    stub.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": rows[1:]}, None)
    with stub:
        tuner = HyperparameterTuner.attach("done", backend=SageMakerBackend(sagemaker_client=sm))
        assert tuner.best_training_job() == desc["BestTrainingJob"]["TrainingJobName"]
        cloud_df = tuner.analytics().dataframe()
    local_df = HyperparameterTuner.attach("done", backend=LocalBackend()).analytics().dataframe()
    assert cloud_df.equals(local_df) and len(cloud_df) == 3


# -- CloudWatch metric series -----------------------------------------------------------------------------------------


def _training_job(name, start, end):
    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/m.tar.gz"},
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "AlgorithmSpecification": {
            "TrainingImage": "img",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "loss", "Regex": "loss: (.*)"}, {"Name": "f1", "Regex": "f1: (.*)"}],
        },
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        "CreationTime": start,
        "TrainingStartTime": start,
        "TrainingEndTime": end,
        "FinalMetricDataList": [{"MetricName": "f1", "Value": 0.9, "Timestamp": end}],
    }


def test_metric_series_from_cloudwatch_and_empty_when_unreachable():
    import datetime as dt

    import boto3
    from botocore.config import Config

    t0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    t1 = t0 + dt.timedelta(minutes=1)
    sm, sm_stub = stubbed()
    cw, cw_stub = stubbed("cloudwatch")
    sm_stub.add_response(
        "describe_training_job", _training_job("tj-1", t0, t1 + dt.timedelta(minutes=1)), {"TrainingJobName": "tj-1"}
    )
    host = {"Name": "Host", "Value": "tj-1/algo-1"}
    cw_stub.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {"Id": "m0", "Label": "loss", "Timestamps": [t0, t1], "Values": [0.7, 0.4], "StatusCode": "Complete"},
                {"Id": "m1", "Label": "f1", "Timestamps": [], "Values": [], "StatusCode": "Complete"},
            ],
            "NextToken": "more",
        },
        None,
    )
    cw_stub.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {"Id": "m1", "Label": "f1", "Timestamps": [t1], "Values": [0.9], "StatusCode": "Complete"}
            ]
        },
        None,
    )
    with sm_stub, cw_stub:
        series = SageMakerBackend(sagemaker_client=sm, cloudwatch_client=cw).metric_series("tuning", "tj-1")
        cw_stub.assert_no_pending_responses()  # both pages read
    assert series == [
        {"MetricName": "loss", "Value": 0.7, "Timestamp": t0.timestamp()},
        {"MetricName": "f1", "Value": 0.9, "Timestamp": t1.timestamp()},
        {"MetricName": "loss", "Value": 0.4, "Timestamp": t1.timestamp()},
    ]

    # the exact first query: Host dimension, namespace, 60 s average
    sm2, sm2_stub = stubbed()
    cw2, cw2_stub = stubbed("cloudwatch")
    sm2_stub.add_response("describe_training_job", _training_job("tj-1", t0, t1), {"TrainingJobName": "tj-1"})
    expected = {
        "MetricDataQueries": [
            {
                "Id": f"m{i}",
                "ReturnData": True,
                "MetricStat": {
                    "Metric": {"Namespace": "/aws/sagemaker/TrainingJobs", "MetricName": n, "Dimensions": [host]},
                    "Period": 60,
                    "Stat": "Average",
                },
            }
            for i, n in enumerate(["loss", "f1"])
        ],
        "StartTime": t0 - dt.timedelta(minutes=1),
        "EndTime": t1 + dt.timedelta(minutes=1),
        "ScanBy": "TimestampAscending",
    }
    cw2_stub.add_response("get_metric_data", {"MetricDataResults": []}, expected)
    cw2_stub.add_client_error("get_metric_data", "AccessDenied", "not allowed")  # the TrainingJobName fallback
    with sm2_stub, cw2_stub:
        assert SageMakerBackend(sagemaker_client=sm2, cloudwatch_client=cw2).metric_series("tuning", "tj-1") == []
        cw2_stub.assert_no_pending_responses()

    # CloudWatch not reachable at all (a closed local port): empty, no exception
    sm3, sm3_stub = stubbed()
    sm3_stub.add_response("describe_training_job", _training_job("tj-1", t0, t1), {"TrainingJobName": "tj-1"})
    closed = boto3.client(
        "cloudwatch",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )
    with sm3_stub:
        assert SageMakerBackend(sagemaker_client=sm3, cloudwatch_client=closed).metric_series("tuning", "tj-1") == []


# -- one user script, two backends, only the flag changes --------------------------------------------------------------

USER_SCRIPT = """
from amtlocal import HyperparameterTuner, IntegerParameter, SKLearn

estimator = SKLearn("train.py", source_dir="code", framework_version="1.2-1", instance_type="ml.m5.large")
tuner = HyperparameterTuner(estimator, "f1", {"x": IntegerParameter(1, 9)}, [{"Name": "f1", "Regex": r"f1: ([0-9.]+)"}],
                            strategy="Random", max_jobs=2, max_parallel_jobs=2, random_seed=1)
tuner.fit({"train": "data"}, job_name="switch")
BEST = tuner.best_training_job()
STATUS = tuner.describe()["HyperParameterTuningJobStatus"]
"""


def test_one_user_script_switches_backend_with_only_the_flag(workdir, monkeypatch):
    from moto import mock_aws

    from amtlocal.backends.local import LocalBackend
    from amtlocal.backends.sagemaker import _backend

    use_script(workdir, GOOD)
    script = workdir / "user_tune.py"
    script.write_text(USER_SCRIPT)
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", ROLE)  # the cloud's execution role, from the environment

    local = runpy.run_path(str(script))
    assert local["STATUS"] == "Completed" and local["BEST"].startswith("switch-")
    local_req = LocalBackend().store.load("switch").user_attrs["request"]

    monkeypatch.setenv("AMTLOCAL_BACKEND", "sagemaker")  # the flag
    monkeypatch.setattr(_backend, "DEFAULT_POLL_SECONDS", 0.01)
    with mock_aws():
        cloud = runpy.run_path(str(script))
        assert cloud["STATUS"] == "Completed" and cloud["BEST"] == "FakeTrainingJobName"  # moto's canned answer
        sent = SageMakerBackend().describe("switch")
    f_local = flat({k: local_req[k] for k in ("HyperParameterTuningJobConfig", "TrainingJobDefinition")})
    f_cloud = flat({k: sent[k] for k in ("HyperParameterTuningJobConfig", "TrainingJobDefinition")})
    changed = {p for p in set(f_local) | set(f_cloud) if f_local.get(p) != f_cloud.get(p)}
    # each fit() draws a new estimator job name (a timestamp, as SDK v2 does): not a backend difference
    changed.discard("TrainingJobDefinition.StaticHyperParameters.sagemaker_job_name")
    assert all(is_rewritten(p) for p in changed), sorted(p for p in changed if not is_rewritten(p))
    # the estimator job name (code prefix) and all tuned/static values are the local ones
    assert json.loads(f_cloud["TrainingJobDefinition.StaticHyperParameters.sagemaker_job_name"]) in json.loads(
        f_cloud["TrainingJobDefinition.StaticHyperParameters.sagemaker_submit_directory"]
    )
    assert f_cloud["TrainingJobDefinition.RoleArn"] == ROLE


# -- credentials never reach the store, logs or reports ---------------------------------------------------------------


def test_aws_credentials_are_never_written(workdir, monkeypatch, caplog, capsys, tmp_path):
    import logging

    from moto import mock_aws

    from amtlocal.backends.local import LocalStore
    from amtlocal.backends.sagemaker import pull

    secrets = {
        "AWS_ACCESS_KEY_ID": "AKIAAMTLOCALNOLEAK01",
        "AWS_SECRET_ACCESS_KEY": "amtlocal-secret-must-not-leak",
        "AWS_SESSION_TOKEN": "amtlocal-token-must-not-leak",
    }
    for k, v in secrets.items():
        monkeypatch.setenv(k, v)
    use_script(workdir, GOOD)
    req = make_request("creds", integer=[("x", 1, 9, "Auto")])
    caplog.set_level(logging.DEBUG, logger="amtlocal")  # amtlocal's own logs (botocore's debug log is botocore's)
    with mock_aws():
        import boto3

        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="example-bucket")
        be = SageMakerBackend(poll_seconds=0.01)
        print(json.dumps(be.build_request(req, workdir, upload=False)))
        be.create_tuning_job(req, workdir, wait=True)
        sm, stub = stubbed()  # moto has no ListTrainingJobsForHyperParameterTuningJob
        stub.add_response(
            "describe_hyper_parameter_tuning_job",
            {k: v for k, v in be.describe("creds").items() if k not in ("BestTrainingJob", "OverallBestTrainingJob")},
            None,
        )
        stub.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": []}, None)
        with stub:
            pull("creds", SageMakerBackend(sagemaker_client=sm), LocalStore(tmp_path / "pulled"), metrics=False)
    written = b"".join(
        p.read_bytes()
        for root in (tmp_path / "home", tmp_path / "pulled")
        if root.exists()
        for p in root.rglob("*")
        if p.is_file()
    )
    text = caplog.text + capsys.readouterr().out
    for value in secrets.values():
        assert value.encode() not in written and value not in text
