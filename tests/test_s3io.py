"""``s3://`` code, channels, outputs and checkpoints in the local backend, against moto's S3 server for real.

The server runs in this process on a free port; ``AWS_ENDPOINT_URL``, dummy credentials and a region are set in the
environment (restored after each test), so the tuner, a background worker and the training jobs all see it.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from amtlocal.exceptions import AmtValidationError
from amtlocal.testing import make_request, run_job, summaries

# Reads the train channel's CSV (two columns), prints a metric that depends on its content and on x, saves a model.
TRAIN = """
import argparse, csv, glob, json, os
p = argparse.ArgumentParser()
p.add_argument("-x", type=int)
a, _ = p.parse_known_args()
files = sorted(glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "**", "*.csv"), recursive=True))
total = sum(float(r[0]) * float(r[1]) for f in files for r in csv.reader(open(f)))
print("files:", json.dumps([os.path.relpath(f, os.environ["SM_CHANNEL_TRAIN"]) for f in files]))
print(f"f1: {total * a.x}")
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
    json.dump({"total": total, "x": a.x}, f)
"""


@pytest.fixture(scope="module")
def moto_server():
    """moto's server (S3 and the rest) on a free port of 127.0.0.1 for this module; its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_server, monkeypatch, tmp_path):
    """The environment every process reads (endpoint, dummy credentials, region); a boto3 client of it."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", "process")
    return boto3.session.Session().client("s3")


def _sourcedir(files: dict[str, str]) -> bytes:
    """A sourcedir.tar.gz as the SDKs pack it (the files at the archive root)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _s3_request(name: str, bucket: str, max_jobs: int = 3, parallel: int = 1) -> dict:
    req = make_request(name, max_jobs=max_jobs, parallel=parallel, integer=[("x", 1, 4, "Linear")], seed=3)
    d = req["TrainingJobDefinition"]
    d["StaticHyperParameters"]["sagemaker_submit_directory"] = json.dumps(f"s3://{bucket}/code/sourcedir.tar.gz")
    d["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{bucket}/data/train"
    d["OutputDataConfig"]["S3OutputPath"] = f"s3://{bucket}/out"
    return req


def _upload(s3, bucket: str, csv: str = "1,2\n3,4\n") -> None:
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="code/sourcedir.tar.gz", Body=_sourcedir({"train.py": TRAIN}))
    s3.put_object(Bucket=bucket, Key="data/train/part-0.csv", Body=csv.encode())
    s3.put_object(Bucket=bucket, Key="data/train/sub/part-1.csv", Body=b"10,1\n")


def _downloads(home: Path) -> list[dict]:
    log = home / "cache" / "s3" / "downloads.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_tuning_job_reads_s3_code_and_data_and_writes_models_to_s3(s3, workdir, store):
    _upload(s3, "tune-bucket")
    desc = run_job(_s3_request("s3tune", "tune-bucket", max_jobs=4, parallel=2), workdir, store)
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    jobs = summaries("s3tune", store)
    assert len(jobs) == 4 and all(j["TrainingJobStatus"] == "Completed" for j in jobs)
    total = 1 * 2 + 3 * 4 + 10 * 1  # every object under the prefix, sub-folders kept
    for j in jobs:
        x = int(j["TunedHyperParameters"]["x"])
        assert j["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == total * x
        log = (store.training_job_dir("s3tune", j["TrainingJobName"]) / "logs" / "output.log").read_text()
        assert 'files: ["part-0.csv", "sub/part-1.csv"]' in log  # keys relative to the prefix, as File mode
        key = f"out/{j['TrainingJobName']}/output/model.tar.gz"  # AWS's key
        body = s3.get_object(Bucket="tune-bucket", Key=key)["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            assert json.load(tar.extractfile("model.json")) == {"total": total, "x": x}
    best = desc["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(
        j["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for j in jobs
    )
    from amtlocal.backends.local import LocalBackend

    d = LocalBackend(store).describe_training_job(best["TrainingJobName"])
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == (
        f"s3://tune-bucket/out/{best['TrainingJobName']}/output/model.tar.gz"
    )
    # Three objects (code + two CSVs), each fetched once for the four jobs.
    fetched = _downloads(store.home)
    assert sorted(f["Uri"] for f in fetched) == [
        "s3://tune-bucket/code/sourcedir.tar.gz",
        "s3://tune-bucket/data/train/part-0.csv",
        "s3://tune-bucket/data/train/sub/part-1.csv",
    ]


def test_a_second_tuning_job_reads_the_cache_and_a_changed_object_is_fetched_again(s3, workdir, store):
    _upload(s3, "cache-bucket")
    run_job(_s3_request("first", "cache-bucket", max_jobs=1), workdir, store)
    run_job(_s3_request("again", "cache-bucket", max_jobs=1), workdir, store)
    assert len(_downloads(store.home)) == 3  # nothing fetched for the second tuning job
    s3.put_object(Bucket="cache-bucket", Key="data/train/part-0.csv", Body=b"5,5\n")  # a new ETag
    run_job(_s3_request("changed", "cache-bucket", max_jobs=1), workdir, store)
    fetched = _downloads(store.home)
    assert [f["Uri"] for f in fetched[3:]] == ["s3://cache-bucket/data/train/part-0.csv"]
    (job,) = summaries("changed", store)
    x = int(job["TunedHyperParameters"]["x"])
    assert job["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == (25 + 10) * x


@pytest.mark.parametrize(
    "where, field, reason",
    [
        ("bucket", "InputDataConfig[0].DataSource.S3DataSource.S3Uri", "bucket 'no-such-bucket' does not exist"),
        ("prefix", "InputDataConfig[0].DataSource.S3DataSource.S3Uri", "no object under the prefix"),
        ("code", "StaticHyperParameters.sagemaker_submit_directory", "no object s3://err-bucket/code/missing.tar.gz"),
        ("output", "OutputDataConfig.S3OutputPath", "bucket 'no-out-bucket' does not exist"),
        ("checkpoint", "CheckpointConfig.S3Uri", "bucket 'no-ck-bucket' does not exist"),
    ],
)
def test_s3_errors_name_the_field_before_any_training_job(s3, workdir, store, where, field, reason):
    _upload(s3, "err-bucket")
    req = _s3_request(f"err-{where}", "err-bucket")
    d = req["TrainingJobDefinition"]
    source = d["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    if where == "bucket":
        source["S3Uri"] = "s3://no-such-bucket/data/train"
    elif where == "prefix":
        source["S3Uri"] = "s3://err-bucket/data/nothing-here"
    elif where == "code":
        d["StaticHyperParameters"]["sagemaker_submit_directory"] = '"s3://err-bucket/code/missing.tar.gz"'
    elif where == "output":
        d["OutputDataConfig"]["S3OutputPath"] = "s3://no-out-bucket/out"
    else:
        d["CheckpointConfig"] = {"S3Uri": "s3://no-ck-bucket/ckpt"}
    with pytest.raises(AmtValidationError) as info:
        run_job(req, workdir, store)
    assert info.value.field == f"TrainingJobDefinition.{field}"
    assert reason in info.value.rule
    assert store.resolve_name(f"err-{where}") is None  # nothing recorded, no training job started


def test_no_credentials_names_the_field(s3, workdir, store, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    req = _s3_request("nocreds", "any-bucket")
    req["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"] = '"file://code"'
    (workdir / "code" / "train.py").write_text(TRAIN)
    with pytest.raises(AmtValidationError) as info:
        run_job(req, workdir, store)
    assert info.value.field == "TrainingJobDefinition.InputDataConfig[0].DataSource.S3DataSource.S3Uri"
    assert "no AWS credentials found" in info.value.rule


def test_unreachable_endpoint_names_the_field(s3, workdir, store, monkeypatch):
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(AmtValidationError) as info:
        run_job(_s3_request("unreach", "any-bucket"), workdir, store)
    assert info.value.field == "TrainingJobDefinition.StaticHyperParameters.sagemaker_submit_directory"
    assert f"cannot reach the S3 endpoint http://127.0.0.1:{port}" in info.value.rule


def test_single_object_and_manifest_channels_lay_out_as_file_mode(s3, tmp_path):
    from amtlocal.s3 import S3Cache

    s3.create_bucket(Bucket="lay-bucket")
    s3.put_object(Bucket="lay-bucket", Key="d/train.csv", Body=b"1,1\n")
    s3.put_object(Bucket="lay-bucket", Key="d/more/a.csv", Body=b"2,2\n")
    manifest = [{"prefix": "s3://lay-bucket/d/"}, "train.csv", "more/a.csv"]
    s3.put_object(Bucket="lay-bucket", Key="m/train.manifest", Body=json.dumps(manifest).encode())
    cache = S3Cache(tmp_path / "home")
    one = cache.channel("s3://lay-bucket/d/train.csv", "F")
    assert sorted(str(p.relative_to(one)) for p in one.rglob("*") if p.is_file()) == ["train.csv"]
    listed = cache.channel("s3://lay-bucket/m/train.manifest", "F", "ManifestFile")
    assert sorted(str(p.relative_to(listed)) for p in listed.rglob("*") if p.is_file()) == ["more/a.csv", "train.csv"]
    assert (listed / "more" / "a.csv").read_bytes() == b"2,2\n"
    assert cache.downloads == 3  # d/train.csv once for both channels, the manifest, d/more/a.csv
    with pytest.raises(AmtValidationError, match="S3DataType: .*not AugmentedManifestFile"):
        cache.channel("s3://lay-bucket/m/train.manifest", "X.S3DataSource.S3Uri", "AugmentedManifestFile")


def test_checkpoints_sync_to_s3(s3, tmp_path):
    from amtlocal.container import CheckpointSync

    s3.create_bucket(Bucket="ck-bucket")
    s3.put_object(Bucket="ck-bucket", Key="run1/old.pt", Body=b"old")
    job = tmp_path / "job"
    sync = CheckpointSync({"S3Uri": "s3://ck-bucket/run1"}, job)
    assert sync.restore() == 1 and (job / "checkpoints" / "old.pt").read_bytes() == b"old"
    (job / "checkpoints" / "new.pt").write_bytes(b"new")
    (job / "checkpoints" / "old.pt").unlink()
    assert sync.stop() == 2
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="ck-bucket")["Contents"]]
    assert keys == ["run1/new.pt"]
    assert s3.get_object(Bucket="ck-bucket", Key="run1/new.pt")["Body"].read() == b"new"


def test_standalone_training_job_in_the_background_writes_its_model_to_s3(s3, workdir, store):
    from amtlocal.backends.local import LocalBackend

    _upload(s3, "train-bucket")
    d = _s3_request("x", "train-bucket")["TrainingJobDefinition"]
    req = {
        "TrainingJobName": "s3train",
        "HyperParameters": dict(d["StaticHyperParameters"], x="2"),
        **{k: d[k] for k in ("AlgorithmSpecification", "RoleArn", "InputDataConfig", "ResourceConfig")},
        "StoppingCondition": d["StoppingCondition"],
        "OutputDataConfig": {"S3OutputPath": "s3://train-bucket/models/"},
    }
    req["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://train-bucket/data/train/"
    # SDK v3's ModelTrainer.train() sends its code and drivers as channels of S3 prefixes.
    s3.put_object(Bucket="train-bucket", Key="drivers/sm_train.sh", Body=b"#!/bin/bash\n")
    for name, prefix in (("code", "code"), ("sm_drivers", "drivers/")):
        source = {"S3DataType": "S3Prefix", "S3Uri": f"s3://train-bucket/{prefix}"}
        req["InputDataConfig"].append({"ChannelName": name, "DataSource": {"S3DataSource": source}})
    backend = LocalBackend(store)
    backend.create_training_job(req, workdir, wait=False)
    import time

    deadline = time.time() + 60
    while backend.describe_training_job("s3train")["TrainingJobStatus"] == "InProgress" and time.time() < deadline:
        time.sleep(0.3)
    d = backend.describe_training_job("s3train")
    assert d["TrainingJobStatus"] == "Completed", d.get("FailureReason")
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == "s3://train-bucket/models/s3train/output/model.tar.gz"
    body = s3.get_object(Bucket="train-bucket", Key="models/s3train/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert json.load(tar.extractfile("model.json")) == {"total": 24.0, "x": 2}
    data = store.training_job_dir(None, "s3train") / "input" / "data"
    assert (data / "sm_drivers" / "sm_train.sh").read_bytes() == b"#!/bin/bash\n"
    with tarfile.open(data / "code" / "sourcedir.tar.gz") as tar:
        assert tar.extractfile("train.py").read().decode() == TRAIN


def test_sdk_v2_face_tunes_s3_code_and_data_and_a_local_folder_still_works(s3, workdir, store):
    """amtlocal's SDK v2 estimators: ``source_dir`` an uploaded sourcedir.tar.gz, ``fit`` on an s3:// prefix, models
    under an s3:// ``output_path``; and the same estimator with a local ``source_dir`` and no ``output_path`` (the
    placeholder output) while S3 is configured."""
    from amtlocal import HyperparameterTuner, IntegerParameter, SKLearn

    _upload(s3, "sdk-bucket")
    metrics = [{"Name": "f1", "Regex": r"f1: ([0-9\.]+)"}]
    est = SKLearn(
        "train.py",
        source_dir="s3://sdk-bucket/code/sourcedir.tar.gz",
        framework_version="1.2-1",
        instance_type="ml.m5.large",
        output_path="s3://sdk-bucket/sdk-out",
    )
    tuner = HyperparameterTuner(
        est, "f1", {"x": IntegerParameter(1, 3)}, metric_definitions=metrics, max_jobs=2, max_parallel_jobs=1
    )
    tuner.fit({"train": "s3://sdk-bucket/data/train"}, job_name="sdk-s3")
    best = tuner.describe()["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 24 * int(best["TunedHyperParameters"]["x"])
    key = f"sdk-out/{best['TrainingJobName']}/output/model.tar.gz"
    assert s3.head_object(Bucket="sdk-bucket", Key=key)["ContentLength"] > 0

    (workdir / "code" / "train.py").write_text(TRAIN)
    (workdir / "data" / "train.csv").write_text("2,2\n")
    local = SKLearn(
        "train.py", source_dir=str(workdir / "code"), framework_version="1.2-1", instance_type="ml.m5.large"
    )
    local.set_hyperparameters(x=3)
    local.fit({"train": str(workdir / "data")}, job_name="sdk-local")
    assert local.model_data.startswith("file://") and local.model_data.endswith("/sdk-local/output/model.tar.gz")


def test_concurrent_fetches_of_one_channel_agree_and_leave_no_partial_files(s3, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from amtlocal.s3 import S3Cache

    s3.create_bucket(Bucket="conc-bucket")
    for i in range(5):
        s3.put_object(Bucket="conc-bucket", Key=f"p/{i}.csv", Body=f"{i},{i}\n".encode())
    caches = [S3Cache(tmp_path / "home") for _ in range(4)]  # as four tuners of one home would
    with ThreadPoolExecutor(4) as pool:
        folders = list(pool.map(lambda c: c.channel("s3://conc-bucket/p/", "F"), caches))
    assert len(set(folders)) == 1
    assert {p.name: p.read_text() for p in folders[0].iterdir()} == {f"{i}.csv": f"{i},{i}\n" for i in range(5)}
    root = tmp_path / "home" / "cache" / "s3"
    assert not [p for p in root.rglob(".tmp-*")]  # every loser's temporary file or folder is gone
    assert 5 <= sum(c.downloads for c in caches) <= 20  # each object at least once, never more than once per fetcher
    (folders[0] / "3.csv").unlink()  # a job deleted a file of its channel: the next resolve puts it back
    assert (S3Cache(tmp_path / "home").channel("s3://conc-bucket/p/", "F") / "3.csv").read_text() == "3,3\n"


def test_s3_output_is_written_when_the_run_uses_s3_and_left_alone_offline(s3, workdir, store, monkeypatch):
    """Local code and data with an ``s3://`` output: uploaded where an endpoint is configured; with none (a spec
    written for both backends, run offline with credentials in the environment) nothing is written, as before."""
    s3.create_bucket(Bucket="mixed-bucket")
    (workdir / "code" / "train.py").write_text(TRAIN)
    (workdir / "data" / "train.csv").write_text("3,3\n")
    req = make_request("mixed", max_jobs=1, integer=[("x", 2, 2, "Linear")])
    req["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] = "s3://mixed-bucket/o"
    run_job(req, workdir, store)
    (job,) = summaries("mixed", store)
    assert job["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 18
    assert s3.head_object(Bucket="mixed-bucket", Key=f"o/{job['TrainingJobName']}/output/model.tar.gz")

    monkeypatch.delenv("AWS_ENDPOINT_URL")  # credentials stay: real S3 would be reachable, but the run uses none
    req["HyperParameterTuningJobName"] = "offline"
    req["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] = "s3://no-such-bucket-anywhere/o"
    assert run_job(req, workdir, store)["HyperParameterTuningJobStatus"] == "Completed"
    (job,) = summaries("offline", store)
    from amtlocal.backends.local import LocalBackend

    d = LocalBackend(store).describe_training_job(job["TrainingJobName"])
    assert (
        d["ModelArtifacts"]["S3ModelArtifacts"]
        == f"s3://no-such-bucket-anywhere/o/{job['TrainingJobName']}/output/model.tar.gz"
    )
    assert (store.training_job_dir("offline", job["TrainingJobName"]) / "model" / "model.json").is_file()


def test_an_entry_point_missing_from_the_s3_archive_names_the_archive(s3, workdir, store):
    _upload(s3, "ep-bucket")
    req = _s3_request("ep", "ep-bucket")
    req["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_program"] = '"missing.py"'
    with pytest.raises(AmtValidationError) as info:
        run_job(req, workdir, store)
    assert info.value.field == "TrainingJobDefinition.StaticHyperParameters.sagemaker_program"
    assert info.value.rule == "entry point 'missing.py' not found in s3://ep-bucket/code/sourcedir.tar.gz"


ENTRY = """\
import os, sys
print("DATA " + ",".join(sorted(os.listdir("/opt/ml/input/data"))))
print("CSV " + open("/opt/ml/input/data/train/d.csv").read().strip())
open("/opt/ml/model/m.txt", "w").write("v3 model")
"""


def test_v3_container_entrypoint_gets_its_code_and_drivers_channels_from_s3(s3, tmp_path):
    """SDK v3's ModelTrainer.train() request shape: ContainerEntrypoint, and channels ``code`` and ``sm_drivers`` as
    S3 prefixes; they arrive in /opt/ml/input/data/<channel>; the model goes to the s3:// output path."""
    from amtlocal.backends import get_backend
    from amtlocal.container import optml_support

    if not optml_support().available:
        pytest.skip("a ContainerEntrypoint job needs /opt/ml namespaces (Linux)")
    s3.create_bucket(Bucket="v3-bucket")
    s3.put_object(Bucket="v3-bucket", Key="job/input/sm_drivers/entry.py", Body=ENTRY.encode())
    s3.put_object(Bucket="v3-bucket", Key="job/input/code/train.py", Body=b"print('user code')\n")
    s3.put_object(Bucket="v3-bucket", Key="data/d.csv", Body=b"7,8\n")

    def channel(name, uri):
        return {"ChannelName": name, "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}}

    req = {
        "TrainingJobName": "v3-s3",
        "AlgorithmSpecification": {
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["/bin/bash"],
            "ContainerArguments": ["-c", "python3 /opt/ml/input/data/sm_drivers/entry.py"],
        },
        "InputDataConfig": [
            channel("code", "s3://v3-bucket/job/input/code"),
            channel("sm_drivers", "s3://v3-bucket/job/input/sm_drivers"),
            channel("train", "s3://v3-bucket/data/"),
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://v3-bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "RoleArn": "arn:aws:iam::000000000000:role/amtlocal-local",
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }
    backend = get_backend("local", home=tmp_path / "home")
    backend.create_training_job(req, base_dir=tmp_path)
    desc = backend.describe_training_job("v3-s3")
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    log = (tmp_path / "home").glob("**/v3-s3/logs/output.log")
    text = next(log).read_text()
    assert "DATA code,sm_drivers,train" in text and "CSV 7,8" in text
    assert desc["ModelArtifacts"]["S3ModelArtifacts"] == "s3://v3-bucket/output/v3-s3/output/model.tar.gz"
    body = s3.get_object(Bucket="v3-bucket", Key="output/v3-s3/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.extractfile("m.txt").read() == b"v3 model"
