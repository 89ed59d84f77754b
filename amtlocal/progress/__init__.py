"""Progress of running jobs where people look: a notebook, a terminal, or a log.

    from amtlocal.progress import tuning_job_progress
    prog = tuning_job_progress(backend, "my-job")     # None when progress is off
    backend.create_tuning_job(request, base_dir, wait=True, progress=prog)   # fed by the backend's callbacks
    with prog.following():                            # or: polled while a wait blocks
        backend.wait("my-job")

Where it shows is chosen by :func:`environment`: in a notebook (an IPython kernel) one output per job updated in
place, ending in a one-line summary; with stderr on a terminal the CLI's progress line redrawn in place; otherwise
(a log) a start line and an end line at INFO on the ``amtlocal`` logger. ``$AMTLOCAL_PROGRESS`` (``notebook``,
``terminal``, ``log``, ``off``) overrides the choice.

The displays consume the ``Progress`` objects backends pass to ``progress=`` and the Describe* responses; they never
change a job. Modules: ``_snapshot`` (what is shown, and its lines), ``_base`` (the display contract), ``_notebook``,
``_terminal`` (terminal and log displays), ``_follow`` (callbacks and polling).
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

from amtlocal.progress._base import ProgressDisplay
from amtlocal.progress._follow import JobProgress
from amtlocal.progress._snapshot import Snapshot

ENVIRONMENTS = ("notebook", "terminal", "log", "off")


def in_notebook() -> bool:
    """True inside a Jupyter kernel (Jupyter, JupyterLab, VS Code, SageMaker Studio): IPython is loaded and its
    shell runs in a kernel app. Never imports IPython itself."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def quiet_notebook_dependencies() -> None:
    """Import ``tqdm.autonotebook`` once with its warning silenced.

    Optuna imports ``tqdm.auto`` at import time; in a kernel without ipywidgets that prints ``TqdmWarning: IProgress
    not found`` to the notebook, about a progress bar amtlocal never uses. Imported once here under a local filter,
    the module is cached and the warning is not issued again; no global warning filter is added. Called when
    amtlocal is imported in a kernel.
    """
    if "tqdm.autonotebook" in sys.modules:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import tqdm.autonotebook  # noqa: F401
        except Exception:  # noqa: BLE001 - tqdm missing or broken: Optuna will say so itself
            pass


def environment() -> str:
    """``$AMTLOCAL_PROGRESS`` when set (one of :data:`ENVIRONMENTS`), else ``notebook`` in a Jupyter kernel,
    ``terminal`` when stderr is a tty, else ``log``.

    Raises:
        ValueError: ``$AMTLOCAL_PROGRESS`` is set to another value.
    """
    chosen = os.environ.get("AMTLOCAL_PROGRESS", "").strip().lower()
    if chosen:
        if chosen not in ENVIRONMENTS:
            raise ValueError(f"AMTLOCAL_PROGRESS must be one of {', '.join(ENVIRONMENTS)}, not {chosen!r}")
        return chosen
    if in_notebook():
        return "notebook"
    try:
        return "terminal" if sys.stderr.isatty() else "log"
    except (AttributeError, ValueError):
        return "log"


def make_display(env: str | None = None) -> ProgressDisplay | None:
    """The display for ``env`` (default :func:`environment`); None for ``off``."""
    env = env or environment()
    if env == "notebook":
        from amtlocal.progress._notebook import NotebookDisplay

        return NotebookDisplay()
    if env == "terminal":
        from amtlocal.progress._terminal import TerminalDisplay

        return TerminalDisplay()
    if env == "log":
        from amtlocal.progress._terminal import LogDisplay

        return LogDisplay()
    return None


#: Seconds between the display's own describes: the local store answers at once; AWS throttles Describe* calls, so
#: the display adds at most one call per 10 s to the backend's own polling there.
POLL_SECONDS = {"local": 1.0}
CLOUD_POLL_SECONDS = 10.0


def _poll(backend: Any, poll: float | None) -> float:
    return poll if poll is not None else POLL_SECONDS.get(getattr(backend, "name", ""), CLOUD_POLL_SECONDS)


def tuning_job_progress(
    backend: Any, name: str, env: str | None = None, poll: float | None = None
) -> JobProgress | None:
    """Progress of tuning job ``name`` on ``backend`` (``describe``), or None when progress is off.

    ``poll``: seconds between describes (default: 1 s on the local backend, 10 s elsewhere).
    """
    display = make_display(env)
    if display is None:
        return None
    return JobProgress(display, lambda: backend.describe(name), Snapshot.from_tuning_job, _poll(backend, poll))


def training_job_progress(
    backend: Any, name: str, env: str | None = None, poll: float | None = None
) -> JobProgress | None:
    """Progress of training job ``name`` on ``backend`` (``describe_training_job``), or None when progress is off.

    A training job has no ``progress=`` callback; wrap the blocking ``create_training_job(wait=True)`` or the wait
    loop in :meth:`JobProgress.following`. ``poll`` as for :func:`tuning_job_progress`.
    """
    display = make_display(env)
    if display is None:
        return None
    return JobProgress(
        display, lambda: backend.describe_training_job(name), Snapshot.from_training_job, _poll(backend, poll)
    )


__all__ = [
    "ENVIRONMENTS",
    "JobProgress",
    "ProgressDisplay",
    "Snapshot",
    "environment",
    "in_notebook",
    "make_display",
    "quiet_notebook_dependencies",
    "training_job_progress",
    "tuning_job_progress",
]
