"""The XGBoost container's channels and content types, read into ``xgboost.DMatrix``.

As ``sagemaker_xgboost_container.data_utils`` / ``algorithm_mode/channel_validation.py`` (cb8df91) define them:
channels ``train`` (required) and ``validation`` (optional) (any other channel: ``Extraneous channel found: <name>``);
ContentType ``text/csv`` / ``csv`` (label in the first column, no header; ``label_size`` must be 1; ``csv_weights=1``
takes the second column as instance weights), ``text/libsvm`` / ``text/x-libsvm`` / ``libsvm`` (the default when a
channel has none), ``application/x-parquet`` / ``parquet`` (label in the first column; needs pyarrow). Files whose
name starts with ``.`` or ``_`` are skipped, as the container skips them; every other file of the channel's folder
(and its sub-folders) is read, in name order.

Locally the rows are parsed with pandas (CSV, parquet) and scikit-learn's svmlight reader (LIBSVM, 0-based feature
indices as XGBoost reads them) instead of XGBoost's text-file URIs, which XGBoost deprecated in 3.1; the values are
the same float32 numbers.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from amtlocal.exceptions import BuiltinAlgorithmError

CSV, LIBSVM, PARQUET = "csv", "libsvm", "parquet"
_CONTENT_TYPES = {
    "csv": CSV,
    "text/csv": CSV,
    "libsvm": LIBSVM,
    "text/libsvm": LIBSVM,
    "text/x-libsvm": LIBSVM,
    "parquet": PARQUET,
    "application/x-parquet": PARQUET,
}
VALID_CONTENT_TYPES = [
    "csv",
    "libsvm",
    "parquet",
    "recordio-protobuf",
    "text/csv",
    "text/libsvm",
    "text/x-libsvm",
    "application/x-parquet",
    "application/x-recordio-protobuf",
]
CHANNELS = {"train": True, "validation": False, "code": False}  # name -> required
DEFAULT_CONTENT_TYPE = "text/libsvm"


def _user_error(message: str) -> BuiltinAlgorithmError:
    return BuiltinAlgorithmError(message, kind="UserError")


def validate_channels(data_config: dict[str, dict]) -> dict[str, dict]:
    """``inputdataconfig.json`` checked as the container's ``Channels.validate``: required ``train``, no other channel
    than ``train``/``validation``/``code``, ContentType defaulted to ``text/libsvm``.

    Raises:
        BuiltinAlgorithmError: UserError with the container's message.
    """
    for name, required in CHANNELS.items():
        if required and name not in data_config:
            raise _user_error(f"Missing required channel: {name}")
    out = {}
    for name, value in data_config.items():
        if name not in CHANNELS:
            raise _user_error(f"Extraneous channel found: {name}")
        value = dict(value)
        value.setdefault("ContentType", DEFAULT_CONTENT_TYPE)
        out[name] = value
    return out


def content_type(value: str | None) -> str:
    """``text/csv; label_size=1`` -> ``csv`` (``get_content_type``); no value -> ``libsvm``.

    Raises:
        BuiltinAlgorithmError: an unknown content type, or ``label_size`` other than 1.
    """
    if value is None:
        return LIBSVM
    main, *params = (p.strip() for p in value.lower().split(";"))
    options = dict(p.split("=", 1) for p in params if "=" in p)
    kind = _CONTENT_TYPES.get(main)
    if kind == CSV and options.get("label_size", "1") != "1":
        raise _user_error(
            f"{value} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"
        )
    if kind is None:
        if main in ("recordio-protobuf", "application/x-recordio-protobuf"):
            raise _user_error(
                f"{value}: amtlocal does not read recordio-protobuf channels; use text/csv or text/libsvm"
            )
        raise _user_error(f"{value} is not an accepted ContentType: {', '.join(VALID_CONTENT_TYPES)}.")
    return kind


def data_files(path: str | os.PathLike) -> list[Path]:
    """The data files of a channel (a file, or a folder read recursively), hidden and ``_`` files skipped, sorted."""
    root = Path(path)
    if root.is_file():
        return [root]
    files = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith((".", "_")):
                continue
            files.append(Path(dirpath) / name)
    return files


def _csv_delimiter(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        line = f.readline()
    try:
        return csv.Sniffer().sniff(line).delimiter
    except csv.Error as e:
        raise _user_error(f"Could not determine delimiter on line {line[:50]}:\n{e}") from None


def _read_csv(files: list[Path], csv_weights: int) -> tuple[Any, Any, Any]:
    import numpy as np
    import pandas as pd

    delimiter = _csv_delimiter(files[0])
    try:
        frames = [pd.read_csv(f, header=None, sep=delimiter, dtype=np.float32) for f in files]
    except Exception as e:  # noqa: BLE001 - the container reports any parse failure this way
        raise _user_error(f"Failed to load csv data with exception:\n{e}") from None
    data = np.concatenate([fr.to_numpy() for fr in frames]) if frames else np.empty((0, 1), np.float32)
    first = 2 if csv_weights == 1 else 1
    weights = data[:, 1] if csv_weights == 1 else None
    return data[:, first:], data[:, 0], weights


def _read_libsvm(files: list[Path], n_features: int | None) -> tuple[Any, Any]:
    import scipy.sparse as sp
    from sklearn.datasets import load_svmlight_files

    try:
        parts = load_svmlight_files([str(f) for f in files], zero_based=True, n_features=n_features)
    except Exception as e:  # noqa: BLE001
        raise _user_error(f"Failed to load libsvm data with exception:\n{e}") from None
    xs, ys = parts[0::2], parts[1::2]
    import numpy as np

    return sp.vstack(xs).tocsr(), np.concatenate(ys)


def _read_parquet(files: list[Path]) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    try:
        data = np.concatenate([pd.read_parquet(f).to_numpy(dtype=np.float32) for f in files])
    except ImportError:
        raise _user_error("application/x-parquet channels need pyarrow: pip install pyarrow") from None
    except Exception as e:  # noqa: BLE001
        raise _user_error(f"Failed to load parquet data with exception:\n{e}") from None
    return data[:, 1:], data[:, 0]


def load_dmatrix(path: str | os.PathLike, kind: str, csv_weights: int = 0, n_features: int | None = None) -> Any:
    """The channel at ``path`` as an ``xgboost.DMatrix`` (None when it holds no data file).

    Raises:
        BuiltinAlgorithmError: unreadable data, or rows without labels (the container's messages).
    """
    import xgboost as xgb

    files = [f for f in data_files(path) if f.stat().st_size > 0]
    if not files:
        return None
    weights = None
    if kind == CSV:
        x, y, weights = _read_csv(files, csv_weights)
    elif kind == LIBSVM:
        x, y = _read_libsvm(files, n_features)
    else:
        x, y = _read_parquet(files)
    if y.size == 0:
        raise _user_error("Got input data without labels. Please check the input data set.")
    return xgb.DMatrix(x, label=y, weight=weights)
