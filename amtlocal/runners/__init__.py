"""Runners: where a training job's process runs, behind one narrow interface (:class:`BaseRunner`: start, poll,
stop), as Syne Tune's trial backend sits between its scheduler and execution.

- :class:`ProcessRunner`: a new process per training job (exact isolation; ``AMTLOCAL_LAUNCHER=process``).
- :class:`ForkServerRunner`: a warm fork server per entry point that imported its heavy modules once (default where
  ``os.fork`` exists; ``AMTLOCAL_LAUNCHER=fork``).

Above the runners, one implementation streams and scrapes the output, enforces MaxRuntimeInSeconds and the stop
grace, and decides the outcome (``amtlocal.backends.local``'s training-job process). A new runner (the built-in
XGBoost algorithm, a ``requirements.txt`` environment that wraps the command) is a new private module here with a
``BaseRunner`` subclass, chosen in :func:`runner_for`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from amtlocal.runners._base import BaseRunner, Command, Execution
from amtlocal.runners._process import ProcessRunner


def launcher_kind() -> str:
    """``$AMTLOCAL_LAUNCHER`` (``fork`` | ``process``), default ``fork`` where os.fork exists."""
    kind = os.environ.get("AMTLOCAL_LAUNCHER") or (
        "fork" if hasattr(os, "fork") and sys.platform != "win32" else "process"
    )
    if kind not in ("fork", "process"):
        raise ValueError(f"AMTLOCAL_LAUNCHER must be 'fork' or 'process', not {kind!r}")
    return kind


def idle_core(slots: int) -> bool:
    """True when ``slots`` concurrent training jobs leave a core of this process's CPUs idle. Only then does forking
    the next child ahead (and copying its pages ahead) come free; on busy cores it only competes with the jobs."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        cores = os.cpu_count() or 1
    return slots < cores


_prestarted: dict[tuple, BaseRunner] = {}  # runners started by prestart(), until runner_for() hands them out


def _key(program: str, code_dir: Path | None, env: dict[str, str] | None, slots: int) -> tuple:
    return (launcher_kind(), program, str(code_dir), tuple(sorted((env or {}).items())), idle_core(slots))


def runner_for(program: str, code_dir: Path | None, env: dict[str, str] | None = None, slots: int = 1) -> BaseRunner:
    """The runner for an entry point: a :class:`ForkServerRunner` (started now: its imports overlap whatever the
    caller does next, or already started by :func:`prestart` with the same arguments) when the launcher is ``fork``,
    the program a ``.py`` file and the code a folder; else a :class:`ProcessRunner` (also for a built-in algorithm:
    no code folder). ``env``: the fork server's environment; ``slots``: training jobs run at once."""
    if launcher_kind() != "fork" or not program.endswith(".py") or code_dir is None or not Path(code_dir).is_dir():
        return ProcessRunner()
    warm = _prestarted.pop(_key(program, code_dir, env, slots), None)
    if warm is not None:
        if warm.alive:
            return warm
        warm.close()
    from amtlocal.runners._fork import ForkServerRunner

    return ForkServerRunner(Path(code_dir) / program, Path(code_dir), env=env, spares=idle_core(slots))


def prestart(program: str, code_dir: Path | None, env: dict[str, str] | None = None, slots: int = 1) -> None:
    """Start now the runner that :func:`runner_for` with the same arguments will return, so that a fork server's
    imports (seconds: the entry point's pandas, scikit-learn...) overlap the caller's own start-up (validation, its
    imports, the store), not follow it. Nothing is started for a :class:`ProcessRunner`. A runner never handed out
    is stopped by :func:`close_prestarted` (and at this process's exit)."""
    key = _key(program, code_dir, env, slots)
    if key in _prestarted:
        return
    runner = runner_for(program, code_dir, env, slots)
    if isinstance(runner, ProcessRunner):
        return
    if not _prestarted:
        import atexit

        atexit.register(close_prestarted)
    _prestarted[key] = runner


def close_prestarted() -> None:
    """Stop the runners :func:`prestart` started that no :func:`runner_for` took (e.g. the request was invalid)."""
    while _prestarted:
        _, runner = _prestarted.popitem()
        runner.close()


def modules_to_preload(program: Path, code_dir: Path) -> list[str]:
    """Top-level imports of the entry point that resolve outside its code folder (what a fork server preloads)."""
    from amtlocal.runners._forkserver import modules_to_preload as preload

    return preload(program, code_dir)


__all__ = [
    "BaseRunner",
    "Command",
    "Execution",
    "ProcessRunner",
    "idle_core",
    "close_prestarted",
    "launcher_kind",
    "modules_to_preload",
    "prestart",
    "runner_for",
]
