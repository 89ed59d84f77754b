"""SageMaker's built-in XGBoost algorithm offline (issue 15): image URIs, recognition, the container's
hyperparameter/channel validation, the entry point's metric lines and model, the spec rules, and the tutorial's
tuning flow whose best validation:auc is recomputed from the saved model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from amtlocal.algorithms import XGBOOST, builtin_algorithm, metric_definitions_for
from amtlocal.algorithms.xgboost import validate_hyperparameters
from amtlocal.exceptions import AmtValidationError, BuiltinAlgorithmError

xgb = pytest.importorskip("xgboost", reason="the xgboost extra is part of the test extra")

ECR = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


# --- image URIs and recognition --------------------------------------------------------------------------------------


def test_image_uris_retrieve_answers_the_sdk_v2_uris_for_every_version_and_region():
    sdk = pytest.importorskip("sagemaker.image_uris")
    from amtlocal import image_uris

    config = json.loads((Path(image_uris.__file__).parent / "xgboost.json").read_text())
    # every version in two regions, every region of two versions (the SDK takes ~70 ms a call)
    cases = {
        (scope, v, r)
        for scope in ("training", "inference")
        for v in image_uris.supported_versions("xgboost", scope)
        for r in ("us-east-1", "cn-north-1")
    }
    cases |= {("training", v, r) for v in ("1", "1.7-1") for r in config["training"]["versions"][v]["registries"]}
    for scope, version, region in sorted(cases):
        assert image_uris.retrieve("xgboost", region, version, image_scope=scope) == sdk.retrieve(
            "xgboost", region, version, image_scope=scope
        ), (scope, version, region)
    assert len(cases) > 60
    assert image_uris.retrieve("xgboost", "us-east-1", "1.7-1") == ECR
    assert (
        image_uris.retrieve("xgboost", "cn-north-1", "1.0-1")
        == "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.0-1-cpu-py3"
    )
    with pytest.raises(ValueError, match=r"Unsupported xgboost version: 9\.9-9\. .*Supported xgboost version\(s\): "):
        image_uris.retrieve("xgboost", "us-east-1", "9.9-9")
    with pytest.raises(ValueError, match="Unsupported region: mars-1"):
        image_uris.retrieve("xgboost", "mars-1", "1.7-1")


@pytest.mark.parametrize(
    "image",
    [
        ECR,
        "sagemaker-xgboost:1.5-1",
        "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3",
        "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:3.0-5",
    ],
)
def test_xgboost_image_in_algorithm_mode_is_recognised(image):
    d = {
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "StaticHyperParameters": {"num_round": "10"},
    }
    assert builtin_algorithm(d) is XGBOOST
    names = [m["Name"] for m in metric_definitions_for(d)]
    assert "validation:auc" in names and "train:rmse" in names


def test_script_mode_xgboost_and_other_images_are_not_the_algorithm():
    framework = {
        "AlgorithmSpecification": {"TrainingImage": "sagemaker-xgboost:1.7-1"},
        "StaticHyperParameters": {"sagemaker_program": '"train.py"'},
    }
    sklearn = {"AlgorithmSpecification": {"TrainingImage": "sagemaker-scikit-learn:1.2-1-cpu-py3"}}
    assert builtin_algorithm(framework) is None
    assert builtin_algorithm(sklearn) is None
    assert metric_definitions_for(
        {"AlgorithmSpecification": {"TrainingImage": ECR, "MetricDefinitions": [{"Name": "m", "Regex": "m=(.*)"}]}}
    ) == [{"Name": "m", "Regex": "m=(.*)"}]


def test_predefined_metric_regexes_are_the_containers():
    by_name = {m.name: m for m in XGBOOST.metrics}
    auc = by_name["validation:auc"]
    assert (auc.regex, auc.direction, auc.tunable) == (
        r".*\[[0-9]+\].*#011validation-auc:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*",
        "Maximize",
        True,
    )
    assert by_name["validation:rmse"].direction == "Minimize"
    assert by_name["train:auc"].tunable is False
    line = "[12]#011train-auc:0.91000#011validation-auc:0.88000#011validation-logloss:0.31000"
    assert re.match(auc.regex, line).group(1) == "0.88000"
    assert re.match(by_name["train:auc"].regex, line).group(1) == "0.91000"


# --- the container's validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hps, message",
    [
        ({"objective": "binary:logistic"}, "Missing required hyperparameter: num_round"),
        ({"num_round": "5", "max_depth": "-1"}, "Hyperparameter max_depth: -1 is not in [0, +inf)"),
        ({"num_round": "5", "eta": "1.5"}, "Hyperparameter eta: 1.5 is not in [0, 1]"),
        ({"num_round": "5", "subsample": "0"}, "Hyperparameter subsample: 0.0 is not in (0, 1]"),
        ({"num_round": "5.5"}, "Hyperparameter num_round: could not parse value (caused by ValueError)"),
        ({"num_round": "5", "n_estimators": "3"}, "Extraneous hyperparameter found: n_estimators"),
        (
            {"num_round": "5", "objective": "multi:softmax"},
            "Require input for parameter 'num_class' for multi-classification",
        ),
        (
            {"num_round": "5", "objective": "reg:squarederror", "eval_metric": "auc"},
            "Metric 'auc' can only be applied for classification and ranking problems.",
        ),
        ({"num_round": "5", "objective": "binary:foo"}, "Hyperparameter objective: binary:foo is not in ["),
    ],
)
def test_invalid_hyperparameters_raise_the_containers_message(hps, message):
    with pytest.raises(BuiltinAlgorithmError) as e:
        validate_hyperparameters(hps)
    assert e.value.kind == "UserError"
    assert e.value.message.startswith(message)


def test_valid_hyperparameters_are_parsed_with_aliases():
    got = validate_hyperparameters(
        {
            "num_round": "10",
            "learning_rate": "0.3",
            "max_depth": "4",
            "eval_metric": "auc,logloss",
            "objective": "binary:logistic",
            "_tuning_objective_metric": "validation:auc",
        }
    )
    assert got == {
        "num_round": 10,
        "eta": 0.3,
        "max_depth": 4,
        "eval_metric": ["auc", "logloss"],
        "objective": "binary:logistic",
        "_tuning_objective_metric": "validation:auc",
    }


# --- the entry point in a job folder ---------------------------------------------------------------------------------


def _breast_cancer_csvs(folder: Path) -> tuple[Path, Path]:
    """Label-first CSV without header, as AWS's XGBoost tutorials prepare it (train/validation split)."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    xt, xv, yt, yv = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    (folder / "train").mkdir(parents=True)
    (folder / "validation").mkdir(parents=True)
    np.savetxt(folder / "train" / "train.csv", np.column_stack([yt, xt]), delimiter=",", fmt="%.6g")
    np.savetxt(folder / "validation" / "validation.csv", np.column_stack([yv, xv]), delimiter=",", fmt="%.6g")
    return folder / "train", folder / "validation"


def _run_job(
    tmp_path: Path, hps: dict[str, str], channels: dict[str, tuple[Path, str | None]], preamble: str = ""
) -> tuple[subprocess.CompletedProcess, Path]:
    from amtlocal.backends.local import ScriptModeJob

    definition = {
        "AlgorithmSpecification": {"TrainingImage": ECR, "TrainingInputMode": "File"},
        "StaticHyperParameters": hps,
        "InputDataConfig": [
            dict(
                {"ChannelName": n, "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(p)}}},
                **({"ContentType": ct} if ct else {}),
            )
            for n, (p, ct) in channels.items()
        ],
    }
    job = ScriptModeJob.from_definition(definition, tmp_path)
    assert job.command == [sys.executable, "-m", "amtlocal.algorithms.xgboost"]
    job_dir = tmp_path / "job"
    argv, env, cwd = job.prepare(job_dir, "xgb-job", hps)
    if preamble:  # run the same module with something arranged first (e.g. xgboost hidden)
        argv = [
            sys.executable,
            "-c",
            preamble + "; import runpy; runpy.run_module('amtlocal.algorithms.xgboost', run_name='__main__')",
        ]
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    return proc, job_dir


def test_entry_point_prints_the_containers_metric_lines_and_saves_xgboost_model(tmp_path):
    train, validation = _breast_cancer_csvs(tmp_path / "data")
    hps = {
        "num_round": "4",
        "objective": "binary:logistic",
        "max_depth": "3",
        "eval_metric": "logloss",
        "_tuning_objective_metric": "validation:auc",
    }
    proc, job_dir = _run_job(tmp_path, hps, {"train": (train, "text/csv"), "validation": (validation, "csv")})
    assert proc.returncode == 0, proc.stderr
    rounds = [line for line in proc.stdout.splitlines() if line.startswith("[")]
    assert len(rounds) == 4
    pattern = (
        r"\[{}\]#011train-auc:\d\.\d{{5}}#011train-logloss:\d\.\d{{5}}#011validation-auc:\d\.\d{{5}}"
        r"#011validation-logloss:\d\.\d{{5}}"
    )
    for i, line in enumerate(rounds):
        assert re.fullmatch(pattern.format(i), line), line
    auc_regex = next(m.regex for m in XGBOOST.metrics if m.name == "validation:auc")
    last_auc = float(re.match(auc_regex, rounds[-1]).group(1))
    booster = xgb.Booster()
    booster.load_model(str(job_dir / "model" / "xgboost-model"))
    assert booster.num_boosted_rounds() == 4
    import numpy as np
    from sklearn.metrics import roc_auc_score

    data = np.loadtxt(validation / "validation.csv", delimiter=",")
    auc = roc_auc_score(data[:, 0], booster.predict(xgb.DMatrix(data[:, 1:])))
    assert last_auc == pytest.approx(auc, abs=5e-6)


def test_entry_point_reads_libsvm_and_container_metrics(tmp_path):
    (tmp_path / "train").mkdir()
    lines = [f"{i % 2} 0:{i % 2 + 0.1 * (i % 3)} 2:{(i * 7) % 5}" for i in range(40)]
    (tmp_path / "train" / "part-0").write_text("\n".join(lines) + "\n")
    (tmp_path / "train" / ".hidden").write_text("garbage\n")
    proc, job_dir = _run_job(
        tmp_path,
        {"num_round": "2", "objective": "binary:logistic", "eval_metric": "accuracy"},
        {"train": (tmp_path / "train", None)},
    )  # no ContentType: libsvm, the container's default
    assert proc.returncode == 0, proc.stderr
    rounds = [line for line in proc.stdout.splitlines() if line.startswith("[")]
    # only container-defined metrics asked for: XGBoost's default metric comes first, as in the container
    assert [re.sub(r":[0-9.]+", "", r) for r in rounds] == [
        "[0]#011train-logloss#011train-accuracy",
        "[1]#011train-logloss#011train-accuracy",
    ]
    assert float(rounds[-1].rsplit(":", 1)[1]) == 1.0
    assert (job_dir / "model" / "xgboost-model").is_file()


@pytest.mark.parametrize(
    "hps, channels, reason",
    [
        ({"objective": "binary:logistic"}, ("train",), "UserError: Missing required hyperparameter: num_round"),
        (
            {"num_round": "2", "max_depth": "-1"},
            ("train",),
            "UserError: Hyperparameter max_depth: -1 is not in [0, +inf)",
        ),
        ({"num_round": "2"}, ("train", "test"), "UserError: Extraneous channel found: test"),
        ({"num_round": "2"}, ("validation",), "UserError: Missing required channel: train"),
    ],
)
def test_invalid_job_writes_the_failure_file_and_exits_non_zero(tmp_path, hps, channels, reason):
    train, validation = _breast_cancer_csvs(tmp_path / "data")
    paths = {"train": train, "validation": validation, "test": validation}
    proc, job_dir = _run_job(tmp_path, hps, {c: (paths[c], "text/csv") for c in channels})
    assert proc.returncode == 1
    assert (job_dir / "output" / "failure").read_text() == f"framework error: \n{reason}"
    assert reason in proc.stderr
    assert not (job_dir / "model" / "xgboost-model").exists()


def test_without_the_xgboost_extra_the_job_fails_at_once_naming_it(tmp_path):
    train, _ = _breast_cancer_csvs(tmp_path / "data")
    proc, job_dir = _run_job(
        tmp_path,
        {"num_round": "2"},
        {"train": (train, "text/csv")},
        preamble="import sys; sys.modules['xgboost'] = None",
    )
    assert proc.returncode == 1
    failure = (job_dir / "output" / "failure").read_text()
    assert failure.startswith("framework error: \nPlatformError: the built-in XGBoost algorithm needs the xgboost")
    assert "amtlocal[xgboost]" in failure


# --- spec rules ------------------------------------------------------------------------------------------------------


def _xgb_request(objective: str = "validation:auc", ranges: dict | None = None, image: str = ECR) -> dict:
    return {
        "HyperParameterTuningJobName": "xgb-tune",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": objective},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": ranges
            if ranges is not None
            else {
                "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}],
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "5"}],
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"num_round": "5", "objective": "binary:logistic"},
            "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train"}},
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }


def _rule_errors(request: dict) -> list[AmtValidationError]:
    from amtlocal.spec._rules import rule_errors

    return rule_errors(request)


def test_builtin_objective_needs_no_metric_definitions():
    assert _rule_errors(_xgb_request("validation:auc")) == []
    assert _rule_errors(_xgb_request("validation:rmse")) == []


@pytest.mark.parametrize("objective", ["validation:accuracy_score", "train:auc", "auc"])
def test_objective_outside_the_algorithms_metrics_is_rejected_naming_the_field(objective):
    errors = _rule_errors(_xgb_request(objective))
    assert [e.field for e in errors] == ["HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName"]
    assert "must be one of the xgboost algorithm's metrics: validation:accuracy, validation:auc" in errors[0].rule
    assert repr(objective) in errors[0].rule


def test_tuned_hyperparameters_must_be_the_algorithms_tunable_ones():
    ranges = {
        "IntegerParameterRanges": [
            {"Name": "csv_weights", "MinValue": "0", "MaxValue": "1"},
            {"Name": "max_depth", "MinValue": "1", "MaxValue": "3"},
        ],
        "ContinuousParameterRanges": [{"Name": "learning_rate", "MinValue": "0.1", "MaxValue": "0.3"}],
    }
    errors = _rule_errors(_xgb_request(ranges=ranges))
    assert [e.field for e in errors] == ["HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0].Name"]
    assert "'csv_weights' is not a tunable hyperparameter of the xgboost algorithm" in errors[0].rule


def test_unknown_xgboost_version_is_rejected():
    errors = _rule_errors(_xgb_request(image="sagemaker-xgboost:9.9-9"))
    assert [e.field for e in errors] == ["TrainingJobDefinition.AlgorithmSpecification.TrainingImage"]
    assert "1.7-1" in errors[0].rule


# --- the tutorial flow -----------------------------------------------------------------------------------------------


def test_tutorial_flow_best_validation_auc_is_the_saved_models(tmp_path):
    """AWS's built-in XGBoost tuning tutorial with only the imports changed: label-first CSV from scikit-learn's breast
    cancer data, Estimator with the XGBoost image, a Bayesian tuner on validation:auc, analytics; the best job's value
    is recomputed with xgboost from its saved model on the validation CSV."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from amtlocal import image_uris
    from amtlocal.api import ContinuousParameter, Estimator, HyperparameterTuner, IntegerParameter, TrainingInput

    train, validation = _breast_cancer_csvs(tmp_path / "data")
    region = "us-east-1"
    container = image_uris.retrieve("xgboost", region, "1.7-1")
    xgb_est = Estimator(
        container,
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path="s3://my-bucket/xgb/output",
    )
    xgb_est.set_hyperparameters(objective="binary:logistic", num_round=8)
    ranges = {
        "eta": ContinuousParameter(0.1, 0.5),
        "max_depth": IntegerParameter(2, 6),
        "min_child_weight": ContinuousParameter(1, 5),
        "subsample": ContinuousParameter(0.5, 1.0),
        "alpha": ContinuousParameter(0, 2),
    }
    tuner = HyperparameterTuner(
        xgb_est,
        "validation:auc",
        ranges,
        strategy="Bayesian",
        max_jobs=3,
        max_parallel_jobs=2,
        base_tuning_job_name="xgb-tutorial",
    )
    tuner.fit(
        {
            "train": TrainingInput(str(train), content_type="csv"),
            "validation": TrainingInput(str(validation), content_type="csv"),
        }
    )
    df = tuner.analytics().dataframe()
    assert list(df["TrainingJobStatus"]) == ["Completed"] * 3
    assert {"eta", "max_depth", "min_child_weight", "subsample", "alpha", "FinalObjectiveValue"} <= set(df.columns)
    from amtlocal.viz import visualize_tuning_job

    chart, trials, full = visualize_tuning_job(tuner, return_dfs=True)  # the tutorial's charts
    assert len(trials) == 3 and chart is not None
    assert {"validation:auc", "train:auc"} <= set(full["label"])
    assert (full["label"] == "validation:auc").sum() == 3 * 8  # one point per boosting round of each job
    best = tuner.best_training_job()
    best_value = tuner.describe()["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert best_value == df["FinalObjectiveValue"].max()

    models = [p for p in (tmp_path / "home").rglob("xgboost-model") if best in str(p)]
    assert len(models) == 1, models
    booster = xgb.Booster()
    booster.load_model(str(models[0]))
    data = np.loadtxt(validation / "validation.csv", delimiter=",")
    recomputed = roc_auc_score(data[:, 0], booster.predict(xgb.DMatrix(data[:, 1:])))
    assert best_value == pytest.approx(recomputed, abs=5e-6)  # the container prints 5 decimals


def test_invalid_static_hyperparameter_fails_the_training_jobs_with_the_containers_reason(tmp_path):
    from amtlocal.api import ContinuousParameter, Estimator, HyperparameterTuner, TrainingInput

    train, validation = _breast_cancer_csvs(tmp_path / "data")
    est = Estimator(
        ECR,
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_type="ml.m5.xlarge",
        output_path="s3://my-bucket/xgb/output",
    )
    est.set_hyperparameters(objective="binary:logistic", num_round=3, max_depth=-1)
    tuner = HyperparameterTuner(
        est, "validation:auc", {"eta": ContinuousParameter(0.1, 0.5)}, max_jobs=1, base_tuning_job_name="xgb-bad"
    )
    from amtlocal.exceptions import UnexpectedStatusException

    with pytest.raises(UnexpectedStatusException, match="No training job succeeded"):
        tuner.fit(
            {
                "train": TrainingInput(str(train), content_type="text/csv"),
                "validation": TrainingInput(str(validation), content_type="text/csv"),
            }
        )
    jobs = tuner.analytics().dataframe()
    assert list(jobs["TrainingJobStatus"]) == ["Failed"]
    from amtlocal.backends.local import LocalBackend

    name = tuner.describe()["HyperParameterTuningJobName"]
    reasons = [s.get("FailureReason", "") for s in LocalBackend().all_training_jobs(name)]
    assert reasons == ["AlgorithmError: framework error: \nUserError: Hyperparameter max_depth: -1 is not in [0, +inf)"]


def test_objective_outside_the_metrics_is_rejected_before_any_training_job(tmp_path):
    from amtlocal.api import ContinuousParameter, Estimator, HyperparameterTuner, TrainingInput

    train, _ = _breast_cancer_csvs(tmp_path / "data")
    est = Estimator(ECR, role="arn:aws:iam::123456789012:role/SageMakerRole", instance_type="ml.m5.xlarge")
    est.set_hyperparameters(objective="binary:logistic", num_round=3)
    tuner = HyperparameterTuner(
        est, "validation:roc", {"eta": ContinuousParameter(0.1, 0.5)}, max_jobs=1, base_tuning_job_name="xgb-badobj"
    )
    with pytest.raises(AmtValidationError) as e:
        tuner.fit({"train": TrainingInput(str(train), content_type="csv")})
    assert e.value.field == "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName"
    assert "validation:auc" in e.value.rule
    assert not list((tmp_path / "home").rglob("hyperparameters.json"))


@pytest.mark.parametrize(
    "strategy, extra",
    [
        ("Hyperband", {"strategy_config": {"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 6}}}),
        ("Random", {"early_stopping_type": "Auto"}),
    ],
)
def test_hyperband_and_early_stopping_read_the_per_round_validation_metric(tmp_path, strategy, extra):
    """The pruners' steps are the objective's values in log order (one per boosting round here): every job's
    validation:auc series holds one value per round it ran, the last one its final objective."""
    from amtlocal.api import ContinuousParameter, Estimator, HyperparameterTuner, TrainingInput
    from amtlocal.backends.local import LocalBackend

    train, validation = _breast_cancer_csvs(tmp_path / "data")
    est = Estimator(ECR, role="arn:aws:iam::123456789012:role/SageMakerRole", instance_type="ml.m5.xlarge")
    est.set_hyperparameters(objective="binary:logistic", num_round=6)
    tuner = HyperparameterTuner(
        est,
        "validation:auc",
        {"eta": ContinuousParameter(0.05, 0.5)},
        strategy=strategy,
        max_jobs=3,
        max_parallel_jobs=1,
        base_tuning_job_name="xgb-prune",
        **extra,
    )
    tuner.fit(
        {
            "train": TrainingInput(str(train), content_type="csv"),
            "validation": TrainingInput(str(validation), content_type="csv"),
        }
    )
    name = tuner.describe()["HyperParameterTuningJobName"]
    backend = LocalBackend()
    jobs = list(backend.all_training_jobs(name))
    assert len(jobs) == 3
    for job in jobs:
        assert job["TrainingJobStatus"] in ("Completed", "Stopped")
        series = [p for p in backend.metric_series(name, job["TrainingJobName"]) if p["MetricName"] == "validation:auc"]
        assert 1 <= len(series) <= 6
        if job["TrainingJobStatus"] == "Completed":
            assert len(series) == 6
        assert series[-1]["Value"] == job["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        train_auc = [p for p in backend.metric_series(name, job["TrainingJobName"]) if p["MetricName"] == "train:auc"]
        assert len(train_auc) == len(series)


# --- standalone training jobs (CreateTrainingJob) -------------------------------------------------------------------


def test_standalone_training_job_runs_the_algorithm_and_packs_xgboost_model(tmp_path):
    import tarfile

    from amtlocal.api import Estimator, TrainingInput

    train, validation = _breast_cancer_csvs(tmp_path / "data")
    est = Estimator(
        ECR,
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_type="ml.m5.xlarge",
        output_path=str(tmp_path / "output"),
    )
    est.set_hyperparameters(objective="binary:logistic", num_round=5, eval_metric="auc")
    est.fit(
        {
            "train": TrainingInput(str(train), content_type="text/csv"),
            "validation": TrainingInput(str(validation), content_type="text/csv"),
        },
        logs=False,
    )
    desc = est.latest_training_job.describe()
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    final = {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]}
    assert {"train:auc", "validation:auc"} <= set(final)
    artifacts = desc["ModelArtifacts"]["S3ModelArtifacts"]
    path = Path(artifacts.removeprefix("file://"))
    with tarfile.open(path) as tar:
        assert "xgboost-model" in tar.getnames()
        tar.extract("xgboost-model", tmp_path / "unpacked", filter="data")
    import numpy as np
    from sklearn.metrics import roc_auc_score

    booster = xgb.Booster()
    booster.load_model(str(tmp_path / "unpacked" / "xgboost-model"))
    data = np.loadtxt(validation / "validation.csv", delimiter=",")
    assert final["validation:auc"] == pytest.approx(
        roc_auc_score(data[:, 0], booster.predict(xgb.DMatrix(data[:, 1:]))), abs=5e-6
    )


def test_standalone_training_job_without_num_round_fails_with_the_containers_reason(tmp_path):
    from amtlocal.api import Estimator, TrainingInput
    from amtlocal.exceptions import UnexpectedStatusException

    train, _ = _breast_cancer_csvs(tmp_path / "data")
    est = Estimator(
        ECR,
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_type="ml.m5.xlarge",
        output_path=str(tmp_path / "output"),
    )
    est.set_hyperparameters(objective="binary:logistic")
    with pytest.raises(UnexpectedStatusException):
        est.fit({"train": TrainingInput(str(train), content_type="csv")}, logs=False)
    desc = est.latest_training_job.describe()
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["FailureReason"] == (
        "AlgorithmError: framework error: \nUserError: Missing required hyperparameter: num_round"
    )
