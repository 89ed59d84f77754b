"""``python -m amtlocal.algorithms.xgboost``: one training job of SageMaker's XGBoost algorithm in a job folder.

The training-job side (like a user's ``train.py``): it writes the job's log on stdout/stderr.
"""

import functools
import logging
import os
import sys
from pathlib import Path

from amtlocal.algorithms.xgboost._train import EXTRA_HINT, failure_text, logger, sagemaker_train
from amtlocal.exceptions import BuiltinAlgorithmError


def main() -> int:
    """The entry point a runner starts (``python -m amtlocal.algorithms.xgboost``); returns the exit status.

    Reads ``SM_INPUT_DIR``/``SM_MODEL_DIR``/``SM_OUTPUT_DIR`` (else ``/opt/ml/...``); on failure writes
    ``output/failure`` (unless it exists), the error on stderr, and returns 1.
    """
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s:%(levelname)s:%(name)s] %(message)s", stream=sys.stderr
    )
    input_dir = Path(os.environ.get("SM_INPUT_DIR") or "/opt/ml/input")
    model_dir = Path(os.environ.get("SM_MODEL_DIR") or "/opt/ml/model")
    output_dir = Path(os.environ.get("SM_OUTPUT_DIR") or "/opt/ml/output")
    try:
        try:
            import xgboost  # noqa: F401 - the optional extra: fail at once, naming it
        except ImportError:
            raise BuiltinAlgorithmError(
                "the built-in XGBoost algorithm needs the xgboost package, the optional extra "
                f"amtlocal[xgboost]: {EXTRA_HINT}",
                kind="PlatformError",
            ) from None
        logger.info("Running XGBoost Sagemaker in algorithm mode")
        sagemaker_train(input_dir, model_dir, functools.partial(print, flush=True))
    except Exception as e:  # noqa: BLE001 - every failure becomes the job's FailureReason, as in the container
        text = failure_text(e)
        failure = output_dir / "failure"
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
            if not failure.exists():
                failure.write_text(text, encoding="utf-8")
        except OSError:
            pass
        print(text, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
