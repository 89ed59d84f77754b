"""The XGBoost algorithm's training job, as the container's algorithm mode runs it on one instance.

Port of aws/sagemaker-xgboost-container (Apache-2.0) at cb8df91, ``training.py:run_algorithm_mode`` and
``algorithm_mode/train.py:sagemaker_train/train_job``: hyperparameters and channels validated first (the container's
messages), the ``train``/``validation`` DMatrix read, eval metrics = the tuning objective's metric joined with
``eval_metric`` (container-defined metrics such as ``accuracy`` and ``f1`` computed by its feval functions), early
stopping on the objective's metric over the validation data, one line per round printed as the container's log shows
it (``[12]#011train-auc:0.91000#011validation-auc:0.88000``: XGBoost's EvaluationMonitor, tabs as ``#011``), and the
model saved as ``<SM_MODEL_DIR>/xgboost-model`` by ``Booster.save_model``.

Not supported locally (the job fails naming them): ``_kfold`` cross-validation, ``recordio-protobuf`` channels,
distributed (Dask/GPU) training. ``save_model_on_termination`` and checkpoints are accepted and ignored.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amtlocal.algorithms.xgboost._data import CSV, content_type, load_dmatrix, validate_channels
from amtlocal.algorithms.xgboost._hyperparameters import validate_hyperparameters
from amtlocal.algorithms.xgboost._metrics import MAXIMIZE_METRICS
from amtlocal.exceptions import BuiltinAlgorithmError

logger = logging.getLogger(__name__)

MODEL_NAME = "xgboost-model"
EXTRA_HINT = "pip install 'amtlocal[xgboost]'"
# xgb_constants.CUSTOMER_ERRORS: XGBoost failures the container reports as the user's (UserError).
CUSTOMER_ERRORS = (
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "Target is multiclass but average='binary'",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "Check failed: !auc_error AUC: the dataset only contains pos or neg samples",
    "Check failed: base_score > 0.0f && base_score < 1.0f base_score must be in (0,1) for logistic loss",
    "Check failed: label_correct PoissonRegression: label must be nonnegative",
    "Check failed: label_correct TweedieRegression: label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
)
_NOT_XGBOOST_PARAMS = (
    "num_round",
    "save_model_on_termination",
    "_tuning_objective_metric",
    "early_stopping_rounds",
    "csv_weights",
    "use_dask_gpu_training",
    "_kfold",
    "_num_cv_round",
)


def _user_error(message: str) -> BuiltinAlgorithmError:
    return BuiltinAlgorithmError(message, kind="UserError")


def eval_metrics(
    tuning_objective_metric: str | None, eval_metric: list[str] | None
) -> tuple[list[str] | None, list[str], list[str] | None]:
    """``train_utils.get_eval_metrics_and_feval``: ``(XGBoost eval_metric list or None, container-defined metrics
    computed by feval, the objective's metric names or None)``."""
    from amtlocal.algorithms.xgboost._custom_metrics import CUSTOM_METRICS

    objective = tuning_objective_metric.split(":")[1].split(",") if tuning_objective_metric else None
    if objective is None and eval_metric is None:
        union = None
    elif objective is None or eval_metric is None:
        union = objective or eval_metric
    else:
        union = sorted(set(objective) | set(eval_metric))
    if union is None:
        return None, [], objective
    custom = [m for m in union if m in CUSTOM_METRICS]
    cleaned = [m for m in union if m not in custom] if custom else list(union)
    return cleaned, custom, objective


def round_line(message: str) -> str:
    """XGBoost's EvaluationMonitor line as the SageMaker log shows it: tabs as ``#011`` (AMT's regexes expect that)."""
    return message.strip().replace("\t", "#011")


def train_job(config: dict[str, Any], dtrain: Any, dval: Any, model_dir: Path, emit: Callable[[str], None]) -> None:
    """``train_job`` of the container for one instance: train, emit per-round metric lines, save ``xgboost-model``.

    ``emit`` writes one line to the job's log (the entry point passes ``print``).

    Raises:
        BuiltinAlgorithmError: UserError for the container's customer errors, AlgorithmError otherwise.
    """
    import xgboost as xgb

    from amtlocal.algorithms.xgboost._custom_metrics import configure_feval

    num_round = config["num_round"]
    cleaned, custom, objective_metric = eval_metrics(config.get("_tuning_objective_metric"), config.get("eval_metric"))
    params = {k: v for k, v in config.items() if k not in _NOT_XGBOOST_PARAMS}
    if params.get("updater"):
        params["updater"] = ",".join(params["updater"])
    if cleaned:
        params["eval_metric"] = cleaned
    else:
        params.pop("eval_metric", None)
    early_rounds = config.get("early_stopping_rounds")
    early_metric = None
    if early_rounds:
        if objective_metric:
            early_metric = objective_metric[-1]
        elif config.get("eval_metric"):
            early_metric = config["eval_metric"][-1]
    logger.info("Train matrix has %d rows and %d columns", dtrain.num_row(), dtrain.num_col())
    watchlist = [(dtrain, "train")] + ([(dval, "validation")] if dval is not None else [])
    callbacks: list[Any] = [xgb.callback.EvaluationMonitor(logger=lambda message: emit(round_line(message)))]
    if dval is not None and early_metric and early_rounds:
        callbacks.append(
            xgb.callback.EarlyStopping(
                rounds=early_rounds,
                data_name="validation",
                metric_name=early_metric,
                maximize=early_metric in MAXIMIZE_METRICS,
                save_best=True,
            )
        )
    feval = configure_feval(custom, params.get("objective", "reg:squarederror")) if custom else None
    try:
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=num_round,
            evals=watchlist,
            custom_metric=feval,
            callbacks=callbacks,
            verbose_eval=False,
        )
    except Exception as e:  # noqa: BLE001 - sorted into the container's two kinds, as it does
        if any(m in str(e) for m in CUSTOMER_ERRORS):
            raise _user_error(str(e)) from None
        raise BuiltinAlgorithmError(f"XGB train call failed with exception:\n {e}", kind="AlgorithmError") from None
    model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_dir / MODEL_NAME))


def _channel_path(name: str, input_dir: Path) -> str | None:
    path = os.environ.get(f"SM_CHANNEL_{name.upper()}")
    if path:
        return path
    candidate = input_dir / "data" / name
    return str(candidate) if candidate.exists() else None


def sagemaker_train(input_dir: Path, model_dir: Path, emit: Callable[[str], None]) -> None:
    """``run_algorithm_mode`` + ``sagemaker_train``: read ``input/config``, validate, load the channels, train.

    Raises:
        BuiltinAlgorithmError: what the container raises (UserError / AlgorithmError), with its messages.
    """
    config_dir = Path(os.environ.get("SM_INPUT_CONFIG_DIR") or input_dir / "config")
    train_config = json.loads((config_dir / "hyperparameters.json").read_text(encoding="utf-8"))
    data_config = json.loads((config_dir / "inputdataconfig.json").read_text(encoding="utf-8"))
    config = validate_hyperparameters(train_config)
    channels = validate_channels(data_config)
    if "_kfold" in config:
        raise _user_error("_kfold cross-validation is not supported by amtlocal's local XGBoost algorithm")
    if config.get("use_dask_gpu_training") == "true":
        raise _user_error("use_dask_gpu_training: distributed GPU training is not supported locally")
    kind = content_type(channels["train"].get("ContentType"))
    if channels["train"].get("TrainingInputMode") == "Pipe" and kind == CSV:
        raise _user_error("Pipe mode for CSV is no longer supported. Please use Fast File mode (default) instead.")
    train_path = _channel_path("train", input_dir)
    val_path = _channel_path("validation", input_dir) if "validation" in channels else None
    csv_weights = config.get("csv_weights", 0)
    dtrain = load_dmatrix(train_path, kind, csv_weights) if train_path else None
    if dtrain is None:
        raise _user_error(f"No data in training channel path {train_path}")
    dval = None
    if val_path is not None:
        dval = load_dmatrix(val_path, kind, csv_weights, n_features=dtrain.num_col())
        if dval is None:
            raise _user_error(f"No data in validation channel path {val_path}")
    train_job(config, dtrain, dval, model_dir, emit)


def failure_text(error: BaseException) -> str:
    """What the container's trainer writes to ``output/failure``: ``framework error: `` then the error; for a
    container error its class and message (no traceback: FailureReason keeps 1024 characters)."""
    if isinstance(error, BuiltinAlgorithmError):
        return f"framework error: \n{error.kind}: {error.message}"
    return f"framework error: \n{traceback.format_exc()}\n{error}"
