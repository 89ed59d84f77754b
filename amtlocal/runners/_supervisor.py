"""A per-job supervisor: what sagemaker-training-toolkit's own process is to the entry point in the container.

In the container the entry point is a child of the toolkit, not a session or process-group leader, so its
``os.setsid()``/``os.setpgrp()`` succeed; and the job ends when the entry point exits: the container, with every
process the script left behind, goes with it. Locally each training job gets one supervisor process:

- it leads the job's session and process group (its pid is the execution's pid) and forks the entry point, which
  therefore is not a leader (``os.setsid()`` and ``os.setpgrp()`` succeed as in the container);
- on Linux it is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``): every descendant orphaned by its parent,
  including one in a session of its own, is re-parented to the supervisor instead of to init, so the whole tree
  stays below it and :func:`signal_job` reaches every descendant by walking ``/proc``;
- when the entry point exits, it SIGKILLs every descendant left (so nothing a script left behind prints into the
  job's log or objective after the end), reaps them, and exits as the entry point did (same code, or killed by the
  same signal), so the runner reports the entry point's own exit status;
- SIGTERM, SIGINT and SIGHUP sent to the supervisor itself (e.g. by ``killpg`` of the job's group) are forwarded to
  the descendants outside its process group, which ``killpg`` does not reach.

Elsewhere (macOS: no subreaper, no ``/proc``), the supervisor still makes ``setsid`` succeed; signals go to the
process group only, as before.

Run as a script (the process launcher): ``python -I -S _supervisor.py PROGRAM ARG...``; it imports only the
standard library. The fork server calls :func:`fork_supervised` in its forked child instead.
"""

from __future__ import annotations

import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux); False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def descendants(root: int) -> list[int] | None:
    """Every live descendant of ``root`` (pids, parents before children), from ``/proc``; None without ``/proc``."""
    if not os.path.isdir("/proc/self"):
        return None
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # it ended meanwhile
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])  # the command name may hold spaces and parentheses
        children.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    todo = [root]
    while todo:
        kids = children.get(todo.pop(0), ())
        out.extend(kids)
        todo.extend(kids)
    return out


def signal_job(pid: int, sig: int) -> bool:
    """Send ``sig`` to every process of the training job whose supervisor is ``pid`` (not to the supervisor, which
    waits for the entry point's end and then reports it). Where ``/proc`` is missing: to the process group.

    Returns False when the job (its supervisor) no longer exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    pids = descendants(pid)
    if pids is None:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for p in pids or [pid]:  # none yet (started a moment ago): the supervisor itself
        try:
            os.kill(p, sig)
        except (ProcessLookupError, PermissionError):
            pass
    return True


def fork_supervised(close_in_supervisor: list[int]) -> None:
    """Called right after ``os.setsid()`` in a process that is to run a training job: fork; return in the child (the
    entry point, a member of this session and group but not its leader); in this process supervise the child and
    exit as it did (never return). ``close_in_supervisor``: descriptors the supervisor must not hold (the job's
    stdout/stderr and status pipes, so that they close when the job's processes end)."""
    become_subreaper()
    previous = {s: signal.getsignal(s) for s in FORWARDED}
    me = os.getpid()

    def forward(signum, frame):  # noqa: ARG001
        for p in descendants(me) or ():
            try:
                if os.getpgid(p) != me:  # the group itself got it from killpg already
                    os.kill(p, signum)
            except (ProcessLookupError, PermissionError):
                pass

    for s in FORWARDED:  # before the fork: a signal arriving in between must not kill the supervisor
        signal.signal(s, forward)
    child = os.fork()
    if child == 0:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        return
    try:
        for fd in close_in_supervisor:
            try:
                os.close(fd)
            except OSError:
                pass
        status = _wait_for(child)
        _end_all(me)
    except BaseException:  # noqa: BLE001 - the supervisor never returns into the job's code
        status = 1 << 8
    _exit_as(status)


def _wait_for(child: int) -> int:
    """Reap until ``child`` ends (reaping re-parented orphans on the way); its wait status."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1 << 8
        if pid == child:
            return status


def _end_all(me: int) -> None:
    """SIGKILL every descendant left and reap them all (orphans come back to this subreaper), until none is left.

    Reaping comes first: with no child left there is no descendant either (an orphan is re-parented to this
    subreaper before its parent's end is reported), so most jobs end without reading ``/proc``."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return  # no child left: everything the job started is gone
        pids = descendants(me)
        if pids is None:  # no /proc: the runner's stop ends the process group, as before
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)


def _exit_as(status: int) -> None:
    """Exit with the wait status ``status``: the same exit code, or death by the same signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            if sig != signal.SIGKILL:
                signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
            time.sleep(1)
        except (OSError, ValueError):
            pass
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def main(argv: list[str]) -> None:
    """``_supervisor.py PROGRAM ARG...``: run the program (looked up on the environment's PATH) supervised."""
    fork_supervised([0, 1, 2])
    try:
        os.execvpe(argv[0], argv, os.environ)
    except OSError as e:
        os.write(2, f"amtlocal: cannot run {argv[0]!r}: {e}\n".encode())
        os._exit(127)


if __name__ == "__main__":
    main(sys.argv[1:])
