"""Helpers for testing code that uses amtlocal (and for amtlocal's own test suite), as ``optuna.testing`` is Optuna's.

Public and importable (``from amtlocal.testing import make_request, run_job``), unlike pytest's ``conftest.py``, so
test modules, benchmarks and user projects share one builder of small requests. Importing this module is cheap: it
imports only the standard library; the local backend loads when :func:`run_job` or :func:`summaries` is called.

Typical use (``workdir`` is a folder with ``code/`` and ``data/train.csv``)::

    use_script(workdir, GOOD_SCRIPT)
    desc = run_job(make_request("t", integer=[("x", 1, 9, "Auto")], max_jobs=3), workdir)
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

# MetricDefinitions (AMT's ``{"Name", "Regex"}``) for the metrics the test scripts print.
F1 = {"Name": "f1", "Regex": r"f1:\s+(-?[0-9\.]+|nan|inf)"}
LOSS = {"Name": "loss", "Regex": r"loss: ([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"}
SCORE = {"Name": "score", "Regex": r"score=([-+]?[0-9.]+)"}
VAL_ACC = {"Name": "val_acc", "Regex": r"val_acc: ([0-9.]+)"}

#: A training script that takes ``-x <int>`` and prints ``f1: <x>``: the objective equals the hyperparameter.
GOOD_SCRIPT = (
    "import argparse\np = argparse.ArgumentParser(); p.add_argument('-x', type=int); a = p.parse_args()\n"
    "print('f1: %d' % a.x)\n"
)

ROLE_ARN = "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def fake_aws(monkeypatch: Any, tmp_path: Path) -> None:
    """Fake credentials and region (us-east-1) for moto/Stubber tests, through pytest's ``monkeypatch``.

    No shared config or credentials file is read (they point into ``tmp_path``), and no profile, session token, role
    or endpoint is taken from the environment, so a test never reaches a real AWS account. Test modules that talk to
    (mocked) AWS call it from an autouse fixture.
    """
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    for var in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AMTLOCAL_ROLE_ARN",
        "SAGEMAKER_ROLE_ARN",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(var, raising=False)


def use_script(workdir: Path, source: str | Path, name: str = "train.py") -> None:
    """Write the entry point ``workdir/code/<name>``: a copy of the file ``source`` (a Path) or the text ``source``.

    Raises:
        ValueError: ``source`` is a str that looks like a file name (one line ending in ``.py``); pass a Path.
    """
    target = Path(workdir) / "code" / name
    if isinstance(source, Path):
        shutil.copy(source, target)
    elif "\n" not in source and source.strip().endswith(".py"):
        raise ValueError(f"use_script: {source!r} looks like a file name; pass a Path to copy a file, or source text")
    else:
        target.write_text(source)


def make_request(
    name: str = "t",
    metrics=(F1,),
    objective: str = "f1",
    objective_type: str = "Maximize",
    strategy: str = "Random",
    max_jobs: int | None = 2,
    parallel: int = 1,
    max_runtime: int = 60,
    integer=(),
    continuous=(),
    categorical=(),
    static: dict[str, str] | None = None,
    seed: int | None = 1,
    **config: Any,
) -> dict[str, Any]:
    """A CreateHyperParameterTuningJob request whose code is ``file://code`` (``train.py``) and data ``file://data``.

    Args:
        name: HyperParameterTuningJobName.
        metrics: MetricDefinitions (``{"Name", "Regex"}`` dicts).
        objective, objective_type: HyperParameterTuningJobObjective's MetricName and Type (Maximize/Minimize).
        strategy: Random, Bayesian, Grid or Hyperband.
        max_jobs, parallel: ResourceLimits' MaxNumberOfTrainingJobs (None leaves it out) and MaxParallelTrainingJobs.
        max_runtime: StoppingCondition.MaxRuntimeInSeconds of each training job.
        integer, continuous: ``(name, min, max, scaling_type)`` tuples for Integer/ContinuousParameterRanges.
        categorical: ``(name, values)`` tuples for CategoricalParameterRanges.
        static: extra StaticHyperParameters (strings, as the API takes them).
        seed: RandomSeed (None leaves it out).
        **config: further HyperParameterTuningJobConfig fields (e.g. ``TrainingJobEarlyStoppingType``).
    """
    ranges: dict[str, list[dict[str, Any]]] = {}
    if integer:
        ranges["IntegerParameterRanges"] = [
            dict(Name=n, MinValue=str(lo), MaxValue=str(hi), ScalingType=s) for n, lo, hi, s in integer
        ]
    if continuous:
        ranges["ContinuousParameterRanges"] = [
            dict(Name=n, MinValue=str(lo), MaxValue=str(hi), ScalingType=s) for n, lo, hi, s in continuous
        ]
    if categorical:
        ranges["CategoricalParameterRanges"] = [dict(Name=n, Values=list(v)) for n, v in categorical]
    limits = {"MaxParallelTrainingJobs": parallel}
    if max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    cfg: dict[str, Any] = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"Type": objective_type, "MetricName": objective},
        "ResourceLimits": limits,
        "ParameterRanges": ranges,
        **config,
    }
    if seed is not None:
        cfg["RandomSeed"] = seed
    hps = {
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": '"file://code"',
        "sagemaker_container_log_level": "20",
    }
    hps.update(static or {})
    channel = {
        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "file://data", "S3DataDistributionType": "FullyReplicated"}
    }
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": cfg,
        "TrainingJobDefinition": {
            "StaticHyperParameters": hps,
            "AlgorithmSpecification": {
                "TrainingImage": SKLEARN_IMAGE,
                "TrainingInputMode": "File",
                "MetricDefinitions": list(metrics),
            },
            "RoleArn": ROLE_ARN,
            "InputDataConfig": [{"ChannelName": "train", "DataSource": channel}],
            "OutputDataConfig": {"S3OutputPath": "s3://example-bucket/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
        },
    }


def run_job(request: dict[str, Any], workdir: Path, store: Any = None, **kwargs: Any) -> dict[str, Any]:
    """Run ``request`` to its end with the local backend in this process; returns DescribeHyperParameterTuningJob.

    ``store`` is a LocalStore (default: the one under ``$AMTLOCAL_HOME``); ``stop_grace`` (seconds, default 3) and
    further keyword arguments go to LocalTuningJob. Raises what the local backend raises (AmtValidationError, ...).
    """
    from amtlocal.backends.local import LocalStore, LocalTuningJob
    from amtlocal.spec import TuningSpec

    job = LocalTuningJob(
        TuningSpec(request, workdir), store or LocalStore(), stop_grace=kwargs.pop("stop_grace", 3), **kwargs
    )
    return job.run()


def summaries(name: str, store: Any = None) -> list[dict[str, Any]]:
    """Every HyperParameterTrainingJobSummary of local tuning job ``name`` (first page of up to 100)."""
    from amtlocal.backends.local import LocalStore, list_training_jobs

    return list_training_jobs((store or LocalStore()).load(name), MaxResults=100)["TrainingJobSummaries"]


def alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie counts as gone). Linux only: reads ``/proc/<pid>/stat``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


#: The training script of :func:`api_project`: ``--learning-rate R --sleep S``; sleeps S s, prints
#: ``validation:score=<10 R>``.
API_TRAIN_SCRIPT = """\
import argparse, time
p = argparse.ArgumentParser()
p.add_argument("--learning-rate", type=float)
p.add_argument("--sleep", type=float, default=0)
a = p.parse_args()
time.sleep(a.sleep)
print(f"validation:score={a.learning_rate * 10:.4f}")
"""


def api_project(folder: Path) -> Path:
    """A user's project for API tests (``amtlocal serve``, ``amtlocal.client()``): ``code/train.py``
    (:data:`API_TRAIN_SCRIPT`) and ``data/train.csv``. Returns ``folder``."""
    (folder / "code").mkdir()
    (folder / "code" / "train.py").write_text(API_TRAIN_SCRIPT)
    (folder / "data").mkdir()
    (folder / "data" / "train.csv").write_text("1,2\n")
    return folder


def api_tuning_request(project: Path, name: str, max_jobs: int = 3, sleep: str = "0", parallel: int = 1) -> dict:
    """A CreateHyperParameterTuningJob request for :func:`api_project` as a boto3 user writes it: Random over
    ``learning-rate`` (seed 7), objective ``validation:score``, ``parallel`` training jobs at a time, each sleeping
    ``sleep`` seconds first; output to the estimators' local placeholder."""
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:score"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "learning-rate", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Linear"}
                ]
            },
            "RandomSeed": 7,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "sagemaker_program": '"train.py"',
                "sagemaker_submit_directory": json.dumps(f"file://{project / 'code'}"),
                "sleep": sleep,
            },
            "AlgorithmSpecification": {
                "TrainingImage": SKLEARN_IMAGE,
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "validation:score", "Regex": r"validation:score=([0-9.]+)"}],
            },
            "RoleArn": "arn:aws:iam::000000000000:role/amtlocal-local",
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"file://{project / 'data'}"}},
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://amtlocal-local/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 120},
        },
    }


def described_when(sm: Any, name: str, statuses: tuple[str, ...], timeout: float) -> dict:
    """DescribeHyperParameterTuningJob of ``name`` (through the boto3-style client ``sm``) once its status is one of
    ``statuses``, polled every 0.2 s. Raises AssertionError naming the last status after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        desc = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if desc["HyperParameterTuningJobStatus"] in statuses:
            return desc
        assert time.monotonic() < deadline, f"{name} still {desc['HyperParameterTuningJobStatus']} after {timeout} s"
        time.sleep(0.2)


def make_wheel(folder: Path, module: str, value: int = 1, version: str = "0.1") -> Path:
    """Write a pure-Python wheel of one module ``module`` (``VALUE = value``) into ``folder``, built by hand (offline,
    no build tool), for ``requirements.txt`` tests; returns its path (``<module>-<version>-py3-none-any.whl``)."""
    import base64
    import hashlib
    import zipfile

    dist = module.replace("_", "-")
    info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VALUE = {value}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: amtlocal-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    path = Path(folder) / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


__all__ = [
    "API_TRAIN_SCRIPT",
    "F1",
    "GOOD_SCRIPT",
    "LOSS",
    "ROLE_ARN",
    "SCORE",
    "make_wheel",
    "SKLEARN_IMAGE",
    "VAL_ACC",
    "alive",
    "api_project",
    "api_tuning_request",
    "described_when",
    "fake_aws",
    "make_request",
    "run_job",
    "summaries",
    "use_script",
]
