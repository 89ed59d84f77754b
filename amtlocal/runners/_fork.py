"""ForkServerRunner: training jobs forked by a warm fork server (see ``_forkserver.py``) that imported the entry
point's heavy modules once, with the jobs' ``requirements.txt`` overlay first on its ``sys.path``; jobs it cannot fork
(not a ``.py`` entry point, or the server is gone) get a new process."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from amtlocal.runners._base import BaseRunner, Command, Execution
from amtlocal.runners._forkserver import ForkServer, modules_to_preload
from amtlocal.runners._process import ProcessRunner
from amtlocal.runners._supervisor import signal_job

log = logging.getLogger("amtlocal")


class ForkServerRunner(BaseRunner):
    """One fork server for one entry point, per ``requirements.txt`` overlay its jobs use.

    A job is forked only from a zygote whose ``sys.path`` starts as the job's does (:attr:`Command.sys_path`: the
    overlay's site folder after the script's own folder), so everything the zygote imported, preloaded, learned or
    pulled in transitively, was resolved as the job resolves it: a package the overlay pins is imported from the
    overlay, never from the tuner's environment. A job whose ``sys_path`` no zygote has yet gets one of its own.

    Args:
        program: the entry point file (its top-level imports of installed packages are preloaded).
        code_dir: the code folder (its own modules are never preloaded).
        env: the fork server's environment (what every job's environment starts from, without credentials).
        spares: fork each next child ahead (worth it when a core is idle).
        sys_path: the folders its jobs will put first on ``sys.path`` (a built overlay's), known ahead: the zygote
            starts now with them first on its own. None when not known yet (an overlay the first job's pip builds):
            the zygote starts at the first job, with that job's.
    """

    name = "fork"

    def __init__(
        self,
        program: Path,
        code_dir: Path,
        env: dict[str, str] | None = None,
        spares: bool = True,
        sys_path: Sequence[str] | None = (),
    ):
        self._program, self._code_dir, self._env, self._spares = Path(program), Path(code_dir), env, spares
        self._servers: dict[tuple[str, ...], ForkServer] = {}  # jobs' sys_path -> the zygote started with it first
        self._lock = threading.Lock()
        self._fallback = ProcessRunner()
        if sys_path is not None:
            self._server_for(tuple(sys_path))

    def _server_for(self, sys_path: tuple[str, ...]) -> ForkServer:
        with self._lock:
            server = self._servers.get(sys_path)
            if server is None:
                modules = modules_to_preload(self._program, self._code_dir, list(sys_path))
                server = self._servers[sys_path] = ForkServer(
                    modules, env=self._env, spares=self._spares, sys_path=list(sys_path)
                )
            return server

    @property
    def alive(self) -> bool:
        with self._lock:
            return all(server.alive for server in self._servers.values())

    def start(self, command: Command) -> Execution:
        argv = command.argv
        if len(argv) > 1 and argv[0] == sys.executable and argv[1].endswith(".py"):
            try:
                return self._server_for(tuple(command.sys_path)).spawn(
                    argv, command.env, command.cwd, optml_dir=command.optml_dir, sys_path=command.sys_path
                )
            except OSError as e:  # the fork server is gone: this job gets a process of its own
                log.warning("%s: fork server unavailable (%s); starting a new process", command.job_name, e)
        return self._fallback.start(command)

    def stop(self, execution: Execution, sig: int = signal.SIGTERM) -> bool:
        """Signal every process of the job (its supervisor's descendants: see ``_supervisor.py``)."""
        return signal_job(execution.pid, sig)

    def close(self) -> None:
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.close()
