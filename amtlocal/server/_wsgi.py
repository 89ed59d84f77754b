"""The server's WSGI app: the peer check, then SageMaker operations run locally, IAM simulations answered, moto.

Routing, in order:

1. a peer that is not loopback gets HTTP 403 (``AccessDeniedException``) unless the server was bound to a
   non-loopback address;
2. ``X-Amz-Target: SageMaker.<Operation>`` for an operation amtlocal runs (``_operations``) is answered here, one
   the service model does not have with 400 ``UnknownOperationException``;
3. IAM ``SimulatePrincipalPolicy`` / ``SimulateCustomPolicy`` (moto lacks them) are answered ``allowed`` (``_sdk``);
4. CloudWatch Logs requests on the training-job log group are answered from the store (``_telemetry``); before a
   CloudWatch request, the newly scraped metric points are put into moto's CloudWatch (``_telemetry``);
5. everything else goes to moto's app, the body it was sent with unchanged.
"""

from __future__ import annotations

import io
import ipaddress
import logging
from collections.abc import Callable, Iterable
from typing import Any

from amtlocal.server import _sdk, _wire

log = logging.getLogger(__name__)


def is_loopback(address: str | None) -> bool:
    """Whether ``address`` (an IPv4/IPv6 literal, possibly IPv4-mapped IPv6) is a loopback address."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def signing_scope(environ: dict) -> tuple[str, str] | None:
    """``(region, service)`` of a SigV4-signed request's credential scope, else None."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        return scope[2], scope[3]
    except IndexError:
        return None


def binds_loopback(host: str) -> bool:
    """Whether binding ``host`` (an address or a name such as ``localhost``) listens on loopback addresses only."""
    if is_loopback(host):
        return True
    try:
        ipaddress.ip_address(host)
        return False  # an address that is not loopback (or a wildcard)
    except ValueError:
        pass
    import socket

    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(found) and all(is_loopback(a) for a in found)


class Application:
    """The WSGI callable.

    Args:
        operations: a ``SageMakerOperations`` (``handles(op, body)``, ``__call__(op, body)``).
        moto: moto's WSGI app.
        telemetry: a ``_telemetry.Telemetry`` (metrics and logs of local training jobs), or None.
        allow_remote: serve peers that are not loopback (the server was bound to a non-loopback address).
    """

    def __init__(self, operations: Any, moto: Callable, telemetry: Any = None, allow_remote: bool = False):
        self.operations = operations
        self.moto = moto
        self.telemetry = telemetry
        self.allow_remote = allow_remote

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not self.allow_remote and not is_loopback(environ.get("REMOTE_ADDR")):
            log.warning("refused a request from %s (not loopback)", environ.get("REMOTE_ADDR"))
            status, headers, body = _wire.error_response(
                "AccessDeniedException",
                "amtlocal serves loopback clients only; start it with --host <address> to serve others",
                403,
            )
            return self._send(start_response, status, headers, body)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("SageMaker."):
            operation = target.split(".", 1)[1]
            if operation not in _wire.service_model().operation_names:  # as the service answers a name it lacks
                return self._send(start_response, *_wire.error_response("UnknownOperationException", "", 400))
            body = self._body(environ)
            if self.operations.handles(operation, body):
                return self._send(start_response, *self.operations(operation, body))
        elif target.startswith("Logs_20140328.") and self.telemetry is not None:
            operation = target.split(".", 1)[1]
            body = self._body(environ)
            if self.telemetry.handles_logs(operation, body):
                return self._send(start_response, *self.telemetry.logs(operation, body))
        elif "/iam/" in environ.get("HTTP_AUTHORIZATION", "") and environ.get("REQUEST_METHOD") == "POST":
            body = self._body(environ)
            if _sdk.is_iam_simulation(environ, body):
                return self._send(start_response, *_sdk.iam_simulation_response(body))
        scope = signing_scope(environ)
        if scope is not None and scope[1] == "monitoring" and self.telemetry is not None:
            try:
                self.telemetry.publish_metrics(scope[0])
            except Exception:  # noqa: BLE001 - moto still answers with what it holds; the cause is logged
                log.exception("publishing the training jobs' metrics to CloudWatch failed")
        return self.moto(environ, start_response)

    @staticmethod
    def _body(environ: dict) -> bytes:
        """Read the request body and put it back, so moto reads it whole if the request goes on to moto."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    @staticmethod
    def _send(start_response: Callable, status: int, headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
        reasons = {200: "OK", 400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error"}
        start_response(f"{status} {reasons.get(status, '')}".strip(), headers)
        return [body]
