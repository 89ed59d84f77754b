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
