"""ForkServerRunner: training jobs forked by a warm fork server (see ``_forkserver.py``) that imported the entry
point's heavy modules once; jobs it cannot fork (not a ``.py`` entry point, or the server is gone) get a new process."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from amtlocal.runners._base import BaseRunner, Command, Execution
from amtlocal.runners._forkserver import ForkServer, modules_to_preload
from amtlocal.runners._process import ProcessRunner
from amtlocal.runners._supervisor import signal_job

log = logging.getLogger("amtlocal")


class ForkServerRunner(BaseRunner):
    """One fork server for one entry point.

    Args:
        program: the entry point file (its top-level imports of installed packages are preloaded).
        code_dir: the code folder (its own modules are never preloaded).
        env: the fork server's environment (what every job's environment starts from, without credentials).
        spares: fork each next child ahead (worth it when a core is idle).
    """

    name = "fork"

    def __init__(self, program: Path, code_dir: Path, env: dict[str, str] | None = None, spares: bool = True):
        self._server = ForkServer(modules_to_preload(program, code_dir), env=env, spares=spares)
        self._fallback = ProcessRunner()

    @property
    def alive(self) -> bool:
        return self._server.alive

    def start(self, command: Command) -> Execution:
        argv = command.argv
        if len(argv) > 1 and argv[0] == sys.executable and argv[1].endswith(".py"):
            try:
                return self._server.spawn(
                    argv, command.env, command.cwd, optml_dir=command.optml_dir, sys_path=command.sys_path
                )
            except OSError as e:  # the fork server is gone: this job gets a process of its own
                log.warning("%s: fork server unavailable (%s); starting a new process", command.job_name, e)
        return self._fallback.start(command)

    def stop(self, execution: Execution, sig: int = signal.SIGTERM) -> bool:
        """Signal every process of the job (its supervisor's descendants: see ``_supervisor.py``)."""
        return signal_job(execution.pid, sig)

    def close(self) -> None:
        self._server.close()
