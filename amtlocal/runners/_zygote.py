"""The fork server's own process: ``python .../_zygote.py FD SPARE MODULE...`` (SPARE: ``1`` to fork spares).

It imports the heavy modules an entry point uses (once), then forks one child per training job on request. It
must stay single-threaded (fork copies only the calling thread), so it polls: requests on the socket, and
``waitpid`` for children that ended. It is run as a plain script and imports only the standard library, so that
its start-up is the entry point's imports and nothing else.

Protocol on the inherited Unix socket ``FD`` (see ``_forkserver.py``):
- request (client -> zygote): one line of JSON ``{"argv": [...], "env": {...}, "cwd": "...", "sys_path": [...]}``
  (and, for a job shown its folder at ``/opt/ml``, ``"optml_dir"`` and ``"optml_module"``: the path of
  ``amtlocal/container/_optml.py``, loaded by path, never imported as amtlocal) sent with two file
  descriptors (the child's stdout and stderr) as SCM_RIGHTS;
- replies (zygote -> client), one JSON line each: ``{"started": pid}`` or ``{"error": "..."}`` for a request,
  ``{"exited": pid, "returncode": n}`` when a child ends (negative n: killed by signal -n, as subprocess reports).

Speed-ups that change nothing a training job can observe:
- a spare child (when a core is idle while jobs run: parallelism below the core count): shortly after handing a job
  over (``SPARE_DELAY_SECONDS``, once that job has started), the zygote forks the next child, which waits for its
  request, so the fork (copying the page tables of a large interpreter) and the copying ahead below happen beside a
  running job, neither between two jobs nor on the core the job that was just handed over needs to start;
- learned imports and pages copied ahead (``_zygote_learning.py``): after the first job that exits 0, the zygote
  also imports the installed modules that job imported lazily, and spares copy ahead the memory pages jobs write;
- a job's end is reported from its exit code, written to a status pipe after its output is closed, without waiting
  for the kernel to tear down its address space.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import time

try:  # run as a script (the fork server's normal case): its folder is on sys.path; imports nothing of amtlocal
    import _supervisor as supervisor
    import _zygote_learning as learning
except ImportError:  # imported as part of the package
    from amtlocal.runners import _supervisor as supervisor
    from amtlocal.runners import _zygote_learning as learning


_optml_modules: dict = {}
EXIT_CANNOT_ENTER = 126  # amtlocal.container.EXIT_CANNOT_ENTER (this file imports nothing of amtlocal)


def _optml(path: str):
    """The namespace module (stdlib only) loaded by its path, once per process (the zygote loads it before forking)."""
    module = _optml_modules.get(path)
    if module is None:
        import importlib.util

        spec = importlib.util.spec_from_file_location("_amtlocal_optml", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _optml_modules[path] = module
    return module


def _child(request: dict, out_fd: int, err_fd: int, status_fd: int, supervised: bool = False) -> None:
    """In the forked child: become the training job's process under the script-mode contract, run it, exit.

    It behaves as ``python train.py ...`` would: signals as a new interpreter sets them, ``__main__`` with an absolute
    ``__file__`` and the script's folder first on ``sys.path``, an uncaught error's traceback from the script's
    frames, and at the end what the interpreter does at exit (wait for non-daemon threads, run ``atexit`` callbacks,
    release ``__main__``'s objects so that files left open are flushed; an uncaught KeyboardInterrupt ends it by
    SIGINT). Its exit code is also written to ``status_fd`` once its output is closed, so the job's end is reported
    without waiting for the kernel to tear down a large address space. A process the job forks (``os.fork``) and
    that runs to the script's end exits the same way, without reporting: the job is its main process.
    ``supervised``: a spare that forked its supervisor already (:func:`_supervise`)."""
    if not supervised:
        learn_fd = request.get("_learn_fd")
        _supervise([out_fd, err_fd, status_fd] + ([learn_fd] if learn_fd is not None else []))
    me = os.getpid()
    code = 1
    interrupted = False
    before = set(sys.modules) if request.get("_learn_fd") is not None else set()  # only a teacher reports them
    gc.enable()  # the zygote ran with it off (see _settle); a job's interpreter has it on
    try:
        # As a new interpreter sets them: SIGINT raises KeyboardInterrupt, SIGPIPE (and SIGXFSZ) are ignored.
        for sig in (signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for name in ("SIGPIPE", "SIGXFSZ"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
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
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), write_through=True, line_buffering=True, errors="backslashreplace"
        )
        if request.get("optml_dir"):  # still single-threaded: the mount namespace can be entered here
            try:
                _optml(request["optml_module"]).enter_job_namespace(request["optml_dir"])
            except OSError as e:
                os.write(2, f"amtlocal: cannot show the job folder at /opt/ml: {e.strerror or e}\n".encode())
                raise SystemExit(EXIT_CANNOT_ENTER) from None  # the script never runs
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        argv = request["argv"]
        script = os.path.abspath(argv[1])  # Python >= 3.9 makes __main__.__file__ and sys.path[0] absolute
        sys.argv = argv[1:]
        sys.path[0] = os.path.dirname(script)
        sys.path[1:1] = [p for p in request.get("sys_path") or () if p not in sys.path]  # as PYTHONPATH would
        if "multiprocessing.process" in sys.modules:  # it notes the working folder at its import (in the zygote)
            # setattr: a ModuleType from sys.modules is typed for reading attributes only
            setattr(sys.modules["multiprocessing.process"], "ORIGINAL_DIR", os.getcwd())  # noqa: B010
        if "numpy" in sys.modules:  # forked children would otherwise share numpy's global random state
            sys.modules["numpy"].random.seed()
        try:
            _run_main(script)
            code = 0
        except SystemExit as e:
            if e.code is None:
                code = 0
            elif isinstance(e.code, int):
                code = e.code
            else:
                print(e.code, file=sys.stderr)
                code = 1
        except BaseException as e:  # noqa: BLE001 - the script's own error: print it as the interpreter would
            import traceback

            # From the script's own frames on, as a fresh interpreter prints it (none of this file's); a SyntaxError
            # in the script has none.
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename != script:
                tb = tb.tb_next
            traceback.print_exception(type(e), e, tb)
            interrupted = isinstance(e, KeyboardInterrupt)
            code = 1
        _at_exit()
    except SystemExit as e:  # only the /opt/ml refusal above: the script's own SystemExit is handled inside
        code = e.code if isinstance(e.code, int) else 1
    finally:
        if os.getpid() != me:
            os._exit(code & 0xFF)  # a process the job forked: its end is not the job's
        for fd in (1, 2):  # the job's output ends here: the tuner's readers see end-of-file now
            try:
                os.close(fd)
            except OSError:
                pass
        if interrupted:  # as CPython ends on an uncaught KeyboardInterrupt: by SIGINT (exit status -2)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(me, signal.SIGINT)
        # A teacher reports before its status: once the status is out, the tuner ends the job's process group.
        if code == 0 and request.get("_learn_fd") is not None:
            learning.teach(request["_learn_fd"], before, request["cwd"])
        try:
            os.write(status_fd, b"%d" % (code & 0xFF))
        except OSError:
            pass
        os._exit(code & 0xFF)


def _supervise(close_in_supervisor: list[int]) -> None:
    """Give this forked child its own session and process group, led by a supervisor (``_supervisor.py``) that stays
    behind as the toolkit's process does: the job is not a leader (its own os.setsid() succeeds), and its end ends
    all it started. Returns in the job's process; the supervisor never returns."""
    os.setsid()
    supervisor.fork_supervised(close_in_supervisor)


#: After handing a job over, how long the next spare's fork waits: the fork (copying the page tables of a large
#: interpreter, milliseconds) would otherwise take a core while the job that was just handed over starts.
SPARE_DELAY_SECONDS = 0.02

_compiled: dict[bytes, object] = {}  # an entry point's source -> its code object, compiled by the zygote
MAX_COMPILED = 8


def _compile(source: bytes, script: str):
    """``compile(source, script, "exec", dont_inherit=True)``, from the zygote's cache when it compiled the same
    source before (each job runs its own copy of the code folder, so only the file name differs: it is replaced
    in the code object and every code object nested in it, as a compile under that name would set it)."""
    code = _compiled.get(source)
    if code is None:
        return compile(source, script, "exec", dont_inherit=True)
    return _renamed(code, script)


def _renamed(code, filename: str):
    if code.co_filename == filename:
        return code
    consts = tuple(_renamed(c, filename) if isinstance(c, type(code)) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def _precompile(request: dict) -> None:
    """In the zygote, once a job is handed over: compile its entry point, so that the children forked from now on
    find it compiled (a millisecond or more per job, otherwise paid between the job's start and its first line)."""
    try:
        script = os.path.join(request["cwd"], request["argv"][1])
        with open(script, "rb") as f:
            source = f.read()
        if source not in _compiled:
            if len(_compiled) >= MAX_COMPILED:
                _compiled.pop(next(iter(_compiled)))
            _compiled[source] = compile(source, os.path.abspath(script), "exec", dont_inherit=True)
    except Exception:  # noqa: BLE001 - an optimisation: the job compiles its entry point itself
        pass


def _run_main(script: str) -> None:
    """Run ``script`` as ``__main__``, as the interpreter runs a script file."""
    import builtins
    import importlib.machinery
    import types

    with open(script, "rb") as f:
        source = f.read()
    code = _compile(source, script)
    main = types.ModuleType("__main__")
    main.__dict__.update(
        __file__=script,
        __builtins__=builtins,
        __cached__=None,
        __package__=None,
        __spec__=None,
        __loader__=importlib.machinery.SourceFileLoader("__main__", script),
    )
    sys.modules["__main__"] = main
    exec(code, main.__dict__)


def _at_exit() -> None:
    """What the interpreter does when a script ends, in its order: wait for non-daemon threads, run ``atexit``
    callbacks, flush the standard streams, then release ``__main__``'s objects (a file left open is flushed)."""
    try:
        if "threading" in sys.modules:
            sys.modules["threading"]._shutdown()
    except BaseException:  # noqa: BLE001 - as at interpreter exit: reported, not fatal
        import traceback

        traceback.print_exc()
    import atexit

    atexit._run_exitfuncs()  # prints a failing callback's traceback itself, as at interpreter exit
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__file__", None) != __file__:
        main.__dict__.clear()
    gc.collect()


def _preload(modules: list[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - a module that fails here is imported (and fails) in the job itself
            pass


def _settle() -> None:
    """After imports: move everything imported out of the collector's reach (a child's collections then do not
    write to, and so copy, the zygote's pages) and note the memory map the children inherit. The zygote itself
    runs with the collector off (as Python's docs advise for a fork server: ``gc.disable()`` early, ``gc.freeze()``
    before forking); imports then run faster, and each child turns it back on."""
    gc.freeze()
    learning.note_regions()


class _Spare:
    """A child forked ahead of its request, waiting on its own socket; ``status`` reads its exit status."""

    def __init__(self, pid: int, sock: socket.socket, status: int):
        self.pid, self.sock, self.status = pid, sock, status


def _spare_main(conn: socket.socket, hot: list[list[int]] | None, status_fd: int) -> None:
    """In a spare: fork its supervisor, copy the hot pages, wait for the request, then run it as any child (or exit
    if none comes).

    The supervisor is forked first, so that the pages copied ahead belong to the process that runs the job alone: a
    fork after the copy would share them again, and the job would copy each page it writes a second time."""
    _supervise([status_fd, conn.fileno()])
    try:
        if hot:
            learning.copy_ahead(hot)
        buf, fds = b"", []
        while b"\n" not in buf:
            data, got, _, _ = socket.recv_fds(conn, 1 << 20, 3)
            fds.extend(got)
            if not data:
                os._exit(0)  # the zygote is gone or dropped this spare
            buf += data
        conn.close()
        request = json.loads(buf.split(b"\n", 1)[0])
        if request.get("_learn") and len(fds) == 3:
            request["_learn_fd"] = fds[2]  # the teacher's report file, passed along with its output
    except BaseException as e:  # noqa: BLE001 - a job handed over but unreadable: it fails, saying why
        if len(fds) >= 2:
            os.write(fds[1], f"amtlocal fork server: {type(e).__name__}: {e}\n".encode())
        os._exit(1 if fds else 0)
    _child(request, fds[0], fds[1], status_fd, supervised=True)


def main(argv: list[str]) -> int:
    sys.path[0] = os.getcwd()  # as under ``python -m``: not this file's folder
    gc.disable()
    sock = socket.socket(fileno=int(argv[0]))
    spares = argv[1] == "1"
    _preload(argv[2:])
    _settle()
    # A child's end wakes the loop at once (instead of at the next poll): SIGCHLD writes a byte to this pipe.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    buf = b""
    pending_fds: list[int] = []
    children: dict[int, int | None] = {}  # pid -> read end of its status pipe (None once read)
    reported: set[int] = set()  # children whose end was reported from their status pipe, not yet reaped
    spare: _Spare | None = None
    dropped: set[int] = set()  # spares killed or dead before use: reaped, never reported

    def preload_and_settle(modules) -> None:
        _preload(modules)
        _settle()

    learner = learning.Learner(preload_and_settle)

    def send(obj: dict) -> None:
        sock.sendall((json.dumps(obj) + "\n").encode())

    def fork_child(target, *args) -> tuple[int, int]:
        """Fork a child running ``target(*args, status_fd)``; returns (pid, read end of its status pipe)."""
        status_r, status_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                signal.set_wakeup_fd(-1)
                for fd in (wake_r, wake_w, status_r, *(f for f in children.values() if f is not None)):
                    os.close(fd)
                if spare is not None:
                    spare.sock.close()
                    os.close(spare.status)
                target(*args, status_w)
            finally:
                os._exit(1)
        os.close(status_w)
        return pid, status_r

    def drop_spare() -> None:
        nonlocal spare
        if spare is not None:
            spare.sock.close()  # it sees end-of-file and exits
            os.close(spare.status)
            dropped.add(spare.pid)
            spare = None

    def ended(pid: int, rc: int) -> None:
        send({"exited": pid, "returncode": rc})
        if learner.teacher is not None and learner.teacher[0] == pid and rc != 0:
            learner.forget()

    pid: int | None
    spare_after = 0.0  # the first spare at once; the next ones SPARE_DELAY_SECONDS after a hand-over
    while True:
        if spare is None and spares and time.monotonic() >= spare_after:
            try:
                conn, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

                def spare_target(status_w: int, conn: socket.socket = conn, theirs: socket.socket = theirs) -> None:
                    conn.close()
                    _spare_main(theirs, learner.hot, status_w)

                pid, status_r = fork_child(spare_target)
                theirs.close()
                spare = _Spare(pid, conn, status_r)
            except OSError:
                spare = None
        status_fds = {fd: pid for pid, fd in children.items() if fd is not None}
        watched: list[socket.socket | int] = [sock, wake_r, *status_fds]
        wait = 0.5 if spare is not None or not spares else min(0.5, max(0.0, spare_after - time.monotonic()))
        ready, _, _ = select.select(watched, [], [], wait)
        if wake_r in ready:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        for fd in ready:
            if fd in status_fds:
                pid = status_fds[fd]
                data = os.read(fd, 16)
                os.close(fd)
                children[pid] = None
                if data:  # it ran to its end; else it was killed, and the reap below reports it
                    reported.add(pid)
                    ended(pid, int(data))
        if sock in ready:
            try:
                data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 2)
            except OSError:  # the client died (connection reset): as end-of-file
                data, fds = b"", []
            if not data:
                break  # the client is gone: stop serving (running children go on, in their own sessions)
            buf += data
            pending_fds.extend(fds)
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                out_fd, err_fd = pending_fds[0], pending_fds[1]
                del pending_fds[:2]
                pid = None
                try:
                    request = json.loads(line)
                    if request.get("optml_module"):  # loaded once here, before the fork: every later child has it
                        _optml(request["optml_module"])
                    learn_fd = learner.enrol(request)
                    if spare is not None:
                        try:
                            socket.send_fds(
                                spare.sock,
                                [(json.dumps(request) + "\n").encode()],
                                [out_fd, err_fd] + ([learn_fd] if learn_fd is not None else []),
                            )
                            pid, status_r = spare.pid, spare.status
                            spare.sock.close()
                            spare = None
                        except OSError:
                            drop_spare()
                    if pid is None:
                        if learn_fd is not None:
                            request["_learn_fd"] = learn_fd  # inherited by the fork
                        pid, status_r = fork_child(_child, request, out_fd, err_fd)
                    learner.started(pid, request)
                except Exception as e:  # noqa: BLE001
                    send({"error": f"{type(e).__name__}: {e}"})
                    os.close(out_fd)
                    os.close(err_fd)
                    continue
                os.close(out_fd)
                os.close(err_fd)
                children[pid] = status_r
                send({"started": pid})
                _precompile(request)
                spare_after = time.monotonic() + SPARE_DELAY_SECONDS
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if spare is not None and pid == spare.pid:
                drop_spare()
            if pid in dropped:
                dropped.discard(pid)
                continue
            if pid not in children:
                continue
            status_fd = children.pop(pid)
            if status_fd is not None:
                os.close(status_fd)
            if pid in reported:
                reported.discard(pid)
            else:
                ended(pid, -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
            if learner.teacher is not None and learner.teacher[0] == pid and learner.learn() and spare is not None:
                drop_spare()  # forked before what was learned: the next spare has it
    drop_spare()
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    # Without the interpreter's finalization (tens of ms with pandas and scikit-learn loaded, added to every tuning
    # job's end): nothing is left to flush, the zygote talks only through its socket, closed here.
    sys.stdout.flush(), sys.stderr.flush()
    os._exit(code)
