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
    # An S3 endpoint exported on the machine would make s3:// output paths real uploads (amtlocal.container's
    # output_goes_to_s3); tests that want S3 start moto's server and set it themselves.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)


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
