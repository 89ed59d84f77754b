"""``amtlocal pull``: a finished cloud tuning job copied into the local store answers describe/list offline, and a
local tuning job warm-starts from it. The "cloud" answers are the records of a real local run, served by Stubber."""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import types

import pytest

from amtlocal.backends.local import LocalBackend, LocalStore
from amtlocal.backends.sagemaker import SageMakerBackend, pull
from amtlocal.exceptions import AmtLocalError, TuningJobExists
from amtlocal.testing import GOOD_SCRIPT, fake_aws, make_request, run_job, use_script

GOOD = GOOD_SCRIPT


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    fake_aws(monkeypatch, tmp_path)


def stubbed(service="sagemaker"):
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(service, region_name="us-east-1")
    return client, Stubber(client)


def _describe_training_job(summary: dict) -> dict:
    end = summary.get("TrainingEndTime") or summary["CreationTime"]
    final = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
    return {
        "TrainingJobName": summary["TrainingJobName"],
        "TrainingJobArn": summary["TrainingJobArn"],
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/model.tar.gz"},
        "TrainingJobStatus": summary["TrainingJobStatus"],
        "SecondaryStatus": "Completed",
        "AlgorithmSpecification": {
            "TrainingImage": "img",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "f1", "Regex": "f1: (.*)"}],
        },
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        "CreationTime": summary["CreationTime"],
        "TrainingStartTime": summary.get("TrainingStartTime") or end,
        "TrainingEndTime": end,
        "FinalMetricDataList": [{"MetricName": "f1", "Value": final["Value"], "Timestamp": end}] if final else [],
    }


@pytest.fixture
def cloud_job(workdir):
    """A finished job's Describe and training-job summaries (from a real local run named 'parent')."""
    use_script(workdir, GOOD)
    desc = run_job(make_request("parent", integer=[("x", 1, 9, "Auto")], max_jobs=3, parallel=3), workdir)
    rows = list(LocalBackend().all_training_jobs("parent"))
    return desc, rows


def _stub_pull(desc, rows, metrics: bool):
    sm, stub = stubbed()
    cw, cw_stub = stubbed("cloudwatch")
    stub.add_response("describe_hyper_parameter_tuning_job", desc, {"HyperParameterTuningJobName": "parent"})
    stub.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": rows[:2], "NextToken": "x"}, None
    )
    stub.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": rows[2:]}, None)
    ordered = sorted(rows, key=lambda s: (s["CreationTime"], s["TrainingJobName"]))
    for s in ordered:
        stub.add_response("describe_training_job", _describe_training_job(s), {"TrainingJobName": s["TrainingJobName"]})
    if metrics:
        for s in ordered:
            stub.add_response(
                "describe_training_job", _describe_training_job(s), {"TrainingJobName": s["TrainingJobName"]}
            )
            t = s["TrainingEndTime"]
            cw_stub.add_response(
                "get_metric_data",
                {
                    "MetricDataResults": [
                        {
                            "Id": "m0",
                            "Label": "f1",
                            "Timestamps": [t],
                            "Values": [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]],
                            "StatusCode": "Complete",
                        }
                    ]
                },
                None,
            )
    return SageMakerBackend(sagemaker_client=sm, cloudwatch_client=cw), stub, cw_stub


def test_pull_copies_the_job_and_a_local_job_warm_starts_from_it(cloud_job, workdir, tmp_path):
    desc, rows = cloud_job
    store = LocalStore(tmp_path / "laptop")  # another machine's store: the parent exists only "in the cloud"
    backend, stub, cw_stub = _stub_pull(desc, rows, metrics=True)
    with stub, cw_stub:
        local = pull("parent", backend, store)
        stub.assert_no_pending_responses()
        cw_stub.assert_no_pending_responses()
    assert local["HyperParameterTuningJobStatus"] == "Completed"
    assert local["TrainingJobStatusCounters"] == desc["TrainingJobStatusCounters"]
    assert local["BestTrainingJob"] == desc["BestTrainingJob"]
    assert local["CreationTime"] == desc["CreationTime"]
    study = store.load("parent")
    assert study.user_attrs["origin"] == "sagemaker"
    assert LocalBackend(store=store).list_training_jobs("parent", MaxResults=100)["TrainingJobSummaries"] == rows
    trial = next(t for t in study.trials if t.user_attrs["summary"]["TrainingJobName"] == rows[0]["TrainingJobName"])
    assert trial.user_attrs["role"] == "own" and isinstance(trial.user_attrs["summary"]["CreationTime"], float)
    assert trial.user_attrs["final_metrics"] == {"f1": rows[0]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]}
    assert trial.params == {"x": int(rows[0]["TunedHyperParameters"]["x"])}
    series = LocalBackend(store=store).metric_series("parent", rows[0]["TrainingJobName"])  # learning curves offline
    assert [p["MetricName"] for p in series] == ["f1"]

    # a local child warm-starts from the pulled cloud parent
    child = make_request("child", integer=[("x", 1, 9, "Auto")], max_jobs=1)
    child["WarmStartConfig"] = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent"}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    out = run_job(child, workdir, store=store)
    assert out["HyperParameterTuningJobStatus"] == "Completed"
    assert (
        out["OverallBestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        >= desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    )


def test_pull_refuses_running_jobs_local_names_and_repeats_without_force(cloud_job, tmp_path):
    desc, rows = cloud_job
    running = dict(copy.deepcopy(desc), HyperParameterTuningJobStatus="InProgress")
    sm, stub = stubbed()
    stub.add_response("describe_hyper_parameter_tuning_job", running, None)
    stub.add_response("describe_hyper_parameter_tuning_job", desc, None)
    with stub:
        with pytest.raises(AmtLocalError, match="InProgress"):
            pull("parent", SageMakerBackend(sagemaker_client=sm), LocalStore(tmp_path / "other"))
        with pytest.raises(TuningJobExists, match="local tuning job"):  # 'parent' ran locally in the default store
            pull("parent", SageMakerBackend(sagemaker_client=sm), LocalStore())
    store = LocalStore(tmp_path / "laptop")
    backend, stub, _ = _stub_pull(desc, rows, metrics=False)
    with stub:
        pull("parent", backend, store, metrics=False)
    sm2, stub2 = stubbed()
    stub2.add_response("describe_hyper_parameter_tuning_job", desc, None)
    with stub2, pytest.raises(TuningJobExists, match="--force"):
        pull("parent", SageMakerBackend(sagemaker_client=sm2), store)
    backend, stub, _ = _stub_pull(desc, rows, metrics=False)
    with stub:
        again = pull("parent", backend, store, overwrite=True, metrics=False)
    assert sum(again["TrainingJobStatusCounters"].values()) == 3  # replaced, not doubled


def test_register_cli_adds_the_pull_command(cloud_job, tmp_path, monkeypatch, capsys):
    from amtlocal.cli import _pull

    desc, rows = cloud_job
    parser = argparse.ArgumentParser(prog="amtlocal")
    parser.add_argument("--home")
    parser.add_argument("--storage")
    _pull.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--home", str(tmp_path / "laptop"), "pull", "parent", "--no-metrics"])
    assert args.func is _pull.cmd_pull and args.no_metrics and not args.force
    backend, stub, _ = _stub_pull(desc, rows, metrics=False)
    monkeypatch.setattr("amtlocal.backends.sagemaker._backend.SageMakerBackend", lambda *a, **k: backend)
    with stub:
        assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("parent: pulled 3 training job(s), Completed") and "best parent-" in out
    assert LocalStore(tmp_path / "laptop").resolve_name("parent") == "parent"


def test_stored_summary_times_are_epoch_seconds():
    from amtlocal.store import stored_summary

    t = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    assert stored_summary({"TrainingJobName": "a", "CreationTime": t, "TunedHyperParameters": {"x": "1"}}) == {
        "TrainingJobName": "a",
        "CreationTime": t.timestamp(),
        "TunedHyperParameters": {"x": "1"},
    }


def test_pull_takes_an_sdk_tuner_for_its_latest_tuning_job(cloud_job, tmp_path):
    """pull(tuner): an SDK v3 tuner's latest_tuning_job is a sagemaker.core.resources.HyperParameterTuningJob
    (hyper_parameter_tuning_job_name); the real v3 object is checked in tests/test_sdk3.py."""
    desc, rows = cloud_job
    v3_tuner = types.SimpleNamespace(latest_tuning_job=types.SimpleNamespace(hyper_parameter_tuning_job_name="parent"))
    backend, stub, _ = _stub_pull(desc, rows, metrics=False)
    with stub:
        local = pull(v3_tuner, backend, LocalStore(tmp_path / "laptop"), metrics=False)
        stub.assert_no_pending_responses()
    assert local["HyperParameterTuningJobName"] == "parent"
    assert local["BestTrainingJob"] == desc["BestTrainingJob"]


def test_tuning_job_name_of_names_v2_v3_and_amtlocal_tuners():
    from amtlocal.backends.sagemaker import tuning_job_name_of

    ns = types.SimpleNamespace
    assert tuning_job_name_of("a-job") == "a-job"
    assert tuning_job_name_of(ns(latest_tuning_job=ns(name="v2-job"))) == "v2-job"  # v2 _TuningJob.name
    v3_job = ns(hyper_parameter_tuning_job_name="v3-job")
    assert tuning_job_name_of(ns(latest_tuning_job=v3_job)) == "v3-job"
    assert tuning_job_name_of(v3_job) == "v3-job"  # the job resource itself
    with pytest.raises(TypeError, match="has no tuning job yet: call tune"):
        tuning_job_name_of(ns(latest_tuning_job=None))
    with pytest.raises(TypeError, match="expected a tuning job name or a tuner"):
        tuning_job_name_of(42)
