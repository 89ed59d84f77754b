"""Runners: where a training job's process runs, behind one narrow interface (:class:`BaseRunner`: start, poll,
stop), as Syne Tune's trial backend sits between its scheduler and execution.

- :class:`ProcessRunner`: a new process per training job (exact isolation; ``AMTLOCAL_LAUNCHER=process``).
- :class:`ForkServerRunner`: a warm fork server per entry point that imported its heavy modules once (default where
  ``os.fork`` exists; ``AMTLOCAL_LAUNCHER=fork``).

Above the runners, one implementation streams and scrapes the output, enforces MaxRuntimeInSeconds and the stop
grace, and decides the outcome (``amtlocal.backends.local``'s training-job process). A new runner (the built-in
XGBoost algorithm) is a new private module here with a ``BaseRunner`` subclass, chosen in :func:`runner_for`.

A code folder's ``requirements.txt`` overlay (``amtlocal.container``) is first on a job's ``sys.path``; a fork server
starts with that same overlay first on its own (one zygote per overlay), so nothing it imported shadows a pinned
version.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
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


def _key(
    program: str, code_dir: Path | None, env: dict[str, str] | None, slots: int, sys_path: Sequence[str] | None
) -> tuple:
    return (
        launcher_kind(),
        program,
        str(code_dir),
        tuple(sorted((env or {}).items())),
        idle_core(slots),
        None if sys_path is None else tuple(sys_path),
    )


def runner_for(
    program: str,
    code_dir: Path | None,
    env: dict[str, str] | None = None,
    slots: int = 1,
    sys_path: Sequence[str] | None = (),
) -> BaseRunner:
    """The runner for an entry point: a :class:`ForkServerRunner` (started now: its imports overlap whatever the
    caller does next, or already started by :func:`prestart` with the same arguments) when the launcher is ``fork``,
    the program a ``.py`` file and the code a folder; else a :class:`ProcessRunner` (also for a built-in algorithm:
    no code folder). ``env``: the fork server's environment; ``slots``: training jobs run at once; ``sys_path``: the
    folders the jobs put first on ``sys.path`` (their ``requirements.txt`` overlay, ``amtlocal.container``'s
    ``requirements_sys_path``), or None when not known until the first job's install (the fork server then starts
    at the first job). A job is only ever forked from a zygote started with its own overlay first."""
    if launcher_kind() != "fork" or not program.endswith(".py") or code_dir is None or not Path(code_dir).is_dir():
        return ProcessRunner()
    warm = _prestarted.pop(_key(program, code_dir, env, slots, sys_path), None)
    if warm is not None:
        if warm.alive:
            return warm
        warm.close()
    from amtlocal.runners._fork import ForkServerRunner

    return ForkServerRunner(
        Path(code_dir) / program,
        Path(code_dir),
        env=env,
        spares=idle_core(slots),
        sys_path=None if sys_path is None else list(sys_path),
    )


def prestart(
    program: str,
    code_dir: Path | None,
    env: dict[str, str] | None = None,
    slots: int = 1,
    sys_path: Sequence[str] | None = (),
) -> None:
    """Start now the runner that :func:`runner_for` with the same arguments will return, so that a fork server's
    imports (seconds: the entry point's pandas, scikit-learn...) overlap the caller's own start-up (validation, its
    imports, the store), not follow it. Nothing is started for a :class:`ProcessRunner`, nor for a ``sys_path`` not
    known yet (None: the overlay is installed by the first job, after validation). A runner never handed out is
    stopped by :func:`close_prestarted` (and at this process's exit)."""
    if sys_path is None:
        return
    key = _key(program, code_dir, env, slots, sys_path)
    if key in _prestarted:
        return
    runner = runner_for(program, code_dir, env, slots, sys_path)
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


def modules_to_preload(program: Path, code_dir: Path, sys_path: list[str] | None = None) -> list[str]:
    """Top-level imports of the entry point that resolve outside its code folder, in the tuner's environment or in
    ``sys_path`` (the jobs' ``requirements.txt`` overlay): what a fork server preloads."""
    from amtlocal.runners._forkserver import modules_to_preload as preload

    return preload(program, code_dir, sys_path)


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
