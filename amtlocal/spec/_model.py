"""Validation layer one: the CreateHyperParameterTuningJob request against botocore's SageMaker service model.

The model is data, never a hand-written field list: the input shape is
``botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateHyperParameterTuningJob")
.input_shape`` (AMT_REFERENCE.md section 1, source [BC]).

Two passes over the same shape tree:

1. ``botocore.validate.ParamValidator`` checks what botocore itself checks before sending a request: Python types,
   required members, unknown members and the ``min`` constraints (string length, list length, numeric value).
2. Our own walk applies what the model carries but ParamValidator ignores: ``max`` (length of strings, lists and
   maps; value of numbers), ``min`` of maps, ``pattern`` (``re.fullmatch``) and ``enum``.

Both passes report :class:`~amtlocal.exceptions.AmtValidationError` whose ``field`` is the dotted request path
(``HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0].MinValue``; see ``_paths.join_path``),
sorted in request order.

Local stand-ins: where DESIGN.md lets a local spec put a ``file://`` URI or a plain path in place of an S3 URI (the
data channels' ``S3DataSource.S3Uri``), the S3 pattern is not applied unless ``local_uris=False``.

Java patterns: the model's patterns are Java regexes. They are compiled with ``re.ASCII`` (Java's ``\\d``, ``\\w`` and
``\\s`` are ASCII) and skipped when Python cannot mean the same thing: Unicode property classes ``\\p{..}``/``\\P{..}``
(the tag key/value pattern), class intersections ``&&``, anything Python refuses or warns about. String lengths are
counted in Python code points (Java counts UTF-16 units; they differ only beyond the Basic Multilingual Plane).
"""

from __future__ import annotations

import functools
import re
import warnings
from typing import TYPE_CHECKING, Any

from amtlocal.exceptions import AmtValidationError
from amtlocal.spec._paths import join_path, split_path
from amtlocal.spec.uris import is_local_uri

if TYPE_CHECKING:  # botocore is imported lazily: ``import amtlocal`` stays fast
    from botocore.model import Shape

__all__ = ["model_errors", "input_shape", "LOCAL_URI_MEMBERS"]

OPERATION = "CreateHyperParameterTuningJob"

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "long": "an integer",
    "float": "a number",
    "double": "a number",
    "boolean": "a boolean",
    "structure": "a mapping (structure)",
    "map": "a mapping",
    "list": "a list",
    "timestamp": "a timestamp",
    "blob": "bytes",
}
_UNSUPPORTED_JAVA = ("\\p{", "\\P{", "&&", "\\Q", "\\E", "\\z", "\\Z", "\\h", "\\H", "\\R", "\\X", "\\G")


@functools.cache
def input_shape(operation: str = OPERATION) -> Shape:
    """The botocore input shape of SageMaker operation ``operation`` (default ``CreateHyperParameterTuningJob``;
    loaded once, then cached)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model(operation).input_shape


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """``pattern`` compiled for full matching, or None when Python cannot faithfully apply this Java pattern."""
    if any(tok in pattern for tok in _UNSUPPORTED_JAVA):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. FutureWarning "possible nested set": Java syntax Python reads differently
        try:
            return re.compile(pattern, re.ASCII)
        except (re.error, Warning):
            return None


def model_errors(
    request: dict[str, Any], local_uris: bool = True, operation: str = OPERATION
) -> list[AmtValidationError]:
    """Every violation of the botocore service model by ``request``; empty when the request is well formed.

    Args:
        request: a request dict of ``operation`` (default CreateHyperParameterTuningJob: what
            ``create_hyper_parameter_tuning_job`` takes).
        local_uris: accept a local ``file://`` URI or plain path where DESIGN.md allows one in place of an S3 URI
            (the members in ``LOCAL_URI_MEMBERS``: channels, output path, checkpoints, debugger outputs). The SageMaker
            backend rewrites those to ``s3://`` before sending and may re-check with ``local_uris=False``.

    Returns:
        list of AmtValidationError in request order. Rules, in words: ``required field is missing``,
        ``unknown field; ...``, ``must be an integer, got str '3'``, ``must be at least 1``,
        ``at least 1 characters``, ``at most 32 characters (got 40)``, ``at most 5 items (got 6)``,
        ``must be at most 100``, ``must match <pattern>``, ``must be one of Bayesian, Random, Hyperband, Grid``.
        ``operation``: another SageMaker operation whose input is checked the same way (CreateTrainingJob, the
        List and Describe operations).
    """
    from botocore.validate import ParamValidator

    shape = input_shape(operation)
    walk = _Walk(local_uris)
    walk.visit(request, shape, [], "")

    report = ParamValidator().validate(request, shape)
    raw = getattr(report, "errors", None) or getattr(report, "_errors", [])
    found = [_convert(err, walk.nodes) for err in raw] + walk.errors
    found.sort(key=lambda pair: pair[0])  # stable: request order, ParamValidator's report first within a node
    return [err for _, err in found]


# --- pass 2: the constraints ParamValidator leaves out -------------------------------------------------------------

LOCAL_URI_MEMBERS = frozenset(
    {
        ("S3DataSource", "S3Uri"),
        ("OutputDataConfig", "S3OutputPath"),
        ("CheckpointConfig", "S3Uri"),
        ("DebugHookConfig", "S3OutputPath"),
        ("DebugRuleConfiguration", "S3OutputPath"),
        ("TensorBoardOutputConfig", "S3OutputPath"),
        ("ProfilerConfig", "S3OutputPath"),
        ("ProfilerRuleConfiguration", "S3OutputPath"),
    }
)
"""(structure shape name, member name) pairs whose S3 URI may be a local ``file://`` URI or path (DESIGN.md): data
channels, the output path (``model.tar.gz`` is packed there), checkpoints, and the debugger/profiler/TensorBoard
outputs the SDK derives from the output path (carried, unused, locally)."""


class _Walk:
    """One walk of a request alongside the model: records every node, collects max/pattern/enum violations.

    ``nodes`` maps each node's name as ParamValidator spells it (``.A.B[0].C``; map entries ``.M.k`` and
    ``.M (key: k)``) to (visit order, request path, shape), so ParamValidator's report can be mapped back.
    """

    def __init__(self, local_uris: bool):
        self.local_uris = local_uris
        self.nodes: dict[str, tuple[int, list[str | int], Shape]] = {}
        self.errors: list[tuple[int, AmtValidationError]] = []

    def visit(
        self, value: Any, shape: Shape, path: list[str | int], name: str, *, key: bool = False, local_ok: bool = False
    ) -> None:
        order = len(self.nodes)
        self.nodes[name] = (order, path, shape)
        meta = shape.metadata
        kind = shape.type_name

        def report(rule: str) -> None:
            self.errors.append((order, AmtValidationError(join_path(path), f"key {rule}" if key else rule)))

        if kind == "structure" and isinstance(value, dict):
            members = shape.members
            for k, item in value.items():
                if k in members:
                    local = self.local_uris and (shape.name, k) in LOCAL_URI_MEMBERS
                    self.visit(item, members[k], path + [k], f"{name}.{k}", local_ok=local)
        elif kind == "list" and isinstance(value, (list, tuple)):
            if "max" in meta and len(value) > meta["max"]:
                report(f"at most {meta['max']} items (got {len(value)})")
            for i, item in enumerate(value):
                self.visit(item, shape.member, path + [i], f"{name}[{i}]")
        elif kind == "map" and isinstance(value, dict):
            if "max" in meta and len(value) > meta["max"]:
                report(f"at most {meta['max']} entries (got {len(value)})")
            if meta.get("min", 0) > len(value):  # ParamValidator checks no map length
                report(f"at least {meta['min']} entries (got {len(value)})")
            for k, item in value.items():
                self.visit(k, shape.key, path + [str(k)], f"{name} (key: {k})", key=True)
                self.visit(item, shape.value, path + [str(k)], f"{name}.{k}")
        elif kind == "string" and isinstance(value, str):
            if "max" in meta and len(value) > meta["max"]:
                report(f"at most {meta['max']} characters (got {len(value)})")
            enum = meta.get("enum")
            if enum and value not in enum:
                report(f"must be one of {', '.join(enum)} (got {value!r})")
            elif "pattern" in meta and not (local_ok and is_local_uri(value)):
                compiled = _compiled(meta["pattern"])
                if compiled is not None and compiled.fullmatch(value) is None:
                    report(f"must match {meta['pattern']} (got {value!r})")
        elif (
            kind in ("integer", "long", "float", "double")
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
        ):
            if "max" in meta and value > meta["max"]:
                report(f"must be at most {meta['max']} (got {value})")
        elif kind in ("integer", "long", "float", "double") and isinstance(value, bool):
            report(f"must be {_TYPE_WORDS[kind]}, got bool {value!r}")  # Python's bool is an int to ParamValidator


# --- pass 1: ParamValidator's report, mapped back to request paths ------------------------------------------------


def _convert(error: tuple, nodes: dict) -> tuple[int, AmtValidationError]:
    """One ParamValidator error tuple ``(reason, name, details)`` -> (visit order, AmtValidationError)."""
    reason, name, details = error[0], error[1], (error[2] if len(error) > 2 else {})
    order, path, shape = nodes.get(name, (len(nodes), _fallback_path(name), None))
    kind = shape.type_name if shape is not None else ""
    if reason == "missing required field":
        return order, AmtValidationError(join_path(path + [details["required_name"]]), "required field is missing")
    if reason == "unknown field":
        valid = ", ".join(details.get("valid_names", []))
        return order, AmtValidationError(
            join_path(path + [details["unknown_param"]]), f"unknown field; expected one of: {valid}"
        )
    param = details.get("param")
    if reason in ("invalid type", "invalid type for document"):
        want = _TYPE_WORDS.get(kind) or " or ".join(details.get("valid_types", []))
        return order, AmtValidationError(join_path(path), f"must be {want}, got {type(param).__name__} {param!r}")
    if reason == "invalid range":
        return order, AmtValidationError(join_path(path), f"must be at least {details['min_allowed']} (got {param})")
    if reason == "invalid length":
        unit = "characters" if kind == "string" else "items"
        return order, AmtValidationError(join_path(path), f"at least {details['min_allowed']} {unit} (got {param})")
    if reason in ("more than one input", "empty input"):
        members = ", ".join(details.get("members", []))
        rule = "set exactly one of" if reason == "more than one input" else "set one of"
        return order, AmtValidationError(join_path(path), f"{rule}: {members}")
    return order, AmtValidationError(join_path(path), f"{reason}: {details}")


def _fallback_path(name: str) -> list[str | int]:
    """Path parts from a ParamValidator name we did not visit (should not happen; keeps the error, not the crash)."""
    return split_path(name.split(" (key: ")[0].lstrip("."))
