"""ProcessRunner: a new process per training job (``subprocess.Popen``), the exact script-mode isolation."""
from __future__ import annotations

import subprocess

from amtlocal.runners._base import BaseRunner, Command


class ProcessRunner(BaseRunner):
    """Starts each training job as a new process (``AMTLOCAL_LAUNCHER=process``)."""

    name = "process"

    def start(self, command: Command) -> subprocess.Popen:
        return subprocess.Popen(command.argv, cwd=command.cwd, env=command.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, bufsize=0)
