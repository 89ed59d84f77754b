"""ProcessRunner: a new process per training job (``subprocess.Popen``), the exact script-mode isolation."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from amtlocal.runners._base import BaseRunner, Command, Execution
from amtlocal.runners._supervisor import signal_job

SUPERVISOR = str(Path(__file__).with_name("_supervisor.py"))


class ProcessRunner(BaseRunner):
    """Starts each training job as a new process (``AMTLOCAL_LAUNCHER=process``), under a per-job supervisor
    (``_supervisor.py``: it leads the job's session, so the entry point is not a leader and its own ``os.setsid()``
    succeeds as in the container; it ends every process the job left behind when the entry point exits)."""

    name = "process"

    def start(self, command: Command) -> subprocess.Popen:
        program = command.argv[0]
        path = command.env.get("PATH", os.defpath)
        if shutil.which(program, path=path) is None and not (os.sep in program and os.access(program, os.X_OK)):
            raise FileNotFoundError(2, "No such file or directory", program)  # as Popen raises it
        argv = command.argv
        if command.optml_dir is not None:  # a wrapper enters the namespace, then execs argv in the same process
            from amtlocal.container import optml_exec_argv

            argv = optml_exec_argv(command.optml_dir, argv)
        # -I -S: the supervisor's own interpreter ignores the job's PYTHON* variables and site; the job sees them.
        argv = [sys.executable, "-I", "-S", SUPERVISOR, *argv]
        return subprocess.Popen(
            argv,
            cwd=command.cwd,
            env=command.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            bufsize=0,
        )

    def stop(self, execution: Execution, sig: int = signal.SIGTERM) -> bool:
        """Signal every process of the job (its supervisor's descendants); False once it has ended."""
        if execution.poll() is not None:  # the supervisor exits only after every process of the job is gone
            return False
        return signal_job(execution.pid, sig)
