"""The script-mode contract: argv and SM_* exactly as sagemaker-training-toolkit builds them."""

from __future__ import annotations

import argparse
import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from amtlocal.container import ScriptModeJob, split_hyperparameters, to_cmd_args
from amtlocal.spec.hyperparameters import decode_hyperparameter


def test_toolkit_example_argv():
    # AMT_REFERENCE.md section 3, "CLI arguments (to_cmd_args, ran)"
    user, _ = split_hyperparameters(
        {
            "d": '{"a": 1, "b": 2}',
            "flag": "true",
            "kernel": '"rbf"',
            "lr": "0.0123",
            "n_estimators": "10",
            "x": "1e-05",
            "sagemaker_program": '"train.py"',
            "_tuning_objective_metric": "f1",
            "sagemaker_other": '"v"',
        }
    )
    assert to_cmd_args(user) == [
        "-d",
        "a=1,b=2",
        "--flag",
        "True",
        "--kernel",
        "rbf",
        "--lr",
        "0.0123",
        "--n_estimators",
        "10",
        "-x",
        "1e-05",
    ]


def test_decoding_and_reserved_keys():
    assert decode_hyperparameter("10") == 10 and decode_hyperparameter('"rbf"') == "rbf"
    assert decode_hyperparameter("abc") == "abc" and decode_hyperparameter("true") is True
    user, framework = split_hyperparameters(
        {"sagemaker_program": '"t.py"', "sagemaker_x": "1", "_tuning_objective_metric": "m", "a": "[1, 2]"}
    )
    assert user == {"a": [1, 2]} and framework == {"sagemaker_x": 1}
    assert to_cmd_args(user) == ["-a", "[1, 2]"]


def test_environment_and_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA")
    code, data = tmp_path / "src", tmp_path / "data"
    code.mkdir(), data.mkdir()
    (code / "train.py").write_text("")
    definition = {
        "StaticHyperParameters": {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": f'"file://{code}"'},
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "InputDataConfig": [
            {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(data)}}},
            {
                "ChannelName": "Valid",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "file://data"}},
            },
        ],
        "Environment": {"MY_VAR": "1"},
    }
    job = ScriptModeJob.from_definition(definition, tmp_path)
    wire = {
        "sagemaker_program": '"train.py"',
        "n-estimators": "17",
        "criterion": '"gini"',
        "run-name": '"my run"',
        "k": "3",
        "_tuning_objective_metric": "valid-f1",
    }
    argv, env, cwd = job.prepare(tmp_path / "job", "tj-001-abcdef12", wire)
    assert argv[1:] == ["train.py", "--criterion", "gini", "-k", "3", "--n-estimators", "17", "--run-name", "my run"]
    assert cwd == tmp_path / "job" / "code" and (cwd / "train.py").exists()
    assert json.loads(env["SM_HPS"]) == {"n-estimators": 17, "criterion": "gini", "run-name": "my run", "k": 3}
    assert env["SM_HP_N-ESTIMATORS"] == "17" and env["SM_HP_CRITERION"] == "gini" and env["SM_HP_K"] == "3"
    assert json.loads(env["SM_CHANNELS"]) == ["Valid", "train"]
    assert env["SM_CHANNEL_TRAIN"] == str(tmp_path / "job" / "input" / "data" / "train")
    assert env["SM_CHANNEL_VALID"].endswith("/input/data/Valid")
    assert env["SM_MODEL_DIR"] == str(tmp_path / "job" / "model")
    assert env["SM_OUTPUT_DATA_DIR"] == str(tmp_path / "job" / "output" / "data")
    assert env["SM_INPUT_CONFIG_DIR"] == str(tmp_path / "job" / "input" / "config")
    assert env["SM_CURRENT_HOST"] == "algo-1" and json.loads(env["SM_HOSTS"]) == ["algo-1"]
    assert env["TRAINING_JOB_NAME"] == "tj-001-abcdef12" and env["MY_VAR"] == "1"
    assert json.loads(env["SM_TRAINING_ENV"])["hyperparameters"]["n-estimators"] == 17
    assert json.loads(env["SM_USER_ARGS"]) == argv[2:]
    assert "_tuning_objective_metric" not in env["SM_HPS"]
    assert "AWS_SECRET_ACCESS_KEY" not in env and "AWS_ACCESS_KEY_ID" not in env
    # sagemaker-training-toolkit (v4.2.0 on) to_env_vars: the instance groups of one homogeneous instance, in
    # mapping.to_env_vars' format (strings as they are, the rest JSON with sorted keys and no spaces)
    group = '{"hosts":["algo-1"],"instance_group_name":"homogeneousCluster","instance_type":"ml.m5.large"}'
    assert {k: env[k] for k in env if "INSTANCE_GROUP" in k or k == "SM_IS_HETERO"} == {
        "SM_CURRENT_INSTANCE_GROUP": "homogeneousCluster",
        "SM_CURRENT_INSTANCE_GROUP_HOSTS": '["algo-1"]',
        "SM_INSTANCE_GROUPS": '["homogeneousCluster"]',
        "SM_INSTANCE_GROUPS_DICT": '{"homogeneousCluster":' + group + "}",
        "SM_DISTRIBUTION_INSTANCE_GROUPS": "[]",
        "SM_IS_HETERO": "false",
    }
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert set(training_env) == {  # the toolkit's test_env_mapping_properties: every property of its Environment
        "additional_framework_parameters",
        "channel_input_dirs",
        "current_host",
        "framework_module",
        "hosts",
        "hyperparameters",
        "input_config_dir",
        "input_data_config",
        "input_dir",
        "log_level",
        "model_dir",
        "module_dir",
        "module_name",
        "network_interface_name",
        "num_cpus",
        "num_gpus",
        "num_neurons",
        "output_data_dir",
        "output_dir",
        "resource_config",
        "user_entry_point",
        "job_name",
        "output_intermediate_dir",
        "is_master",
        "master_hostname",
        "is_modelparallel_enabled",
        "instance_groups",
        "instance_groups_dict",
        "current_instance_type",
        "current_instance_group",
        "current_instance_group_hosts",
        "distribution_hosts",
        "distribution_instance_groups",
        "is_hetero",
        "is_smddpmprun_installed",
        "is_smddprun_installed",
        "topology",
    }
    assert training_env["instance_groups"] == ["homogeneousCluster"] and training_env["distribution_hosts"] == []
    assert training_env["is_hetero"] is False and training_env["current_instance_group_hosts"] == ["algo-1"]
    hp_file = json.loads((tmp_path / "job" / "input" / "config" / "hyperparameters.json").read_text())
    assert hp_file == wire
    assert set(json.loads((tmp_path / "job" / "input" / "config" / "inputdataconfig.json").read_text())) == {
        "train",
        "Valid",
    }


def test_a_distribution_flag_puts_the_instance_group_in_distribution_instance_groups(tmp_path):
    """The toolkit's get_distribution_instance_groups_from_resource_config: a distribution flag among the framework
    hyperparameters (here SDK v2's PyTorch ``distribution={"pytorchddp": ...}``) makes the current group the
    distribution group; ``sagemaker_distribution_instance_groups`` names them outright."""
    code = tmp_path / "src"
    code.mkdir()
    (code / "train.py").write_text("")
    definition = {
        "StaticHyperParameters": {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": f'"file://{code}"'},
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
    }
    job = ScriptModeJob.from_definition(definition, tmp_path)
    _, env, _ = job.prepare(tmp_path / "ddp", "ddp", {"sagemaker_pytorch_ddp_enabled": "true"})
    assert env["SM_DISTRIBUTION_INSTANCE_GROUPS"] == '["homogeneousCluster"]'
    assert json.loads(env["SM_TRAINING_ENV"])["distribution_hosts"] == ["algo-1"]
    _, env, _ = job.prepare(tmp_path / "named", "named", {"sagemaker_distribution_instance_groups": '["g"]'})
    assert env["SM_DISTRIBUTION_INSTANCE_GROUPS"] == '["g"]'
    assert json.loads(env["SM_TRAINING_ENV"])["distribution_hosts"] == []


# Values of every type survive spec -> argv -> argparse (the way a train.py reads them). Two things fail in the real
# container exactly as here, so they are outside the property: a one-letter key "h" (argparse's -h), and a value that
# argparse takes for an option (a string starting with "-", or "-1e+16"; the toolkit passes "--key value" as two
# arguments). Such values still arrive whole through SM_HPS, checked below.

_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")  # argparse's own test for "looks like a negative number"
_names = st.from_regex(r"[a-gi-z][a-z0-9_-]{0,11}", fullmatch=True)
_values = st.one_of(
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20),
)


def _argparse_safe(v) -> bool:
    s = str(v)
    return not s.startswith("-") or bool(_NEGATIVE_NUMBER.match(s))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_names, _values, min_size=1, max_size=6))
def test_round_trip_through_argv_and_sm_hps(hps):
    wire = {k: json.dumps(v) for k, v in hps.items()}  # SDK v2 framework encoding
    user, _ = split_hyperparameters(wire)
    assert user == hps  # SM_HPS carries every value exactly
    safe = {k: v for k, v in hps.items() if _argparse_safe(v)}
    argv = to_cmd_args({k: user[k] for k in safe})
    parser = argparse.ArgumentParser()
    for k in safe:
        parser.add_argument(f"-{k}" if len(k) == 1 else f"--{k}", dest=k.replace("-", "_"))
    ns = vars(parser.parse_args(argv))
    for k, v in safe.items():
        got = ns[k.replace("-", "_")]
        if isinstance(v, bool):
            assert got == str(v)
        elif isinstance(v, int):
            assert int(got) == v
        elif isinstance(v, float):
            assert float(got) == v
        else:
            assert got == v
