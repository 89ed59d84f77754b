"""An S3 prefix used as a folder: where a job's output archives go and where its checkpoints are synced."""

from __future__ import annotations

import os
from pathlib import Path

from ._client import s3_client, s3_error, s3_errors
from ._uri import S3Uri


class S3Folder:
    """The objects under an ``s3://bucket/prefix`` as files of a folder (``rel`` paths below the prefix).

    Args:
        uri: ``s3://bucket/prefix`` (``OutputDataConfig.S3OutputPath``, ``CheckpointConfig.S3Uri``).
        field: the request path of ``uri``, named in errors.

    Raises:
        AmtValidationError: ``uri`` is not an ``s3://`` URI naming a bucket.
    """

    def __init__(self, uri: str, field: str):
        self.uri, self.field = uri, field
        self.root = S3Uri.parse(uri, field)

    def uri_of(self, rel: str) -> str:
        """``s3://bucket/prefix/<rel>``."""
        return str(self.root.join(rel))

    def check(self) -> None:
        """The bucket exists and answers (HeadBucket), checked before any job writes to it.

        Raises:
            AmtValidationError: no credentials, unreachable endpoint, no such bucket, access denied.
        """
        try:
            s3_client().head_bucket(Bucket=self.root.bucket)
        except s3_errors() as e:
            error = s3_error(e, self.field, self.uri)
            if "NoSuchKey" in error.rule:  # HeadBucket's 404 is the bucket's
                error = type(error)(self.field, f"bucket {self.root.bucket!r} does not exist ({self.uri})")
            raise error from None

    def list(self) -> dict[str, str]:
        """``{rel: etag}`` of every object under the prefix."""
        prefix = self.root.key.rstrip("/")
        prefix = prefix + "/" if prefix else ""
        found: dict[str, str] = {}
        try:
            pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=self.root.bucket, Prefix=prefix)
            for page in pages:
                for o in page.get("Contents") or []:
                    rel = o["Key"][len(prefix) :]
                    if rel and not rel.endswith("/") and ".." not in rel.split("/"):
                        found[rel] = o["ETag"]
        except s3_errors() as e:
            raise s3_error(e, self.field, self.uri) from None
        return found

    def download(self, rel: str, dest: Path) -> None:
        """Object ``rel`` -> file ``dest`` (written under a temporary name, then renamed). Raises OSError."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".amtlocal-{dest.name}.{os.getpid()}.tmp")
        try:
            s3_client().download_file(self.root.bucket, self.root.join(rel).key, str(tmp))
            os.replace(tmp, dest)
        except s3_errors() as e:
            raise OSError(f"reading {self.uri_of(rel)} failed: {e}") from e
        finally:
            if tmp.exists():
                tmp.unlink()

    def upload(self, src: Path, rel: str) -> str:
        """File ``src`` -> object ``rel``; returns its ``s3://`` URI. Raises OSError (FileNotFoundError for a
        vanished ``src``)."""
        target = self.root.join(rel)
        try:
            s3_client().upload_file(str(src), target.bucket, target.key)
        except s3_errors() as e:
            if not src.exists():
                raise FileNotFoundError(str(src)) from e
            raise OSError(f"writing {target} failed: {e}") from e
        return str(target)

    def delete(self, rel: str) -> None:
        """Delete object ``rel`` (no error when it is gone). Raises OSError."""
        try:
            s3_client().delete_object(Bucket=self.root.bucket, Key=self.root.join(rel).key)
        except s3_errors() as e:
            raise OSError(f"deleting {self.uri_of(rel)} failed: {e}") from e
