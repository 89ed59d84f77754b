"""A user's script written against SageMaker Python SDK v3, unchanged: it knows nothing of amtlocal.

    python v3_user_script.py SOURCE_DIR WORK_DIR

Run with only what ``amtlocal serve`` prints exported (plus a region and dummy credentials), it trains and tunes on
the local endpoint; against AWS it would run as is (with a real role in the SDK config). It writes the digits data
as CSV, uploads it with the session's ``upload_data``, runs ``ModelTrainer.train()``, a Random and a Bayesian
``HyperparameterTuner.tune()``, a warm start from both, and prints one JSON line ``RESULT {...}`` with what it saw
(read back through the SDK's resources and boto3, as a user would check).
"""

import io
import json
import sys
import tarfile
import time
from pathlib import Path

import boto3
import numpy as np
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.parameter import IntegerParameter
from sagemaker.core.shapes import (
    HyperParameterTuningJobWarmStartConfig,
    MetricDefinition,
    ParentHyperParameterTuningJob,
)
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData, SourceCode
from sagemaker.train.tuner import HyperparameterTuner
from sklearn.datasets import load_digits

METRIC = "validation:accuracy"
METRICS = [{"Name": METRIC, "Regex": r"validation-accuracy: ([0-9\.]+)"}]
RANGES = {"n-estimators": IntegerParameter(2, 12), "max-depth": IntegerParameter(2, 8)}


def main(source_dir: str, work_dir: str) -> None:
    session = Session()
    region = session.boto_region_name
    bucket = session.default_bucket()
    work = Path(work_dir)
    (work / "data").mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    rows = np.column_stack([digits.target, digits.data])[:600]
    np.savetxt(work / "data" / "train.csv", rows, delimiter=",", fmt="%g")
    train_uri = session.upload_data(str(work / "data"), bucket=bucket, key_prefix="digits-v3/train")
    inputs = [InputData(channel_name="train", data_source=train_uri)]

    image = image_uris.retrieve("sklearn", region=region, version="1.2-1", instance_type="ml.m5.large")
    stamp = time.strftime("%H%M%S")

    def trainer() -> ModelTrainer:
        return ModelTrainer(
            training_image=image,
            source_code=SourceCode(source_dir=source_dir, entry_script="train.py", requirements="requirements.txt"),
            compute=Compute(instance_type="ml.m5.large", instance_count=1),
            hyperparameters={"n-estimators": 4, "max-depth": 4},
            base_job_name="digits-v3",
            sagemaker_session=session,
        ).with_metric_definitions([MetricDefinition(name=m["Name"], regex=m["Regex"]) for m in METRICS])

    model_trainer = trainer()
    model_trainer.train(input_data_config=inputs)
    training_job = model_trainer._latest_training_job.training_job_name

    def tuner(strategy: str, warm_start=None, model_trainer=None) -> HyperparameterTuner:
        return HyperparameterTuner(
            model_trainer or trainer(),
            METRIC,
            RANGES,
            metric_definitions=METRICS,
            strategy=strategy,
            objective_type="Maximize",
            max_jobs=3,
            max_parallel_jobs=2,
            warm_start_config=warm_start,
        )

    random_tuner = tuner("Random", model_trainer=model_trainer)  # the trainer just trained
    random_tuner.tune(inputs=inputs, job_name=f"digits-v3-rnd-{stamp}", wait=True)
    bayes_tuner = tuner("Bayesian")
    bayes_tuner.tune(inputs=inputs, job_name=f"digits-v3-bay-{stamp}", wait=True)
    parents = [random_tuner.latest_tuning_job, bayes_tuner.latest_tuning_job]
    warm = HyperParameterTuningJobWarmStartConfig(
        warm_start_type="IdenticalDataAndAlgorithm",
        parent_hyper_parameter_tuning_jobs=[
            ParentHyperParameterTuningJob(hyper_parameter_tuning_job_name=p.hyper_parameter_tuning_job_name)
            for p in parents
        ],
    )
    warm_tuner = tuner("Bayesian", warm_start=warm)
    warm_tuner.tune(inputs=inputs, job_name=f"digits-v3-warm-{stamp}", wait=True)

    sm = boto3.client("sagemaker")
    result = {"bucket": bucket, "train_uri": train_uri, "image": image, "training_job": training_job, "tuning": {}}
    result["training"] = _describe_training(sm, training_job)
    result["training"]["model_members"] = _model_members(result["training"]["model"])
    for key, t in (("random", random_tuner), ("bayesian", bayes_tuner), ("warm", warm_tuner)):
        name = t.latest_tuning_job.hyper_parameter_tuning_job_name
        desc = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        frame = t.analytics().dataframe()
        result["tuning"][key] = {
            "name": name,
            "status": desc["HyperParameterTuningJobStatus"],
            "strategy": desc["HyperParameterTuningJobConfig"]["Strategy"],
            "counters": desc["TrainingJobStatusCounters"],
            "best_training_job": t.best_training_job(),
            "best_described": desc["BestTrainingJob"]["TrainingJobName"],
            "overall_best": desc.get("OverallBestTrainingJob", {}).get("TrainingJobName"),
            "warm_start": desc.get("WarmStartConfig"),
            "analytics": json.loads(frame.to_json(orient="records", date_format="iso")),
            "jobs": {
                row["TrainingJobName"]: _describe_training(sm, row["TrainingJobName"])
                for row in json.loads(frame.to_json(orient="records", date_format="iso"))
            },
        }
    print("RESULT " + json.dumps(result, default=str))


def _describe_training(sm, name: str) -> dict:
    desc = sm.describe_training_job(TrainingJobName=name)
    return {
        "status": desc["TrainingJobStatus"],
        "hyperparameters": desc.get("HyperParameters", {}),
        "final_metrics": {m["MetricName"]: m["Value"] for m in desc.get("FinalMetricDataList", [])},
        "model": desc.get("ModelArtifacts", {}).get("S3ModelArtifacts"),
        "failure": desc.get("FailureReason"),
    }


def _model_members(uri: str) -> list:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        return sorted(archive.getnames())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
