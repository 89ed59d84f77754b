"""The JSON 1.1 wire protocol of the SageMaker API, read and written through botocore's service model.

A request body is JSON whose timestamps are epoch seconds (botocore writes them so for JSON protocols) and whose blobs
are base64; :func:`parse_input` turns it into the Python values boto3 takes (aware datetimes, bytes) so botocore's
ParamValidator and the local client see what a boto3 caller would pass. :func:`serialise_output` writes a response
as the service does: only the output shape's members, timestamps as epoch seconds (milliseconds kept), no nulls.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import logging
import uuid
from typing import Any

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"


@functools.lru_cache(maxsize=1)
def service_model():
    """botocore's ``sagemaker`` ServiceModel (loaded once)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def parse_input(value: Any, shape: Any, path: str = "") -> Any:
    """The JSON value ``value`` of ``shape`` as boto3's Python value: timestamps (epoch seconds or ISO 8601 strings)
    become aware datetimes, blobs bytes; a value of the wrong JSON type is left as it is, for ParamValidator to name.

    Raises:
        AmtValidationError: a number or string for a timestamp that no date can be made of (e.g. ``1e20``), named by
            its dotted path (the service's ValidationException).
    """
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: parse_input(v, shape.members.get(k), f"{path}.{k}".lstrip(".")) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [parse_input(v, shape.member, f"{path}[{i}]") for i, v in enumerate(value)]
    if kind == "map" and isinstance(value, dict):
        return {k: parse_input(v, shape.value, f"{path}.{k}") for k, v in value.items()}
    if kind == "timestamp" and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        from botocore.utils import parse_timestamp

        try:
            return parse_timestamp(value)
        except (ValueError, TypeError, OverflowError, RuntimeError):  # 1e20: botocore raises RuntimeError
            from amtlocal.exceptions import AmtValidationError

            raise AmtValidationError(path, f"not a timestamp a date can be made of (got {value!r})") from None
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value)
        except ValueError:
            return value
    return value


def serialise_output(value: Any, shape: Any) -> Any:
    """``value`` (a response dict as the local client returns it) as the service writes it for ``shape``: members the
    model does not know are dropped (logged at DEBUG), None dropped, timestamps as epoch seconds to the millisecond,
    blobs base64."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if v is None:
                continue
            if k not in shape.members:
                if k != "ResponseMetadata":
                    log.debug("dropping %s.%s: not a member of the model's shape", shape.name, k)
                continue
            out[k] = serialise_output(v, shape.members[k])
        return out
    if kind == "list" and isinstance(value, list):
        return [serialise_output(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: serialise_output(v, shape.value) for k, v in value.items()}
    if kind == "timestamp" and isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return round(aware.timestamp(), 3)
    if kind == "blob" and isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def json_response(body: dict[str, Any], status: int = 200) -> tuple[int, list[tuple[str, str]], bytes]:
    """``(status, headers, body bytes)`` of a JSON 1.1 answer, with a request id as the service sends it."""
    data = json.dumps(body).encode("utf-8")
    headers = [
        ("Content-Type", JSON_CONTENT_TYPE),
        ("Content-Length", str(len(data))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]
    return status, headers, data


def error_response(code: str, message: str, status: int = 400) -> tuple[int, list[tuple[str, str]], bytes]:
    """A JSON-protocol service error as AWS sends it: HTTP ``status`` (400), body ``{"__type": code, "message": ...}``
    (botocore reads ``Error.Code`` from ``__type`` and ``Error.Message`` from ``message``)."""
    status_, headers, data = json_response({"__type": code, "message": message}, status)
    headers.append(("x-amzn-ErrorType", code))
    return status_, headers, data
