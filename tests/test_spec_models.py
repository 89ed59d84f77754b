"""The public models of the request's parts (amtlocal.spec.*): each concept is read one way, and the modules that
used to carry their own copy now give the same answers."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amtlocal.exceptions import AmtValidationError
from amtlocal.spec.definitions import definitions, definitions_with_paths, objective_of, ranges_of
from amtlocal.spec.hyperparameters import decode_hyperparameter, encode_hyperparameter, hyperparameter_label
from amtlocal.spec.placeholders import LOCAL_ACCOUNT, region, training_job_arn, tuning_job_arn
from amtlocal.spec.ranges import Range, job_space, merged_space, search_space
from amtlocal.spec.summaries import objective_succeeded, objective_value, summary_params, summary_trial
from amtlocal.spec.uris import is_local_uri, resolve_local_uri, to_uri

PACKAGE = Path(__file__).resolve().parent.parent / "amtlocal"

# Values a user passes to an SDK v2 framework estimator, and the wire strings SDK v2 sends for them.
SDK_VALUES = [
    (3, "3"),
    (0, "0"),
    (-7, "-7"),
    (2.5, "2.5"),
    (1e-05, "1e-05"),
    (True, "true"),
    (False, "false"),
    ("sqrt", '"sqrt"'),
    ("a b", '"a b"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("it's", '"it\'s"'),
    ("", '""'),
    ("$(rm -rf /); `x` | y", '"$(rm -rf /); `x` | y"'),
    ([1, "a", 2.5], '[1, "a", 2.5]'),
    ({"a": 1, "b": [2, 3]}, '{"a": 1, "b": [2, 3]}'),
    (None, "null"),
]


# -- hyperparameters ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, wire", SDK_VALUES)
def test_codec_writes_what_sdk_v2_writes_and_reads_it_back(value, wire):
    assert encode_hyperparameter(value) == wire
    decoded = decode_hyperparameter(wire)
    assert decoded == value and type(decoded) is type(value)


def test_codec_matches_sdk_v2_itself():
    """The SDK's own encoder (EstimatorBase._json_encode_hyperparameters) gives the same strings."""
    estimator = pytest.importorskip("sagemaker.estimator")
    values = {f"k{i}": v for i, (v, _) in enumerate(SDK_VALUES)}
    assert estimator.EstimatorBase._json_encode_hyperparameters(values) == {
        k: encode_hyperparameter(v) for k, v in values.items()
    }


def test_decoding_falls_back_to_the_raw_string_as_the_toolkit_does():
    assert decode_hyperparameter("abc") == "abc"
    assert decode_hyperparameter("a b") == "a b"  # a plain Estimator's str(value): not JSON, kept whole
    assert decode_hyperparameter("True") == "True"  # Python's str(True) is not JSON: a (truthy) string
    assert decode_hyperparameter("3.0") == 3.0 and isinstance(decode_hyperparameter("3.0"), float)
    assert decode_hyperparameter("--x") == "--x"
    assert decode_hyperparameter(7) == 7  # a YAML spec's number stays as given


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    )
)
def test_codec_round_trips_any_json_value(value):
    assert decode_hyperparameter(encode_hyperparameter(value)) == value


def test_label_unquotes_json_strings_only():
    assert hyperparameter_label('"adam"') == "adam"
    assert hyperparameter_label("adam") == "adam"
    assert hyperparameter_label("10") == "10"  # a number keeps its wire form (charts cast it by its range)
    assert hyperparameter_label('"a \\"b\\""') == 'a "b"'


def test_api_and_local_runner_use_the_one_codec(tmp_path):
    """SKLearn's static hyperparameters are encode_hyperparameter's strings; the local runner decodes them back."""
    from amtlocal import SKLearn
    from amtlocal.container import split_hyperparameters

    hps = {"n": 3, "lr": 0.5, "flag": True, "name": "a b", "quote": 'say "hi"', "layers": [64, 32], "cfg": {"a": 1}}
    est = SKLearn(entry_point=str(tmp_path / "train.py"), framework_version="1.2-1", hyperparameters=hps)
    wire = est.hyperparameters()
    assert wire == {k: encode_hyperparameter(v) for k, v in hps.items()}
    user, _ = split_hyperparameters(wire)
    assert user == hps


# -- ranges ------------------------------------------------------------------------------------------------------
def _range(kind: str, lo, hi, scaling: str = "Auto") -> Range:
    return Range.from_request(kind, {"Name": "p", "MinValue": str(lo), "MaxValue": str(hi), "ScalingType": scaling})


@pytest.mark.parametrize(
    "kind, lo, hi, scaling, dist_type, log, axis",
    [
        ("Integer", 1, 100, "Linear", "IntDistribution", False, "linear"),
        ("Integer", 1, 100, "Logarithmic", "IntDistribution", True, "log"),
        ("Integer", 1, 10000, "Auto", "IntDistribution", True, "log"),  # spans >= 3 orders of magnitude
        ("Integer", 0, 10000, "Auto", "IntDistribution", False, "linear"),  # 0: no log scale
        ("Integer", 10, 100, "Auto", "IntDistribution", False, "linear"),
        ("Continuous", 0.1, 0.9, "Linear", "FloatDistribution", False, "linear"),
        ("Continuous", 1e-5, 1.0, "Logarithmic", "FloatDistribution", True, "log"),
        ("Continuous", 1e-5, 1.0, "Auto", "FloatDistribution", True, "log"),
        ("Continuous", 0.5, 2.0, "Auto", "FloatDistribution", False, "linear"),
        ("Continuous", 0.9, 0.999, "ReverseLogarithmic", "FloatDistribution", True, "reverse log"),
    ],
)
def test_range_gives_the_optuna_distribution_and_the_axis(kind, lo, hi, scaling, dist_type, log, axis):
    rng = _range(kind, lo, hi, scaling)
    dist = rng.distribution()
    assert type(dist).__name__ == dist_type and dist.log is log
    assert rng.axis_scale == axis
    assert rng.scaling != "Auto"  # Auto is resolved once, for sampling and drawing alike
    if scaling == "ReverseLogarithmic":
        assert (dist.low, dist.high) == pytest.approx((1 - hi, 1 - lo))  # u = 1 - x sampled on a log scale
    else:
        assert (dist.low, dist.high) == (lo, hi)
        assert isinstance(dist.low, int) is (kind == "Integer")


def test_reverse_logarithmic_conversions():
    rng = _range("Continuous", 0.9, 0.999, "ReverseLogarithmic")
    assert float(rng.to_wire(0.01)) == pytest.approx(0.99)
    assert rng.to_internal("0.99") == pytest.approx(0.01)
    assert rng.to_internal("0.5") is None  # outside the range
    assert rng.clip("0.5") == pytest.approx(0.1)  # clipped to 0.9, then 1 - x
    assert rng.cast("0.99") == 0.99


def test_integer_and_categorical_conversions():
    ints = _range("Integer", 1, 100, "Linear")
    assert ints.to_wire(17.0) == "17" and ints.to_internal("17") == 17 and ints.to_internal("17.5") is None
    assert ints.cast("17.0") == 17 and isinstance(ints.cast("17.0"), int) and ints.cast("x") is None
    cat = Range.from_request("Categorical", {"Name": "crit", "Values": ['"gini"', '"entropy"']})
    assert type(cat.distribution()).__name__ == "CategoricalDistribution"
    assert cat.distribution().choices == ('"gini"', '"entropy"')  # Optuna samples the wire strings
    assert cat.labels == ["gini", "entropy"] and cat.axis_scale == "categorical" and not cat.log
    assert cat.to_internal('"gini"') == '"gini"' and cat.to_internal("gini") is None and cat.cast('"gini"') == "gini"


def test_search_space_order_and_merging():
    ranges = {
        "CategoricalParameterRanges": [{"Name": "c", "Values": ["a", "b"]}],
        "IntegerParameterRanges": [{"Name": "i", "MinValue": "1", "MaxValue": "5", "ScalingType": "Linear"}],
        "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0.1", "MaxValue": "0.2", "ScalingType": "Linear"}],
    }
    space = search_space(ranges)
    assert list(space) == ["i", "x", "c"]
    wider = search_space(
        {
            "IntegerParameterRanges": [{"Name": "i", "MinValue": "0", "MaxValue": "9", "ScalingType": "Linear"}],
            "CategoricalParameterRanges": [{"Name": "c", "Values": ["b", "z"]}],
        }
    )
    merged = merged_space(space, wider)
    assert (merged["i"].low, merged["i"].high) == (0, 9) and merged["c"].values == ["a", "b", "z"]
    multi = {
        "HyperParameterTuningJobConfig": {},
        "TrainingJobDefinitions": [
            {"DefinitionName": "a", "HyperParameterRanges": ranges},
            {
                "DefinitionName": "b",
                "HyperParameterRanges": {
                    "ContinuousParameterRanges": [
                        {"Name": "y", "MinValue": "1", "MaxValue": "2", "ScalingType": "Linear"}
                    ]
                },
            },
        ],
    }
    assert list(job_space(multi)) == ["i", "x", "c", "y"]


def test_viz_and_the_local_backend_read_ranges_alike():
    from amtlocal.backends.local._definitions import definitions_of
    from amtlocal.viz._data import parse_ranges

    req = {
        "HyperParameterTuningJobConfig": {
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "lr", "MinValue": "0.0001", "MaxValue": "1", "ScalingType": "Auto"}
                ],
                "CategoricalParameterRanges": [{"Name": "k", "Values": ['"rbf"', '"linear"']}],
            },
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "f1"},
        },
        "TrainingJobDefinition": {"AlgorithmSpecification": {"MetricDefinitions": []}},
    }
    local = definitions_of(req)[0].space
    assert parse_ranges(req) == local
    assert local["lr"].log and local["lr"].distribution().log


# -- definitions -------------------------------------------------------------------------------------------------
SINGLE = {
    "HyperParameterTuningJobConfig": {
        "ParameterRanges": {"IntegerParameterRanges": []},
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
    },
    "TrainingJobDefinition": {"StaticHyperParameters": {"a": "1"}},
}
MANY = {
    "HyperParameterTuningJobConfig": {},
    "TrainingJobDefinitions": [
        {"DefinitionName": "a", "HyperParameterRanges": {"x": 1}},
        {
            "DefinitionName": "b",
            "HyperParameterRanges": {"y": 2},
            "TuningObjective": {"Type": "Maximize", "MetricName": "f1"},
        },
    ],
}


def test_definitions_of_a_request():
    assert definitions_with_paths(SINGLE) == [("TrainingJobDefinition", SINGLE["TrainingJobDefinition"])]
    assert [p for p, _ in definitions_with_paths(MANY)] == ["TrainingJobDefinitions[0]", "TrainingJobDefinitions[1]"]
    assert definitions(MANY)[1] is MANY["TrainingJobDefinitions"][1]  # the request's own dicts: rewrites land in it
    assert definitions({}) == [] and definitions({"TrainingJobDefinitions": "bad"}) == []
    assert ranges_of(SINGLE, definitions(SINGLE)[0]) == {"IntegerParameterRanges": []}
    assert ranges_of(MANY, definitions(MANY)[1]) == {"y": 2}
    assert objective_of(SINGLE) == {"Type": "Minimize", "MetricName": "loss"}
    assert objective_of(MANY) == {"Type": "Maximize", "MetricName": "f1"}  # the first definition that has one
    assert objective_of(MANY, definitions(MANY)[0]) == {} and objective_of({}) == {}


def test_every_reader_of_definitions_agrees():
    from amtlocal.spec import TuningSpec
    from amtlocal.spec._rules import _definitions

    for req in (SINGLE, MANY):
        assert TuningSpec(req).definitions() == definitions(req)
        assert _definitions(req) == definitions_with_paths(req)


# -- summaries ---------------------------------------------------------------------------------------------------
def _summary(status="Succeeded", value=0.5, **tuned):
    s = {
        "TrainingJobName": "j",
        "TrainingJobStatus": "Completed",
        "ObjectiveStatus": status,
        "TunedHyperParameters": tuned,
    }
    if value is not None:
        s["FinalHyperParameterTuningJobObjectiveMetric"] = {"MetricName": "f1", "Value": value}
    return s


def test_objective_succeeded_and_value():
    assert objective_succeeded(_summary()) and objective_value(_summary()) == 0.5
    assert not objective_succeeded(_summary("Failed")) and objective_value(_summary("Failed")) is None
    assert not objective_succeeded(_summary(value=None))
    assert objective_succeeded(_summary(value=math.nan)) and objective_value(_summary(value=math.nan)) is None


def test_summary_trial():
    from optuna.trial import TrialState

    space = search_space(
        {
            "IntegerParameterRanges": [{"Name": "n", "MinValue": "1", "MaxValue": "9", "ScalingType": "Linear"}],
            "CategoricalParameterRanges": [{"Name": "k", "Values": ["a", "b"]}],
        }
    )
    ok = summary_trial(_summary(n="3", k="b"), space, {"role": "own"})
    assert (
        ok.state == TrialState.COMPLETE
        and ok.value == 0.5
        and ok.params == {"n": 3, "k": "b"}
        and ok.user_attrs == {"role": "own"}
    )
    failed = summary_trial(_summary("Failed", None, n="3", k="b"), space)
    assert failed.state == TrialState.FAIL and failed.params == {"n": 3, "k": "b"}
    outside = summary_trial(_summary(n="30", k="b"), space)  # outside the (narrowed) range: not shown to the sampler
    assert outside.state == TrialState.FAIL and outside.params == {}
    static = summary_trial(_summary(n="3"), space, static={"k": "a"})  # k was static in the job that ran
    assert static.state == TrialState.COMPLETE and static.params["k"] == "a"
    assert summary_params(_summary(n="30", k="z"), space, clip=True) == {"n": 9}  # enqueue: clipped, unknown left out
    assert summary_params(_summary(k="a"), space, clip=True) is None  # a missing value: no point


# -- URIs and placeholders ---------------------------------------------------------------------------------------
def test_local_uris(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    assert is_local_uri("file:///x") and is_local_uri("rel/path") and not is_local_uri("s3://b/k")
    assert resolve_local_uri("data", tmp_path, "F") == (tmp_path / "data").resolve()
    assert resolve_local_uri(f"file://{tmp_path}/data", Path("/elsewhere"), "F") == (tmp_path / "data").resolve()
    with pytest.raises(AmtValidationError, match="^F: the local backend reads local folders"):
        resolve_local_uri("s3://bucket/key", tmp_path, "F")
    with pytest.raises(AmtValidationError, match="^F: local path .* does not exist"):
        resolve_local_uri("missing", tmp_path, "F")
    monkeypatch.chdir(tmp_path)
    assert to_uri("data") == f"file://{(tmp_path / 'data').resolve()}" and to_uri("s3://b/k") == "s3://b/k"


def test_region_and_local_arns(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert region() == "eu-west-1"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert region() == "ap-south-1"
    assert training_job_arn("My-Job") == f"arn:aws:sagemaker:ap-south-1:{LOCAL_ACCOUNT}:training-job/my-job"
    assert tuning_job_arn("T") == f"arn:aws:sagemaker:ap-south-1:{LOCAL_ACCOUNT}:hyper-parameter-tuning-job/t"


# -- where things live -------------------------------------------------------------------------------------------
def test_exceptions_live_in_exceptions_and_keep_their_old_names():
    from amtlocal import exceptions
    from amtlocal.backends.sagemaker import CloudTuningJobNotFound
    from amtlocal.viz import VizError

    assert CloudTuningJobNotFound is exceptions.CloudTuningJobNotFound and VizError is exceptions.VizError
    assert issubclass(CloudTuningJobNotFound, exceptions.TuningJobNotFound) and issubclass(VizError, ValueError)
    assert "not found on SageMaker in eu-west-1" in str(CloudTuningJobNotFound("x", "eu-west-1"))
    for path in PACKAGE.rglob("*.py"):
        if path.name != "exceptions.py":
            tree = ast.parse(path.read_text(encoding="utf-8"))
            bad = [
                n.name
                for n in ast.walk(tree)
                if isinstance(n, ast.ClassDef)
                and any(
                    getattr(b, "id", getattr(b, "attr", "")) in ("Exception", "AmtLocalError", "ValueError")
                    for b in n.bases
                )
            ]
            assert not bad, f"{path.relative_to(PACKAGE)} defines exceptions {bad}"


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
            out += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def _package_of(path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if path.name != "__init__.py" else rel.parts[:-1])


def test_no_private_module_of_another_package_is_imported():
    """A private module (``_name``) of package P is imported only from P or P's subpackages, across all of amtlocal."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        package = _package_of(path)
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "amtlocal":
                continue
            private = next(
                (i for i, p in enumerate(parts[1:], 1) if p.startswith("_") and not p.startswith("__")), None
            )
            if private is None:
                continue
            owner = ".".join(parts[:private])
            if package != owner and not package.startswith(owner + "."):
                found.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert found == []


# Code that runs inside a training job's own process, as the Python interpreter there (it prints what the
# interpreter would print for the user's script, e.g. a SystemExit message); not library output.
TRAINING_JOB_SIDE = {"_zygote.py"}


def test_only_the_cli_prints():
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts or path.name == "__main__.py" or path.name in TRAINING_JOB_SIDE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        prints = [
            n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"
        ]
        assert not prints, f"{path.relative_to(PACKAGE)} prints at lines {prints}"


def test_cli_registers_pull_and_report():
    import argparse

    from amtlocal import cli

    parser = cli.build_parser()
    choices = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    args = parser.parse_args(["report", "a", "b", "-o", "r.html", "--trials-only"])
    assert args.func.__module__ == "amtlocal.cli._report" and args.jobs == ["a", "b"] and args.trials_only
    assert parser.parse_args(["pull", "x", "--force"]).func.__module__ == "amtlocal.cli._pull"
    assert {"tune", "validate", "list", "describe", "jobs", "stop", "pull", "report"} <= set(choices)
