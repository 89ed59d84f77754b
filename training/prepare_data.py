"""Write the digits data set of the AMT reference example to ``<out>/digits.csv``.

Follows the data preparation of the AWS sample behind the blog post on advanced SageMaker Automatic Model Tuning
techniques: aws-samples/amazon-sagemaker-amt-visualize, notebook
``2_advanced_tuning_with_custom_training_and_visualizing.ipynb`` ("Load and Prepare dataset")::

    digits         = datasets.load_digits()
    digits_df      = pd.DataFrame(digits.data)
    digits_df['y'] = digits.target
    digits_df.to_csv('data/digits.csv', index=False)

So the file has a header ``0,1,...,63,y``: the 64 pixel columns (float values 0.0-16.0, as ``load_digits().data``
holds them) followed by the label column ``y`` last, and no index column; 1797 rows. The data is scikit-learn's
bundled copy of the UCI Optical Recognition of Handwritten Digits set, so nothing is downloaded.

Usage: python training/prepare_data.py [--out DIR]   (default: the data/ folder next to this file)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from sklearn import datasets

DEFAULT_OUT = Path(__file__).resolve().parent / "data"


def build_frame() -> pd.DataFrame:
    digits = datasets.load_digits()
    frame = pd.DataFrame(digits.data)
    frame["y"] = digits.target
    return frame


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "digits.csv"
    frame = build_frame()
    tmp = path.with_name(path.name + ".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)
    print(f"wrote {path} ({len(frame)} rows, {frame.shape[1] - 1} pixel columns + label 'y')")
    return path


if __name__ == "__main__":
    main()
