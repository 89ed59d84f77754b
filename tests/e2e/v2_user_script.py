"""A user's script written against SageMaker Python SDK v2, unchanged: it knows nothing of amtlocal.

    python v2_user_script.py SOURCE_DIR WORK_DIR

Run with only what ``amtlocal serve`` prints exported (plus a region and dummy credentials), it trains and tunes on
the local endpoint; against AWS it would run as is (with a real role in the SDK config). It writes the digits data
as CSV, uploads it with the session's ``upload_data``, runs ``SKLearn.fit()``, a Random and a Bayesian
``HyperparameterTuner.fit()`` + ``wait()``, a warm start from both, and prints one JSON line ``RESULT {...}`` with
what it saw (read back through the SDK's analytics and boto3, as a user would check).
"""

import io
import json
import sys
import tarfile
import time
from pathlib import Path

import boto3
import numpy as np
from sagemaker.session import Session
from sagemaker.sklearn import SKLearn
from sagemaker.tuner import HyperparameterTuner, IntegerParameter, WarmStartConfig, WarmStartTypes
from sklearn.datasets import load_digits

METRIC = "validation:accuracy"
METRICS = [{"Name": METRIC, "Regex": r"validation-accuracy: ([0-9\.]+)"}]
RANGES = {"n-estimators": IntegerParameter(2, 12), "max-depth": IntegerParameter(2, 8)}


def main(source_dir: str, work_dir: str) -> None:
    session = Session()
    bucket = session.default_bucket()
    work = Path(work_dir)
    (work / "data").mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    rows = np.column_stack([digits.target, digits.data])[:600]
    np.savetxt(work / "data" / "train.csv", rows, delimiter=",", fmt="%g")
    train_uri = session.upload_data(str(work / "data"), bucket=bucket, key_prefix="digits-v2/train")
    inputs = {"train": train_uri}

    def estimator() -> SKLearn:
        return SKLearn(
            entry_point="train.py",
            source_dir=source_dir,
            framework_version="1.2-1",
            py_version="py3",
            instance_type="ml.m5.large",
            instance_count=1,
            hyperparameters={"n-estimators": 4, "max-depth": 4},
            metric_definitions=METRICS,
            base_job_name="digits-v2",
            sagemaker_session=session,
        )

    sklearn = estimator()
    sklearn.fit(inputs)
    training_job = sklearn.latest_training_job.name
    metrics_frame = sklearn.training_job_analytics.dataframe()

    def tuner(strategy: str, warm_start_config=None) -> HyperparameterTuner:
        return HyperparameterTuner(
            estimator(),
            METRIC,
            RANGES,
            metric_definitions=METRICS,
            strategy=strategy,
            objective_type="Maximize",
            max_jobs=3,
            max_parallel_jobs=2,
            warm_start_config=warm_start_config,
        )

    stamp = time.strftime("%H%M%S")
    random_tuner = tuner("Random")
    random_tuner.fit(inputs, job_name=f"digits-v2-rnd-{stamp}", wait=False)
    bayes_tuner = tuner("Bayesian")
    bayes_tuner.fit(inputs, job_name=f"digits-v2-bay-{stamp}")
    random_tuner.wait()
    bayes_tuner.wait()
    parents = {random_tuner.latest_tuning_job.name, bayes_tuner.latest_tuning_job.name}
    warm_tuner = tuner("Bayesian", WarmStartConfig(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents=parents))
    warm_tuner.fit(inputs, job_name=f"digits-v2-warm-{stamp}")
    warm_tuner.wait()

    sm = boto3.client("sagemaker")
    result = {"bucket": bucket, "train_uri": train_uri, "training_job": training_job, "tuning": {}}
    result["training"] = _describe_training(sm, training_job)
    result["training"]["image"] = sklearn.training_image_uri()
    result["training"]["cloudwatch"] = json.loads(metrics_frame.to_json(orient="records"))
    result["training"]["model_members"] = _model_members(result["training"]["model"])
    for key, t in (("random", random_tuner), ("bayesian", bayes_tuner), ("warm", warm_tuner)):
        name = t.latest_tuning_job.name
        desc = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        frame = t.analytics().dataframe()
        rows = json.loads(frame.to_json(orient="records", date_format="iso"))
        result["tuning"][key] = {
            "name": name,
            "status": desc["HyperParameterTuningJobStatus"],
            "strategy": desc["HyperParameterTuningJobConfig"]["Strategy"],
            "counters": desc["TrainingJobStatusCounters"],
            "best_training_job": t.best_training_job(),
            "best_described": desc["BestTrainingJob"]["TrainingJobName"],
            "overall_best": desc.get("OverallBestTrainingJob", {}).get("TrainingJobName"),
            "warm_start": desc.get("WarmStartConfig"),
            "analytics": rows,
            "jobs": {row["TrainingJobName"]: _describe_training(sm, row["TrainingJobName"]) for row in rows},
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
