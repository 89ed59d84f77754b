"""Hyperparameter values on the wire: the one encoder and the one decoder.

AMT's hyperparameter maps (``StaticHyperParameters``, ``CategoricalParameterRanges[].Values``,
``TunedHyperParameters``) hold strings only. SDK v2's framework estimators JSON-encode every value before sending it
(``10`` -> ``"10"``, ``"gini"`` -> ``"\\"gini\\""``, ``True`` -> ``"true"``); the training toolkit
(sagemaker-training-toolkit, ``_env.read_hyperparameters``) decodes each with ``json.loads`` and keeps the raw string
when that fails. :func:`encode_hyperparameter` and :func:`decode_hyperparameter` are those two steps, so the same
``train.py`` sees the same values locally and in SageMaker.
"""

from __future__ import annotations

import json
from typing import Any


def encode_hyperparameter(value: Any) -> str:
    """A Python value -> its wire string, as SDK v2's ``Framework`` sends it: ``json.dumps(value)``.

    ``3`` -> ``"3"``, ``0.5`` -> ``"0.5"``, ``True`` -> ``"true"``, ``"a b"`` -> ``"\\"a b\\""``, ``[1, 2]`` ->
    ``"[1, 2]"``, ``{"a": 1}`` -> ``"{\\"a\\": 1}"``.

    Raises:
        TypeError: a value JSON cannot encode (e.g. a set).
    """
    return json.dumps(value)


def decode_hyperparameter(value: Any) -> Any:
    """A wire string -> the value the training script gets, as the toolkit decodes it: ``json.loads``, else the raw
    string (``"10"`` -> 10, ``"\\"rbf\\""`` -> ``"rbf"``, ``"true"`` -> True, ``"abc"`` -> ``"abc"``).

    A value that is not a string (a YAML spec may hold a number) is returned unchanged.
    """
    if not isinstance(value, (str, bytes, bytearray)):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def hyperparameter_label(value: Any) -> Any:
    """A wire value for display: a JSON-quoted string (a framework estimator's categorical, ``"\\"adam\\""``) loses its
    quotes; every other value is returned as given (``"10"`` stays ``"10"``)."""
    decoded = decode_hyperparameter(value)
    return decoded if isinstance(decoded, str) else value


__all__ = ["decode_hyperparameter", "encode_hyperparameter", "hyperparameter_label"]
