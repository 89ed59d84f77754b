"""Shared fixtures: a private local store per test and a work folder. Helpers (requests, scripts, fake AWS) are in
the public module :mod:`amtlocal.testing`."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own AMTLOCAL_HOME, and stopped jobs get a short grace period."""
    monkeypatch.setenv("AMTLOCAL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AMTLOCAL_STORAGE", raising=False)
    monkeypatch.delenv("AMTLOCAL_BACKEND", raising=False)
    monkeypatch.setenv("AMTLOCAL_STOP_GRACE_SECONDS", "3")
    # No AWS account of the machine's: the local backend writes s3:// outputs only where boto3 finds credentials
    # (amtlocal.s3.writes_to_s3), and no test may reach real S3; tests that want S3 start moto's server.
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws" / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws" / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def store(tmp_path):
    from amtlocal.backends.local import LocalStore

    return LocalStore(tmp_path / "home")


@pytest.fixture
def workdir(tmp_path):
    """A folder with ``code/`` and ``data/train.csv``; specs are written here."""
    (tmp_path / "code").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("1,2\n")
    return tmp_path
