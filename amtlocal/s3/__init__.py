"""S3 for the local backend: ``s3://`` code, channels, outputs and checkpoints, through boto3's default session.

Whatever S3 the environment points at is used (``AWS_ENDPOINT_URL`` of ``amtlocal serve`` or a MinIO, or real S3
with the user's credentials): a local run on cloud data. boto3 is imported on first use only.

- :class:`S3Cache`: objects fetched once per ETag into ``<home>/cache/s3`` and laid out as SageMaker's File mode
  lays out a channel (``S3Prefix``: keys relative to the prefix; ``ManifestFile``), and code archives unpacked once;
  the tuner resolves a definition once, so fifty training jobs read one download.
- :class:`S3Folder`: an ``s3://`` prefix as a folder (output archives uploaded, checkpoints synced).
- Errors are :class:`~amtlocal.exceptions.AmtValidationError` naming the request field and the reason (no
  credentials, unreachable endpoint, NoSuchBucket, NoSuchKey, empty prefix), raised before any training job starts.
"""

from amtlocal.s3._cache import DOWNLOADS_LOG, S3Cache, relative_key
from amtlocal.s3._client import s3_client, s3_error, s3_errors
from amtlocal.s3._folder import S3Folder
from amtlocal.s3._uri import S3_SCHEME, S3Uri, is_s3_uri

__all__ = [
    "DOWNLOADS_LOG",
    "S3_SCHEME",
    "S3Cache",
    "S3Folder",
    "S3Uri",
    "is_s3_uri",
    "relative_key",
    "s3_client",
    "s3_error",
    "s3_errors",
]
