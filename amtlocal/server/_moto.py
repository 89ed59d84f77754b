"""The moto bridge: every request amtlocal does not answer goes to moto's server app in the same process.

moto (``moto[server]``) emulates S3, STS, IAM, CloudWatch, CloudWatch Logs and the SageMaker operations amtlocal does
not run; its WSGI app dispatches on the request's signing scope and host. Its state lives in this process's memory
for the server's life (as with ``moto_server``). Requests are sent to it under account ``000000000000`` (the
``x-moto-account-id`` header, unless ``MOTO_ACCOUNT_ID`` is set), the account of every local ARN.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from amtlocal.server import _sdk

log = logging.getLogger(__name__)


def moto_app() -> Any:
    """moto's WSGI app: ``moto.server.DomainDispatcherApplication(create_backend_app)``, with the account header."""
    from moto.server import DomainDispatcherApplication, create_backend_app

    app = DomainDispatcherApplication(create_backend_app)

    def with_account(environ: dict, start_response: Any) -> Any:
        environ.setdefault("HTTP_X_MOTO_ACCOUNT_ID", _sdk.ACCOUNT_ID)
        return app(environ, start_response)

    return with_account


def restore_s3(url: str, region: str, home: str | os.PathLike) -> int:
    """Put back into this server's (in-memory) moto S3 at ``url`` the objects the S3 cache of ``home`` fetched
    (:meth:`amtlocal.s3.S3Cache.restore`), so the tuning jobs a previous server stopped resume with their ``s3://``
    code and channels. Returns the number of objects put back."""
    import boto3

    from amtlocal.s3 import S3Cache

    session = boto3.session.Session(
        aws_access_key_id=_sdk.DUMMY_KEY, aws_secret_access_key=_sdk.DUMMY_KEY, region_name=region
    )
    return S3Cache(home).restore(session.client("s3", endpoint_url=url))


def seed(url: str, region: str) -> None:
    """Create what the SDKs expect to exist, through the server at ``url``: the default execution role
    (``amtlocal-local``, trusted by sagemaker.amazonaws.com, with AmazonSageMakerFullAccess's name attached as an
    inline policy allowing everything) and the default bucket. Existing ones are kept (moto's state is per process,
    so a second server in one process finds them)."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=_sdk.DUMMY_KEY, aws_secret_access_key=_sdk.DUMMY_KEY, region_name=region
    )
    iam = session.client("iam", endpoint_url=url)
    try:
        iam.create_role(
            RoleName=_sdk.ROLE_NAME,
            AssumeRolePolicyDocument=_sdk.TRUST_POLICY,
            Description="amtlocal's default SageMaker execution role (local endpoint)",
        )
        iam.put_role_policy(
            RoleName=_sdk.ROLE_NAME,
            PolicyName="AmazonSageMakerFullAccess",
            PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}',
        )
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    s3 = session.client("s3", endpoint_url=url)
    bucket = _sdk.default_bucket(region)
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass
    log.debug("moto seeded: role %s, bucket %s", _sdk.ROLE_ARN, bucket)
