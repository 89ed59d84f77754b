"""One estimator without ``output_path`` both trains locally and defines a tuning job, as in the reference notebook.

Locally the estimator sends the output placeholder (``spec.placeholders.LOCAL_OUTPUT``, an ``s3://`` URI that passes
the API's pattern) in both requests; a standalone local training job writes its model under ``<home>/output``."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

from amtlocal.testing import F1, use_script


@pytest.mark.slow
def test_estimator_without_output_path_fits_and_tunes_locally(workdir):
    from amtlocal import HyperparameterTuner, IntegerParameter, SKLearn
    from amtlocal.spec.placeholders import LOCAL_OUTPUT

    use_script(
        workdir,
        "import argparse, os\np = argparse.ArgumentParser(); p.add_argument('--xx', type=int, default=3)\n"
        "a, _ = p.parse_known_args(); print('f1: %d' % a.xx)\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write('m')\n",
    )
    est = SKLearn(entry_point=str(workdir / "code" / "train.py"), framework_version="1.2-1", metric_definitions=[F1])
    est.fit({"train": str(workdir / "data")}, logs=False)
    desc = est.latest_training_job.describe()
    assert desc["TrainingJobStatus"] == "Completed" and desc["OutputDataConfig"]["S3OutputPath"] == LOCAL_OUTPUT
    home = Path(os.environ["AMTLOCAL_HOME"]).resolve()
    model = Path(urlparse(desc["ModelArtifacts"]["S3ModelArtifacts"]).path)
    assert model == home / "output" / desc["TrainingJobName"] / "output" / "model.tar.gz" and model.is_file()
    tuner = HyperparameterTuner(est, "f1", {"xx": IntegerParameter(1, 5)}, strategy="Random", max_jobs=2, random_seed=1)
    tuner.fit({"train": str(workdir / "data")}, progress=False)
    assert tuner.describe()["HyperParameterTuningJobStatus"] == "Completed"
    best = tuner.best_estimator()
    packed = Path(urlparse(best.model_data).path)  # a tuning job's training jobs pack there too
    assert packed == home / "output" / best.latest_training_job.name / "output" / "model.tar.gz" and packed.is_file()


def test_fit_sends_the_log_to_the_logger_while_the_job_runs(workdir, monkeypatch):
    # The script waits until its first line has reached the logger: fit streams the log, not after the job's end
    # (a new user saw every line arrive when the job had ended, after the "Completed" line).
    import logging

    from amtlocal import SKLearn

    monkeypatch.setenv("AMTLOCAL_PROGRESS", "log")
    marker = workdir / "seen"
    use_script(
        workdir,
        "import os, time\nprint('ready', flush=True)\nt = time.time()\n"
        f"while not os.path.exists({str(marker)!r}):\n"
        "    if time.time() - t > 30: raise SystemExit('the line never reached the logger')\n"
        "    time.sleep(0.05)\nprint('f1: 0.5')\n",
    )
    messages: list[tuple[str, str]] = []

    class Seen(logging.Handler):
        def emit(self, record):
            messages.append((record.name, record.getMessage()))
            if record.getMessage() == "ready":
                marker.touch()

    handler = Seen()  # on "amtlocal": the job's lines ("amtlocal.training") propagate to it
    logging.getLogger("amtlocal").addHandler(handler)
    old = logging.getLogger("amtlocal").level
    logging.getLogger("amtlocal").setLevel(logging.INFO)
    try:
        est = SKLearn(entry_point=str(workdir / "code" / "train.py"), framework_version="1.2-1", max_run=60)
        est.fit({"train": str(workdir / "data")}, job_name="streamed")
    finally:
        logging.getLogger("amtlocal").removeHandler(handler)
        logging.getLogger("amtlocal").setLevel(old)
    assert est.latest_training_job.describe()["TrainingJobStatus"] == "Completed"
    job_lines = [m for n, m in messages if n == "amtlocal.training" and m in ("ready", "f1: 0.5")]
    assert job_lines == ["ready", "f1: 0.5"]  # each once, in order
    progress = [m for n, m in messages if n == "amtlocal"]
    assert progress[0].startswith("Training job streamed: started"), messages
    assert messages.index(("amtlocal", progress[0])) < messages.index(("amtlocal.training", "ready"))
    assert "Completed" in progress[-1] and messages[-1] == ("amtlocal", progress[-1])
