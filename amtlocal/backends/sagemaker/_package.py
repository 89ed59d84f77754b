"""Code packaging and S3 upload, as the sagemaker SDK v2 does it (AMT_REFERENCE.md section 5, "Source upload").

- ``sourcedir.tar.gz``: every entry of the source folder at the tar root under its own name, folders recursively,
  symlinks dereferenced (``sagemaker.fw_utils.tar_and_upload_dir`` + ``sagemaker.utils.create_tar_file``). Entries are
  added in sorted order so the same folder always gives the same member list.
- The code object is uploaded with ``ServerSideEncryption: aws:kms`` (the SDK's default), and with
  ``ExpectedBucketOwner`` when it goes to the default bucket (the SDK's guard against a squatted bucket name).
- A local data channel is uploaded file by file under its S3 prefix (a single file as one object).
"""

from __future__ import annotations

import logging
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("amtlocal")

SOURCEDIR = "sourcedir.tar.gz"
LARGE_SOURCEDIR_BYTES = 100_000_000  # warn above this: the code folder probably holds data or an environment


@dataclass(frozen=True)
class Upload:
    """One planned upload of local content, made by ``build_request(upload=True)``.

    Attributes:
        kind: ``"code"`` (a folder packed as sourcedir.tar.gz, or a ready ``.tar.gz`` file) or ``"data"`` (a channel).
        source: the local folder or file.
        bucket, key: where it goes. For a data folder ``key`` is a prefix ending in ``/``.
        field: the request field rewritten to :attr:`uri`, e.g. ``TrainingJobDefinition.InputDataConfig[0]...S3Uri``.
        expected_owner: the account that must own ``bucket`` (set for the default bucket), else None.
    """

    kind: str
    source: Path
    bucket: str
    key: str
    field: str
    expected_owner: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def pack_sourcedir(source_dir: Path, target: Path) -> Path:
    """Write ``target`` (a ``.tar.gz``) holding the entries of ``source_dir`` at its root (the SDK's layout)."""
    with tarfile.open(target, mode="w:gz", dereference=True) as tar:
        for name in sorted(os.listdir(source_dir)):
            tar.add(str(source_dir / name), arcname=name)
    return target


def _extra_args(upload: Upload, encrypt: bool) -> dict[str, Any] | None:
    extra: dict[str, Any] = {}
    if encrypt:
        extra["ServerSideEncryption"] = "aws:kms"
    if upload.expected_owner:
        extra["ExpectedBucketOwner"] = upload.expected_owner
    return extra or None


def perform(upload: Upload, s3_client: Any) -> None:
    """Carry out one :class:`Upload` with a boto3 S3 client (``upload_file``: multipart for large files).

    Raises:
        botocore.exceptions.ClientError / boto3.exceptions.S3UploadFailedError: as boto3 raises them.
    """
    if upload.kind == "code":
        if upload.source.is_dir():
            with tempfile.TemporaryDirectory(prefix="amtlocal-src-") as tmp:
                tarball = pack_sourcedir(upload.source, Path(tmp) / SOURCEDIR)
                size = tarball.stat().st_size
                if size > LARGE_SOURCEDIR_BYTES:
                    log.warning(
                        "sourcedir.tar.gz of %s is %.0f MB: everything in that folder is packed (the SDK's layout); "
                        "give the estimator a source_dir holding only the code",
                        upload.source,
                        size / 1e6,
                    )
                s3_client.upload_file(str(tarball), upload.bucket, upload.key, ExtraArgs=_extra_args(upload, True))
        else:  # already a .tar.gz
            s3_client.upload_file(str(upload.source), upload.bucket, upload.key, ExtraArgs=_extra_args(upload, True))
        log.info("uploaded code %s to %s", upload.source, upload.uri)
        return
    if upload.source.is_file():
        s3_client.upload_file(str(upload.source), upload.bucket, upload.key, ExtraArgs=_extra_args(upload, False))
        log.info("uploaded %s to %s", upload.source, upload.uri)
        return
    count = 0
    for root, dirs, files in os.walk(upload.source, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            rel = path.relative_to(upload.source).as_posix()
            s3_client.upload_file(str(path), upload.bucket, upload.key + rel, ExtraArgs=_extra_args(upload, False))
            count += 1
    log.info("uploaded %d file(s) of %s to %s", count, upload.source, upload.uri)


def ensure_bucket(s3_client: Any, bucket: str, region: str, account: str) -> None:
    """Create the default bucket ``sagemaker-<region>-<account>`` when it does not exist (as SDK v2's
    ``Session.default_bucket`` does). Raises ClientError when it exists but belongs to another account."""
    from botocore.exceptions import ClientError

    try:
        s3_client.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
        return
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code"))
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3_client.create_bucket(**kwargs)
    log.info("created the default bucket s3://%s", bucket)
