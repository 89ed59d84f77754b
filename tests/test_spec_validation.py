"""Both validation layers of a tuning spec: botocore's service model (_model.py) and AMT's rules (_rules.py).

Cases come from tests/cases/specs (exact copies of the shared base.json and invalid.json).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from amtlocal.exceptions import AmtValidationError
from amtlocal.spec import delete_path, set_path, validate, validation_errors
from amtlocal.spec._model import _compiled, model_errors
from amtlocal.spec._rules import RULES, rule_errors

SPECS = Path(__file__).parent / "cases" / "specs"
BASE = json.loads((SPECS / "base.json").read_text())
INVALID = json.loads((SPECS / "invalid.json").read_text())["cases"]

CFG = "HyperParameterTuningJobConfig"
RANGES = f"{CFG}.ParameterRanges"
DEF = "TrainingJobDefinition"
METRICS = f"{DEF}.AlgorithmSpecification.MetricDefinitions"
HB = f"{CFG}.StrategyConfig.HyperbandStrategyConfig"


def spec(set_: dict | None = None, delete: list | None = None) -> dict:
    """A deep copy of base.json with dotted paths set and deleted."""
    req = copy.deepcopy(BASE)
    for path, value in (set_ or {}).items():
        set_path(req, path, value)
    for path in delete or []:
        delete_path(req, path)
    return req


def only(errors: list[AmtValidationError]) -> AmtValidationError:
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def fields(errors: list[AmtValidationError]) -> list[str]:
    return [e.field for e in errors]


def grid_spec(**limits) -> dict:
    req = spec({f"{CFG}.Strategy": "Grid"}, [f"{RANGES}.IntegerParameterRanges", f"{RANGES}.ContinuousParameterRanges"])
    req[CFG]["ResourceLimits"].pop("MaxNumberOfTrainingJobs")
    req[CFG]["ResourceLimits"].update(limits)
    return req


def hyperband_spec(strategy_config: dict | None) -> dict:
    req = spec({f"{CFG}.Strategy": "Hyperband"})
    if strategy_config is not None:
        req[CFG]["StrategyConfig"] = {"HyperbandStrategyConfig": strategy_config}
    return req


def list_form(**changes) -> dict:
    """base.json in the TrainingJobDefinitions form: one definition carrying its objective and ranges."""
    req = spec()
    definition = req.pop(DEF)
    definition.update(
        DefinitionName="rf",
        TuningObjective=copy.deepcopy(req[CFG]["HyperParameterTuningJobObjective"]),
        HyperParameterRanges=copy.deepcopy(req[CFG]["ParameterRanges"]),
    )
    definition.update(changes)
    req["TrainingJobDefinitions"] = [definition]
    return req


# --- shared cases ----------------------------------------------------------------------------------------------------


def test_base_spec_is_valid():
    assert validation_errors(copy.deepcopy(BASE)) == []
    validate(copy.deepcopy(BASE))  # no exception


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_case_is_rejected_naming_field_and_rule(case):
    req = spec(case.get("set"), case.get("delete"))
    errors = validation_errors(req)
    assert errors, "accepted an invalid spec"
    matching = [e for e in errors if e.field.startswith(case["expect_field"])]
    assert matching, f"no error names {case['expect_field']}: {[str(e) for e in errors]}"
    # every word of the expected rule appears in the error's message (which is "field: rule")
    text = str(matching[0]).lower()
    missing = [w for w in case["rule"].lower().split() if w.rstrip(",") not in text]
    assert not missing, f"{str(matching[0])!r} lacks {missing}"
    with pytest.raises(AmtValidationError) as raised:
        validate(req)
    assert raised.value.field.startswith(case["expect_field"])


def test_repeat_validation_is_fast():
    validation_errors(copy.deepcopy(BASE))  # loads and caches the service model
    start = time.perf_counter()
    for _ in range(10):
        validation_errors(BASE)
    assert (time.perf_counter() - start) / 10 < 0.05


def test_spec_modules_import_botocore_lazily():
    code = "import sys, amtlocal.spec, amtlocal.spec._model, amtlocal.spec._rules; print('botocore' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1]
    )
    assert out.stdout.strip() == "False"


# --- layer one: the botocore model walk ------------------------------------------------------------------------------


def test_string_max_length():
    e = only(model_errors(spec({f"{METRICS}[1].Regex": "r" * 501})))
    assert e.field == f"{METRICS}[1].Regex"
    assert "at most 500 characters (got 501)" in e.rule


def test_list_max_length():
    metrics = [{"Name": f"m{i}", "Regex": "x"} for i in range(41)]
    e = only(model_errors(spec({METRICS: metrics})))
    assert e.field == METRICS
    assert "at most 40 items (got 41)" in e.rule


def test_map_max_entries():
    statics = {f"hp{i}": "1" for i in range(101)}
    e = only(model_errors(spec({f"{DEF}.StaticHyperParameters": statics})))
    assert e.field == f"{DEF}.StaticHyperParameters"
    assert "at most 100 entries (got 101)" in e.rule


def test_map_key_max_length():
    e = only(model_errors(spec({f"{DEF}.StaticHyperParameters": {"k" * 257: "1"}})))
    assert e.field == f"{DEF}.StaticHyperParameters.{'k' * 257}"
    assert e.rule.startswith("key at most 256 characters")


def test_number_max_value():
    e = only(model_errors(spec({f"{CFG}.ResourceLimits.MaxRuntimeInSeconds": 15768001})))
    assert e.field == f"{CFG}.ResourceLimits.MaxRuntimeInSeconds"
    assert "must be at most 15768000" in e.rule


def test_enum_violation():
    e = only(validation_errors(spec({f"{CFG}.HyperParameterTuningJobObjective.Type": "Max"})))
    assert e.field == f"{CFG}.HyperParameterTuningJobObjective.Type"
    assert e.rule.startswith("must be one of Maximize, Minimize")


def test_pattern_violation():
    e = only(validation_errors(spec({f"{DEF}.RoleArn": "arn:aws:iam::1234:role/my-role"})))
    assert e.field == f"{DEF}.RoleArn"
    assert e.rule.startswith("must match arn:aws")


def test_pattern_violation_inside_a_list_item():
    e = only(validation_errors(spec({f"{DEF}.InputDataConfig[0].ChannelName": "train data"})))
    assert e.field == f"{DEF}.InputDataConfig[0].ChannelName"
    assert "must match [A-Za-z0-9\\.\\-_]+" in e.rule


def test_job_name_pattern_is_a_full_match():
    e = only(validation_errors(spec({"HyperParameterTuningJobName": "digits-random-"})))
    assert e.field == "HyperParameterTuningJobName"


def test_local_data_and_output_uris_allowed_but_other_schemes_still_checked():
    uri = f"{DEF}.InputDataConfig[0].DataSource.S3DataSource.S3Uri"
    out = f"{DEF}.OutputDataConfig.S3OutputPath"
    assert model_errors(spec({uri: "data/train"})) == []
    assert fields(model_errors(spec(), local_uris=False)) == [uri]
    # The local backend packs model.tar.gz under a local output path (a folder or file:// URI) ...
    assert model_errors(spec({out: "output"})) == [] and model_errors(spec({out: "file:///tmp/out"})) == []
    assert fields(model_errors(spec({out: "output"}), local_uris=False)) == [uri, out]
    # ... but another scheme still breaks the model's S3 pattern.
    e = only(model_errors(spec({out: "ftp://host/output"})))
    assert e.field == out


def test_java_unicode_property_patterns_are_skipped():
    assert _compiled("([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)") is None
    assert model_errors(spec({"Tags": [{"Key": "équipe", "Value": "x y"}]})) == []


def test_type_violation():
    e = only(validation_errors(spec({f"{CFG}.ResourceLimits.MaxParallelTrainingJobs": "2"})))
    assert e.field == f"{CFG}.ResourceLimits.MaxParallelTrainingJobs"
    assert e.rule == "must be an integer, got str '2'"


def test_type_violation_in_map_value():
    e = only(validation_errors(spec({f"{DEF}.StaticHyperParameters.max_iter": 100})))
    assert e.field == f"{DEF}.StaticHyperParameters.max_iter"
    assert e.rule.startswith("must be a string")


def test_minimum_from_param_validator():
    e = only(validation_errors(spec({f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs": 0})))
    assert e.field == f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs"
    assert e.rule == "must be at least 1 (got 0)"


def test_missing_required_member():
    e = only(validation_errors(spec(delete=[f"{DEF}.RoleArn"])))
    assert (e.field, e.rule) == (f"{DEF}.RoleArn", "required field is missing")
    e = only(validation_errors(spec(delete=[f"{RANGES}.IntegerParameterRanges[2].MaxValue"])))
    assert e.field == f"{RANGES}.IntegerParameterRanges[2].MaxValue"


def test_unknown_fields():
    req = spec({"about": "notes", f"{RANGES}.IntegerParameterRanges[0].Step": "1"})
    errors = validation_errors(req)
    assert fields(errors) == ["about", f"{RANGES}.IntegerParameterRanges[0].Step"]
    assert all(e.rule.startswith("unknown field") for e in errors)


def test_model_errors_come_in_request_order():
    req = spec({"HyperParameterTuningJobName": "a_b", f"{CFG}.Strategy": "Evo", f"{DEF}.RoleArn": 3})
    assert fields(model_errors(req)) == ["HyperParameterTuningJobName", f"{CFG}.Strategy", f"{DEF}.RoleArn"]


# --- layer two: AMT rules --------------------------------------------------------------------------------------------


def test_every_rule_cites_the_reference():
    assert len(RULES) >= 15
    for check in RULES:
        assert check.__doc__ and "section" in check.__doc__, check.__name__


def test_definition_and_definitions_are_exclusive():
    req = list_form()
    req[DEF] = copy.deepcopy(BASE[DEF])
    e = only(validation_errors(req))
    assert (e.field, e.rule) == (
        "TrainingJobDefinitions",
        "give TrainingJobDefinition or TrainingJobDefinitions, not both",
    )
    errors = validation_errors(spec(delete=[DEF]))
    assert fields(errors)[0] == DEF
    assert "one of TrainingJobDefinition or TrainingJobDefinitions is required" in errors[0].rule


def test_definitions_list_form():
    assert validation_errors(list_form()) == []
    req = list_form()
    del req["TrainingJobDefinitions"][0]["TuningObjective"]
    e = only(validation_errors(req))
    assert e.field == "TrainingJobDefinitions[0].TuningObjective"
    assert "required in each of TrainingJobDefinitions" in e.rule
    req = list_form()
    req["TrainingJobDefinitions"].append(copy.deepcopy(req["TrainingJobDefinitions"][0]))
    e = only(validation_errors(req))
    assert e.field == "TrainingJobDefinitions[1].DefinitionName"
    assert "DefinitionName must be unique" in e.rule


def test_list_form_objective_must_be_a_metric_definition():
    req = list_form(TuningObjective={"Type": "Minimize", "MetricName": "loss"})
    e = only(validation_errors(req))
    assert e.field == "TrainingJobDefinitions[0].TuningObjective.MetricName"
    assert "objective metric must be one of the MetricDefinitions: valid-precision" in e.rule


def test_objective_required_with_single_definition():
    e = only(validation_errors(spec(delete=[f"{CFG}.HyperParameterTuningJobObjective"])))
    assert e.field == f"{CFG}.HyperParameterTuningJobObjective"


def test_objective_message_quotes_amt():
    e = only(validation_errors(spec({f"{CFG}.HyperParameterTuningJobObjective.MetricName": "valid-auc"})))
    assert "A metric is required for this hyperparameter tuning job objective." in e.rule


def test_objective_not_checked_for_algorithm_resource():
    req = spec(
        {
            f"{CFG}.HyperParameterTuningJobObjective.MetricName": "validation:auc",
            f"{DEF}.AlgorithmSpecification.AlgorithmName": "my-algorithm",
        },
        [f"{DEF}.AlgorithmSpecification.TrainingImage", f"{DEF}.AlgorithmSpecification.MetricDefinitions"],
    )
    assert validation_errors(req) == []


def test_metric_regex_must_compile():
    e = only(validation_errors(spec({f"{METRICS}[0].Regex": "pre:\\s+([0-9"})))
    assert e.field == f"{METRICS}[0].Regex"
    assert e.rule.startswith("regex must compile: unterminated character set")


def test_metric_names_unique():
    e = only(validation_errors(spec({f"{METRICS}[1].Name": "valid-precision"})))
    assert e.field == f"{METRICS}[1].Name"
    assert "metric definition names must be unique" in e.rule


@pytest.mark.parametrize(
    "kind,bound,value,words",
    [
        ("IntegerParameterRanges", "MinValue", "1.5", "MinValue must be an integer"),
        ("IntegerParameterRanges", "MaxValue", "lots", "MaxValue must be an integer"),
        ("ContinuousParameterRanges", "MaxValue", "nan", "MaxValue must be a finite number"),
    ],
)
def test_range_bounds_must_parse(kind, bound, value, words):
    e = only(validation_errors(spec({f"{RANGES}.{kind}[0].{bound}": value})))
    assert e.field == f"{RANGES}.{kind}[0].{bound}"
    assert words in e.rule


def test_equal_bounds_allowed_and_continuous_order_checked():
    assert validation_errors(spec({f"{RANGES}.IntegerParameterRanges[0].MinValue": "200"})) == []
    e = only(validation_errors(spec({f"{RANGES}.ContinuousParameterRanges[0].MinValue": "0.6"})))
    assert e.field == f"{RANGES}.ContinuousParameterRanges[0]"
    assert e.rule.startswith("MinValue must not exceed MaxValue")


def test_logarithmic_integer_needs_positive_min():
    e = only(
        validation_errors(
            spec(
                {
                    f"{RANGES}.IntegerParameterRanges[2].MinValue": "0",
                    f"{RANGES}.IntegerParameterRanges[2].ScalingType": "Logarithmic",
                }
            )
        )
    )
    assert e.field == f"{RANGES}.IntegerParameterRanges[2]"
    assert e.rule.startswith("Logarithmic scaling needs MinValue > 0")
    assert validation_errors(spec({f"{RANGES}.IntegerParameterRanges[2].ScalingType": "Logarithmic"})) == []


@pytest.mark.parametrize(
    "lo,hi,ok",
    [("0", "0.99", True), ("0.01", "0.5", True), ("-0.1", "0.5", False), ("0.5", "0.5", False), ("0.5", "1", False)],
)
def test_reverse_logarithmic_interval(lo, hi, ok):
    path = f"{RANGES}.ContinuousParameterRanges[0]"
    errors = validation_errors(
        spec({f"{path}.MinValue": lo, f"{path}.MaxValue": hi, f"{path}.ScalingType": "ReverseLogarithmic"})
    )
    if ok:
        assert errors == []
    else:
        e = only(errors)
        assert e.field == path
        assert e.rule.startswith("ReverseLogarithmic needs 0 <= MinValue < MaxValue < 1")


def test_range_names_unique_across_lists():
    e = only(validation_errors(spec({f"{RANGES}.CategoricalParameterRanges[0].Name": "max-depth"})))
    assert e.field == f"{RANGES}.CategoricalParameterRanges[0].Name"
    assert "'max-depth' has more than one range" in e.rule


def test_range_name_not_also_static():
    e = only(validation_errors(spec({f"{DEF}.StaticHyperParameters.criterion": '"gini"'})))
    assert e.field == f"{RANGES}.CategoricalParameterRanges[0].Name"
    assert "'criterion' is both tunable and static" in e.rule


def test_at_most_30_ranges_in_total():
    ints = [{"Name": f"i{i}", "MinValue": "1", "MaxValue": "2"} for i in range(11)]
    floats = [{"Name": f"f{i}", "MinValue": "0", "MaxValue": "1"} for i in range(11)]
    cats = [{"Name": f"c{i}", "Values": ["a", "b"]} for i in range(9)]
    req = spec(
        {
            RANGES: {
                "IntegerParameterRanges": ints,
                "ContinuousParameterRanges": floats,
                "CategoricalParameterRanges": cats,
            }
        }
    )
    e = only(validation_errors(req))
    assert e.field == RANGES
    assert "at most 30 tunable hyperparameters" in e.rule and "(got 31)" in e.rule
    req[RANGES.split(".")[0]]["ParameterRanges"]["CategoricalParameterRanges"].pop()
    assert validation_errors(req) == []


def test_categorical_at_most_30_values():
    path = f"{RANGES}.CategoricalParameterRanges[0].Values"
    req = spec({path: [str(i) for i in range(31)]})
    e = only(validation_errors(req))  # the model's maximum catches it first
    assert (e.field, e.rule) == (path, "at most 30 items (got 31)")
    e = only(rule_errors(req))  # the rule keeps AMT's wording
    assert e.field == path
    assert e.rule.startswith("at most 30 values per categorical hyperparameter")


def test_static_plus_tunable_plus_objective_at_most_100():
    statics = dict(BASE[DEF]["StaticHyperParameters"])
    statics.update({f"hp{i}": "1" for i in range(100 - 5 - 1 - len(statics))})  # 5 ranges + _tuning_objective_metric
    assert validation_errors(spec({f"{DEF}.StaticHyperParameters": statics})) == []
    statics["one-more"] = "1"
    e = only(validation_errors(spec({f"{DEF}.StaticHyperParameters": statics})))
    assert e.field == f"{DEF}.StaticHyperParameters"
    assert "_tuning_objective_metric, must be at most 100 (got 101)" in e.rule


def test_grid_job_count_is_the_product_of_value_counts():
    assert validation_errors(grid_spec()) == []
    assert validation_errors(grid_spec(MaxNumberOfTrainingJobs=3)) == []
    e = only(validation_errors(grid_spec(MaxNumberOfTrainingJobs=4)))
    assert e.field == f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs"
    assert "must equal the product of the categorical value counts (3)" in e.rule
    req = grid_spec(MaxNumberOfTrainingJobs=6)
    req[CFG]["ParameterRanges"]["CategoricalParameterRanges"].append({"Name": "bootstrap", "Values": ["true", "false"]})
    assert validation_errors(req) == []


def test_grid_point_count_at_most_750():
    req = grid_spec()
    req[CFG]["ParameterRanges"]["CategoricalParameterRanges"] = [
        {"Name": f"c{i}", "Values": [str(v) for v in range(10)]} for i in range(3)
    ]
    e = only(validation_errors(req))
    assert e.field == RANGES
    assert "1000 grid points; at most 750" in e.rule


def test_hyperband_resources():
    assert validation_errors(hyperband_spec({"MinResource": 1, "MaxResource": 20000})) == []
    e = only(validation_errors(hyperband_spec({"MinResource": 1, "MaxResource": 20001})))
    assert (e.field, e.rule) == (f"{HB}.MaxResource", "MaxResource must be at most 20000 (got 20001)")
    e = only(validation_errors(hyperband_spec({"MinResource": 10, "MaxResource": 9})))
    assert e.field == f"{HB}.MinResource"
    assert e.rule.startswith("MinResource must not exceed MaxResource")


def test_hyperband_max_resource_inferred_from_epochs():
    e = only(validation_errors(hyperband_spec({"MinResource": 1})))
    assert e.field == f"{HB}.MaxResource"
    assert "epochs, numepochs, n-epochs, n_epochs, num_epochs" in e.rule
    assert only(validation_errors(hyperband_spec(None))).field == f"{HB}.MaxResource"
    req = hyperband_spec({"MinResource": 1})
    req[DEF]["StaticHyperParameters"]["n_epochs"] = "10"
    assert validation_errors(req) == []
    req[CFG]["StrategyConfig"]["HyperbandStrategyConfig"]["MinResource"] = 11
    e = only(validation_errors(req))
    assert (e.field, e.rule) == (f"{HB}.MinResource", "MinResource must not exceed MaxResource (got 11 > 10)")


def test_strategy_config_rejected_without_hyperband():
    req = spec(
        {f"{CFG}.Strategy": "Bayesian", f"{CFG}.StrategyConfig": {"HyperbandStrategyConfig": {"MinResource": 1}}}
    )
    e = only(validation_errors(req))
    assert e.field == f"{CFG}.StrategyConfig"
    assert e.rule.startswith("StrategyConfig is only valid with the Hyperband strategy")


@pytest.mark.parametrize(
    "strategy,jobs,ok",
    [("Bayesian", 750, True), ("Bayesian", 751, False), ("Random", 10000, True), ("Random", 10001, False)],
)
def test_max_number_of_training_jobs(strategy, jobs, ok):
    errors = validation_errors(
        spec({f"{CFG}.Strategy": strategy, f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs": jobs})
    )
    if ok:
        assert errors == []
    else:
        e = only(errors)
        assert e.field == f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs"
        assert e.rule.startswith(f"at most {jobs - 1} training jobs per tuning job")


def test_max_number_of_training_jobs_required_unless_grid():
    e = only(validation_errors(spec(delete=[f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs"])))
    assert e.field == f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs"
    assert e.rule == "MaxNumberOfTrainingJobs is required unless Strategy is Grid"


def test_max_parallel_training_jobs():
    assert validation_errors(spec({f"{CFG}.ResourceLimits.MaxParallelTrainingJobs": 100})) == []
    e = only(validation_errors(spec({f"{CFG}.ResourceLimits.MaxParallelTrainingJobs": 101})))
    assert e.field == f"{CFG}.ResourceLimits.MaxParallelTrainingJobs"
    assert "at most 100 parallel training jobs" in e.rule


def test_warm_start_parents():
    def warm(*names):
        return spec(
            {
                "WarmStartConfig": {
                    "WarmStartType": "TransferLearning",
                    "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": n} for n in names],
                }
            }
        )

    assert validation_errors(warm("p1", "p2", "p3", "p4", "p5")) == []
    e = only(validation_errors(warm("p1", "P1")))
    assert e.field == "WarmStartConfig.ParentHyperParameterTuningJobs[1].HyperParameterTuningJobName"
    assert "parent tuning jobs must be unique" in e.rule
    e = only(rule_errors(warm("p1", "p2", "p3", "p4", "p5", "p6")))
    assert (e.field, e.rule) == (
        "WarmStartConfig.ParentHyperParameterTuningJobs",
        "at most 5 parent tuning jobs (got 6)",
    )


# --- found by trying to break it (2026-12-04): each was accepted, then failed or misled later -------------------------


def test_a_bool_is_not_a_number():
    """JSON ``true`` where an integer goes (Python's bool is an int to botocore's ParamValidator)."""
    e = only(validation_errors(spec({f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs": True})))
    assert e.field == f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs"
    assert e.rule == "must be an integer, got bool True"


def test_a_continuous_range_wider_than_the_largest_float_is_refused():
    """[-1e308, 1e308] was valid, then every draw overflowed and the tuning job Failed (InternalServerError)."""
    req = spec()
    req[CFG]["ParameterRanges"]["ContinuousParameterRanges"][0].update(MinValue="-1e308", MaxValue="1e308")
    e = only(validation_errors(req))
    assert e.field == f"{CFG}.ParameterRanges.ContinuousParameterRanges[0]"
    assert e.rule == "MaxValue - MinValue must be a finite number (got [-1e+308, 1e+308])"
    req[CFG]["ParameterRanges"]["ContinuousParameterRanges"][0].update(MinValue="-1e307", MaxValue="1e307")
    assert validation_errors(req) == []


def test_a_range_cannot_tune_the_objective_hyperparameter():
    """AMT sets ``_tuning_objective_metric`` itself: a range of that name was tuned, then overwritten in
    hyperparameters.json while TunedHyperParameters still reported the drawn value."""
    req = spec()
    req[CFG]["ParameterRanges"]["IntegerParameterRanges"].append(
        {"Name": "_tuning_objective_metric", "MinValue": "1", "MaxValue": "3"}
    )
    e = only(validation_errors(req))
    assert e.field == f"{CFG}.ParameterRanges.IntegerParameterRanges[3].Name"
    assert e.rule.startswith("'_tuning_objective_metric' is reserved")


@pytest.mark.parametrize(("seconds", "valid"), [(28 * 86400, True), (28 * 86400 + 1, False)])
def test_a_training_job_runs_at_most_28_days(seconds, valid):
    req = spec({f"{DEF}.StoppingCondition.MaxRuntimeInSeconds": seconds})
    errors = validation_errors(req)
    if valid:
        assert errors == []
    else:
        e = only(errors)
        assert e.field == f"{DEF}.StoppingCondition.MaxRuntimeInSeconds"
        assert e.rule == f"must be at most 2419200 (28 days; got {seconds})"


# --- ranges in TrainingJobDefinition.HyperParameterRanges (the single form's other place for them) ---------------------

DEF_RANGES = f"{DEF}.HyperParameterRanges"


def in_definition(req: dict) -> dict:
    """``req`` with its config's ParameterRanges moved to ``TrainingJobDefinition.HyperParameterRanges``, where
    botocore's shape also allows them and the local scheduler reads them (``spec.definitions.ranges_with_path``)."""
    req[DEF]["HyperParameterRanges"] = req[CFG].pop("ParameterRanges")
    return req


def test_ranges_in_the_definition_are_valid_as_given():
    assert validation_errors(in_definition(spec())) == []


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        (
            {"ContinuousParameterRanges[0].MinValue": "5", "ContinuousParameterRanges[0].MaxValue": "1"},
            f"{DEF_RANGES}.ContinuousParameterRanges[0]",
            "MinValue must not exceed MaxValue (got 5.0 > 1.0)",
        ),
        (
            {"IntegerParameterRanges[0].MinValue": "one"},
            f"{DEF_RANGES}.IntegerParameterRanges[0].MinValue",
            "MinValue must be an integer (got 'one')",
        ),
        (
            {"ContinuousParameterRanges[0].MinValue": "0", "ContinuousParameterRanges[0].ScalingType": "Logarithmic"},
            f"{DEF_RANGES}.ContinuousParameterRanges[0]",
            "Logarithmic scaling needs MinValue > 0 (got 0.0)",
        ),
        (
            {
                "ContinuousParameterRanges[0].MaxValue": "1",
                "ContinuousParameterRanges[0].ScalingType": "ReverseLogarithmic",
            },
            f"{DEF_RANGES}.ContinuousParameterRanges[0]",
            "ReverseLogarithmic needs 0 <= MinValue < MaxValue < 1 (got [0.01, 1.0])",
        ),
        (
            {"CategoricalParameterRanges[0].Name": "max-depth"},
            f"{DEF_RANGES}.CategoricalParameterRanges[0].Name",
            f"hyperparameter 'max-depth' has more than one range (also {DEF_RANGES}.IntegerParameterRanges[1].Name)",
        ),
    ],
)
def test_range_rules_read_the_definitions_ranges(change, field, rule):
    """Before, ranges given in TrainingJobDefinition.HyperParameterRanges skipped every range rule (only the config's
    ParameterRanges were checked): Min 5 > Max 1 was accepted and the job failed later with InternalServerError
    'low <= high must hold'."""
    req = in_definition(spec())
    for path, value in change.items():
        set_path(req, f"{DEF_RANGES}.{path}", value)
    e = only(validation_errors(req))
    assert (e.field, e.rule) == (field, rule)


def test_a_definition_range_also_static_is_refused():
    req = in_definition(spec({f"{DEF}.StaticHyperParameters.criterion": '"gini"'}))
    e = only(validation_errors(req))
    assert e.field == f"{DEF_RANGES}.CategoricalParameterRanges[0].Name"
    assert e.rule == f"hyperparameter 'criterion' is both tunable and static (in {DEF}.StaticHyperParameters)"


def test_grid_reads_the_categorical_ranges_of_the_definition():
    """Before, Grid with its categorical ranges in the definition was refused: 'Grid search needs at least one
    categorical range'."""
    assert validation_errors(in_definition(grid_spec())) == []
    e = only(validation_errors(in_definition(grid_spec(MaxNumberOfTrainingJobs=4))))
    assert e.field == f"{CFG}.ResourceLimits.MaxNumberOfTrainingJobs"
    assert "must equal the product of the categorical value counts (3)" in e.rule
    e = only(validation_errors(in_definition(spec({f"{CFG}.Strategy": "Grid"}))))
    assert e.field == DEF_RANGES
    assert (
        e.rule == "Grid search takes categorical ranges only (found IntegerParameterRanges, ContinuousParameterRanges)"
    )


def test_ranges_the_scheduler_does_not_read_are_still_checked():
    """Single form with ranges in both places: the config's are searched, the definition's are still checked (as the
    list form's config ParameterRanges are), so a bad range is never accepted silently."""
    req = spec()
    req[DEF]["HyperParameterRanges"] = {"IntegerParameterRanges": [{"Name": "n", "MinValue": "5", "MaxValue": "1"}]}
    e = only(validation_errors(req))
    assert e.field == f"{DEF_RANGES}.IntegerParameterRanges[0]"
    assert e.rule == "MinValue must not exceed MaxValue (got 5 > 1)"
