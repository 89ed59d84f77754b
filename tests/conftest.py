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


class PostgresCluster:
    """A private PostgreSQL cluster on a Unix socket (no TCP), from Debian's postgresql package (.ci/run installs
    it); :meth:`stop` and :meth:`start` restart it (a database outage). ``url`` is its SQLAlchemy URL."""

    def __init__(self, bindir: str, root, port: str):
        import os
        import shutil

        self.bindir, self.root, self.port = bindir, root, port
        self.data, self.sock = root / "data", root / "sock"
        self.sock.mkdir()
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            shutil.chown(root, "postgres")
            shutil.chown(self.sock, "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgresql+psycopg2://postgres@/amt?host={self.sock}&port={port}"

    def _run(self, *argv: str) -> None:
        import subprocess

        subprocess.run([*self.prefix, *argv], check=True, capture_output=True)

    def init(self) -> None:
        self._run(f"{self.bindir}/initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()
        self._run(f"{self.bindir}/createdb", "-h", str(self.sock), "-p", self.port, "-U", "postgres", "amt")

    def start(self) -> None:
        options = f"-k {self.sock} -p {self.port} -c listen_addresses=''"
        self._run(
            f"{self.bindir}/pg_ctl", "-D", str(self.data), "-w", "-l", str(self.root / "log"), "-o", options, "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")


@pytest.fixture(scope="module")
def postgres_cluster():
    """A :class:`PostgresCluster` for the module's tests (skipped without PostgreSQL's binaries, failed on CI)."""
    import glob
    import os
    import pathlib
    import shutil
    import subprocess
    import tempfile

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run must install Debian's postgresql package")
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    root = pathlib.Path(tempfile.mkdtemp(prefix="amtlocal-pg-"))  # not under pytest's 0700 tmp: postgres must reach it
    cluster = PostgresCluster(os.path.dirname(bins[-1]), root, "54329")
    try:
        cluster.init()
        yield cluster
    finally:
        subprocess.run(
            [*cluster.prefix, f"{cluster.bindir}/pg_ctl", "-D", str(cluster.data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
