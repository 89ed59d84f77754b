"""The SDK v2 estimator face: its argument surface and checks, and the plumbing of fit / attach / latest_training_job /
model_data / logs / training_job_analytics / best_estimator into the Backend contract's training-job methods.

The plumbing tests use a small in-memory test double of a backend (``RecordingBackend``, here only): it records the
CreateTrainingJob request it is given and answers DescribeTrainingJob from a script of statuses. The real local
implementation of the training-job methods comes from the local backend; end-to-end tests go with it.
"""

from __future__ import annotations

import inspect
import logging

import pytest

import amtlocal
from amtlocal import (
    Estimator,
    Framework,
    HuggingFace,
    PyTorch,
    SKLearn,
    TensorFlow,
    TrainingInput,
    UnexpectedStatusException,
    XGBoost,
)
from amtlocal.backends import Backend
from amtlocal.exceptions import AmtValidationError, TrainingJobNotFound

SDK_V2_ESTIMATOR_BASE_ARGS = [
    "role",
    "instance_count",
    "instance_type",
    "keep_alive_period_in_seconds",
    "volume_size",
    "volume_kms_key",
    "max_run",
    "input_mode",
    "output_path",
    "output_kms_key",
    "base_job_name",
    "sagemaker_session",
    "tags",
    "subnets",
    "security_group_ids",
    "model_uri",
    "model_channel_name",
    "metric_definitions",
    "encrypt_inter_container_traffic",
    "use_spot_instances",
    "max_wait",
    "checkpoint_s3_uri",
    "checkpoint_local_path",
    "rules",
    "debugger_hook_config",
    "tensorboard_output_config",
    "enable_sagemaker_metrics",
    "enable_network_isolation",
    "profiler_config",
    "disable_profiler",
    "environment",
    "max_retry_attempts",
    "source_dir",
    "git_config",
    "hyperparameters",
    "container_log_level",
    "code_location",
    "entry_point",
    "dependencies",
    "instance_groups",
    "training_repository_access_mode",
    "training_repository_credentials_provider_arn",
    "enable_infra_check",
    "container_entry_point",
    "container_arguments",
    "disable_output_compression",
    "enable_remote_debug",
    "enable_session_tag_chaining",
    "training_plan",
    "instance_placement_config",
]
SDK_V2_FRAMEWORK_ARGS = [
    "entry_point",
    "source_dir",
    "hyperparameters",
    "container_log_level",
    "code_location",
    "image_uri",
    "dependencies",
    "enable_network_isolation",
    "git_config",
    "checkpoint_s3_uri",
    "checkpoint_local_path",
    "enable_sagemaker_metrics",
]


class RecordingBackend(Backend):
    """Test double: records create_training_job requests; describe answers the next status of ``statuses``."""

    name = "recording"

    def __init__(self, statuses=("Completed",), logs=("epoch 1", "f1: 0.5"), series=()):
        self.requests, self.statuses, self.stopped = [], list(statuses), []
        self._logs, self._series, self.described = list(logs), list(series), 0

    def create_training_job(self, request, base_dir, wait=True, progress=None):
        self.requests.append(request)
        return self.describe_training_job(request["TrainingJobName"])

    def describe_training_job(self, name):
        known = {r["TrainingJobName"]: r for r in self.requests}
        if name not in known:
            raise TrainingJobNotFound(name)
        self.described += 1
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        req = known[name]
        desc = {
            **req,
            "TrainingJobStatus": status,
            "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:000000000000:training-job/{name}",
        }
        desc["OutputDataConfig"] = {**req["OutputDataConfig"]}
        if status == "Completed":
            desc["ModelArtifacts"] = {
                "S3ModelArtifacts": f"{req['OutputDataConfig']['S3OutputPath']}/{name}/output/model.tar.gz"
            }
        if status == "Failed":
            desc["FailureReason"] = "AlgorithmError: boom"
        return desc

    def training_job_logs(self, name):
        yield from self._logs

    def stop_training_job(self, name):
        self.stopped.append(name)

    def metric_series(self, tuning_job_name, training_job_name):
        return list(self._series)

    # the tuning-job half of the contract is not used here
    def create_tuning_job(self, *a, **k):
        raise NotImplementedError

    def describe(self, name):
        raise NotImplementedError

    def list_training_jobs(self, name, **kwargs):
        raise NotImplementedError

    def list_tuning_jobs(self):
        return []

    def stop(self, name):
        raise NotImplementedError


@pytest.fixture
def code(tmp_path, monkeypatch):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text("print('f1: 0.5')\n")
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_sdk_v2_argument_is_accepted_and_unknown_ones_are_type_errors():
    est_params = inspect.signature(Estimator.__init__).parameters
    assert [p for p in SDK_V2_ESTIMATOR_BASE_ARGS if p not in est_params] == []
    fw_params = inspect.signature(Framework.__init__).parameters
    assert [p for p in SDK_V2_FRAMEWORK_ARGS if p not in fw_params] == []
    with pytest.raises(TypeError, match="unexpected keyword argument 'use_spot_instance'"):
        Estimator(image_uri="x/y:1", use_spot_instance=True)  # a typo: SDK v2 swallows it, amtlocal does not
    with pytest.raises(TypeError, match="'bogus'"):
        PyTorch("train.py", framework_version="2.1", py_version="py310", bogus=1)
    est = Estimator(image_uri="x/y:1", train_instance_count=3, train_max_run=60)  # SDK v2's renamed v1 names
    assert (est.instance_count, est.max_run) == (3, 60)


def test_sdk_v2_checks():
    with pytest.raises(RuntimeError, match="both subnets and security_group_ids"):
        Estimator(image_uri="x/y:1", subnets=["s"])
    with pytest.raises(AttributeError, match="distributed"):
        SKLearn("train.py", framework_version="1.2-1", instance_count=2)
    with pytest.raises(ValueError, match="GPU training is not supported"):
        SKLearn("train.py", framework_version="1.2-1", instance_type="ml.p3.xlarge")
    with pytest.raises(ValueError, match="framework_version or py_version was None"):
        PyTorch("train.py", framework_version="2.1")
    with pytest.raises(ValueError, match="tensorflow_version and pytorch_version are both None"):
        HuggingFace("py310", "train.py", transformers_version="4.28.1")
    with pytest.raises(ValueError, match="Must be a path to a local file"):
        Framework("s3://b/train.py", image_uri="x/y:1")
    est = PyTorch("train.py", framework_version="2.1", py_version="py310", use_spot_instances=True, max_run=3600)
    with pytest.raises(AmtValidationError) as e:
        est.training_job_request(job_name="spot")
    assert e.value.field == "StoppingCondition.MaxWaitTimeInSeconds" and "max_wait" in e.value.rule
    est.max_wait = 600
    with pytest.raises(AmtValidationError, match=r"max_wait \(600\) must be at least max_run \(3600\)"):
        est.training_job_request(job_name="spot")


def test_framework_images_and_defaults(code):
    assert SKLearn("train.py", framework_version="1.2-1").training_image() == "sagemaker-scikit-learn:1.2-1-cpu-py3"
    assert (
        PyTorch("train.py", framework_version="2.1", py_version="py310").training_image()
        == "pytorch-training:2.1-cpu-py310"
    )
    assert (
        PyTorch("train.py", framework_version="2.1", py_version="py310", instance_type="ml.p3.2xlarge").training_image()
        == "pytorch-training:2.1-gpu-py310"
    )
    assert (
        TensorFlow(entry_point="train.py", framework_version="2.13", py_version="py310").training_image()
        == "tensorflow-training:2.13-cpu-py310"
    )
    assert XGBoost("train.py", framework_version="1.7-1").training_image() == "sagemaker-xgboost:1.7-1"
    hf = HuggingFace(
        "py310", "train.py", transformers_version="4.28.1", pytorch_version="2.0.0", instance_type="ml.g4dn.xlarge"
    )
    assert hf.training_image() == "huggingface-pytorch-training:2.0.0-transformers4.28.1-gpu-py310"
    req = PyTorch(
        "train.py", source_dir="code", framework_version="2.1", py_version="py310", hyperparameters={"lr": 0.1}
    ).training_job_request("data")
    assert req["TrainingJobName"].startswith("pytorch-training-") and len(req["TrainingJobName"]) <= 63
    assert req["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] is True  # SDK v2 default from PyTorch 1.3
    assert req["HyperParameters"]["sagemaker_program"] == '"train.py"'
    assert req["HyperParameters"]["sagemaker_submit_directory"] == f'"file://{code / "code"}"'
    assert req["HyperParameters"]["sagemaker_job_name"] == f'"{req["TrainingJobName"]}"'
    assert req["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == f"file://{code / 'data'}"
    assert req["RoleArn"].endswith(":role/amtlocal-local")  # no role locally: the placeholder


def test_dependencies_and_code_location_stage_a_sourcedir_tarball(code):
    import tarfile

    (code / "lib").mkdir()
    (code / "lib" / "helper.py").write_text("X = 1\n")
    est = SKLearn(
        "train.py",
        source_dir="code",
        framework_version="1.2-1",
        dependencies=[str(code / "lib")],
        code_location=str(code / "staged"),
    )
    req = est.training_job_request(job_name="deps")
    tarball = code / "staged" / "deps" / "source" / "sourcedir.tar.gz"
    assert req["HyperParameters"]["sagemaker_submit_directory"] == f'"file://{tarball}"'
    assert sorted(tarfile.open(tarball).getnames()) == ["lib", "lib/helper.py", "train.py"]  # SDK v2's layout


def test_inputs_model_uri_and_training_input_mode(code):
    est = Estimator(image_uri="x/y:1", model_uri=str(code / "data"), environment={"A": "1"}, tags={"team": "ml"})
    req = est.training_job_request(
        TrainingInput(str(code / "data"), input_mode="FastFile", content_type="text/csv"), job_name="m"
    )
    assert req["AlgorithmSpecification"]["TrainingInputMode"] == "FastFile"  # a TrainingInput's mode wins, as in SDK v2
    assert [c["ChannelName"] for c in req["InputDataConfig"]] == ["training", "model"]
    assert req["InputDataConfig"][1]["ContentType"] == "application/x-sagemaker-model"
    assert req["Environment"] == {"A": "1"} and req["Tags"] == [{"Key": "team", "Value": "ml"}]
    with pytest.raises(ValueError, match="Duplicate channel model"):
        est.training_job_request({"model": "data"}, job_name="dup")
    with pytest.raises(TypeError):
        est.training_job_request(42)


def test_fit_sends_the_request_to_the_backend_and_waits(code, caplog):
    be = RecordingBackend(statuses=["InProgress", "InProgress", "Completed"])
    est = SKLearn(
        "train.py",
        source_dir="code",
        framework_version="1.2-1",
        output_path=str(code / "out"),
        max_run=120,
        hyperparameters={"n": 3},
        backend=be,
    )
    with caplog.at_level(logging.INFO, logger="amtlocal.training"):
        est.fit({"train": "data"}, job_name="one")
    assert len(be.requests) == 1 and be.requests[0] == est.training_job_request({"train": "data"}, job_name="one")
    assert be.requests[0]["StoppingCondition"] == {"MaxRuntimeInSeconds": 120}
    assert be.described >= 3  # waited through InProgress to Completed
    assert (
        est.latest_training_job.name == "one" and est.latest_training_job.describe()["TrainingJobStatus"] == "Completed"
    )
    assert est.model_data == f"file://{code / 'out'}/one/output/model.tar.gz"
    assert [r.getMessage() for r in caplog.records if r.name == "amtlocal.training"] == ["epoch 1", "f1: 0.5"]
    assert est.logs() == ["epoch 1", "f1: 0.5"]
    est.latest_training_job.stop()
    assert be.stopped == ["one"]


def test_fit_raises_for_a_failed_job_and_no_wait_returns_at_once(code):
    be = RecordingBackend(statuses=["Failed"])
    est = SKLearn("train.py", source_dir="code", framework_version="1.2-1", backend=be)
    with pytest.raises(UnexpectedStatusException, match="AlgorithmError: boom") as e:
        est.fit("data", job_name="bad")
    assert e.value.actual_status == "Failed"
    be2 = RecordingBackend(statuses=["InProgress"])
    est2 = SKLearn("train.py", source_dir="code", framework_version="1.2-1", backend=be2)
    est2.fit("data", wait=False, job_name="bg")
    assert est2.latest_training_job.describe()["TrainingJobStatus"] == "InProgress"


def test_fit_warns_and_returns_for_a_stopped_job_as_sdk_v2_does(code, caplog):
    # SDK v2's _check_job_status: Stopped (MaxRuntimeExceeded, a stop) is a warning, not an exception
    be = RecordingBackend(statuses=["InProgress", "Stopped"])
    est = SKLearn("train.py", source_dir="code", framework_version="1.2-1", backend=be)
    with caplog.at_level(logging.WARNING, logger="amtlocal"):
        est.fit("data", job_name="timed-out")
    assert est.latest_training_job.describe()["TrainingJobStatus"] == "Stopped"
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "Job ended with status 'Stopped' rather than 'Completed'. This could mean the job timed out or stopped early "
        "for some other reason: Consider checking whether it completed as you expect."
    ]
    with pytest.raises(UnexpectedStatusException) as e:
        SKLearn("train.py", source_dir="code", framework_version="1.2-1", backend=RecordingBackend(["Failed"])).fit(
            "data", job_name="bad"
        )
    assert str(e.value).startswith("Error for Training job bad: Failed. Reason: AlgorithmError: boom. Check ")
    assert e.value.allowed_statuses == ("Completed", "Stopped")


def test_attach_rebuilds_the_estimator_from_describe(code):
    be = RecordingBackend()
    SKLearn(
        "train.py",
        source_dir="code",
        framework_version="1.2-1",
        hyperparameters={"n": 3, "c": "gini"},
        instance_type="ml.c5.xlarge",
        max_run=300,
        backend=be,
    ).fit("data", job_name="sklearn-2026-01-02-03-04-05-678")
    est = SKLearn.attach("sklearn-2026-01-02-03-04-05-678", backend=be)
    assert isinstance(est, SKLearn) and est.latest_training_job.name == "sklearn-2026-01-02-03-04-05-678"
    assert est.framework_version == "1.2-1" and est.instance_type == "ml.c5.xlarge" and est.max_run == 300
    assert est.base_job_name == "sklearn" and est.entry_point == "train.py"
    assert est.hyperparameters() == {"n": "3", "c": '"gini"'}  # script-mode keys are not user hyperparameters
    assert est.model_data.endswith("/sklearn-2026-01-02-03-04-05-678/output/model.tar.gz")
    with pytest.raises(TrainingJobNotFound):
        SKLearn.attach("nope", backend=be)


def test_training_job_analytics_has_sdk_v2_columns(code):
    series = [
        {"MetricName": "f1", "Value": 0.5, "Timestamp": 100.0},
        {"MetricName": "loss", "Value": 2.0, "Timestamp": 101.0},
        {"MetricName": "f1", "Value": 0.7, "Timestamp": 160.0},
        {"MetricName": "other", "Value": 1.0, "Timestamp": 102.0},
    ]
    be = RecordingBackend(series=series)
    est = SKLearn(
        "train.py",
        source_dir="code",
        framework_version="1.2-1",
        backend=be,
        metric_definitions=[{"Name": "f1", "Regex": "f1: (.*)"}, {"Name": "loss", "Regex": "loss: (.*)"}],
    )
    with pytest.raises(ValueError, match="not associated"):
        _ = est.training_job_analytics
    est.fit("data", job_name="an")
    df = est.training_job_analytics.dataframe()
    assert list(df.columns) == ["timestamp", "metric_name", "value"]
    assert df.values.tolist() == [[0.0, "f1", 0.5], [60.0, "f1", 0.7], [0.0, "loss", 2.0]]  # "other" is not defined


def test_best_estimator_attaches_to_the_best_training_job(code, monkeypatch):
    from amtlocal import HyperparameterTuner, IntegerParameter

    be = RecordingBackend()
    est = SKLearn("train.py", source_dir="code", framework_version="1.2-1", backend=be)
    est.fit("data", job_name="tuned-001-0123abcd")  # stands for the tuning job's best training job
    tuner = HyperparameterTuner(
        est, "f1", {"n": IntegerParameter(1, 3)}, [{"Name": "f1", "Regex": "f1: (.*)"}], backend=be
    )
    monkeypatch.setattr(tuner, "best_training_job", lambda: "tuned-001-0123abcd")
    best = tuner.best_estimator()
    assert isinstance(best, SKLearn) and best.latest_training_job.name == "tuned-001-0123abcd"
    assert best.model_data.endswith("/tuned-001-0123abcd/output/model.tar.gz")
    assert (
        tuner.best_estimator({"TrainingJobName": "tuned-001-0123abcd"}).latest_training_job.name == "tuned-001-0123abcd"
    )


def test_public_names():
    for name in ("PyTorch", "TensorFlow", "XGBoost", "HuggingFace", "TrainingJobAnalytics"):
        assert name in amtlocal.__all__ and hasattr(amtlocal, name)
