"""The cloud request: the local spec plus the documented rewrites only; --dry-run makes no AWS call; SDK v2 parity.

No test reaches AWS: moto for STS, S3 and CreateHyperParameterTuningJob; a dry run runs with no credentials and every
AWS endpoint pointed at a closed local port.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from amtlocal.backends.sagemaker import SageMakerBackend, _images, is_rewritten, plan_request
from amtlocal.backends.sagemaker._package import pack_sourcedir
from amtlocal.exceptions import AmtLocalError, AmtValidationError
from amtlocal.testing import GOOD_SCRIPT, fake_aws, make_request, use_script

REPO = Path(__file__).resolve().parent.parent
ROLE = "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole"
MOTO_ACCOUNT = "123456789012"  # what moto's STS answers
ECR_SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
GOOD = GOOD_SCRIPT


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    fake_aws(monkeypatch, tmp_path)


def flat(obj, path: str = "") -> dict[str, object]:
    """Leaves of a request as {dotted path: value} (the paths validation errors name)."""
    if isinstance(obj, dict):
        out: dict[str, object] = {}
        for k, v in obj.items():
            out.update(flat(v, f"{path}.{k}" if path else str(k)))
        return out or {path: {}}
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(flat(v, f"{path}[{i}]"))
        return out or {path: []}
    return {path: obj}


def differing(a: dict, b: dict) -> dict[str, tuple]:
    fa, fb = flat(a), flat(b)
    return {p: (fa.get(p), fb.get(p)) for p in sorted(set(fa) | set(fb)) if fa.get(p, KeyError) != fb.get(p, KeyError)}


def local_request(name="cloudy", **kw):
    """A local spec as the API face writes it: placeholder role and output path, registry-less framework image."""
    req = make_request(name, integer=[("x", 1, 9, "Auto")], categorical=[("kernel", ['"rbf"', '"linear"'])], **kw)
    d = req["TrainingJobDefinition"]
    d["RoleArn"] = "arn:aws:iam::000000000000:role/amtlocal-local"
    d["OutputDataConfig"]["S3OutputPath"] = "s3://amtlocal-local/output"
    d["AlgorithmSpecification"]["TrainingImage"] = "sagemaker-scikit-learn:1.2-1-cpu-py3"
    d["StaticHyperParameters"]["sagemaker_job_name"] = '"sagemaker-scikit-learn-est-1"'
    d["StaticHyperParameters"]["sagemaker_region"] = (
        '"eu-west-1"'  # where the spec was written: the job runs in us-east-1
    )
    d["StaticHyperParameters"]["C"] = "1.5"
    d["InputDataConfig"].append(
        {
            "ChannelName": "extra",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": "s3://my-bucket/extra/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }
    )
    return req


def test_cloud_request_equals_local_spec_except_documented_rewrites(workdir, monkeypatch):
    use_script(workdir, GOOD)
    monkeypatch.setenv("AMTLOCAL_ROLE_ARN", ROLE)
    req = local_request()
    cloud, uploads = plan_request(req, workdir, region="us-east-1", account=MOTO_ACCOUNT)
    diff = differing(req, cloud)
    assert all(is_rewritten(p) for p in diff), [p for p in diff if not is_rewritten(p)]
    d = "TrainingJobDefinition"
    bucket = f"sagemaker-us-east-1-{MOTO_ACCOUNT}"
    assert {p: new for p, (_, new) in diff.items()} == {
        f"{d}.RoleArn": ROLE,
        f"{d}.OutputDataConfig.S3OutputPath": f"s3://{bucket}/",
        f"{d}.AlgorithmSpecification.TrainingImage": ECR_SKLEARN,
        # JSON-quoted, at SDK v2's key: <estimator job name>/source/sourcedir.tar.gz in the output path's bucket
        f"{d}.StaticHyperParameters.sagemaker_submit_directory": f'"s3://{bucket}/sagemaker-scikit-learn-est-1/source/sourcedir.tar.gz"',
        f"{d}.StaticHyperParameters.sagemaker_region": '"us-east-1"',
        f"{d}.InputDataConfig[0].DataSource.S3DataSource.S3Uri": f"s3://{bucket}/sagemaker-scikit-learn-est-1/input/train/",
    }
    # the s3:// channel passed through untouched; static and tuned values, metrics, limits, strategy unchanged
    assert cloud[d]["InputDataConfig"][1] == req[d]["InputDataConfig"][1]
    assert req[d]["RoleArn"].endswith("amtlocal-local")  # the input was not modified
    assert sorted((u.kind, u.source.name, u.key) for u in uploads) == [
        ("code", "code", "sagemaker-scikit-learn-est-1/source/sourcedir.tar.gz"),
        ("data", "data", "sagemaker-scikit-learn-est-1/input/train/"),
    ]
    assert all(u.expected_owner == MOTO_ACCOUNT for u in uploads)


def test_log_level_added_when_missing_and_own_output_bucket_kept(workdir):
    use_script(workdir, GOOD)
    req = make_request("mine")
    del req["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_container_log_level"]
    cloud, uploads = plan_request(
        req, workdir, region="eu-west-1", account=MOTO_ACCOUNT, resolve_image=lambda image, region, itype: image
    )
    static = cloud["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["sagemaker_container_log_level"] == "20" and static["sagemaker_region"] == '"eu-west-1"'
    # an explicit role and output path are the user's: kept; code goes next to the output, under the tuning job name
    assert cloud["TrainingJobDefinition"]["RoleArn"] == req["TrainingJobDefinition"]["RoleArn"]
    assert static["sagemaker_submit_directory"] == '"s3://example-bucket/mine/source/sourcedir.tar.gz"'
    assert all(u.bucket == "example-bucket" and u.expected_owner is None for u in uploads)


def test_s3_code_and_data_pass_through_untouched(workdir):
    req = make_request("s3only")
    d = req["TrainingJobDefinition"]
    d["StaticHyperParameters"]["sagemaker_submit_directory"] = '"s3://code-bucket/x/sourcedir.tar.gz"'
    d["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://data-bucket/train/"
    cloud, uploads = plan_request(req, workdir, region="us-east-1", account=MOTO_ACCOUNT)
    assert uploads == []
    assert set(differing(req, cloud)) == {"TrainingJobDefinition.StaticHyperParameters.sagemaker_region"}


def test_local_placeholder_role_is_rejected_with_a_clear_error(workdir, monkeypatch):
    use_script(workdir, GOOD)
    req = local_request()
    with pytest.raises(AmtValidationError) as e:
        plan_request(req, workdir, region="us-east-1", account=MOTO_ACCOUNT)
    assert e.value.field == "TrainingJobDefinition.RoleArn"
    assert "placeholder" in e.value.rule and "AMTLOCAL_ROLE_ARN" in e.value.rule
    monkeypatch.setenv("AMTLOCAL_ROLE_ARN", "arn:aws:iam::000000000000:role/amtlocal-local")  # no better
    with pytest.raises(AmtValidationError):
        plan_request(req, workdir, region="us-east-1", account=MOTO_ACCOUNT)
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", ROLE)
    cloud, _ = plan_request(req, workdir, region="us-east-1", account=MOTO_ACCOUNT)
    assert cloud["TrainingJobDefinition"]["RoleArn"] == ROLE


def test_missing_local_paths_and_entry_point_name_the_field(workdir, monkeypatch):
    monkeypatch.setenv("AMTLOCAL_ROLE_ARN", ROLE)
    with pytest.raises(AmtValidationError) as e:  # code/ has no train.py
        plan_request(local_request(), workdir, region="us-east-1", account=MOTO_ACCOUNT)
    assert e.value.field == "TrainingJobDefinition.StaticHyperParameters.sagemaker_program"
    use_script(workdir, GOOD)
    req = local_request()
    req["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "file://no-such-data"
    with pytest.raises(AmtValidationError) as e:
        plan_request(req, workdir, region="us-east-1", account=MOTO_ACCOUNT)
    assert e.value.field == "TrainingJobDefinition.InputDataConfig[0].DataSource.S3DataSource.S3Uri"


def test_image_resolution_needs_the_sdk_and_says_which_extra(workdir, monkeypatch):
    use_script(workdir, GOOD)
    monkeypatch.setenv("AMTLOCAL_ROLE_ARN", ROLE)
    _images._retrieve.cache_clear()
    for mod in ("sagemaker", "sagemaker.image_uris", "sagemaker.core", "sagemaker.core.image_uris"):
        monkeypatch.setitem(sys.modules, mod, None)  # makes the import fail, as when the SDK is not installed
    with pytest.raises(AmtLocalError) as e:
        plan_request(local_request(), workdir, region="us-east-1", account=MOTO_ACCOUNT)
    assert "amtlocal[sagemaker]" in str(e.value)
    # a full image URI needs no SDK
    req = local_request()
    req["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = ECR_SKLEARN
    assert (
        plan_request(req, workdir, region="us-east-1", account=MOTO_ACCOUNT)[0]["TrainingJobDefinition"][
            "AlgorithmSpecification"
        ]["TrainingImage"]
        == ECR_SKLEARN
    )
    with pytest.raises(AmtValidationError) as e:  # registry-less but not a framework image amtlocal knows
        _images.parse_framework_image("my-image:latest")
    assert "image_uri" in e.value.rule
    _images._retrieve.cache_clear()


def test_sourcedir_tarball_has_the_sdk_layout(tmp_path):
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "train.py").write_text("print('hi')\n")
    (src / "pkg" / "util.py").write_text("X = 1\n")
    (tmp_path / "outside.txt").write_text("linked\n")
    (src / "link.txt").symlink_to(tmp_path / "outside.txt")
    tar_path = pack_sourcedir(src, tmp_path / "sourcedir.tar.gz")
    with tarfile.open(tar_path) as t:
        members = {m.name: m for m in t.getmembers()}
        assert sorted(members) == ["link.txt", "pkg", "pkg/util.py", "train.py"]  # entries at the root, no "src/"
        assert members["link.txt"].isfile()  # dereferenced, as the SDK does
        assert t.extractfile("link.txt").read() == b"linked\n"


def test_dry_run_makes_no_aws_call(workdir, monkeypatch):
    use_script(workdir, GOOD)
    monkeypatch.setenv("AMTLOCAL_ROLE_ARN", ROLE)
    import botocore.client

    def no_aws(self, operation_name, api_params):
        raise AssertionError(f"dry run called AWS: {operation_name}")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", no_aws)
    cloud = SageMakerBackend().build_request(local_request(), workdir, upload=False)
    # no STS: the default bucket's account is the role's (111122223333), not the caller's
    assert (
        cloud["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] == "s3://sagemaker-us-east-1-111122223333/"
    )


@pytest.fixture
def digits(tmp_path):
    """training/'s specs and script in a scratch tree, with a tiny stand-in for the git-ignored data/digits.csv."""
    import shutil

    root = tmp_path / "training"
    shutil.copytree(REPO / "training" / "specs", root / "specs")
    shutil.copytree(REPO / "training" / "scripts", root / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "data").mkdir()
    (root / "data" / "digits.csv").write_text("0,1,y\n0,1,0\n")
    return root


DIGITS_SPECS = ("random", "bayesian", "warmstart")


def _api_face_spec(root: Path, path: Path) -> Path:
    """The digits tuning as the API face builds it (placeholder role and output, registry-less image), saved."""
    from amtlocal import HyperparameterTuner, SKLearn
    from amtlocal.spec import TuningSpec

    est = SKLearn(
        "train.py",
        source_dir=str(root / "scripts"),
        framework_version="1.2-1",
        instance_type="ml.m5.large",
        hyperparameters={"max-features": "sqrt"},
    )
    tuner = HyperparameterTuner(
        est,
        "valid-f1",
        digits_ranges(),
        DIGITS_METRICS,
        strategy="Bayesian",
        max_jobs=20,
        max_parallel_jobs=3,
        random_seed=7,
        max_runtime_in_seconds=3600,
    )
    return TuningSpec(tuner.to_request({"train": str(root / "data")}, job_name="digits-face")).save(path)


@pytest.mark.slow
def test_cli_dry_run_prints_a_request_the_aws_cli_accepts(digits, tmp_path):
    """`amtlocal --backend sagemaker tune SPEC --dry-run`, with no credentials and every AWS endpoint a closed port.

    The AWS CLI is not installed here; `aws sagemaker create-hyper-parameter-tuning-job --cli-input-json` parses the
    JSON and validates it with botocore's ParamValidator against the same service model before sending, so that
    validation of the JSON round trip is the equivalent check.
    """
    from botocore.validate import validate_parameters

    from amtlocal.spec._model import input_shape

    specs = [digits / "specs" / f"{n}.json" for n in DIGITS_SPECS] + [_api_face_spec(digits, tmp_path / "face.json")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AMTLOCAL_ROLE_ARN=ROLE,
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    for spec in specs:
        r = subprocess.run(
            [sys.executable, "-m", "amtlocal", "--backend", "sagemaker", "tune", str(spec), "--dry-run"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert r.returncode == 0, (spec, r.stderr)
        sent = json.loads(r.stdout)  # stdout is the JSON alone (the SDK's import chatter goes to stderr)
        validate_parameters(json.loads(json.dumps(sent)), input_shape())
        d = sent["TrainingJobDefinition"]
        assert d["AlgorithmSpecification"]["TrainingImage"] == ECR_SKLEARN
        assert json.loads(d["StaticHyperParameters"]["sagemaker_submit_directory"]).startswith("s3://")
        assert all(ch["DataSource"]["S3DataSource"]["S3Uri"].startswith("s3://") for ch in d["InputDataConfig"])
        assert d["RoleArn"] == ROLE


# -- SDK v2 parity ------------------------------------------------------------------------------------------------

DIGITS_METRICS = [
    {"Name": "valid-precision", "Regex": r"pre:\s+(-?[0-9\.]+)"},
    {"Name": "valid-recall", "Regex": r"rec:\s+(-?[0-9\.]+)"},
    {"Name": "valid-f1", "Regex": r"f1:\s+(-?[0-9\.]+)"},
]


def digits_ranges(module=None):
    import amtlocal

    m = module or amtlocal
    return {
        "n-estimators": m.IntegerParameter(1, 200),
        "max-depth": m.IntegerParameter(1, 20),
        "min-weight-fraction-leaf": m.ContinuousParameter(0.01, 0.5, scaling_type="Logarithmic"),
        "criterion": m.CategoricalParameter(["gini", "entropy", "log_loss"]),
    }


@pytest.fixture
def sdk_v2(monkeypatch):
    """The sagemaker SDK v2 (skip only when it is not importable) and a capture of what its session sends."""
    sagemaker = pytest.importorskip("sagemaker")
    if not sagemaker.__version__.startswith("2."):
        pytest.skip(f"SDK v2 needed for HyperparameterTuner(SKLearn(...)); found {sagemaker.__version__}")
    return sagemaker


def _sdk_session(sagemaker):
    """A SageMaker session over moto (stubbed AWS) whose CreateHyperParameterTuningJob params are captured."""
    import boto3

    boto_session = boto3.Session(region_name="us-east-1")
    sm = boto_session.client("sagemaker")
    sent: dict = {}
    sm.meta.events.register(
        "provide-client-params.sagemaker.CreateHyperParameterTuningJob", lambda params, **_: sent.update(params)
    )
    return sagemaker.Session(boto_session=boto_session, sagemaker_client=sm), sent


def _sdk_fit_from_spec(sagemaker, spec, train_uri: str) -> dict:
    """Build SDK v2's HyperparameterTuner(SKLearn(...)) from the same inputs as a spec file, fit, return the request."""
    from sagemaker import tuner as T
    from sagemaker.sklearn import SKLearn

    from amtlocal.spec.uris import resolve_local_uri

    req = spec.request
    cfg, d = req["HyperParameterTuningJobConfig"], req["TrainingJobDefinition"]
    static = d["StaticHyperParameters"]
    rc = d.get("ResourceConfig") or d["HyperParameterTuningResourceConfig"]
    sess, sent = _sdk_session(sagemaker)
    est = SKLearn(
        json.loads(static["sagemaker_program"]),
        source_dir=str(resolve_local_uri(json.loads(static["sagemaker_submit_directory"]), spec.base_dir, "code")),
        framework_version=d["AlgorithmSpecification"]["TrainingImage"].rsplit(":", 1)[1].split("-cpu")[0],
        instance_type=rc["InstanceType"],
        instance_count=rc["InstanceCount"],
        volume_size=rc["VolumeSizeInGB"],
        role=d["RoleArn"],
        output_path=d["OutputDataConfig"]["S3OutputPath"],
        max_run=d["StoppingCondition"]["MaxRuntimeInSeconds"],
        sagemaker_session=sess,
        hyperparameters={k: json.loads(v) for k, v in static.items() if not k.startswith("sagemaker_")},
    )
    pr = cfg["ParameterRanges"]
    ranges = {
        r["Name"]: T.IntegerParameter(int(r["MinValue"]), int(r["MaxValue"]), r["ScalingType"])
        for r in pr.get("IntegerParameterRanges", [])
    }
    ranges.update(
        {
            r["Name"]: T.ContinuousParameter(float(r["MinValue"]), float(r["MaxValue"]), r["ScalingType"])
            for r in pr.get("ContinuousParameterRanges", [])
        }
    )
    ranges.update(
        {
            r["Name"]: T.CategoricalParameter([json.loads(v) for v in r["Values"]])
            for r in pr.get("CategoricalParameterRanges", [])
        }
    )
    ws = req.get("WarmStartConfig")
    tuner = T.HyperparameterTuner(
        est,
        cfg["HyperParameterTuningJobObjective"]["MetricName"],
        ranges,
        d["AlgorithmSpecification"]["MetricDefinitions"],
        strategy=cfg["Strategy"],
        objective_type=cfg["HyperParameterTuningJobObjective"]["Type"],
        max_jobs=cfg["ResourceLimits"]["MaxNumberOfTrainingJobs"],
        max_parallel_jobs=cfg["ResourceLimits"]["MaxParallelTrainingJobs"],
        random_seed=cfg.get("RandomSeed"),
        early_stopping_type=cfg.get("TrainingJobEarlyStoppingType", "Off"),
        warm_start_config=T.WarmStartConfig(
            T.WarmStartTypes(ws["WarmStartType"]),
            {p["HyperParameterTuningJobName"] for p in ws["ParentHyperParameterTuningJobs"]},
        )
        if ws
        else None,
    )
    tuner.fit({"train": train_uri}, job_name=req["HyperParameterTuningJobName"], wait=False)
    return sent


def _parents_sorted(req: dict) -> dict:
    """SDK v2 keeps warm-start parents in a set: their order in the request is arbitrary, so compare them sorted."""
    req = json.loads(json.dumps(req, default=str))
    if req.get("WarmStartConfig"):
        req["WarmStartConfig"]["ParentHyperParameterTuningJobs"].sort(key=lambda p: p["HyperParameterTuningJobName"])
    return req


def _tar_members(s3, uri: str) -> list[str]:
    bucket, key = json.loads(uri)[len("s3://") :].split("/", 1)
    return sorted(tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())).getnames())


@pytest.mark.parametrize("name", DIGITS_SPECS)
def test_digits_spec_request_equals_what_sdk_v2_sends(name, digits, sdk_v2):
    """training/specs/<name>.json as sent by the sagemaker backend == what SDK v2 sends for the same inputs, in every
    field both set; the fields only one of them sets are exactly the SDK's bookkeeping and the spec's resource shape."""
    import boto3
    from botocore.validate import validate_parameters
    from moto import mock_aws

    from amtlocal.spec import load_spec
    from amtlocal.spec._model import input_shape

    spec = load_spec(digits / "specs" / f"{name}.json")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="example-bucket")  # the specs' output bucket
        ours = SageMakerBackend().build_request(spec.request, spec.base_dir, upload=True)
        validate_parameters(ours, input_shape())
        sdk = _sdk_fit_from_spec(
            sdk_v2, spec, ours["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
        )
        fo, fs = flat(_parents_sorted(ours)), flat(_parents_sorted(sdk))
        assert {p: (fo[p], fs[p]) for p in set(fo) & set(fs) if fo[p] != fs[p]} == {}
        hp = "TrainingJobDefinition.StaticHyperParameters."
        assert set(fs) - set(fo) == {
            hp + "sagemaker_job_name",
            hp + "sagemaker_estimator_class_name",
            hp + "sagemaker_estimator_module",
            *(
                f"TrainingJobDefinition.HyperParameterTuningResourceConfig.{k}"
                for k in ("InstanceType", "InstanceCount", "VolumeSizeInGB")
            ),
        }
        assert set(fo) - set(fs) == {
            f"TrainingJobDefinition.ResourceConfig.{k}" for k in ("InstanceType", "InstanceCount", "VolumeSizeInGB")
        }
        # same code object key (SDK: <output bucket>/<job name>/source/sourcedir.tar.gz), same tar members
        assert (
            ours["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"]
            == sdk["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"]
        )
        assert _tar_members(
            s3, ours["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"]
        ) == ["train.py"]
        checked = {p.rsplit(".", 1)[0].split("[")[0] for p in set(fo) & set(fs)}
        for part in (
            "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective",
            "HyperParameterTuningJobConfig.ParameterRanges.CategoricalParameterRanges",
            "TrainingJobDefinition.StaticHyperParameters",
            "TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions",
            "HyperParameterTuningJobConfig.ResourceLimits",
            "HyperParameterTuningJobConfig",
        ):
            assert part in checked, part
        assert (
            ("WarmStartConfig" in ours)
            == (name == "warmstart")
            == ("WarmStartConfig.WarmStartType" in set(fo) & set(fs))
        )


@pytest.mark.parametrize("warm_start", [False, True], ids=["plain", "warm-start"])
def test_api_face_request_equals_what_sdk_v2_sends(tmp_path, digits, monkeypatch, warm_start, sdk_v2):
    """The same tuner written with amtlocal's SDK-v2 names (no role, no output path, no image) equals SDK v2's
    request field for field, once the backend rewrote it (default bucket, env role, ECR image)."""
    import boto3
    from botocore.validate import validate_parameters
    from moto import mock_aws
    from sagemaker import tuner as T
    from sagemaker.sklearn import SKLearn as SdkSKLearn

    from amtlocal import HyperparameterTuner, SKLearn, WarmStartConfig, WarmStartTypes
    from amtlocal.spec._model import input_shape

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AMTLOCAL_ROLE_ARN", ROLE)
    job = "digits-face-ws" if warm_start else "digits-face"
    kwargs = dict(
        strategy="Bayesian",
        max_jobs=20,
        max_parallel_jobs=3,
        random_seed=7,
        max_runtime_in_seconds=3600,
        early_stopping_type="Auto",
    )
    with mock_aws():
        est = SKLearn(
            "train.py",
            source_dir=str(digits / "scripts"),
            framework_version="1.2-1",
            instance_type="ml.m5.large",
            hyperparameters={"min-samples-leaf": 1, "max-features": "sqrt"},
        )
        ws = (
            WarmStartConfig(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents={"digits-parent"})
            if warm_start
            else None
        )
        local = HyperparameterTuner(
            est, "valid-f1", digits_ranges(), DIGITS_METRICS, warm_start_config=ws, **kwargs
        ).to_request({"train": str(digits / "data")}, job_name=job)
        ours = SageMakerBackend().build_request(local, tmp_path, upload=True)
        validate_parameters(ours, input_shape())

        sess, sdk = _sdk_session(sdk_v2)
        sdk_est = SdkSKLearn(
            "train.py",
            source_dir=str(digits / "scripts"),
            framework_version="1.2-1",
            instance_type="ml.m5.large",
            role=ROLE,
            sagemaker_session=sess,
            hyperparameters={"min-samples-leaf": 1, "max-features": "sqrt"},
        )
        sdk_ws = (
            T.WarmStartConfig(T.WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents={"digits-parent"})
            if warm_start
            else None
        )
        T.HyperparameterTuner(
            sdk_est, "valid-f1", digits_ranges(T), DIGITS_METRICS, warm_start_config=sdk_ws, **kwargs
        ).fit(
            {"train": ours["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]},
            job_name=job,
            wait=False,
        )

        # The estimator job name (static `sagemaker_job_name`, and the code's S3 prefix) is the API face's choice, not
        # the backend's: SDK v2 reuses fit()'s job_name for it, amtlocal's tuner draws <base>-<time>-<hex>. Normalized.
        sdk_job = json.loads(sdk["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_job_name"])
        our_job = json.loads(ours["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_job_name"])
        sdk_code = sdk["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"]
        sdk = json.loads(
            json.dumps(sdk).replace(f"/{sdk_job}/", f"/{our_job}/").replace(f'\\"{sdk_job}\\"', f'\\"{our_job}\\"')
        )
        fo, fs = flat(_parents_sorted(ours)), flat(_parents_sorted(sdk))
        assert {
            p: (fo.get(p), fs.get(p)) for p in set(fo) | set(fs) if fo.get(p) != fs.get(p)
        } == {}  # all fields, both ways
        assert ours["HyperParameterTuningJobConfig"]["ParameterRanges"]["CategoricalParameterRanges"][0]["Values"] == [
            '"gini"',
            '"entropy"',
            '"log_loss"',
        ]
        assert ("WarmStartConfig" in ours) == warm_start
        s3 = boto3.client("s3", region_name="us-east-1")
        assert _tar_members(
            s3, ours["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"]
        ) == _tar_members(s3, sdk_code)


def test_placeholders_are_the_api_faces():
    from amtlocal.api import _estimator
    from amtlocal.backends.sagemaker import _request

    assert (_request.LOCAL_ROLE, _request.LOCAL_OUTPUT) == (_estimator.LOCAL_ROLE, _estimator.LOCAL_OUTPUT)


def test_sdk_v3_image_uris_is_used_when_v2_is_absent(monkeypatch):
    """SDK v3 has no ``sagemaker.image_uris``; the same call lives in ``sagemaker.core.image_uris``."""
    import types

    calls = []
    v3 = types.ModuleType("sagemaker.core.image_uris")
    v3.retrieve = lambda framework, region, **kw: (
        calls.append((framework, region, kw)) or f"acct.dkr.ecr.{region}.amazonaws.com/x:{kw['version']}"
    )
    core = types.ModuleType("sagemaker.core")
    core.image_uris = v3
    top = types.ModuleType("sagemaker")
    top.__path__ = []  # a package without image_uris, as in v3
    monkeypatch.setitem(sys.modules, "sagemaker", top)
    monkeypatch.setitem(sys.modules, "sagemaker.image_uris", None)
    monkeypatch.setitem(sys.modules, "sagemaker.core", core)
    monkeypatch.setitem(sys.modules, "sagemaker.core.image_uris", v3)
    _images._retrieve.cache_clear()
    try:
        assert (
            _images.resolve_training_image("sagemaker-scikit-learn:1.4-2-cpu-py3", "eu-west-1", "ml.m5.large")
            == "acct.dkr.ecr.eu-west-1.amazonaws.com/x:1.4-2"
        )
        assert calls == [
            (
                "sklearn",
                "eu-west-1",
                {"version": "1.4-2", "py_version": "py3", "instance_type": "ml.m5.large", "image_scope": "training"},
            )
        ]
    finally:
        _images._retrieve.cache_clear()
