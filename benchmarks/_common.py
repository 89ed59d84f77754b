"""Helpers shared by the benchmarks: a throwaway store, a spec runner, a timer."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def timer():
    """``with timer() as t: ...`` then ``t()`` is the elapsed wall time in seconds."""
    start = time.perf_counter()
    end = [None]
    yield lambda: (end[0] or time.perf_counter()) - start
    end[0] = time.perf_counter()


def run_request(request: dict, base_dir: Path, launcher: str, home: Path | None = None) -> tuple[float, dict]:
    """Run a tuning request with the local backend and the given launcher; returns (wall seconds, describe)."""
    from amtlocal.backends.local import LocalStore, LocalTuningJob
    from amtlocal.spec import TuningSpec

    os.environ["AMTLOCAL_LAUNCHER"] = launcher
    home = home or Path(tempfile.mkdtemp(prefix="amtlocal-bench-"))
    _ = LocalStore(home).storage  # the store's one-time creation (tables) is not part of a tuning job's cost
    start = time.perf_counter()
    desc = LocalTuningJob(TuningSpec(request, base_dir), LocalStore(home)).run()
    return time.perf_counter() - start, desc


def trivial_request(name: str, code_dir: Path, jobs: int, parallel: int = 1, strategy: str = "Random") -> dict:
    """A tuning request over a script that prints one metric."""
    (code_dir / "train.py").write_text(
        "import argparse\np = argparse.ArgumentParser(); p.add_argument('-x', type=float)\n"
        "print('f1: %r' % p.parse_args().x)\n"
    )
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "RandomSeed": 1,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "f1"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1", "ScalingType": "Linear"}]
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "sagemaker_program": '"train.py"',
                "sagemaker_submit_directory": json.dumps(f"file://{code_dir}"),
            },
            "AlgorithmSpecification": {
                "TrainingImage": "sagemaker-scikit-learn:1.2-1-cpu-py3",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "f1", "Regex": r"f1: ([0-9.eE+-]+)"}],
            },
            "RoleArn": "arn:aws:iam::000000000000:role/amtlocal-local",
            "OutputDataConfig": {"S3OutputPath": "s3://amtlocal-local/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }
