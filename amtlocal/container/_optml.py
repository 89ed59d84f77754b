"""A private mount namespace per training job that shows the job's own folder at ``/opt/ml`` (Linux only).

Scripts written for SageMaker's container often hardcode ``/opt/ml/model``, ``/opt/ml/input/data/<channel>``,
``/opt/ml/input/config/hyperparameters.json``, ``/opt/ml/output`` or ``/opt/ml/checkpoints``. Locally each training
job has its own folder laid out as ``/opt/ml`` (``amtlocal/container/_script_mode.py``); here the job's process gets its
own view of the file system in which that folder *is* ``/opt/ml``:

1. ``unshare(CLONE_NEWNS)`` (as root), or ``unshare(CLONE_NEWUSER | CLONE_NEWNS)`` with the caller's uid and gid
   mapped to themselves (any user, where the kernel allows unprivileged user namespaces);
2. every mount made private (``MS_REC | MS_PRIVATE`` on ``/``), so nothing done next propagates to the host;
3. ``/opt/ml`` exists: the job folder is bind-mounted over it. Otherwise ``/opt`` is covered by a small tmpfs in
   which each original entry of ``/opt`` is bound back (symlinks recreated), ``/opt/ml`` made and the job folder
   bound there, and the tmpfs remounted read-only (as ``/opt`` normally is for a user). ``/opt`` missing altogether:
   not supported (making it would change the host).

Nothing is created or mounted on the host: the namespace ends with the job's last process. Parallel jobs each have
their own namespace and so each see only their own folder at ``/opt/ml``.

This file imports only the standard library and nothing of amtlocal, so the fork server's zygote (a plain script)
and the ``_optml_exec.py`` wrapper (run with ``python -I -S``) can load it by path without importing amtlocal.
Errors are :class:`OSError` with a message saying which step the kernel refused; the package's public face turns
them into :class:`amtlocal.exceptions.OptMlUnavailable`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import stat
import sys

OPT = "/opt"
OPT_ML = "/opt/ml"

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18

_libc = None


def _lib():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        _libc.unshare.argtypes = [ctypes.c_int]
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    return _libc


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


# What a refusal usually means, for the message (the kernel's own words are kept before it).
_HINTS = {
    errno.ENOSPC: "the limit of user namespaces is reached (sysctl user.max_user_namespaces; 0 disables them)",
    errno.EPERM: "unprivileged user namespaces are disabled here (sysctl kernel.unprivileged_userns_clone, "
    "kernel.apparmor_restrict_unprivileged_userns, or a container's seccomp profile)",
    errno.EINVAL: "the calling process has more than one thread",
}


def _unshare(flags: int) -> None:
    if _lib().unshare(flags) != 0:
        e = ctypes.get_errno()
        hint = _HINTS.get(e) if flags & _CLONE_NEWUSER or e == errno.EINVAL else None
        raise OSError(e, f"unshare({_flag_names(flags)}) refused: {os.strerror(e)}" + (f"; {hint}" if hint else ""))


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    if _lib().mount(_b(source), _b(target), _b(fstype), flags, _b(data)) != 0:
        e = ctypes.get_errno()
        raise OSError(
            e, f"mount({source!r} on {target!r}, type {fstype!r}, flags {flags:#x}) refused: {os.strerror(e)}"
        )


def _flag_names(flags: int) -> str:
    names = [n for n, f in (("CLONE_NEWUSER", _CLONE_NEWUSER), ("CLONE_NEWNS", _CLONE_NEWNS)) if flags & f]
    return " | ".join(names)


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _new_namespace() -> None:
    """Enter a new mount namespace, with a user namespace too when not root (or when root may not unshare)."""
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, f"mount namespaces are a Linux feature (this is {sys.platform})")
    uid, gid = os.geteuid(), os.getegid()
    if uid == 0:
        try:
            _unshare(_CLONE_NEWNS)
            return
        except OSError as e:  # root without CAP_SYS_ADMIN (a container): try as an unprivileged user would
            if e.errno != errno.EPERM:
                raise
    _unshare(_CLONE_NEWUSER | _CLONE_NEWNS)
    # The same ids inside as outside: files the job writes belong to the user, getuid() is unchanged.
    _write("/proc/self/setgroups", "deny")  # required before an unprivileged gid_map
    _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
    _write("/proc/self/gid_map", f"{gid} {gid} 1\n")


def _cover_opt() -> None:
    """Cover /opt with a tmpfs holding the original entries bound back, plus an empty ``ml`` folder."""
    st = os.stat(OPT)
    entries = sorted(os.listdir(OPT))
    old = os.open(OPT, os.O_PATH | os.O_DIRECTORY)  # the original /opt, still reachable once covered
    try:
        _mount("tmpfs", OPT, "tmpfs", _MS_NOSUID | _MS_NODEV, f"mode={st.st_mode & 0o7777:o},size=64k")
        for name in entries:
            src = f"/proc/self/fd/{old}/{name}"
            dst = f"{OPT}/{name}"
            try:
                est = os.stat(name, dir_fd=old, follow_symlinks=False)
            except FileNotFoundError:  # removed meanwhile
                continue
            if stat.S_ISLNK(est.st_mode):
                os.symlink(os.readlink(name, dir_fd=old), dst)
                continue
            if stat.S_ISDIR(est.st_mode):
                os.mkdir(dst)
            elif stat.S_ISREG(est.st_mode):
                os.close(os.open(dst, os.O_CREAT | os.O_WRONLY, 0o600))
            else:  # sockets, fifos, devices in /opt: left out of the job's view
                continue
            _mount(src, dst, None, _MS_BIND | _MS_REC)
        os.mkdir(OPT_ML, 0o755)
    finally:
        os.close(old)


def enter_job_namespace(job_dir: str | os.PathLike) -> None:
    """Make ``job_dir`` appear at ``/opt/ml`` for this process and every process it starts from now on.

    Must be called in a single-threaded process (the kernel refuses ``unshare`` of the mount namespace otherwise):
    a freshly forked child before it runs the job, or the ``_optml_exec`` wrapper before it execs. Changes nothing
    outside the calling process: the mounts live in its private namespace and vanish with its last process.

    Args:
        job_dir: the training job's folder (``model/``, ``input/``, ``output/``, ``code/``, ``checkpoints/``...).

    Raises:
        OSError: not Linux, the kernel refused a step (``unshare``, ``mount``; the message names it), ``/opt``
            does not exist, or ``job_dir`` is not a folder.
    """
    job_dir = os.path.abspath(os.fspath(job_dir))
    if not os.path.isdir(job_dir):
        raise OSError(errno.ENOENT, f"job folder {job_dir!r} is not a folder")
    _new_namespace()
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # before anything else: nothing may propagate to the host
    if os.path.isdir(OPT_ML):
        _mount(job_dir, OPT_ML, None, _MS_BIND | _MS_REC)
        return
    if not os.path.isdir(OPT):
        raise OSError(errno.ENOENT, f"{OPT} does not exist, and making it would change the host")
    _cover_opt()
    _mount(job_dir, OPT_ML, None, _MS_BIND | _MS_REC)
    try:  # read-only like the real /opt for a user: a script cannot leave files in the job's view of /opt
        _mount(None, OPT, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    except OSError:
        pass
