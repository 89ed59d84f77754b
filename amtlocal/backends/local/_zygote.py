"""The fork server's own process: ``python -m amtlocal.backends.local._zygote FD MODULE...``.

It imports the heavy modules an entry point uses (once), then forks one child per training job on request. It
must stay single-threaded (fork copies only the calling thread), so it polls: requests on the socket, and
``waitpid`` for children that ended.

Protocol on the inherited Unix socket ``FD`` (see ``_forkserver.py``):
- request (client -> zygote): one line of JSON ``{"argv": [...], "env": {...}, "cwd": "..."}`` sent with two file
  descriptors (the child's stdout and stderr) as SCM_RIGHTS;
- replies (zygote -> client), one JSON line each: ``{"started": pid}`` or ``{"error": "..."}`` for a request,
  ``{"exited": pid, "returncode": n}`` when a child ends (negative n: killed by signal -n, as subprocess reports).
"""
from __future__ import annotations

import importlib
import json
import os
import select
import signal
import socket
import sys


def _child(request: dict, out_fd: int, err_fd: int) -> None:
    """In the forked child: become the training job's process under the script-mode contract, run it, exit."""
    code = 1
    try:
        os.setsid()  # its own process group, as a spawned job has: stopping it ends what it starts
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        for fd in (devnull, out_fd, err_fd):
            if fd > 2:
                os.close(fd)
        import io

        # Unbuffered text streams on the new fds (PYTHONUNBUFFERED of a fresh interpreter): metrics arrive live.
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True, line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True, line_buffering=True,
                                      errors="backslashreplace")
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        argv = request["argv"]
        program = argv[1]
        sys.argv = argv[1:]
        sys.path[0] = request["cwd"]
        if "numpy" in sys.modules:  # forked children would otherwise share numpy's global random state
            sys.modules["numpy"].random.seed()
        import runpy

        try:
            runpy.run_path(program, run_name="__main__")
            code = 0
        except SystemExit as e:
            if e.code is None:
                code = 0
            elif isinstance(e.code, int):
                code = e.code
            else:
                print(e.code, file=sys.stderr)
                code = 1
        except BaseException:  # noqa: BLE001 - the script's own error: print it as the interpreter would
            import traceback

            traceback.print_exc()
            code = 1
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
    finally:
        os._exit(code & 0xFF)


def _preload(modules: list[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - a module that fails here is imported (and fails) in the job itself
            pass


def main(argv: list[str]) -> int:
    sock = socket.socket(fileno=int(argv[0]))
    _preload(argv[1:])
    # Move everything imported so far out of the collector's reach: a child's garbage collections then do not write
    # to (and so copy) the zygote's pages (copy-on-write stays shared).
    import gc

    gc.collect()
    gc.freeze()
    # A child's end wakes the loop at once (instead of at the next poll): SIGCHLD writes a byte to this pipe.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    buf = b""
    pending_fds: list[int] = []
    children: set[int] = set()

    def send(obj: dict) -> None:
        sock.sendall((json.dumps(obj) + "\n").encode())

    while True:
        ready, _, _ = select.select([sock, wake_r], [], [], 0.5)
        if wake_r in ready:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        if sock in ready:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 2)
            if not data:
                break  # the client is gone: stop serving (running children go on, in their own sessions)
            buf += data
            pending_fds.extend(fds)
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                out_fd, err_fd = pending_fds[0], pending_fds[1]
                del pending_fds[:2]
                try:
                    request = json.loads(line)
                    pid = os.fork()
                except Exception as e:  # noqa: BLE001
                    send({"error": f"{type(e).__name__}: {e}"})
                    os.close(out_fd), os.close(err_fd)
                    continue
                if pid == 0:
                    sock.close()
                    signal.set_wakeup_fd(-1)
                    os.close(wake_r)
                    os.close(wake_w)
                    _child(request, out_fd, err_fd)
                os.close(out_fd)
                os.close(err_fd)
                children.add(pid)
                send({"started": pid})
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            children.discard(pid)
            rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            send({"exited": pid, "returncode": rc})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
