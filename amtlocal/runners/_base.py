"""What a runner must provide: the narrow seam between the scheduler and where a training job's process runs."""

from __future__ import annotations

import abc
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol


@dataclass
class Command:
    """What to run for one training job, as the script-mode container would run it.

    Attributes:
        argv: the entry point's argv (a list; never a shell string), e.g. ``[python, "train.py", "--k", "v"]``.
        env: exactly the environment the job sees (``SM_*`` variables included).
        cwd: its working folder (the job's copy of the code).
        job_name: TrainingJobName (for messages only).
        optml_dir: the job's folder to show at ``/opt/ml`` (a private mount namespace entered in the job's own process
            before the script runs: ``amtlocal.container``), or None to leave ``/opt/ml`` alone.
        sys_path: folders put first on the script's ``sys.path`` after its own folder (a ``requirements.txt``
            overlay's site folder; ``env``'s ``PYTHONPATH`` already names them for a new interpreter). A runner
            that runs jobs in a process which imported modules before (a fork server) must have had these folders
            first when it imported them: no module the overlay provides may come from the tuner's environment.
    """

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    job_name: str = ""
    optml_dir: Path | None = None
    sys_path: list[str] = field(default_factory=list)


class Execution(Protocol):
    """A started training job: the part of ``subprocess.Popen``'s interface the caller uses (``Popen`` satisfies it).

    ``stdout`` and ``stderr`` are the job's two binary pipes: never None for a started job (see :class:`BaseRunner`),
    typed Optional because ``Popen``'s are; read-only, so that a ``Popen[Any]`` matches.
    """

    pid: int
    returncode: int | None

    @property
    def stdout(self) -> IO[bytes] | None: ...

    @property
    def stderr(self) -> IO[bytes] | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class BaseRunner(abc.ABC):
    """Starts, polls and stops training-job processes. The scheduler never knows which runner it has.

    Contract (every implementation keeps it; the streaming, scraping, time limits and statuses above the runner rely
    on nothing else):

    - :meth:`start` runs ``command.argv`` as given (no shell), with exactly ``command.env``, in ``command.cwd``,
      stdin from /dev/null, stdout and stderr as two binary pipes the caller reads, in a new session: the process
      group id is the returned execution's ``pid``, so ending that group ends everything the job started. (The
      process and fork runners run the entry point under a supervisor that leads that session: see
      ``_supervisor.py``; their ``stop`` reaches descendants outside the group too.) A runner
      may wrap the command (an isolated environment, a container, a built-in algorithm) as long as the job's own
      code sees that argv, env and cwd. Raises OSError when the job cannot start.
    - :meth:`poll` returns None while the job runs, else its exit code (negative: killed by that signal); it waits up
      to ``timeout`` seconds for the end.
    - :meth:`stop` sends ``sig`` to the job's process group; False when the group no longer exists.
    - :meth:`close` releases what the runner holds (a fork server); jobs already started run on to their end.
    """

    name = "base"

    @abc.abstractmethod
    def start(self, command: Command) -> Execution:
        """Start the job (see the class docstring). Raises OSError."""

    def poll(self, execution: Execution, timeout: float = 0.0) -> int | None:
        """The exit code, or None while it runs (waiting up to ``timeout`` seconds)."""
        if not timeout:
            return execution.poll()
        try:
            return execution.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, execution: Execution, sig: int = signal.SIGTERM) -> bool:
        """Signal the job's process group; False when there is no such group."""
        try:
            os.killpg(execution.pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    @property
    def alive(self) -> bool:
        """False once the runner can start no more jobs (e.g. its fork server died)."""
        return True

    def close(self) -> None:  # noqa: B027 - optional: most runners hold nothing
        """Release the runner's resources."""
