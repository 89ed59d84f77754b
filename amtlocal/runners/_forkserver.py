"""Warm workers: a fork server that imports an entry point's heavy modules once, then forks a child per training job.

Starting Python and importing pandas and scikit-learn costs seconds per training job; a training job itself may take
a fraction of that. The fork server (``_zygote.py``) pays the imports once per tuning job. Each forked child keeps
the script-mode contract of a spawned process: argv (``sys.argv``), the environment, the working folder, stdout and
stderr as pipes of the tuner, its exit code (``SystemExit`` or an uncaught exception -> 1), signals, its own session
and process group (so time limits and stops end everything it starts).

What differs from a fresh interpreter, by construction: modules the zygote preloaded are already imported (their
import-time side effects ran once, in the zygote, with the environment every job starts from but without a job's
own ``SM_*`` values), and interpreter flags are the zygote's. Preloaded are the entry point's top-level imports of
installed packages, and, after the first job that exits 0, the installed modules that job imported later (never
modules of the job's own code folder). The zygote starts with its jobs' ``requirements.txt`` overlay first on its
``sys.path`` (``ForkServer(sys_path=...)``), so everything it imports resolves as in those jobs: a pinned version is
never shadowed by the tuner's. For exact isolation use the plain launcher: ``AMTLOCAL_LAUNCHER=process``.
Default: ``fork`` on Linux and macOS for ``.py`` entry points (see ``amtlocal.runners.launcher_kind``).
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path


def modules_to_preload(program: Path, code_dir: Path, sys_path: list[str] | None = None) -> list[str]:
    """Top-level imports of the entry point that resolve outside its code folder (installed packages only), in the
    tuner's environment or in ``sys_path`` (the jobs' ``requirements.txt`` overlay, which the zygote puts first).

    Modules of the user's own code folder are never preloaded: each training job gets its own copy of that folder.
    """
    try:
        tree = ast.parse(program.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError):
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    out = []
    for name in dict.fromkeys(names):
        top = name.split(".")[0]
        if (code_dir / f"{top}.py").exists() or (code_dir / top).is_dir():
            continue
        try:
            spec = importlib.util.find_spec(top)
            if spec is None and sys_path:  # installed in the overlay only
                spec = importlib.machinery.PathFinder.find_spec(top, list(sys_path))
        except (ImportError, ValueError):
            continue
        if spec is not None:
            out.append(name)
    return out


class ForkedProcess:
    """A training job forked by the :class:`ForkServer`, with the part of ``subprocess.Popen``'s interface the
    runner uses: ``pid``, ``stdout``/``stderr`` (binary pipes), ``poll()``, ``wait(timeout)``, ``returncode``."""

    def __init__(self, pid: int, stdout, stderr, args: list[str]):
        self.pid, self.stdout, self.stderr, self.args = pid, stdout, stderr, args
        self.returncode: int | None = None
        self._done = threading.Event()

    def _exited(self, returncode: int) -> None:
        self.returncode = returncode
        self._done.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            assert timeout is not None  # Event.wait(None) returns only once set
            raise subprocess.TimeoutExpired(self.args, timeout)
        assert self.returncode is not None  # _exited sets it before the event
        return self.returncode


class ForkServer:
    """One zygote process serving one entry point. Thread-safe ``spawn``; ``close`` when the tuning job ends.

    Args:
        modules: module names to import once in the zygote (see :func:`modules_to_preload`).
        env: the zygote's own environment (what every job's environment starts from, without credentials:
            :meth:`ScriptModeJob.base_environment`), seen by modules at their import.
        spares: fork each next child ahead, while a job runs (worth it when a core is idle: see :func:`idle_core`).
        sys_path: folders the zygote puts first on its ``sys.path``, after its first entry, before it imports
            anything (``PYTHONPATH``, as a new job process gets them): the ``requirements.txt`` overlay of the jobs
            it will serve, so that every module it imports resolves as in those jobs (a package the overlay pins
            is never imported from the tuner's environment). Only jobs with the same overlay may be sent to it.
    """

    def __init__(
        self,
        modules: list[str],
        env: dict[str, str] | None = None,
        spares: bool = True,
        sys_path: list[str] | None = None,
    ):
        self.sys_path = list(sys_path or [])
        if self.sys_path:
            env = dict(os.environ if env is None else env)
            env["PYTHONPATH"] = os.pathsep.join([*self.sys_path, *filter(None, [env.get("PYTHONPATH")])])
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock = parent
        # Run as a plain script, not ``-m amtlocal...``: the zygote then imports the entry point's modules and nothing of ours.
        self._proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("_zygote.py")),
                str(child.fileno()),
                "1" if spares else "0",
                *modules,
            ],
            pass_fds=[child.fileno()],
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        child.close()
        self._lock = threading.Lock()
        self._replies: list[dict] = []
        self._reply_ready = threading.Condition()
        self._children: dict[int, ForkedProcess] = {}
        self._early_exits: dict[int, int] = {}
        self._alive = True
        self._served = False  # whether a job was ever sent
        self._reader = threading.Thread(target=self._read, name="forkserver-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line)
                if "exited" in msg:
                    with self._reply_ready:
                        proc = self._children.pop(msg["exited"], None)
                        if proc is None:
                            self._early_exits[msg["exited"]] = msg["returncode"]
                    if proc is not None:
                        proc._exited(msg["returncode"])
                else:
                    with self._reply_ready:
                        self._replies.append(msg)
                        self._reply_ready.notify_all()
        # The zygote is gone: no more exit reports will come. Children still running are orphans of a dead
        # parent; report them as killed so no waiter hangs.
        with self._reply_ready:
            self._alive = False
            pending = list(self._children.values())
            self._children.clear()
            self._reply_ready.notify_all()
        for proc in pending:
            proc._exited(-9)

    @property
    def alive(self) -> bool:
        return self._alive and self._proc.poll() is None

    def spawn(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: str | os.PathLike,
        optml_dir: str | os.PathLike | None = None,
        sys_path: list[str] | None = None,
    ) -> ForkedProcess:
        """Fork a child running ``argv`` (``[python, program, *args]``) in ``cwd`` with exactly ``env``; with
        ``optml_dir`` the child first shows that folder at ``/opt/ml`` (``amtlocal.container``'s namespace module,
        loaded by path in the zygote), and ``sys_path`` goes first on its ``sys.path`` after the script's folder.

        Raises:
            OSError: the fork server is not running or could not fork.
        """
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            with self._lock:
                if not self.alive:
                    raise OSError("the fork server is not running")
                request = {"argv": list(argv), "env": dict(env), "cwd": str(cwd), "sys_path": list(sys_path or [])}
                if optml_dir is not None:
                    from amtlocal.container import OPTML_MODULE_FILE

                    request.update(optml_dir=str(optml_dir), optml_module=OPTML_MODULE_FILE)
                msg = json.dumps(request).encode() + b"\n"
                self._served = True
                socket.send_fds(self._sock, [msg], [out_w, err_w])
                with self._reply_ready:
                    while not self._replies and self._alive:
                        self._reply_ready.wait(5)
                    if not self._replies:
                        raise OSError("the fork server stopped answering")
                    reply = self._replies.pop(0)
                    if "error" in reply:
                        raise OSError(f"the fork server could not start the job: {reply['error']}")
                    pid = reply["started"]
                    proc = ForkedProcess(pid, os.fdopen(out_r, "rb"), os.fdopen(err_r, "rb"), list(argv))
                    early = self._early_exits.pop(pid, None)
                    if early is None:
                        self._children[pid] = proc
            if early is not None:
                proc._exited(early)
            return proc
        except BaseException:
            for fd in (out_r, err_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            raise
        finally:
            os.close(out_w)
            os.close(err_w)

    def close(self) -> None:
        """Stop the zygote (children already started run on to their end, in their own sessions)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        # It exits at once when idle; one still importing (a run that ended before its first job) is killed, at once
        # when it never served a job (a request found invalid after the server was started ahead of its validation).
        if not _wait_exit(self._proc.pid, 0.5 if self._served else 0.0):
            self._proc.kill()
        self._proc.wait()


def _wait_exit(pid: int, timeout: float) -> bool:
    """True once child ``pid`` has exited (not reaped), within ``timeout`` seconds. On Linux it waits on a pidfd,
    waking at the exit itself; ``Popen.wait(timeout)`` polls with sleeps of up to 50 ms, added to every tuning job's end."""
    import select
    import time

    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        try:
            return bool(select.select([fd], [], [], timeout)[0])
        finally:
            os.close(fd)
    deadline = time.monotonic() + timeout
    while True:  # elsewhere: poll without reaping (the Popen reaps)
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)


__all__ = ["ForkServer", "ForkedProcess", "modules_to_preload"]
