"""S3 objects cached by ETag in amtlocal's home, laid out as SageMaker's File mode lays out a channel.

``<home>/cache/s3/``::

    objects/<hash of bucket/key>/<etag>     one file per object version, fetched once
    channels/<hash of the listing>/...      a channel's folder: hard links to the objects, keys relative to the prefix
    code/<hash of bucket/key/etag>/...      a sourcedir.tar.gz unpacked once
    downloads.jsonl                         one line per object fetched (uri, etag, bytes, time)

Every entry is written under a temporary name and renamed into place, so concurrent tuners (or two jobs of one
tuner) never see a half-written file: the first rename wins and the others find it there. A changed object has a
new ETag, hence a new entry; old entries stay until the cache folder is deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import posixpath
import shutil
import tarfile
import time
import uuid
from pathlib import Path

from amtlocal.exceptions import AmtValidationError

from ._client import s3_client, s3_error, s3_errors
from ._uri import S3Uri

log = logging.getLogger(__name__)

DOWNLOADS_LOG = "downloads.jsonl"


def _hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _etag_name(etag: str) -> str:
    return "".join(c for c in etag.strip('"') if c.isalnum() or c == "-") or "none"


def relative_key(prefix: str, key: str, field: str) -> str:
    """Where object ``key`` of an S3Prefix ``prefix`` lands in the channel folder, as SDK v2's local mode lays it
    out (``sagemaker.utils.download_folder``): the key without the prefix, leading ``/`` removed; the object the
    prefix names exactly keeps its file name.

    Raises:
        AmtValidationError: the key would land outside the channel folder (a ``..`` part).
    """
    rel = key[len(prefix) :].lstrip("/") or posixpath.basename(key)
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise AmtValidationError(field, f"object key {key!r} cannot become a file of the channel folder")
    return "/".join(parts)


class S3Cache:
    """The S3 download cache of one amtlocal home (see the module docstring for its layout).

    Args:
        home: amtlocal's home folder (``$AMTLOCAL_HOME``); the cache is ``<home>/cache/s3``.

    Attributes:
        downloads: objects this instance fetched from S3 (a cache hit fetches nothing).
    """

    def __init__(self, home: str | os.PathLike):
        self.root = Path(home) / "cache" / "s3"
        self.downloads = 0

    # -- what the container asks for -----------------------------------------------------------------------------
    def channel(self, uri: str, field: str, data_type: str = "S3Prefix") -> Path:
        """The local folder of an input channel: every object under the S3Prefix (keys relative to the prefix), or
        every object a ManifestFile lists (keys relative to its ``prefix``).

        Args:
            uri: ``S3DataSource.S3Uri``.
            field: its request path, named in errors.
            data_type: ``S3DataSource.S3DataType``: ``S3Prefix`` or ``ManifestFile``.

        Raises:
            AmtValidationError: unreachable S3, no credentials, no such bucket, nothing under the prefix, a bad
                manifest, or another data type.
        """
        src = S3Uri.parse(uri, field)
        if data_type == "ManifestFile":
            return self._manifest_channel(src, uri, field)
        if data_type not in ("S3Prefix", "", None):
            raise AmtValidationError(
                field.rsplit(".", 1)[0] + ".S3DataType",
                f"the local backend reads S3Prefix and ManifestFile channels from S3, not {data_type}",
            )
        objects = [(relative_key(src.key, k, field), k, etag) for k, etag in self._list(src, uri, field)]
        if not objects:
            raise AmtValidationError(field, f"no object under the prefix {uri} (an empty channel)")
        return self._view(src.bucket, objects, field)

    def code(self, uri: str, field: str) -> Path:
        """The unpacked folder of a code archive (``sagemaker_submit_directory`` ``s3://.../sourcedir.tar.gz``).

        Raises:
            AmtValidationError: as :meth:`channel`, or the object is not a tar archive.
        """
        src = S3Uri.parse(uri, field)
        etag = self._head(src, uri, field)
        folder = self.root / "code" / _hash(src.bucket, src.key, etag)
        if folder.is_dir():
            return folder
        archive = self._object(src, etag, field)
        tmp = folder.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        tmp.mkdir(parents=True)
        try:
            try:
                with tarfile.open(archive) as tar:
                    tar.extractall(tmp, filter="data")
            except (tarfile.TarError, OSError) as e:
                raise AmtValidationError(
                    field, f"{uri} is not a tar archive of the code (sourcedir.tar.gz, as the SDKs upload it): {e}"
                ) from None
            self._rename_into_place(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return folder

    # -- S3 reads --------------------------------------------------------------------------------------------------
    def _list(self, src: S3Uri, uri: str, field: str) -> list[tuple[str, str]]:
        """``(key, etag)`` of every object under ``src.key`` (folder markers ending in ``/`` skipped)."""
        found: list[tuple[str, str]] = []
        try:
            for page in s3_client().get_paginator("list_objects_v2").paginate(Bucket=src.bucket, Prefix=src.key):
                for o in page.get("Contents") or []:
                    if not o["Key"].endswith("/"):
                        found.append((o["Key"], o["ETag"]))
        except s3_errors() as e:
            raise s3_error(e, field, uri) from None
        return found

    def _head(self, src: S3Uri, uri: str, field: str) -> str:
        """The object's ETag; a missing object is told apart from a missing bucket."""
        client = s3_client()
        try:
            return str(client.head_object(Bucket=src.bucket, Key=src.key)["ETag"])
        except s3_errors() as e:
            error = s3_error(e, field, uri)
            if "NoSuchKey" in error.rule:  # HEAD answers 404 for both: ask about the bucket
                try:
                    client.head_bucket(Bucket=src.bucket)
                except s3_errors():
                    raise AmtValidationError(field, f"bucket {src.bucket!r} does not exist ({uri})") from None
            raise error from None

    def _object(self, src: S3Uri, etag: str, field: str) -> Path:
        """The cached file of object ``src`` at ``etag``, fetched now if it is not in the cache."""
        path = self.root / "objects" / _hash(src.bucket, src.key) / _etag_name(etag)
        if path.is_file():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        started = time.time()
        try:
            # IfMatch: the bytes are those of the listed ETag, never a newer version under the old name.
            body = s3_client().get_object(Bucket=src.bucket, Key=src.key, IfMatch=etag)["Body"]
            with open(tmp, "wb") as f:
                shutil.copyfileobj(body, f, 1 << 20)
            # Read-only: a script that opens its channel's file for writing fails instead of changing the cached
            # object under every later job (the channel's files are hard links to it). Root is not stopped by it.
            os.chmod(tmp, 0o444)
            os.replace(tmp, path)
        except s3_errors() as e:
            raise s3_error(e, field, str(src)) from None
        finally:
            if tmp.exists():
                tmp.unlink()
        self.downloads += 1
        size = path.stat().st_size
        log.info("fetched %s (%d bytes, ETag %s) in %.2fs", src, size, etag, time.time() - started)
        line = json.dumps({"Uri": str(src), "ETag": etag, "Bytes": size, "Time": time.time()}) + "\n"
        with open(self.root / DOWNLOADS_LOG, "a", encoding="utf-8") as f:
            f.write(line)
        return path

    # -- after a restart of an in-memory S3 ----------------------------------------------------------------------
    def restore(self, client) -> int:
        """Put back into S3, through ``client`` (a boto3 S3 client), every object this cache fetched (the latest
        ETag of each ``s3://`` URI in ``downloads.jsonl``) that S3 no longer holds, from its cached bytes, creating
        its bucket if needed. For ``amtlocal serve``, whose moto S3 lives in memory: the jobs a previous server
        stopped resume with the code and channels they had. Objects present in S3 are left as they are.

        Returns:
            The number of objects put back (0 without a cache). A line or object that cannot be restored is logged
            and skipped (the job that needs it then fails to resume with the S3 error naming it).
        """
        from botocore.exceptions import ClientError

        latest: dict[str, str] = {}
        try:
            with open(self.root / DOWNLOADS_LOG, encoding="utf-8") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                        latest[entry["Uri"]] = entry["ETag"]
                    except (ValueError, KeyError, TypeError):
                        continue
        except FileNotFoundError:
            return 0
        restored, buckets = 0, set()
        for uri, etag in latest.items():
            try:
                src = S3Uri.parse(uri, DOWNLOADS_LOG)
            except AmtValidationError:
                continue
            path = self.root / "objects" / _hash(src.bucket, src.key) / _etag_name(etag)
            if not path.is_file():
                continue
            try:
                if src.bucket not in buckets:
                    try:
                        client.head_bucket(Bucket=src.bucket)
                    except ClientError:
                        client.create_bucket(Bucket=src.bucket)
                    buckets.add(src.bucket)
                try:
                    client.head_object(Bucket=src.bucket, Key=src.key)
                    continue
                except ClientError:
                    pass
                with open(path, "rb") as f:
                    client.put_object(Bucket=src.bucket, Key=src.key, Body=f)
                restored += 1
            except ClientError as e:
                log.warning("could not restore %s from the S3 cache: %s", uri, e)
        if restored:
            log.info("restored %d object(s) into S3 from %s", restored, self.root)
        return restored

    # -- layouts ---------------------------------------------------------------------------------------------------
    def _view(self, bucket: str, objects: list[tuple[str, str, str]], field: str) -> Path:
        """A folder holding ``rel`` -> the cached object ``(bucket, key, etag)`` for every ``(rel, key, etag)``."""
        folder = self.root / "channels" / _hash(bucket, sorted(objects))
        if folder.is_dir():
            for rel, key, etag in objects:  # a file a job deleted from its channel comes back
                if not (folder / rel).is_file():
                    self._link(self._object(S3Uri(bucket, key), etag, field), folder / rel)
            return folder
        files = [(rel, self._object(S3Uri(bucket, key), etag, field)) for rel, key, etag in objects]
        tmp = folder.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            for rel, cached in files:
                self._link(cached, tmp / rel)
            tmp.mkdir(parents=True, exist_ok=True)
            self._rename_into_place(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return folder

    def _manifest_channel(self, src: S3Uri, uri: str, field: str) -> Path:
        """A ManifestFile channel: ``[{"prefix": "s3://b/p/"}, "rel/key1", ...]``; each object at its relative key."""
        manifest = self._object(src, self._head(src, uri, field), field)
        try:
            entries = json.loads(manifest.read_text(encoding="utf-8"))
            base = S3Uri.parse(entries[0]["prefix"], field)
            rels = [str(e) for e in entries[1:]]
        except (ValueError, KeyError, IndexError, TypeError, AmtValidationError) as e:
            raise AmtValidationError(
                field, f'{uri} is not a manifest file ([{{"prefix": "s3://..."}}, "key", ...]): {e}'
            ) from None
        if not rels:
            raise AmtValidationError(field, f"the manifest {uri} lists no object")
        objects = []
        for rel in rels:
            obj = S3Uri(base.bucket, base.key + rel)
            objects.append((relative_key(base.key, obj.key, field), obj.key, self._head(obj, str(obj), field)))
        return self._view(base.bucket, objects, field)

    @staticmethod
    def _link(cached: Path, dest: Path) -> None:
        """``dest`` as a hard link to ``cached`` (a plain file to the script, no copy); a copy across file systems."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(cached, dest)
        except FileExistsError:
            pass
        except OSError:
            shutil.copy2(cached, dest)

    @staticmethod
    def _rename_into_place(tmp: Path, folder: Path) -> None:
        """``tmp`` becomes ``folder``; if another process put ``folder`` there first, theirs is kept."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not folder.is_dir():
                raise
