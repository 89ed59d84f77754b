"""The SageMaker API on localhost: ``amtlocal serve``, :func:`endpoint` and the ``amtlocal_endpoint`` pytest fixture.

Any client that honours ``AWS_ENDPOINT_URL`` (boto3, SageMaker Python SDK v2 and v3, the AWS CLI) runs unchanged
against it. The SageMaker operations of tuning and training jobs (``_operations.LOCAL_OPERATIONS``) run on this
machine, on the local backend and the same store as the CLI; everything else (S3, STS, IAM, CloudWatch, Logs, other
SageMaker operations) is answered by moto in the same process and port. The wire protocol is JSON 1.1 through
botocore's service model; errors are the service's (HTTP 400, ``{"__type": code, "message": ...}``).

    with amtlocal.endpoint() as ep:          # a free loopback port; AWS_ENDPOINT_URL etc. set until the end
        boto3.client("sagemaker").create_hyper_parameter_tuning_job(**request)

moto, werkzeug and botocore are imported only when a server starts.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from amtlocal.server._sdk import ACCOUNT_ID, ROLE_ARN, default_bucket
from amtlocal.server._server import Server

__all__ = ["ACCOUNT_ID", "ROLE_ARN", "Server", "default_bucket", "endpoint"]


@contextlib.contextmanager
def endpoint(
    home: str | os.PathLike | None = None,
    region: str | None = None,
    stop_grace: float | None = None,
    base_dir: str | os.PathLike | None = None,
) -> Iterator[Server]:
    """Run the server on a free loopback port in a thread for the ``with`` block.

    Inside the block ``AWS_ENDPOINT_URL`` names the server (any ``AWS_ENDPOINT_URL_<SERVICE>`` is removed), the
    region variables and dummy credentials are set (``AWS_PROFILE`` and session tokens removed) and
    ``SAGEMAKER_USER_CONFIG_OVERRIDE`` names the SDK config with the default bucket and role; all are restored after.
    On exit, jobs started through it that still run are stopped (recorded Stopped).

    Args:
        home: the local store's folder (default ``$AMTLOCAL_HOME`` / ``~/.amtlocal``); region: as :class:`Server`;
        stop_grace: seconds from SIGTERM to SIGKILL when a job is stopped; base_dir: where relative paths resolve.

    Yields:
        the started :class:`Server` (``.url``, ``.environment``, ``.region``, ``.role_arn``, ``.bucket``, ``.home``).
    """
    server = Server(host="127.0.0.1", port=0, home=home, region=region, base_dir=base_dir, stop_grace=stop_grace)
    server.start(export=True)
    try:
        yield server
    finally:
        server.shutdown()
