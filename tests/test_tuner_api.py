"""The SDK-v2-compatible face, used as the reference notebook uses it, with tiny scripts."""

from __future__ import annotations

import json

import pytest

from amtlocal import (
    CategoricalParameter,
    ContinuousParameter,
    Estimator,
    HyperparameterTuner,
    IntegerParameter,
    SKLearn,
    Tuner,
    UnexpectedStatusException,
    WarmStartConfig,
    WarmStartTypes,
)
from amtlocal.exceptions import AmtValidationError

SCRIPT = """
import argparse, json, os
p = argparse.ArgumentParser()
p.add_argument('--n-estimators', type=int); p.add_argument('--max-depth', type=int); p.add_argument('--criterion')
p.add_argument('--min-weight-fraction-leaf', type=float); p.add_argument('--bonus', type=float, default=0)
a = p.parse_args()
assert os.path.isdir(os.environ['SM_CHANNEL_TRAIN']), os.environ['SM_CHANNEL_TRAIN']
score = 1 - abs(a.n_estimators - 120) / 400 - abs(a.max_depth - 12) / 100 - a.min_weight_fraction_leaf / 10 + a.bonus
score -= {'gini': 0.0, 'entropy': 0.01, 'log_loss': 0.02}[a.criterion]
print(f"pre: {score:.4f} rec: {score:.4f} f1: {score:.6f}")
"""
METRICS = [
    {"Name": "valid-precision", "Regex": r"pre:\s+(-?[0-9\.]+)"},
    {"Name": "valid-recall", "Regex": r"rec:\s+(-?[0-9\.]+)"},
    {"Name": "valid-f1", "Regex": r"f1:\s+(-?[0-9\.]+)"},
]


def ranges(n=(1, 200), d=(1, 20), w=(0.01, 0.5)):
    return {
        "n-estimators": IntegerParameter(*n),
        "max-depth": IntegerParameter(*d),
        "min-weight-fraction-leaf": ContinuousParameter(*w),
        "criterion": CategoricalParameter(["gini", "entropy", "log_loss"]),
    }


@pytest.fixture
def est(workdir, monkeypatch):
    (workdir / "code" / "train.py").write_text(SCRIPT)
    monkeypatch.chdir(workdir)
    return SKLearn(
        "train.py",
        source_dir="code",
        framework_version="1.2-1",
        instance_type="ml.c5.xlarge",
        hyperparameters={"bonus": 0.0},
    )


def test_notebook_flow_two_background_tuners_then_a_warm_start(est, workdir):
    t_random = HyperparameterTuner(
        est, "valid-f1", ranges(), METRICS, strategy="Random", max_jobs=4, max_parallel_jobs=2, random_seed=3
    )
    t_bayes = HyperparameterTuner(
        est, "valid-f1", ranges(), METRICS, strategy="Bayesian", max_jobs=4, max_parallel_jobs=2
    )
    t_random.fit({"train": "data"}, wait=False)
    t_bayes.fit({"train": "data"}, wait=False)
    names = [t_random.describe()["HyperParameterTuningJobName"], t_bayes.describe()["HyperParameterTuningJobName"]]
    assert names[0] != names[1] and all(n.startswith("sagemaker-sciki-") and len(n) <= 32 for n in names)
    t_random.wait()
    t_bayes.wait()
    for t in (t_random, t_bayes):
        d = t.describe()
        assert d["HyperParameterTuningJobStatus"] == "Completed"
        assert d["TrainingJobStatusCounters"]["Completed"] == 4
        df = t.analytics().dataframe()
        assert len(df) == 4
        assert set(df.columns[:4]) == {"n-estimators", "max-depth", "min-weight-fraction-leaf", "criterion"}
        assert list(df.columns[4:]) == [
            "TrainingJobName",
            "TrainingJobStatus",
            "FinalObjectiveValue",
            "TrainingStartTime",
            "TrainingEndTime",
            "TrainingElapsedTimeSeconds",
        ]
        assert (
            df["FinalObjectiveValue"].max()
            == d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        )
        assert set(df["criterion"]) <= {'"gini"', '"entropy"', '"log_loss"'}  # quoted categoricals stay quoted

    ws = WarmStartConfig(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents={names[0], names[1]})
    t_ws = HyperparameterTuner(
        est,
        "valid-f1",
        ranges(n=(100, 140), d=(10, 14), w=(0.01, 0.05)),
        METRICS,
        max_jobs=3,
        max_parallel_jobs=2,
        warm_start_config=ws,
    )
    t_ws.fit({"train": "data"})
    d = t_ws.describe()
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["WarmStartConfig"]["WarmStartType"] == "IdenticalDataAndAlgorithm"
    assert len(t_ws.analytics().dataframe()) == 3  # own training jobs only
    parent_best = max(
        HyperparameterTuner.attach(n).describe()["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"][
            "Value"
        ]
        for n in names
    )
    overall = d["OverallBestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    own_best = d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert overall == max(parent_best, own_best)


def test_request_matches_sdk_v2_encoding(est):
    t = HyperparameterTuner(
        est, "valid-f1", ranges(), METRICS, strategy="Random", max_jobs=5, max_parallel_jobs=2, random_seed=0
    )
    req = t.to_request({"train": "data"}, job_name="enc")
    cfg = req["HyperParameterTuningJobConfig"]
    assert cfg["RandomSeed"] == 0  # SDK v2 keeps a seed of 0
    assert cfg["ResourceLimits"] == {"MaxParallelTrainingJobs": 2, "MaxNumberOfTrainingJobs": 5}
    pr = cfg["ParameterRanges"]
    assert pr["CategoricalParameterRanges"] == [{"Name": "criterion", "Values": ['"gini"', '"entropy"', '"log_loss"']}]
    assert pr["IntegerParameterRanges"][0] == {
        "Name": "n-estimators",
        "MinValue": "1",
        "MaxValue": "200",
        "ScalingType": "Auto",
    }
    static = req["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["bonus"] == "0.0" and static["sagemaker_program"] == '"train.py"'
    assert json.loads(static["sagemaker_submit_directory"]).startswith("file:///")
    assert static["sagemaker_estimator_class_name"] == '"SKLearn"'
    assert req["TrainingJobDefinition"]["InputDataConfig"][0]["ChannelName"] == "train"
    assert req["TrainingJobDefinition"]["HyperParameterTuningResourceConfig"]["InstanceType"] == "ml.c5.xlarge"
    # role omitted locally: a placeholder that passes the API's validation
    from amtlocal.spec import validate

    validate(req)


def test_strategy_and_completion_configs_are_sdk_v2s(est):
    # code written for SDK v2 imports these from amtlocal in place of sagemaker.tuner (a new user's ImportError)
    import sagemaker.tuner as v2

    from amtlocal import HyperbandStrategyConfig, StrategyConfig, TuningJobCompletionCriteriaConfig

    ours = StrategyConfig(HyperbandStrategyConfig(max_resource=10, min_resource=2))
    theirs = v2.StrategyConfig(v2.HyperbandStrategyConfig(max_resource=10, min_resource=2))
    assert (
        ours.to_input_req()
        == theirs.to_input_req()
        == {"HyperbandStrategyConfig": {"MinResource": 2, "MaxResource": 10}}
    )
    for kwargs in (
        {},
        {"max_number_of_training_jobs_not_improving": 5},
        {"complete_on_convergence": False, "target_objective_metric_value": 0.9},
        {
            "max_number_of_training_jobs_not_improving": 3,
            "complete_on_convergence": True,
            "target_objective_metric_value": 0,
        },
    ):
        req = TuningJobCompletionCriteriaConfig(**kwargs).to_input_req()
        assert req == v2.TuningJobCompletionCriteriaConfig(**kwargs).to_input_req(), kwargs
        back, v2_back = (
            TuningJobCompletionCriteriaConfig.from_job_desc(req),
            v2.TuningJobCompletionCriteriaConfig.from_job_desc(req),
        )
        assert vars(back) == vars(v2_back), kwargs
    assert vars(StrategyConfig.from_job_desc(ours.to_input_req()).hyperband_strategy_config) == {
        "min_resource": 2,
        "max_resource": 10,
    }
    t = HyperparameterTuner(
        est,
        "valid-f1",
        ranges(),
        METRICS,
        strategy="Hyperband",
        max_jobs=4,
        strategy_config=ours,
        completion_criteria_config=TuningJobCompletionCriteriaConfig(target_objective_metric_value=0.99),
    )
    cfg = t.to_request({"train": "data"}, job_name="hb")["HyperParameterTuningJobConfig"]
    assert cfg["StrategyConfig"] == theirs.to_input_req()
    assert cfg["TuningJobCompletionCriteria"] == {"TargetObjectiveMetricValue": 0.99}
    req = t.to_request({"train": "data"}, job_name="hb")
    attached = HyperparameterTuner.attach("hb", job_details=req)  # SDK v2's attach reads both back
    assert attached.strategy_config.to_input_req() == theirs.to_input_req()
    assert attached.completion_criteria_config.to_input_req() == {"TargetObjectiveMetricValue": 0.99}


def test_sdk_defaults_and_errors(est):
    assert Tuner is HyperparameterTuner
    t = HyperparameterTuner(est, "valid-f1", ranges(), METRICS)
    assert t.strategy == "Bayesian" and t.max_jobs == 1 and t.max_parallel_jobs == 1 and t.early_stopping_type == "Off"
    grid = HyperparameterTuner(
        est, "valid-f1", {"criterion": CategoricalParameter(["gini", "entropy"])}, METRICS, strategy="Grid"
    )
    assert (
        "MaxNumberOfTrainingJobs" not in grid.to_request("data", "g")["HyperParameterTuningJobConfig"]["ResourceLimits"]
    )
    with pytest.raises(ValueError, match="Need to specify hyperparameter ranges"):
        HyperparameterTuner(est, "valid-f1", {}, METRICS)
    with pytest.raises(ValueError):
        WarmStartConfig("IdenticalDataAndAlgorithm", parents={"a"})
    with pytest.raises(ValueError):
        WarmStartConfig(WarmStartTypes.TRANSFER_LEARNING, parents=set())
    with pytest.raises(AttributeError):
        SKLearn("train.py", framework_version="1.2-1", instance_count=2)
    plain = Estimator(image_uri="123.dkr.ecr.us-east-1.amazonaws.com/x:1", hyperparameters={"a": 1, "s": "b c"})
    assert plain.hyperparameters() == {"a": "1", "s": "b c"}
    assert HyperparameterTuner(plain, "m", {"c": CategoricalParameter([1, "x"])}).hyperparameter_ranges()[
        "CategoricalParameterRanges"
    ][0]["Values"] == ["1", "x"]


def test_invalid_tuner_fails_before_any_training_job(est, tmp_path):
    t = HyperparameterTuner(est, "valid-auc", ranges(), METRICS, max_jobs=2)
    with pytest.raises(AmtValidationError) as e:
        t.fit({"train": "data"}, job_name="bad-objective")
    assert e.value.field == "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName"
    assert not (tmp_path / "home" / "jobs" / "bad-objective").exists()


def test_best_training_job_raises_without_a_success(est, workdir):
    (workdir / "code" / "train.py").write_text("print('nothing')\n")
    t = HyperparameterTuner(est, "valid-f1", ranges(), METRICS, max_jobs=1)
    with pytest.raises(UnexpectedStatusException) as e:
        t.fit({"train": "data"}, job_name="nobest")
    assert e.value.actual_status == "Failed"
    with pytest.raises(Exception, match="Best training job not available for tuning job: nobest"):
        t.best_training_job()


def test_attach_then_warm_start_tuners(est):
    t = HyperparameterTuner(est, "valid-f1", ranges(), METRICS, strategy="Random", max_jobs=2, random_seed=1)
    t.fit({"train": "data"}, job_name="parent-a")
    attached = HyperparameterTuner.attach("parent-a")
    assert attached.best_training_job() == t.best_training_job()
    assert attached.strategy == "Random" and attached.max_jobs == 2
    child = attached.identical_dataset_and_algorithm_tuner(additional_parents={"other"})
    assert child.warm_start_config.type is WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM
    assert child.warm_start_config.parents == {"parent-a", "other"}
    # TransferLearning: the parent's best configuration runs first
    tl = t.transfer_learning_tuner()
    tl.max_jobs = 2
    tl.fit({"train": "data"}, job_name="child-tl")
    parent_best = t.describe()["BestTrainingJob"]["TunedHyperParameters"]
    first = sorted(tl.analytics().training_job_summaries(), key=lambda s: s["CreationTime"])[0]
    assert first["TunedHyperParameters"] == parent_best


def test_warm_start_rules(est):
    t = HyperparameterTuner(est, "valid-f1", ranges(), METRICS, strategy="Random", max_jobs=1)
    t.fit({"train": "data"}, job_name="rules-parent")
    ws = WarmStartConfig(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents={"rules-parent"})
    other_objective = HyperparameterTuner(est, "valid-recall", ranges(), METRICS, max_jobs=1, warm_start_config=ws)
    with pytest.raises(AmtValidationError, match="objective"):
        other_objective.fit({"train": "data"}, job_name="rules-a")
    r = ranges()
    r["extra"] = IntegerParameter(1, 2)
    other_names = HyperparameterTuner(est, "valid-f1", r, METRICS, max_jobs=1, warm_start_config=ws)
    with pytest.raises(AmtValidationError, match="extra"):
        other_names.fit({"train": "data"}, job_name="rules-b")
    r = ranges()
    r["n-estimators"] = ContinuousParameter(1, 200)
    other_type = HyperparameterTuner(est, "valid-f1", r, METRICS, max_jobs=1, warm_start_config=ws)
    with pytest.raises(AmtValidationError, match="type cannot change"):
        other_type.fit({"train": "data"}, job_name="rules-c")
    missing = HyperparameterTuner(
        est,
        "valid-f1",
        ranges(),
        METRICS,
        max_jobs=1,
        warm_start_config=WarmStartConfig(WarmStartTypes.TRANSFER_LEARNING, parents={"nope"}),
    )
    with pytest.raises(AmtValidationError, match="not found"):
        missing.fit({"train": "data"}, job_name="rules-d")


def test_unfinished_parent_is_rejected(est, store):

    t = HyperparameterTuner(est, "valid-f1", ranges(), METRICS, max_jobs=1)
    req = t.to_request({"train": "data"}, "unfinished")
    store.create(req, est_dir := __import__("pathlib").Path.cwd())  # a job that never ran: InProgress
    child = HyperparameterTuner(
        est,
        "valid-f1",
        ranges(),
        METRICS,
        max_jobs=1,
        warm_start_config=WarmStartConfig(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents={"unfinished"}),
    )
    with pytest.raises(AmtValidationError, match="InProgress"):
        child.fit({"train": "data"}, job_name="child-of-unfinished")
    assert est_dir.exists()


def test_backend_choice(monkeypatch, est):
    monkeypatch.setenv("AMTLOCAL_BACKEND", "nowhere")
    with pytest.raises(AmtValidationError, match="backend"):
        HyperparameterTuner(est, "valid-f1", ranges(), METRICS)
    monkeypatch.setenv("AMTLOCAL_BACKEND", "local")
    assert HyperparameterTuner(est, "valid-f1", ranges(), METRICS).backend.name == "local"
    assert HyperparameterTuner(est, "valid-f1", ranges(), METRICS, backend="local").backend.name == "local"


def test_names_from_the_same_base_in_the_same_second_differ():
    from amtlocal.api._naming import name_from_base

    names = {name_from_base("sagemaker-scikit-learn") for _ in range(50)}
    assert len(names) == 50
    assert all(len(n) <= 32 for n in names)


def test_stop_right_after_a_background_fit_is_honoured(est, workdir):
    (workdir / "code" / "train.py").write_text("import time\ntime.sleep(0.5)\nprint('f1: 0.5')\n")
    t = HyperparameterTuner(est, "valid-f1", ranges(), METRICS, max_jobs=20, max_parallel_jobs=1)
    t.fit({"train": "data"}, job_name="stop-early", wait=False)
    t.stop_tuning_job()
    t.wait()
    d = t.describe()
    assert d["HyperParameterTuningJobStatus"] == "Stopped"
    assert d["TrainingJobStatusCounters"]["Completed"] < 20
