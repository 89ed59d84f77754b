"""Shared fixtures: a private local store per test and a builder of small tuning requests around a script."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "cases"
SCRIPTS = CASES / "scripts"

F1 = {"Name": "f1", "Regex": r"f1:\s+(-?[0-9\.]+|nan|inf)"}
LOSS = {"Name": "loss", "Regex": r"loss: ([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"}
SCORE = {"Name": "score", "Regex": r"score=([-+]?[0-9.]+)"}
VAL_ACC = {"Name": "val_acc", "Regex": r"val_acc: ([0-9.]+)"}


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own AMTLOCAL_HOME, and stopped jobs get a short grace period."""
    monkeypatch.setenv("AMTLOCAL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AMTLOCAL_STORAGE", raising=False)
    monkeypatch.delenv("AMTLOCAL_BACKEND", raising=False)
    monkeypatch.setenv("AMTLOCAL_STOP_GRACE_SECONDS", "3")


def fake_aws(monkeypatch, tmp_path) -> None:
    """Fake credentials and region for moto/Stubber tests; no shared config or credentials file; no role or endpoint
    from the environment. Test modules that talk to (mocked) AWS call it from an autouse fixture."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AMTLOCAL_ROLE_ARN", "SAGEMAKER_ROLE_ARN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)


GOOD_SCRIPT = "import argparse\np = argparse.ArgumentParser(); p.add_argument('-x', type=int); a = p.parse_args()\nprint('f1: %d' % a.x)\n"


@pytest.fixture
def store(tmp_path):
    from amtlocal.backends.local import LocalStore

    return LocalStore(tmp_path / "home")


@pytest.fixture
def workdir(tmp_path):
    """A folder with ``code/`` and ``data/train.csv``; specs are written here."""
    (tmp_path / "code").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("1,2\n")
    return tmp_path


def use_script(workdir: Path, source: str | Path, name: str = "train.py") -> None:
    """Put a script into ``workdir/code`` as the entry point (a case file name, a path, or source text)."""
    src = SCRIPTS / source if isinstance(source, str) and source.endswith(".py") and "\n" not in source else None
    target = workdir / "code" / name
    if src is not None:
        shutil.copy(src, target)
    elif isinstance(source, Path):
        shutil.copy(source, target)
    else:
        target.write_text(source)


def make_request(name: str = "t", metrics=(F1,), objective: str = "f1", objective_type: str = "Maximize",
                 strategy: str = "Random", max_jobs: int | None = 2, parallel: int = 1, max_runtime: int = 60,
                 integer=(), continuous=(), categorical=(), static=None, seed: int | None = 1, **config) -> dict:
    """A CreateHyperParameterTuningJob request whose code is ``file://code`` and data ``file://data``."""
    ranges = {}
    if integer:
        ranges["IntegerParameterRanges"] = [dict(Name=n, MinValue=str(lo), MaxValue=str(hi), ScalingType=s) for n, lo, hi, s in integer]
    if continuous:
        ranges["ContinuousParameterRanges"] = [dict(Name=n, MinValue=str(lo), MaxValue=str(hi), ScalingType=s) for n, lo, hi, s in continuous]
    if categorical:
        ranges["CategoricalParameterRanges"] = [dict(Name=n, Values=list(v)) for n, v in categorical]
    limits = {"MaxParallelTrainingJobs": parallel}
    if max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    cfg = {"Strategy": strategy, "HyperParameterTuningJobObjective": {"Type": objective_type, "MetricName": objective},
           "ResourceLimits": limits, "ParameterRanges": ranges, **config}
    if seed is not None:
        cfg["RandomSeed"] = seed
    hps = {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": '"file://code"', "sagemaker_container_log_level": "20"}
    hps.update(static or {})
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": cfg,
        "TrainingJobDefinition": {
            "StaticHyperParameters": hps,
            "AlgorithmSpecification": {"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                                       "TrainingInputMode": "File", "MetricDefinitions": list(metrics)},
            "RoleArn": "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole",
            "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "file://data", "S3DataDistributionType": "FullyReplicated"}}}],
            "OutputDataConfig": {"S3OutputPath": "s3://example-bucket/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
        },
    }


def run_job(request: dict, workdir: Path, store=None, **kwargs) -> dict:
    """Run a request to its end with the local backend; returns DescribeHyperParameterTuningJob."""
    from amtlocal.backends.local import LocalStore, LocalTuningJob
    from amtlocal.spec import TuningSpec

    return LocalTuningJob(TuningSpec(request, workdir), store or LocalStore(), stop_grace=kwargs.pop("stop_grace", 3), **kwargs).run()


def summaries(name: str, store=None) -> list[dict]:
    from amtlocal.backends.local import LocalStore, list_training_jobs

    return list_training_jobs((store or LocalStore()).load(name), MaxResults=100)["TrainingJobSummaries"]


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
