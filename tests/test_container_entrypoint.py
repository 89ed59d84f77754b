"""AlgorithmSpecification.ContainerEntrypoint in the local backend, without the SDK v3 venv (tests/test_sdk3.py runs
the SDK's own drivers): what runs, what it is given, and the requests rejected before anything starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amtlocal.backends import get_backend
from amtlocal.container import ContainerEntrypointJob, ScriptModeJob, optml_support
from amtlocal.container import _entrypoint as entrypoint_module
from amtlocal.container._paths import OptMlSupport
from amtlocal.exceptions import AmtValidationError

pytestmark = pytest.mark.skipif(not optml_support().available, reason="needs /opt/ml namespaces (Linux)")

ENTRY = """\
import json, os, sys
print("SEEN " + json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ),
      "config": sorted(os.listdir("/opt/ml/input/config")), "data": sorted(os.listdir("/opt/ml/input/data"))}))
open("/opt/ml/model/m.txt", "w").write("model")
sys.exit(int(os.environ.get("EXIT", "0")))
"""


def _request(tmp_path: Path, name: str, **env) -> dict:
    drivers = tmp_path / "drivers"
    drivers.mkdir(exist_ok=True)
    (drivers / "entry.py").write_text(ENTRY)
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "d.csv").write_text("1\n")

    def channel(name, path):
        return {"ChannelName": name, "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": path}}}

    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["/bin/bash"],
            "ContainerArguments": ["-c", "python3 /opt/ml/input/data/sm_drivers/entry.py --a 1"],
        },
        "HyperParameters": {"lr": "0.1"},
        "InputDataConfig": [channel("train", "data"), channel("sm_drivers", "drivers")],
        "OutputDataConfig": {"S3OutputPath": (tmp_path / "out").as_uri()},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "RoleArn": "arn:aws:iam::000000000000:role/amtlocal-local",
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        "Environment": dict(env),
    }


def _seen(home: Path, name: str) -> dict:
    (log,) = list(home.glob(f"**/{name}/logs/output.log"))
    return json.loads(next(line for line in log.read_text().splitlines() if line.startswith("SEEN "))[5:])


def test_the_entrypoint_runs_in_opt_ml_with_the_platform_environment_only(tmp_path):
    backend = get_backend("local", home=tmp_path / "home")
    backend.create_training_job(_request(tmp_path, "ep-ok", MY="x"), base_dir=tmp_path)
    desc = backend.describe_training_job("ep-ok")
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    seen = _seen(tmp_path / "home", "ep-ok")
    assert seen["argv"] == ["/opt/ml/input/data/sm_drivers/entry.py", "--a", "1"]  # ContainerArguments, as given
    assert seen["cwd"].endswith("ep-ok")  # no code channel: the job folder
    assert seen["config"] == ["hyperparameters.json", "inputdataconfig.json", "resourceconfig.json"]
    assert seen["data"] == ["sm_drivers", "train"]
    env = seen["env"]
    assert env["TRAINING_JOB_NAME"] == "ep-ok" and env["TRAINING_JOB_ARN"].endswith(":training-job/ep-ok")
    assert env["MY"] == "x"
    assert not [k for k in env if k.startswith("SM_")]  # no toolkit: the container's own scripts set SM_*
    assert Path(desc["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("file://")).is_file()


def test_a_failing_entrypoint_fails_the_job_with_its_exit_code(tmp_path):
    backend = get_backend("local", home=tmp_path / "home")
    backend.create_training_job(_request(tmp_path, "ep-fail", EXIT="3"), base_dir=tmp_path)
    desc = backend.describe_training_job("ep-fail")
    assert desc["TrainingJobStatus"] == "Failed"
    assert "ExitCode 3" in desc["FailureReason"]


def test_a_requirements_file_other_than_requirements_txt_is_rejected(tmp_path):
    req = _request(tmp_path, "ep-req")
    (tmp_path / "drivers" / "sourcecode.json").write_text(json.dumps({"entry_script": "t.py", "requirements": "r.txt"}))
    definition = dict(req, StaticHyperParameters=req["HyperParameters"])
    with pytest.raises(AmtValidationError, match="SourceCode.requirements 'r.txt'") as e:
        ScriptModeJob.from_definition(definition, tmp_path, "CreateTrainingJob")
    assert e.value.field == "CreateTrainingJob.InputDataConfig[sm_drivers]"
    (tmp_path / "drivers" / "sourcecode.json").write_text(json.dumps({"entry_script": "t.py", "requirements": None}))
    job = ScriptModeJob.from_definition(definition, tmp_path, "CreateTrainingJob")
    assert isinstance(job, ContainerEntrypointJob) and job.program == "t.py" and not job.installs_requirements


def test_no_opt_ml_here_rejects_the_request_before_it_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(entrypoint_module, "optml_support", lambda: OptMlSupport(False, "not Linux"))
    req = _request(tmp_path, "ep-nons")
    with pytest.raises(AmtValidationError, match=r"cannot show here \(not Linux\)") as e:
        ScriptModeJob.from_definition(dict(req, StaticHyperParameters={}), tmp_path, "CreateTrainingJob")
    assert e.value.field == "CreateTrainingJob.AlgorithmSpecification.ContainerEntrypoint"
