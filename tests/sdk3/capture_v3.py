"""Run in the SDK v3 venv (``.venv-sdk3``): build the requests SageMaker Python SDK v3 sends, with no AWS.

    .venv-sdk3/bin/python tests/sdk3/capture_v3.py SOURCE_DIR DATA_DIR OUT_DIR

Writes ``OUT_DIR/requests.json`` with:

- ``training``: the CreateTrainingJob request of ``ModelTrainer.train()``, as the SDK builds it
  (``ModelTrainer._create_training_job_args(boto3=True)``: the same dict ``train()`` hands to ``TrainingJob.create``,
  PascalCase), its ``s3://`` channels replaced by ``file://`` copies of what the SDK uploaded;
- ``tuning``: the CreateHyperParameterTuningJob request of ``HyperparameterTuner.tune()`` (the SDK's own
  ``_prepare_model_trainer_for_tuning``/``_prepare_for_tuning``/``_build_tuning_job_config``/
  ``_build_training_job_definition``, serialized as ``HyperParameterTuningJob.create`` serializes it), its
  ``sourcedir.tar.gz`` and channels likewise made local;
- ``cli_args``: what the SDK's own driver helper ``hyperparameters_to_cli_args`` makes of the ModelTrainer's
  hyperparameters (the argv tail ``basic_script_driver.py`` builds), for the test to compare with what the script saw;
- ``tuner_name``: ``amtlocal.viz``'s name for a v3 tuner whose ``latest_tuning_job`` is set (item 6);
- ``image_uris_module``: the module amtlocal's sagemaker backend resolves images with under v3.

S3, STS and IAM calls go to moto's in-process mock (``mock_aws``): the SDK's packing and upload code runs unchanged and
the uploaded objects are read back from the mock into ``OUT_DIR``.
"""

from __future__ import annotations

import json
import os
import sys
import tarfile
from pathlib import Path

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
# moto has no iam:SimulatePrincipalPolicy: skip the SDK's client-side role check (iam_role_resolver.py) and its
# staging-bucket probe (ModelTrainer._resolve_staging_bucket, patched below); neither changes the request's shape.
os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
HYPERPARAMETERS = {"n-estimators": 10, "flag": True, "lr": 0.1, "criterion": "gini", "x": 3, "layers": [1, 2]}
METRICS = [{"Name": "valid-f1", "Regex": r"f1:\s+(-?[0-9\.]+)"}]


def _download(s3, uri: str, dest: Path) -> Path:
    """Every object under ``uri`` (a prefix or one key) into ``dest``; a single ``.tar.gz`` key stays a file."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    objs = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
    dest.mkdir(parents=True, exist_ok=True)
    if len(objs) == 1 and objs[0]["Key"] == key:
        target = dest / Path(key).name
        s3.download_file(bucket, key, str(target))
        return target
    for obj in objs:
        rel = obj["Key"][len(key) :].lstrip("/")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, obj["Key"], str(target))
    return dest


def _localize(s3, channels: list[dict], out: Path, tag: str) -> None:
    for ch in channels:
        src = ch["DataSource"]["S3DataSource"]
        if src["S3Uri"].startswith("s3://") and "amtlocal-data" not in src["S3Uri"]:
            src["S3Uri"] = _download(s3, src["S3Uri"], out / tag / ch["ChannelName"]).as_uri()


def main(source_dir: str, data_dir: str, out_dir: str) -> None:
    import boto3
    from moto import mock_aws

    out = Path(out_dir)
    with mock_aws():
        from sagemaker.core.helper.session_helper import Session
        from sagemaker.core.parameter import IntegerParameter
        from sagemaker.core.utils.utils import serialize
        from sagemaker.train import ModelTrainer
        from sagemaker.train.configs import Compute, InputData, SourceCode
        from sagemaker.train.container_drivers.common.utils import hyperparameters_to_cli_args
        from sagemaker.train.tuner import HyperparameterTuner

        ModelTrainer._resolve_staging_bucket = lambda self: (self.sagemaker_session.default_bucket(), None)
        boto = boto3.Session(region_name="us-east-1")
        s3 = boto.client("s3")
        session = Session(boto_session=boto, default_bucket="amtlocal-sdk3")
        data_uri = "s3://amtlocal-data/train"  # rewritten to the local data folder below

        def trainer(**source) -> ModelTrainer:
            return ModelTrainer(
                training_image=IMAGE,
                source_code=SourceCode(source_dir=source_dir, **source),
                compute=Compute(instance_type="ml.m5.large", instance_count=1),
                hyperparameters=dict(HYPERPARAMETERS),
                role=ROLE,
                sagemaker_session=session,
                base_job_name="sdk3",
                environment={"MY_ENV": "from-trainer"},
            )

        result: dict = {"cli_args": hyperparameters_to_cli_args({k: str(v) for k, v in {}.items()})}
        requests = {}
        for kind, source in (
            ("training", {"entry_script": "train.py", "requirements": "requirements.txt"}),
            ("command", {"command": "python train.py --from-command yes", "requirements": "requirements.txt"}),
        ):
            mt = trainer(**source)
            req = mt._create_training_job_args(
                input_data_config=[InputData(channel_name="train", data_source=data_uri)], boto3=True
            )
            req = json.loads(json.dumps(req, default=str))
            _localize(s3, req["InputDataConfig"], out, kind)
            requests[kind] = req
        # hyperparameters.json holds the request's strings; the driver's SM_HPS is their safe_deserialize
        hps = requests["training"]["HyperParameters"]
        result["cli_args"] = hyperparameters_to_cli_args(dict(sorted(hps.items())))

        mt = trainer(entry_script="train.py")
        tuner = HyperparameterTuner(
            mt,
            "valid-f1",
            {"max-depth": IntegerParameter(1, 3)},
            metric_definitions=METRICS,
            max_jobs=2,
            max_parallel_jobs=1,
            strategy="Random",
        )
        tuner._prepare_model_trainer_for_tuning(tuner.model_trainer, None, None)
        tuner._prepare_for_tuning(job_name="sdk3-tune")
        tuning = serialize(
            {
                "HyperParameterTuningJobName": tuner._current_job_name,
                "HyperParameterTuningJobConfig": tuner._build_tuning_job_config(),
                "TrainingJobDefinition": tuner._build_training_job_definition({"train": data_uri}),
            }
        )
        tuning = json.loads(json.dumps(tuning, default=str))
        definition = tuning["TrainingJobDefinition"]
        static = definition["StaticHyperParameters"]
        tar = _download(s3, static["sagemaker_submit_directory"], out / "tuning" / "sourcedir")
        with tarfile.open(tar) as t:
            result["sourcedir_members"] = sorted(t.getnames())
        static["sagemaker_submit_directory"] = tar.as_uri()
        _localize(s3, definition["InputDataConfig"], out, "tuning")
        requests["tuning"] = tuning

        for req in (requests["training"], requests["command"], requests["tuning"]["TrainingJobDefinition"]):
            for ch in req["InputDataConfig"]:
                src = ch["DataSource"]["S3DataSource"]
                if src["S3Uri"] == data_uri:
                    src["S3Uri"] = Path(data_dir).resolve().as_uri()

        # item 6: a v3 tuner object as amtlocal's viz/report/pull take it
        from sagemaker.core.resources import HyperParameterTuningJob

        tuner.latest_tuning_job = HyperParameterTuningJob(hyper_parameter_tuning_job_name="sdk3-tune")
        from amtlocal.backends.sagemaker import image_uris_module, tuning_job_name_of

        result["tuner_name"] = tuning_job_name_of(tuner)
        from amtlocal.viz._data import resolve_jobs  # what visualize_tuning_job and write_report (report) call

        ((name, backend),) = resolve_jobs(tuner)
        result["viz_job"] = [name, type(backend).__name__]
        result["image_uris_module"] = image_uris_module().__name__
        from amtlocal.backends.sagemaker._images import resolve_training_image

        # what the sagemaker backend sends for a registry-less image, resolved through sagemaker.core.image_uris
        result["resolved_image"] = resolve_training_image("sagemaker-scikit-learn:1.2-1-cpu-py3", "eu-west-1")
        result.update(requests)
    (out / "requests.json").write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:4])
