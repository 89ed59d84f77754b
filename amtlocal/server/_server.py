"""``Server``: the SageMaker API on localhost (werkzeug's threaded WSGI server over ``_wsgi.Application``).

How jobs run behind it: each CreateHyperParameterTuningJob / CreateTrainingJob takes the local backend's
``wait=False`` path, as ``amtlocal.client()`` and ``amtlocal tune --no-wait`` do: a detached worker process per job
holds the job's lock and runs it, so a request returns at once, the server's threads only read the store, and a job
survives a crash of the server. Workers inherit the server's environment, so their boto3 calls (S3 inputs, code,
outputs) reach this server's moto through ``AWS_ENDPOINT_URL``. When the server stops it ends the jobs it started that
still run, as ``amtlocal stop`` / ``amtlocal stop-training-job`` do (recorded Stopped), and writes the requests of
the tuning jobs it stopped to ``<home>/server/interrupted.json``; the next server over the same home resumes them
(as ``amtlocal tune`` of the same request would). A standalone training job stopped so stays Stopped, as in SageMaker.
moto's S3 lives in memory, so before resuming, the next server puts back the objects the S3 cache of the home fetched
(``s3://`` code and channels, :meth:`amtlocal.s3.S3Cache.restore`); a job that still cannot resume stays in
``interrupted.json`` (logged) for the start after.

A background worker that dies before its tuning job ended (killed, e.g. by the out-of-memory killer): the server
notices within WATCH_SECONDS for a worker it started (it is the worker's parent), and any Describe or List of the
job notices it for any other (its lock is free); the job is then resumed once in a new worker (the training jobs cut
short recorded Stopped, "Interrupted ...", and run again), and recorded Failed at a later death, with a
FailureReason naming each death's cause (``LocalBackend.take_over``, ``amtlocal.lifecycle.take_over``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from amtlocal.server import _sdk

log = logging.getLogger("amtlocal.server")

# Variables that would send a client elsewhere than the exported endpoint, or to a real account's credentials.
_CLEARED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE")


def _url_host(host: str) -> str:
    """The host to put in the URL clients use: loopback for a wildcard bind, brackets around IPv6."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Server:
    """The SageMaker API (JSON 1.1) on ``host:port``, amtlocal's operations run by the local backend, the rest by moto.

    Args:
        host: address to bind (default loopback ``127.0.0.1``); peers other than loopback are refused (403) unless
            this is a non-loopback address.
        port: TCP port (default 4566); 0 picks a free one (see :attr:`url`).
        home, storage_url: the local store (default ``$AMTLOCAL_HOME`` / ``~/.amtlocal``, as the CLI).
        region: reported region (default ``$AWS_REGION`` / ``$AWS_DEFAULT_REGION`` / ``us-east-1``).
        base_dir: folder that relative local paths in requests resolve against (default the working directory).
        stop_grace: seconds between SIGTERM and SIGKILL when a training job is stopped (default AMT's 120 s, or
            ``$AMTLOCAL_STOP_GRACE_SECONDS``).

    Attributes (after :meth:`start`): url (``http://127.0.0.1:<port>``), region, environment (the ``export``
    variables), sdk_config (the SDK config file's path), role_arn, bucket, home, app (the WSGI callable served).
    """

    WATCH_SECONDS = 1.0  # how often the server looks for a background worker of its own that died

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4566,
        home: str | os.PathLike | None = None,
        storage_url: str | None = None,
        region: str | None = None,
        base_dir: str | os.PathLike | None = None,
        stop_grace: float | None = None,
    ):
        from amtlocal.backends.local import LocalBackend
        from amtlocal.spec.placeholders import region as default_region

        self.host = host
        self.port = port
        self.region = region or default_region()
        self.backend = LocalBackend(home=home, storage_url=storage_url, stop_grace=stop_grace)
        self.home = Path(self.backend.store.home)
        self.base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        self.role_arn = _sdk.ROLE_ARN
        self.bucket = _sdk.default_bucket(self.region)
        self.sdk_config = self.home / "server" / "sagemaker-config.yaml"
        self.url = ""
        self.environment: dict[str, str] = {}
        self.resumed: list[str] = []  # tuning jobs resumed at start (stopped by the previous server's shutdown)
        self.operations: Any = None
        self.app: Any = None  # the WSGI callable served (after start)
        self._httpd: Any = None
        self._thread: threading.Thread | None = None
        self._saved_env: dict[str, str | None] | None = None
        self._watching = threading.Event()  # set: the watchdog thread ends
        self._watchdog: threading.Thread | None = None

    def start(self, export: bool = False) -> Server:
        """Bind, write the SDK config file, start serving in a daemon thread and create the default role and bucket
        in moto. With ``export`` the variables of :attr:`environment` are set in this process (and any
        ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_PROFILE`` and session token removed) until :meth:`shutdown`, so this
        process and the job workers it starts reach the server.

        Raises:
            OSError: the address is in use or cannot be bound.
        """
        from werkzeug.serving import WSGIRequestHandler, make_server

        from amtlocal.server import _moto, _operations, _telemetry, _wsgi

        class Handler(WSGIRequestHandler):
            def log_request(self, code: Any = "-", size: Any = "-") -> None:  # one line per request, at INFO
                what = self.headers.get("X-Amz-Target")
                if not what:  # S3, IAM, STS...: the signing service, the method and the path
                    scope = _wsgi.signing_scope({"HTTP_AUTHORIZATION": self.headers.get("Authorization", "")})
                    what = f"{scope[1] if scope else '-'} {self.command} {self.path}"
                log.info("%s %s %s", self.address_string(), what, code)

        self.backend.list_tuning_jobs()  # opens the store's storage here, before request threads share it
        self.operations = _operations.SageMakerOperations(self.backend, self.base_dir)
        self.app = app = _wsgi.Application(
            self.operations,
            _moto.moto_app(),
            telemetry=_telemetry.Telemetry(self.backend),
            allow_remote=not _wsgi.binds_loopback(self.host or "0.0.0.0"),
        )
        self._httpd = make_server(self.host, self.port, app, threaded=True, request_handler=Handler)
        self.port = self._httpd.server_port
        self.url = f"http://{_url_host(self.host)}:{self.port}"
        _sdk.write_sdk_config(self.sdk_config, self.region)
        self.environment = _sdk.environment(self.url, self.region, self.sdk_config)
        if export:
            self._export()
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="amtlocal-server", daemon=True)
        self._thread.start()
        self._watching.clear()
        self._watchdog = threading.Thread(target=self._watch_workers, name="amtlocal-watchdog", daemon=True)
        self._watchdog.start()
        _moto.seed(self.url, self.region)
        interrupted = self._take_interrupted()
        if interrupted:  # moto's S3 is in memory: put back the code and channels those jobs fetched before
            _moto.restore_s3(self.url, self.region, self.home)
        self.resumed, kept = self.operations.resume(interrupted)
        if kept:  # not dropped: the next start tries them again
            self._save_interrupted(kept)
            log.warning("%d tuning job(s) not resumed, kept in %s", len(kept), self._interrupted_path)
        log.info("serving the SageMaker API at %s (store %s)", self.url, self.home)
        return self

    def _watch_workers(self) -> None:
        """The watchdog thread: every WATCH_SECONDS, a tuning job whose background worker (started by this server)
        died before the job ended is taken over (resumed once, then Failed: ``LocalBackend.take_over``), so it ends
        even if nobody reads it. Jobs of workers this server did not start are taken over when read through the API."""
        while not self._watching.wait(self.WATCH_SECONDS):
            try:
                self.backend.take_over_ended_workers()
            except Exception:  # noqa: BLE001 - the watchdog must outlive one bad look (logged)
                log.exception("watching the tuning jobs' workers failed")

    @property
    def _interrupted_path(self) -> Path:
        return self.home / "server" / "interrupted.json"

    def _take_interrupted(self) -> dict[str, Any]:
        """The requests of the tuning jobs the previous server stopped at its shutdown (the file is then removed)."""
        try:
            found = json.loads(self._interrupted_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError as e:
            log.warning("ignoring %s: %s", self._interrupted_path, e)
            found = {}
        self._interrupted_path.unlink(missing_ok=True)
        return found if isinstance(found, dict) else {}

    def _save_interrupted(self, jobs: dict[str, Any]) -> None:
        """Add ``jobs`` (``{name: {"request", "base_dir"}}``) to ``interrupted.json`` for the next server."""
        found: dict[str, Any] = {}
        try:
            found = json.loads(self._interrupted_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            pass
        found = {**(found if isinstance(found, dict) else {}), **jobs}
        self._interrupted_path.parent.mkdir(parents=True, exist_ok=True)
        self._interrupted_path.write_text(json.dumps(found, default=str), encoding="utf-8")

    def _export(self) -> None:
        names = set(self.environment) | set(_CLEARED) | {k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")}
        self._saved_env = {k: os.environ.get(k) for k in names}
        for k in names - set(self.environment):
            os.environ.pop(k, None)
        os.environ.update(self.environment)

    def shutdown(self, stop_jobs: bool = True, timeout: float = 60.0) -> dict[str, str]:
        """Stop serving; with ``stop_jobs`` first end the jobs this server started that still run (see the module
        docstring), waiting up to ``timeout`` seconds for them; then restore the environment :meth:`start` changed.

        Returns:
            ``{job name: status}`` of the jobs that were still running (after the wait).
        """
        stopped: dict[str, str] = {}
        self._watching.set()  # no take-over while the jobs are being stopped
        if self._watchdog is not None:
            self._watchdog.join(timeout=10)
        try:
            if stop_jobs and self.operations is not None:
                stopped = self.operations.stop_started(timeout)
                again = {
                    n: {"request": r, "base_dir": str(self.base_dir)}
                    for n, r in self.operations.requests.items()
                    if stopped.get(n) in ("Stopped", "Stopping")
                }
                for n in self.backend.tuning_workers():  # taken over here: the stored request and folder
                    if n not in again and stopped.get(n) in ("Stopped", "Stopping"):
                        record = self.backend.store.tuning_job(n)
                        again[n] = {"request": record.request, "base_dir": record.base_dir or str(self.base_dir)}
                if again:  # the next server over this home resumes them
                    self._save_interrupted(again)
        finally:
            if self._httpd is not None:
                self._httpd.shutdown()
                self._httpd.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            if self._saved_env is not None:
                for k, v in self._saved_env.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
                self._saved_env = None
        return stopped

    def __enter__(self) -> Server:
        return self if self._httpd is not None else self.start()

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
