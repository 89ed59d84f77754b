"""``s3://bucket/key`` URIs: parsed once, named in errors as the request wrote them."""

from __future__ import annotations

from dataclasses import dataclass

from amtlocal.exceptions import AmtValidationError

S3_SCHEME = "s3://"


def is_s3_uri(uri: str) -> bool:
    """True for an ``s3://`` URI (any case of the scheme, as S3's own parsers accept)."""
    return isinstance(uri, str) and uri[:5].lower() == S3_SCHEME


@dataclass(frozen=True)
class S3Uri:
    """A bucket and a key (or key prefix; ``""`` for the whole bucket).

    Attributes:
        bucket: the bucket name.
        key: the object key or key prefix, without a leading ``/``.
    """

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str, field: str) -> S3Uri:
        """``s3://bucket/key`` -> S3Uri.

        Raises:
            AmtValidationError: ``uri`` is not an ``s3://`` URI or names no bucket (naming ``field``).
        """
        if not is_s3_uri(uri):
            raise AmtValidationError(field, f"{uri!r} is not an s3:// URI")
        bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
        if not bucket:
            raise AmtValidationError(field, f"{uri!r} names no bucket (s3://bucket/key)")
        return cls(bucket, key)

    def join(self, *parts: str) -> S3Uri:
        """This key as a folder, with ``parts`` appended (``s3://b/out`` + ``job`` -> ``s3://b/out/job``)."""
        key = self.key.rstrip("/")
        for p in parts:
            p = p.strip("/")
            if not p:
                continue
            key = f"{key}/{p}" if key else p
        return S3Uri(self.bucket, key)

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.key}"
