"""CreateTrainingJob fidelity: amtlocal's estimators build, and the sagemaker backend sends, the request SDK v2 sends
for the same arguments. SDK v2's request is captured from its own session over moto (no AWS); amtlocal's is built with
the local placeholders (no role, no output path, local code and data) and rewritten by the sagemaker backend.
"""

from __future__ import annotations

import io
import json
import tarfile

import pytest

import amtlocal
from amtlocal.backends.sagemaker import SageMakerBackend, is_training_rewritten, plan_training_request
from amtlocal.testing import fake_aws

ROLE = "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole"
BUCKET = "sagemaker-us-east-1-123456789012"  # the default bucket for moto's account


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    fake_aws(monkeypatch, tmp_path)


@pytest.fixture
def sdk():
    sagemaker = pytest.importorskip("sagemaker")
    if not sagemaker.__version__.startswith("2."):
        pytest.skip(f"SDK v2 needed; found {sagemaker.__version__}")
    return sagemaker


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.py").write_text("print('f1: 0.5')\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("1,2\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AMTLOCAL_ROLE_ARN", ROLE)
    return tmp_path


def flat(obj, path=""):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(flat(v, f"{path}.{k}" if path else str(k)))
        return out or {path: {}}
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(flat(v, f"{path}[{i}]"))
        return out or {path: []}
    return {path: obj}


def sdk_request(sagemaker, cls_path: str, inputs, job_name: str, **kwargs) -> dict:
    """What SDK v2's ``<cls>(**kwargs).fit(inputs, job_name=...)`` sends as CreateTrainingJob (moto behind it)."""
    import importlib

    import boto3

    module, _, name = cls_path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    bs = boto3.Session(region_name="us-east-1")
    sm = bs.client("sagemaker")
    sent: dict = {}
    sm.meta.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob", lambda params, **_: sent.update(params)
    )
    est = cls(role=ROLE, sagemaker_session=sagemaker.Session(boto_session=bs, sagemaker_client=sm), **kwargs)
    est.fit(inputs, wait=False, job_name=job_name)
    return json.loads(json.dumps(sent))


CASES = {
    "sklearn": (
        "sagemaker.sklearn.SKLearn",
        "SKLearn",
        dict(
            entry_point="train.py",
            source_dir="code",
            framework_version="1.2-1",
            instance_type="ml.m5.large",
            hyperparameters={"n-estimators": 100, "criterion": "gini"},
            metric_definitions=[{"Name": "f1", "Regex": "f1: ([0-9.]+)"}],
        ),
    ),
    "pytorch-spot-and-cloud-args": (
        "sagemaker.pytorch.PyTorch",
        "PyTorch",
        dict(
            entry_point="train.py",
            source_dir="code",
            framework_version="2.1",
            py_version="py310",
            instance_type="ml.g4dn.xlarge",
            instance_count=1,
            use_spot_instances=True,
            max_run=3600,
            max_wait=7200,
            keep_alive_period_in_seconds=60,
            checkpoint_s3_uri="s3://ck-bucket/run1",
            checkpoint_local_path="/opt/ml/checkpoints",
            environment={"A": "1"},
            tags=[{"Key": "team", "Value": "ml"}],
            subnets=["subnet-1"],
            security_group_ids=["sg-1"],
            encrypt_inter_container_traffic=True,
            enable_network_isolation=False,
            volume_size=50,
            volume_kms_key="vk",
            output_kms_key="ok",
            max_retry_attempts=2,
            hyperparameters={"epochs": 3, "lr": 0.01, "flag": True},
        ),
    ),
    "tensorflow-model-dir": (
        "sagemaker.tensorflow.TensorFlow",
        "TensorFlow",
        dict(
            entry_point="train.py",
            source_dir="code",
            framework_version="2.13",
            py_version="py310",
            instance_type="ml.m5.xlarge",
            instance_count=1,
            hyperparameters={"batch-size": 32},
        ),
    ),
    "xgboost-framework-mode": (
        "sagemaker.xgboost.XGBoost",
        "XGBoost",
        dict(
            entry_point="train.py",
            source_dir="code",
            framework_version="1.7-1",
            instance_type="ml.m5.large",
            instance_count=1,
            hyperparameters={"num_round": 10},
            disable_profiler=True,
        ),
    ),
    "huggingface": (
        "sagemaker.huggingface.HuggingFace",
        "HuggingFace",
        dict(
            entry_point="train.py",
            source_dir="code",
            transformers_version="4.28.1",
            pytorch_version="2.0.0",
            py_version="py310",
            instance_type="ml.g4dn.xlarge",
            instance_count=1,
            hyperparameters={"model_name": "distilbert-base-uncased"},
        ),
    ),
    "sklearn-network-isolation": (
        "sagemaker.sklearn.SKLearn",
        "SKLearn",
        dict(
            entry_point="train.py",
            source_dir="code",
            framework_version="1.2-1",
            instance_type="ml.m5.large",
            enable_network_isolation=True,
            output_path="s3://my-out/models",
            environment={"B": "2"},
        ),
    ),
    "plain-estimator": (
        "sagemaker.estimator.Estimator",
        "Estimator",
        dict(
            image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/algo:1",
            instance_type="ml.m5.large",
            instance_count=2,
            hyperparameters={"k": 5, "s": "a b"},
            input_mode="Pipe",
            debugger_hook_config=False,
            disable_output_compression=True,
            enable_sagemaker_metrics=True,
            container_entry_point=["python"],
            container_arguments=["x.py"],
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_request_equals_what_sdk_v2_sends(case, sdk, project):
    """Every field of SDK v2's CreateTrainingJob equals amtlocal's, once the sagemaker backend rewrote the local
    stand-ins (default bucket, env role, ECR image, uploaded code and data): no field only one of them sets."""
    import boto3
    from moto import mock_aws

    sdk_cls, ours_cls, kwargs = CASES[case]
    job = f"fid-{case}"[:63]
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="my-out")
        local = getattr(amtlocal, ours_cls)(**kwargs).training_job_request(
            {"train": str(project / "data")}, job_name=job
        )
        assert local["RoleArn"] == ROLE  # from AMTLOCAL_ROLE_ARN
        ours = SageMakerBackend().build_training_request(local, project, upload=True)
        train_uri = ours["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
        theirs = sdk_request(sdk, sdk_cls, {"train": train_uri}, job, **kwargs)
        fo, fs = flat(ours), flat(theirs)
        assert {p: (fo.get(p), fs.get(p)) for p in set(fo) | set(fs) if fo.get(p) != fs.get(p)} == {}
        # the local request differed only in the documented rewrites (and, under network isolation, the code channel
        # the backend appends as SDK v2 does)
        fl = flat(local)
        if local.get("EnableNetworkIsolation"):
            assert ours["InputDataConfig"][-1]["ChannelName"] == "code"
            assert ours["HyperParameters"]["sagemaker_submit_directory"] == '"/opt/ml/input/data/code/sourcedir.tar.gz"'
            fo = flat({**ours, "InputDataConfig": ours["InputDataConfig"][:-1]})
        changed = {p for p in set(fl) | set(fo) if fl.get(p) != fo.get(p)}
        assert all(is_training_rewritten(p) for p in changed), sorted(
            p for p in changed if not is_training_rewritten(p)
        )
        if "entry_point" in kwargs:
            s3 = boto3.client("s3", region_name="us-east-1")
            bucket = "my-out" if "output_path" in kwargs else BUCKET  # SDK v2 puts the code next to the output
            key = f"{job}/source/sourcedir.tar.gz"
            code = (
                ours["InputDataConfig"][-1]["DataSource"]["S3DataSource"]["S3Uri"]
                if local.get("EnableNetworkIsolation")
                else json.loads(ours["HyperParameters"]["sagemaker_submit_directory"])
            )
            assert code == f"s3://{bucket}/{key}"
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            assert tarfile.open(fileobj=io.BytesIO(body)).getnames() == ["train.py"]


def test_local_request_carries_the_cloud_arguments_unchanged(project):
    """The cloud-only arguments are in the local request as SDK v2 puts them, before any backend."""
    _, _, kwargs = CASES["pytorch-spot-and-cloud-args"]
    req = amtlocal.PyTorch(**kwargs).training_job_request("data", job_name="carry")
    assert req["EnableManagedSpotTraining"] is True
    assert req["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert req["ResourceConfig"] == {
        "VolumeSizeInGB": 50,
        "VolumeKmsKeyId": "vk",
        "KeepAlivePeriodInSeconds": 60,
        "InstanceCount": 1,
        "InstanceType": "ml.g4dn.xlarge",
    }
    assert req["VpcConfig"] == {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
    assert req["CheckpointConfig"] == {"S3Uri": "s3://ck-bucket/run1", "LocalPath": "/opt/ml/checkpoints"}
    assert req["RetryStrategy"] == {"MaximumRetryAttempts": 2}
    assert req["OutputDataConfig"]["KmsKeyId"] == "ok" and req["EnableInterContainerTrafficEncryption"] is True
    assert "DebugHookConfig" not in req  # SDK v2 drops the debugger hook for PyTorch with both checkpoint arguments
    assert req["AlgorithmSpecification"]["TrainingImage"] == "pytorch-training:2.1-gpu-py310"
    assert req["InputDataConfig"][0]["ChannelName"] == "training"  # a single input is the "training" channel
    assert req["HyperParameters"]["flag"] == "true" and req["HyperParameters"]["lr"] == "0.01"


def test_local_output_and_checkpoint_folders_are_rewritten_for_the_cloud(project):
    """A local output path goes to the default bucket (with the debugger/profiler paths that followed it); a local
    checkpoint folder with files is uploaded to <job>/checkpoints/; TensorFlow's local model_dir follows the output."""
    (project / "ck").mkdir()
    (project / "ck" / "epoch-1.pt").write_text("w")
    est = amtlocal.TensorFlow(
        entry_point="train.py",
        source_dir="code",
        framework_version="2.13",
        py_version="py310",
        output_path=str(project / "out"),
        checkpoint_s3_uri=str(project / "ck"),
    )
    local = est.training_job_request({"train": "data"}, job_name="tf-local")
    assert local["OutputDataConfig"]["S3OutputPath"] == f"file://{project / 'out'}"
    assert local["HyperParameters"]["model_dir"] == '"/opt/ml/model"'
    assert local["DebugHookConfig"]["S3OutputPath"] == local["OutputDataConfig"]["S3OutputPath"]
    cloud, uploads = plan_training_request(
        local,
        project,
        region="us-east-1",
        account="123456789012",
        resolve_image=lambda image, region, itype: "acct.dkr.ecr/" + image,
    )
    out = f"s3://{BUCKET}/"
    assert cloud["OutputDataConfig"]["S3OutputPath"] == out
    assert cloud["DebugHookConfig"]["S3OutputPath"] == out and cloud["ProfilerConfig"]["S3OutputPath"] == out
    assert cloud["CheckpointConfig"]["S3Uri"] == f"s3://{BUCKET}/tf-local/checkpoints/"
    assert cloud["HyperParameters"]["model_dir"] == f'"s3://{BUCKET}/tf-local/model"'
    assert cloud["AlgorithmSpecification"]["TrainingImage"] == "acct.dkr.ecr/tensorflow-training:2.13-cpu-py310"
    assert sorted((u.kind, u.key) for u in uploads) == [
        ("code", "tf-local/source/sourcedir.tar.gz"),
        ("data", "tf-local/checkpoints/"),
        ("data", "tf-local/input/train/"),
    ]


def test_training_input_config_equals_the_sdks(sdk):
    """amtlocal's TrainingInput builds the same Channel as SDK v2's for the same arguments (S3 URIs)."""
    from sagemaker.inputs import ShuffleConfig
    from sagemaker.inputs import TrainingInput as SdkTrainingInput

    for kwargs in (
        dict(s3_data="s3://b/train"),
        dict(
            s3_data="s3://b/train.csv",
            distribution="ShardedByS3Key",
            compression="Gzip",
            content_type="text/csv",
            record_wrapping="RecordIO",
            s3_data_type="S3Prefix",
            input_mode="FastFile",
            attribute_names=["a", "b"],
            target_attribute_name="y",
        ),
    ):
        assert amtlocal.TrainingInput(**kwargs).config == SdkTrainingInput(**kwargs).config, kwargs
    assert (
        amtlocal.TrainingInput("s3://b/t", shuffle_config=ShuffleConfig(7)).config
        == SdkTrainingInput("s3://b/t", shuffle_config=ShuffleConfig(7)).config
    )


@pytest.mark.parametrize("case", ["pytorch-spot-and-cloud-args", "tensorflow-model-dir"])
def test_tuner_over_the_estimator_sends_what_sdk_v2_sends(case, sdk, project):
    """A tuner over the estimator (PyTorch with spot, VPC, checkpoint, KMS, retry and environment arguments;
    TensorFlow with its model_dir): the tuning request equals SDK v2's field for field, after the backend's rewrites."""
    import importlib

    import boto3
    from moto import mock_aws
    from sagemaker import tuner as T

    sdk_cls, ours_cls, kwargs = CASES[case]
    module, _, name = sdk_cls.rpartition(".")
    sdk_cls = getattr(importlib.import_module(module), name)
    kwargs = {**kwargs, "model_uri": "s3://models/base.tar.gz"}
    metrics = [{"Name": "f1", "Regex": "f1: ([0-9.]+)"}]
    job = "tune-" + case[:10]
    with mock_aws():
        local = amtlocal.HyperparameterTuner(
            getattr(amtlocal, ours_cls)(**kwargs),
            "f1",
            {"lr": amtlocal.ContinuousParameter(0.001, 0.1)},
            metrics,
            max_jobs=4,
            max_parallel_jobs=2,
        ).to_request({"train": "data"}, job_name=job)
        ours = SageMakerBackend().build_request(local, project, upload=True)
        bs = boto3.Session(region_name="us-east-1")
        sm = bs.client("sagemaker")
        sent: dict = {}
        sm.meta.events.register(
            "provide-client-params.sagemaker.CreateHyperParameterTuningJob", lambda params, **_: sent.update(params)
        )
        est = sdk_cls(role=ROLE, sagemaker_session=sdk.Session(boto_session=bs, sagemaker_client=sm), **kwargs)
        T.HyperparameterTuner(
            est, "f1", {"lr": T.ContinuousParameter(0.001, 0.1)}, metrics, max_jobs=4, max_parallel_jobs=2
        ).fit(
            {"train": ours["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]},
            job_name=job,
            wait=False,
        )
        theirs = json.loads(json.dumps(sent))
        # the estimator job name (static sagemaker_job_name, code prefix) is the tuner's choice: normalized as in
        # test_sagemaker_request's parity test
        our_job = json.loads(ours["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_job_name"])
        theirs = json.loads(
            json.dumps(theirs).replace(f"/{job}/", f"/{our_job}/").replace(f'\\"{job}\\"', f'\\"{our_job}\\"')
        )
        # SDK v2 also sends the two empty range lists; AMT reads absent and empty alike (a tuner-side difference)
        for kind in ("CategoricalParameterRanges", "IntegerParameterRanges"):
            assert theirs["HyperParameterTuningJobConfig"]["ParameterRanges"].pop(kind) == []
        fo, fs = flat(ours), flat(theirs)
        assert {p: (fo.get(p), fs.get(p)) for p in set(fo) | set(fs) if fo.get(p) != fs.get(p)} == {}
        d = ours["TrainingJobDefinition"]
        assert [c["ChannelName"] for c in d["InputDataConfig"]] == ["train", "model"]
        if case.startswith("pytorch"):
            assert ours["Tags"] == [{"Key": "team", "Value": "ml"}]  # the estimator's tags label the tuning job too
            assert d["EnableManagedSpotTraining"] is True and d["StoppingCondition"]["MaxWaitTimeInSeconds"] == 7200
            assert d["CheckpointConfig"] == {"S3Uri": "s3://ck-bucket/run1", "LocalPath": "/opt/ml/checkpoints"}
        else:
            assert local["TrainingJobDefinition"]["StaticHyperParameters"]["model_dir"] == '"/opt/ml/model"'
            assert d["StaticHyperParameters"]["model_dir"] == f'"s3://{BUCKET}/{our_job}/model"'


def test_debugger_rules_profiler_and_tensorboard_objects_as_sdk_v2_sends_them(sdk, project):
    """SDK v2's own Rule / ProfilerRule / DebuggerHookConfig / ProfilerConfig / TensorBoardOutputConfig objects given
    to amtlocal's estimator give the request fields SDK v2 sends for them."""
    from moto import mock_aws
    from sagemaker.debugger import (
        DebuggerHookConfig,
        ProfilerConfig,
        ProfilerRule,
        Rule,
        TensorBoardOutputConfig,
        rule_configs,
    )

    def kwargs():  # fresh objects for each side: the SDK fills defaults into them
        return dict(
            entry_point="train.py",
            source_dir="code",
            framework_version="2.1",
            py_version="py310",
            instance_type="ml.m5.xlarge",
            instance_count=1,
            output_path="s3://my-out/",
            rules=[
                Rule.sagemaker(rule_configs.loss_not_decreasing()),
                ProfilerRule.sagemaker(rule_configs.ProfilerReport()),
            ],
            debugger_hook_config=DebuggerHookConfig(s3_output_path="s3://my-out/debug"),
            profiler_config=ProfilerConfig(s3_output_path="s3://my-out/prof", system_monitor_interval_millis=500),
            tensorboard_output_config=TensorBoardOutputConfig(s3_output_path="s3://my-out/tb"),
        )

    with mock_aws():
        import boto3

        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="my-out")
        local = amtlocal.PyTorch(**kwargs()).training_job_request({"train": "s3://b/train"}, job_name="dbg")
        ours = SageMakerBackend().build_training_request(local, project, upload=True)
        theirs = sdk_request(sdk, "sagemaker.pytorch.PyTorch", {"train": "s3://b/train"}, "dbg", **kwargs())
        for key in (
            "DebugHookConfig",
            "DebugRuleConfigurations",
            "ProfilerConfig",
            "ProfilerRuleConfigurations",
            "TensorBoardOutputConfig",
        ):
            assert ours.get(key) == theirs.get(key), key
        assert ours["DebugRuleConfigurations"][0]["RuleEvaluatorImage"].endswith(
            ".amazonaws.com/sagemaker-debugger-rules:latest"
        )
        fo, fs = flat(ours), flat(theirs)
        assert {p: (fo.get(p), fs.get(p)) for p in set(fo) | set(fs) if fo.get(p) != fs.get(p)} == {}
