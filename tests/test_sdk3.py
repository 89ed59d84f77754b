"""SDK v3 (sagemaker 3.27.0) requests run by the local backend: what the entry script sees, field by field.

The requests come from the installed SDK v3 itself (``tests/sdk3/capture_v3.py`` runs in ``.venv-sdk3``, which
``make test`` builds: ``make .venv-sdk3/.installed``): ``ModelTrainer._create_training_job_args`` (what ``train()``
sends) and the tuner's ``_prepare_*``/``_build_*`` (what ``tune()`` sends), the SDK's packing code unchanged, S3 in
moto's in-process mock and read back into local ``file://`` folders. Without the venv these tests FAIL.

Expected values name the v3 source line they mirror (sagemaker-train 1.27.0, ``sagemaker/train/...``).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest

from amtlocal.backends import get_backend

pytestmark = pytest.mark.sdk3

ROOT = Path(__file__).resolve().parent.parent
SDK3_PYTHON = ROOT / ".venv-sdk3" / "bin" / "python"
CAPTURE = Path(__file__).with_name("sdk3") / "capture_v3.py"

MODULE = "amtl_sdk3_" + uuid.uuid4().hex[:8]  # installed from SourceCode.requirements, never into the tuner
TRAIN_PY = f"""\
import json, os, sys
import {MODULE}
seen = {{"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ), "value": {MODULE}.VALUE}}
print("SEEN " + json.dumps(seen))
print("f1: 0.%d" % (len(sys.argv) % 10))
"""


def _wheel(folder: Path, module: str, value: int) -> Path:
    """A pure-Python wheel of one module with ``VALUE = value``, built by hand (offline, no build step)."""
    files = {
        f"{module}/__init__.py": f"VALUE = {value}\n",
        f"{module}-0.1.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n",
        f"{module}-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: amtlocal-test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files[f"{module}-0.1.dist-info/RECORD"] = "\n".join([*record, f"{module}-0.1.dist-info/RECORD,,"]) + "\n"
    path = folder / f"{module}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


@pytest.fixture(scope="module")
def v3(tmp_path_factory):
    """``requests.json`` of the capture script, and the folder it lives in."""
    if not SDK3_PYTHON.exists():
        pytest.fail(f"the SDK v3 venv is missing: run `make .venv-sdk3/.installed` (expected {SDK3_PYTHON})")
    root = tmp_path_factory.mktemp("sdk3")
    (root / "src").mkdir()
    (root / "src" / "train.py").write_text(TRAIN_PY)
    (root / "src" / "deps").mkdir()
    wheel = _wheel(root / "src" / "deps", MODULE, 42)
    (root / "src" / "requirements.txt").write_text(f"--no-index\n./deps/{wheel.name}\n")
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("1,2\n")
    proc = subprocess.run(
        [str(SDK3_PYTHON), str(CAPTURE), str(root / "src"), str(root / "data"), str(root / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((root / "out" / "requests.json").read_text()), root


def _seen(home: Path, job: str) -> dict:
    (log,) = list(home.glob(f"**/{job}/logs/output.log"))
    lines = [line for line in log.read_text().splitlines() if line.startswith("SEEN ")]
    assert lines, log.read_text()[-3000:]
    return json.loads(lines[-1][5:])


def _train(v3, tmp_path, kind: str) -> tuple[dict, dict]:
    captured, root = v3
    req = json.loads(json.dumps(captured[kind]))
    req["TrainingJobName"] = f"sdk3-{kind}"
    req["OutputDataConfig"] = {"S3OutputPath": (tmp_path / "output").as_uri()}
    home = tmp_path / "home"
    backend = get_backend("local", home=home)
    backend.create_training_job(req, base_dir=root)
    desc = backend.describe_training_job(req["TrainingJobName"])
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    return desc, _seen(home, req["TrainingJobName"])


def test_model_trainer_request_is_v3s(v3):
    """What ``ModelTrainer.train()`` sends (model_trainer.py ``_create_training_job_args``)."""
    captured, _ = v3
    req = captured["training"]
    algo = req["AlgorithmSpecification"]
    # constants.py DEFAULT_CONTAINER_ENTRYPOINT / DEFAULT_CONTAINER_ARGUMENTS
    assert algo["ContainerEntrypoint"] == ["/bin/bash"]
    assert algo["ContainerArguments"] == [
        "-c",
        "chmod +x /opt/ml/input/data/sm_drivers/sm_train.sh && /opt/ml/input/data/sm_drivers/sm_train.sh",
    ]
    # model_trainer.py: string_hyper_parameters[k] = safe_serialize(v) (train/utils.py: str as is, else json.dumps)
    assert req["HyperParameters"] == {
        "n-estimators": "10",
        "flag": "true",
        "lr": "0.1",
        "criterion": "gini",
        "x": "3",
        "layers": "[1, 2]",
    }
    assert "sagemaker_program" not in req["HyperParameters"]
    assert [c["ChannelName"] for c in req["InputDataConfig"]] == ["train", "code", "sm_drivers"]
    drivers = Path(req["InputDataConfig"][2]["DataSource"]["S3DataSource"]["S3Uri"].removeprefix("file://"))
    assert (drivers / "sm_train.sh").is_file()
    assert (drivers / "distributed_drivers" / "basic_script_driver.py").is_file()
    assert (drivers / "scripts" / "install_requirements.py").is_file()  # copied from sagemaker-core
    source = json.loads((drivers / "sourcecode.json").read_text())
    assert (source["entry_script"], source["requirements"], source["command"]) == ("train.py", "requirements.txt", None)


def test_model_trainer_train_argv_and_env(v3, tmp_path):
    """The script under the SDK's own sm_train.sh + basic_script_driver.py, run in the job's /opt/ml."""
    captured, _ = v3
    desc, seen = _train(v3, tmp_path, "training")
    # basic_script_driver.py create_commands: [python, entry_script, *hyperparameters_to_cli_args(SM_HPS)];
    # common/utils.py hyperparameters_to_cli_args: "--key" always (even one letter), safe_serialize(safe_deserialize)
    expected_args = ["--criterion", "gini", "--flag", "true", "--layers", "[1, 2]", "--lr", "0.1"]
    expected_args += ["--n-estimators", "10", "--x", "3"]
    assert seen["argv"] == ["train.py", *expected_args]
    assert seen["argv"][1:] == captured["cli_args"]  # the installed driver helper agrees
    assert seen["cwd"] == "/opt/ml/input/data/code"  # templates.py: cd {SM_CODE_CONTAINER_PATH}
    env = seen["env"]
    # scripts/environment.py set_env: constants, then SourceCode, channels, hyperparameters, hosts
    assert env["SM_MODEL_DIR"] == "/opt/ml/model"
    assert env["SM_INPUT_DIR"] == "/opt/ml/input"
    assert env["SM_INPUT_DATA_DIR"] == "/opt/ml/input/data"
    assert env["SM_INPUT_CONFIG_DIR"] == "/opt/ml/input/config"
    assert env["SM_OUTPUT_DIR"] == "/opt/ml/output"
    assert env["SM_OUTPUT_FAILURE"] == "/opt/ml/output/failure"
    assert env["SM_OUTPUT_DATA_DIR"] == "/opt/ml/output/data"
    assert env["SM_MASTER_ADDR"] == "algo-1" and env["SM_MASTER_PORT"] == "7777"
    assert env["SM_SOURCE_DIR"] == "/opt/ml/input/data/code"
    assert env["SM_ENTRY_SCRIPT"] == "train.py"
    assert env["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train"
    assert env["SM_CHANNEL_CODE"] == "/opt/ml/input/data/code"
    assert env["SM_CHANNEL_SM_DRIVERS"] == "/opt/ml/input/data/sm_drivers"
    assert sorted(json.loads(env["SM_CHANNELS"])) == ["code", "sm_drivers", "train"]
    # hyperparameters: SM_HP_<KEY with - as _> = safe_serialize(safe_deserialize(value))
    assert env["SM_HP_FLAG"] == "true"
    assert env["SM_HP_N_ESTIMATORS"] == "10" and "SM_HP_N-ESTIMATORS" not in env
    assert env["SM_HP_LAYERS"] == "[1, 2]"
    assert env["SM_HP_CRITERION"] == "gini"
    assert json.loads(env["SM_HPS"]) == {
        "criterion": "gini",
        "flag": True,
        "layers": [1, 2],
        "lr": 0.1,
        "n-estimators": 10,
        "x": 3,
    }
    assert env["SM_CURRENT_HOST"] == "algo-1" and env["SM_CURRENT_INSTANCE_TYPE"] == "ml.m5.large"
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"] and env["SM_HOST_COUNT"] == "1"
    assert env["SM_CURRENT_HOST_RANK"] == "0" and env["SM_NUM_GPUS"] == "0"
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["job_name"] == "sdk3-training"  # from TRAINING_JOB_NAME, which the platform sets
    assert training_env["channel_input_dirs"]["train"] == "/opt/ml/input/data/train"
    # the platform's own variables and the request's Environment
    assert env["TRAINING_JOB_NAME"] == "sdk3-training"
    assert env["TRAINING_JOB_ARN"].endswith(":training-job/sdk3-training")
    assert env["MY_ENV"] == "from-trainer"
    # SourceCode.requirements: installed (templates.py INSTALL_REQUIREMENTS), importable in the job, not in the tuner
    assert seen["value"] == 42
    assert importlib.util.find_spec(MODULE) is None
    # the toolkit never ran: none of its variables
    assert "SM_USER_ENTRY_POINT" not in env and "SM_MODULE_DIR" not in env and "SM_USER_ARGS" not in env
    assert desc["ModelArtifacts"]["S3ModelArtifacts"].endswith("sdk3-training/output/model.tar.gz")


def test_model_trainer_command_replaces_the_entry_script(v3, tmp_path):
    """SourceCode.command: templates.py EXECUTE_BASE_COMMANDS evals it in the code folder; no hyperparameter argv."""
    _, seen = _train(v3, tmp_path, "command")
    assert seen["argv"] == ["train.py", "--from-command", "yes"]
    assert json.loads(seen["env"]["SM_HPS"])["flag"] is True  # hyperparameters reach it through SM_HPS only
    # environment.py: SM_ENTRY_SCRIPT = source_code.get("entry_script", "") is None, written as safe_serialize(None)
    assert seen["env"]["SM_ENTRY_SCRIPT"] == "null"


def test_tuner_request_is_v3s(v3):
    """What ``HyperparameterTuner.tune()`` sends (tuner.py ``_build_driver_and_code_channels``,
    ``_prepare_static_hyperparameters``, ``_build_training_job_definition``)."""
    captured, _ = v3
    definition = captured["tuning"]["TrainingJobDefinition"]
    static = definition["StaticHyperParameters"]
    # tuner.py _prepare_static_hyperparameters: to_string(v) == str(v): True -> "True", not v2's json "true"
    assert {k: v for k, v in static.items() if not k.startswith("sagemaker_")} == {
        "n-estimators": "10",
        "flag": "True",
        "lr": "0.1",
        "criterion": "gini",
        "x": "3",
        "layers": "[1, 2]",
    }
    assert static["sagemaker_program"] == "train.py"  # plain, not v2's JSON-quoted '"train.py"'
    assert static["sagemaker_submit_directory"].endswith("sourcedir.tar.gz")
    assert captured["sourcedir_members"] == [
        f"deps/{MODULE}-0.1-py3-none-any.whl",
        "requirements.txt",
        "train.py",
    ]  # the whole source_dir, tar'ed
    assert "ContainerEntrypoint" not in definition["AlgorithmSpecification"]  # the HPT API has none
    assert definition["AlgorithmSpecification"]["MetricDefinitions"] == [
        {"Name": "valid-f1", "Regex": r"f1:\s+(-?[0-9\.]+)"}
    ]
    assert [c["ChannelName"] for c in definition["InputDataConfig"]] == ["train", "sm_drivers"]
    assert definition["Environment"] == {"MY_ENV": "from-trainer"}


def test_tuner_training_jobs_see_the_toolkit_contract(v3, tmp_path):
    """A v3 tuning job's training jobs run in the image's toolkit (sagemaker_program): its argv and SM_* with v3's
    str() spelling, decoded as the toolkit decodes hyperparameters.json (json.loads, else the raw string)."""
    captured, root = v3
    req = json.loads(json.dumps(captured["tuning"]))
    req["HyperParameterTuningJobName"] = "sdk3-tune"
    req["TrainingJobDefinition"]["OutputDataConfig"] = {"S3OutputPath": (tmp_path / "output").as_uri()}
    home = tmp_path / "home"
    backend = get_backend("local", home=home)
    backend.create_tuning_job(req, base_dir=root, wait=True)
    desc = backend.describe("sdk3-tune")
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    jobs = backend.list_training_jobs("sdk3-tune")["TrainingJobSummaries"]
    assert len(jobs) == 2
    for job in jobs:
        depth = job["TunedHyperParameters"]["max-depth"]
        seen = _seen(home, job["TrainingJobName"])
        # toolkit mapping.to_cmd_args: sorted keys, "-x" for one letter; "True" is not JSON, so it stays "True"
        assert seen["argv"][1:] == [
            "--criterion", "gini", "--flag", "True", "--layers", "[1, 2]", "--lr", "0.1",
            "--max-depth", depth, "--n-estimators", "10", "-x", "3",
        ]  # fmt: skip
        assert Path(seen["argv"][0]).name == "train.py" or seen["argv"][0] == "train.py"
        env = seen["env"]
        assert env["SM_HP_FLAG"] == "True"  # v2 sent "true" and its script saw true
        # toolkit environment.py: env["hp_%s" % key], mapping.to_env_vars upper-cases: the "-" stays (v3's driver: "_")
        assert env["SM_HP_N-ESTIMATORS"] == "10" and "SM_HP_N_ESTIMATORS" not in env
        assert json.loads(env["SM_HPS"])["flag"] == "True"
        assert env["SM_USER_ENTRY_POINT"] == "train.py"
        assert env["SM_CHANNEL_SM_DRIVERS"].endswith("/input/data/sm_drivers")  # an ordinary channel here
        assert "sagemaker_program" not in json.loads(env["SM_HPS"])
        assert env["MY_ENV"] == "from-trainer"
        assert env["TRAINING_JOB_NAME"] == job["TrainingJobName"]
        assert seen["value"] == 42  # requirements.txt in the sourcedir: the toolkit installs it


def test_v3_tuner_objects_and_image_uris(v3):
    """Item 6 under v3: a v3 tuner stands for its latest job (HyperParameterTuningJob.hyper_parameter_tuning_job_name);
    the backend resolves images with sagemaker.core.image_uris."""
    captured, _ = v3
    assert captured["tuner_name"] == "sdk3-tune"  # pull(tuner)
    assert captured["viz_job"] == ["sdk3-tune", "SageMakerBackend"]  # visualize_tuning_job(tuner), write_report
    assert captured["image_uris_module"] == "sagemaker.core.image_uris"
    assert (
        captured["resolved_image"]
        == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )


def test_sdk3_venv_is_v3():
    """The venv the tests above run in holds SDK v3 (a v2 there would make them meaningless)."""
    if not SDK3_PYTHON.exists():
        pytest.fail(f"the SDK v3 venv is missing: run `make .venv-sdk3/.installed` (expected {SDK3_PYTHON})")
    out = subprocess.run(
        [str(SDK3_PYTHON), "-c", "import importlib.metadata as m; print(m.version('sagemaker'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "3.27.0"
    assert shutil.which("bash")
    assert sys.platform.startswith("linux")
