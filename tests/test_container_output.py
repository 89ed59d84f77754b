"""Output packed as SageMaker writes it, checkpoints synced as it syncs them (issue 13 item 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import joblib
import pytest

from amtlocal.container import CheckpointSync, checkpoint_local_dir, pack_output
from amtlocal.exceptions import AmtValidationError


def _job_dir(tmp_path: Path) -> Path:
    job = tmp_path / "jobs" / "job-1"
    for d in ("model", "output/data", "checkpoints"):
        (job / d).mkdir(parents=True, exist_ok=True)
    return job


def test_model_tar_gz_unpacks_to_what_the_script_saved(tmp_path):
    job = _job_dir(tmp_path)
    # a real script saving a real model, as a SageMaker example does
    script = (
        "import joblib, os, sys\n"
        "model = {'coef': [0.5, -1.25], 'classes': ['a', 'b']}\n"
        "joblib.dump(model, os.path.join(os.environ['SM_MODEL_DIR'], 'model.joblib'))\n"
        "os.makedirs(os.path.join(os.environ['SM_MODEL_DIR'], 'extra'))\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'extra', 'vocab.txt'), 'w').write('x\\ny\\n')\n"
        "open(os.path.join(os.environ['SM_OUTPUT_DATA_DIR'], 'predictions.csv'), 'w').write('1,0\\n')\n"
    )
    env = {**os.environ, "SM_MODEL_DIR": str(job / "model"), "SM_OUTPUT_DATA_DIR": str(job / "output" / "data")}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)

    art = pack_output(job, f"file://{tmp_path}/out", "job-1")
    expected = tmp_path / "out" / "job-1" / "output" / "model.tar.gz"
    assert art.model_artifacts == f"file://{expected}"
    assert art.model_path == expected
    assert art.output_artifacts == f"file://{tmp_path}/out/job-1/output/output.tar.gz"
    with tarfile.open(expected) as tar:
        assert sorted(tar.getnames()) == ["extra", "extra/vocab.txt", "model.joblib"]  # contents at the root
        tar.extractall(tmp_path / "unpacked", filter="data")
    assert joblib.load(tmp_path / "unpacked" / "model.joblib") == {"coef": [0.5, -1.25], "classes": ["a", "b"]}
    assert (tmp_path / "unpacked" / "extra" / "vocab.txt").read_text() == "x\ny\n"
    with tarfile.open(tmp_path / "out" / "job-1" / "output" / "output.tar.gz") as tar:
        assert tar.getnames() == ["predictions.csv"]
        assert tar.extractfile("predictions.csv").read() == b"1,0\n"


def test_plain_relative_output_path_and_empty_output_data(tmp_path):
    job = _job_dir(tmp_path)
    (job / "model" / "m.txt").write_text("m")
    art = pack_output(job, "results", "job-1", base_dir=tmp_path)
    assert art.model_artifacts == str(tmp_path / "results" / "job-1" / "output" / "model.tar.gz")
    assert art.output_artifacts is None  # nothing in output/data: no output.tar.gz
    assert sorted(os.listdir(tmp_path / "results" / "job-1" / "output")) == ["model.tar.gz"]


def test_empty_model_folder_still_gives_an_archive(tmp_path):
    job = _job_dir(tmp_path)
    art = pack_output(job, str(tmp_path / "o"), "job-1")
    with tarfile.open(art.model_path) as tar:
        assert tar.getnames() == []


def test_an_output_path_of_another_scheme_is_refused_and_a_failed_upload_is_an_oserror(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # No credentials: the upload fails, the job's files stay (uploads that work: tests/test_s3io.py).
    with pytest.raises(OSError, match="writing s3://bucket/out/job-1/output/model.tar.gz failed"):
        pack_output(_job_dir(tmp_path), "s3://bucket/out", "job-1")
    with pytest.raises(AmtValidationError) as info:
        pack_output(_job_dir(tmp_path), "https://bucket/out", "job-1")
    assert info.value.field == "OutputDataConfig.S3OutputPath"


def test_checkpoint_local_path_maps_into_the_job_folder(tmp_path):
    assert checkpoint_local_dir(tmp_path) == tmp_path / "checkpoints"
    assert checkpoint_local_dir(tmp_path, "/opt/ml/checkpoints/") == tmp_path / "checkpoints"
    assert checkpoint_local_dir(tmp_path, "/opt/ml/ckpt/run1") == tmp_path / "ckpt" / "run1"
    for bad in ("/tmp/ckpt", "/opt/ml/model", "/opt/ml/input/x", "/opt/ml"):
        with pytest.raises(AmtValidationError) as info:
            checkpoint_local_dir(tmp_path, bad)
        assert info.value.field == "CheckpointConfig.LocalPath"


def test_checkpoints_restored_before_and_synced_after(tmp_path):
    remote = tmp_path / "s3" / "ckpt"
    (remote / "sub").mkdir(parents=True)
    (remote / "epoch-1.pt").write_text("e1")
    (remote / "sub" / "state.json").write_text("{}")
    job = _job_dir(tmp_path)
    sync = CheckpointSync({"S3Uri": f"file://{remote}"}, job)
    assert sync.restore() == 2
    local = job / "checkpoints"
    assert (local / "epoch-1.pt").read_text() == "e1" and (local / "sub" / "state.json").read_text() == "{}"
    assert sync.sync() == 0  # nothing changed yet
    # a resumed script: reads epoch 1, writes epoch 2, rewrites its state, deletes epoch 1
    (local / "epoch-2.pt").write_text("e2")
    (local / "sub" / "state.json").write_text('{"epoch": 2}')
    (local / "epoch-1.pt").unlink()
    (remote / "added-later.pt").write_text("x")  # put at S3Uri after the start: not copied in, not deleted
    assert sync.stop() == 3
    assert sorted(str(p.relative_to(remote)) for p in remote.rglob("*") if p.is_file()) == [
        "added-later.pt",
        "epoch-2.pt",
        "sub/state.json",
    ]
    assert (remote / "sub" / "state.json").read_text() == '{"epoch": 2}'
    assert not (local / "added-later.pt").exists()


def test_checkpoints_synced_while_the_job_runs(tmp_path):
    remote = tmp_path / "s3" / "ckpt"
    job = _job_dir(tmp_path)
    sync = CheckpointSync({"S3Uri": str(remote), "LocalPath": "/opt/ml/checkpoints"}, job, interval=0.05)
    assert sync.restore() == 0
    sync.start()
    try:
        (job / "checkpoints" / "step-10.pt").write_text("10")
        deadline = time.monotonic() + 5
        while not (remote / "step-10.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (remote / "step-10.pt").read_text() == "10"  # there before the job ends (a spot interruption)
    finally:
        sync.stop()


def test_checkpoint_config_needs_a_local_or_s3_s3uri(tmp_path):
    with pytest.raises(AmtValidationError) as info:
        CheckpointSync({"S3Uri": "https://b/ckpt"}, _job_dir(tmp_path))
    assert info.value.field == "CheckpointConfig.S3Uri"
    with pytest.raises(AmtValidationError) as info:
        CheckpointSync({"LocalPath": "/opt/ml/checkpoints"}, _job_dir(tmp_path))
    assert info.value.field == "CheckpointConfig.S3Uri"
