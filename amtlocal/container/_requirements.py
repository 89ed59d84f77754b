"""``requirements.txt`` in the code folder, installed as the framework containers install it, into a cached overlay.

In SageMaker a script-mode container whose entry point is a ``.py`` file with a ``requirements.txt`` beside it runs
``<python> -m pip install -r requirements.txt`` in the code folder before the script (sagemaker-training-toolkit,
``entry_point.install`` -> ``modules.install_requirements``); a failure ends the job with
``InstallRequirementsError:\\nExitCode n\\nErrorMessage "<stderr>"\\nCommand "<cmd>"`` (``errors._CalledProcessError``),
which SageMaker reports as ``AlgorithmError: ...``.

Locally the tuner's own environment must never change, so the packages go into an *overlay*: a folder
``<home>/environments/<key>/`` whose ``site-packages`` the job puts first on ``sys.path`` (``PYTHONPATH`` for a new
process, ``sys.path.insert(0, ...)`` in a forked child). pip runs from a throw-away virtual environment (``venv
--without-pip``) that sees the tuner's packages through a ``.pth`` file, so, as in the container, what the tuner's
environment already satisfies is kept and only what is missing or of another version is installed (pip does not
uninstall anything outside that environment: "Not uninstalling ..., outside environment").

The overlay is keyed by (sha256 of) the requirements file's bytes, the bytes of files it includes (``-r``/``-c``),
the content of local folders it names (``./mypkg``), the Python version and platform, and the tuner environment's
location and installed distributions: a second job with the same inputs reuses it without running pip. It is built
in a temporary folder beside its final place and renamed into place under an exclusive ``fcntl`` lock, so two
tuners installing at once neither corrupt it nor both install.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import platform
import shlex
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from amtlocal.exceptions import RequirementsInstallError

log = logging.getLogger(__name__)

REQUIREMENTS_FILE = "requirements.txt"
ENVIRONMENTS_DIR = "environments"
_LOG_NAME = "install.log"
_SKIP_DIRS = {"__pycache__", ".git", "build", "dist", ".venv", ".tox", ".mypy_cache", ".pytest_cache"}
# The toolkit's ErrorMessage is the command's stderr; keep the reason readable (AMT caps FailureReason at 1024).
_ERROR_MESSAGE_CHARS = 700


@dataclass(frozen=True)
class RequirementsEnvironment:
    """An installed ``requirements.txt`` overlay.

    Attributes:
        key: the cache key (64 hex digits).
        path: the overlay folder, ``<home>/environments/<key>``.
        sys_path: folders to put first on the job's ``sys.path`` (``PYTHONPATH``), in order.
        bin_dir: folder of console scripts the packages installed (put first on ``PATH``).
        log: pip's output when the overlay was built (stdout and stderr in order), the first part of the job's log.
        reused: True when the overlay existed already and pip did not run.
    """

    key: str
    path: Path
    sys_path: list[str]
    bin_dir: str
    log: str
    reused: bool

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """``env`` with ``PYTHONPATH`` and ``PATH`` starting with the overlay's folders (a new dict)."""
        out = dict(env)
        out["PYTHONPATH"] = os.pathsep.join([*self.sys_path, *filter(None, [env.get("PYTHONPATH")])])
        out["PATH"] = os.pathsep.join([self.bin_dir, *filter(None, [env.get("PATH")])])
        return out


def has_requirements(code_dir: str | os.PathLike) -> bool:
    """Whether ``code_dir`` holds a ``requirements.txt`` (the toolkit's ``modules.has_requirements``)."""
    return (Path(code_dir) / REQUIREMENTS_FILE).is_file()


def requirements_key(code_dir: str | os.PathLike) -> str:
    """The cache key of ``code_dir/requirements.txt``: sha256 over its bytes and everything that changes what pip
    would install (see the module docstring). Raises FileNotFoundError if there is no requirements file."""
    code_dir = Path(code_dir)
    h = hashlib.sha256()
    h.update(b"amtlocal-requirements-1\0")
    h.update(f"{sys.implementation.cache_tag}\0{platform.python_version()}\0{sysconfig.get_platform()}\0".encode())
    h.update(f"{sys.prefix}\0".encode())
    for d in _base_site_dirs():  # installed distributions (their dist-info names carry the versions)
        try:
            names = sorted(n for n in os.listdir(d) if n.endswith((".dist-info", ".egg-info", ".pth")))
        except OSError:
            names = []
        h.update(f"{d}\0{','.join(names)}\0".encode())
    _hash_requirements_file(h, code_dir / REQUIREMENTS_FILE, code_dir, seen=set())
    return h.hexdigest()


def _hash_requirements_file(h, path: Path, code_dir: Path, seen: set[Path]) -> None:
    path = path.resolve()
    if path in seen:
        return
    seen.add(path)
    data = path.read_bytes()
    h.update(f"file {path.name}\0".encode())  # its name only: each job has its own copy of the code folder
    h.update(data)
    for raw in data.decode("utf-8", errors="replace").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            parts = shlex.split(line)
        except ValueError:  # unbalanced quotes: pip will say so; the key just needs the words
            parts = line.split()
        if len(parts) >= 2 and parts[0] in ("-r", "--requirement", "-c", "--constraint"):
            # pip resolves nested files relative to the file that names them
            _hash_requirements_file(h, path.parent / parts[1], code_dir, seen)
            continue
        target = parts[-1] if parts and parts[0] in ("-e", "--editable") else (parts[0] if parts else "")
        if target.startswith("file://"):
            target = target[len("file://") :]
        elif target.startswith("file:"):
            target = target[len("file:") :]
        if target.startswith(("./", "../", "/")) or target in (".", ".."):
            local = (code_dir / target.split("#", 1)[0].split("[", 1)[0]).resolve()
            _hash_tree(h, local, target)


def _hash_tree(h, root: Path, label: str) -> None:
    """Hash a local package named in the requirements (``label``: as written there): its files' names and bytes
    (not its absolute place: every job has its own copy of the code folder)."""
    if root.is_file():
        h.update(f"local {label}\0".encode())
        h.update(root.read_bytes())
        return
    if not root.is_dir():
        h.update(f"missing {label}\0".encode())
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            h.update(f"local {p.relative_to(root)}\0".encode())
            try:
                h.update(p.read_bytes())
            except OSError:
                pass


def _base_site_dirs() -> list[str]:
    """The tuner environment's site folders, in ``sys.path`` order (what the job's interpreter imports from)."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        dirs.append(site.getusersitepackages())
    return dirs


def _venv_path(kind: str, env_dir: Path) -> Path:
    """A folder of the virtual environment at ``env_dir`` (``purelib``: where pip installs; ``scripts``)."""
    # Python 3.11 names the venv layout "venv"; before, a POSIX venv is laid out as posix_prefix.
    scheme = "venv" if "venv" in sysconfig.get_scheme_names() else ("nt" if os.name == "nt" else "posix_prefix")
    return Path(sysconfig.get_path(kind, scheme=scheme, vars={"base": str(env_dir), "platbase": str(env_dir)}))


def _overlay_site(env_dir: Path) -> Path:
    return _venv_path("purelib", env_dir)


def _overlay_bin(env_dir: Path) -> Path:
    return _venv_path("scripts", env_dir)


def ensure_requirements(
    code_dir: str | os.PathLike, home: str | os.PathLike, *, timeout: float | None = None
) -> RequirementsEnvironment | None:
    """Install ``code_dir/requirements.txt`` into its cached overlay (once), as the framework container would.

    Args:
        code_dir: the job's code folder (``/opt/ml/code``: the unpacked ``sagemaker_submit_directory``). pip runs
            there, so relative paths in the file (``./mypkg``) resolve from it, as in the container.
        home: amtlocal's home folder; overlays live in ``<home>/environments/<key>``.
        timeout: seconds pip may run (None: no limit); on expiry pip is killed and the install fails.

    Returns:
        None when ``code_dir`` has no ``requirements.txt``; else the :class:`RequirementsEnvironment` (``reused``
        tells whether pip ran).

    Raises:
        RequirementsInstallError: pip failed; its ``failure_reason`` is the job's FailureReason as SageMaker shows it
            (``AlgorithmError: InstallRequirementsError:\\nExitCode 1\\nErrorMessage "<pip's stderr>"\\nCommand
            "..."``) and its ``log`` pip's whole output. Nothing is left in the cache, so the next job tries again.
    """
    code_dir = Path(code_dir).resolve()
    if not has_requirements(code_dir):
        return None
    key = requirements_key(code_dir)
    root = Path(home).expanduser().resolve() / ENVIRONMENTS_DIR
    final = root / key
    if final.is_dir():  # the common case: built before, no lock needed (it appeared by an atomic rename)
        return _existing(key, final)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{key}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second installer waits here, then finds the overlay built
        if final.is_dir():
            return _existing(key, final)
        return _build(key, final, code_dir, timeout)


def requirements_sys_path(code_dir: str | os.PathLike, home: str | os.PathLike) -> list[str] | None:
    """The folders a job of ``code_dir`` will put first on ``sys.path`` for its ``requirements.txt``, when known
    without running pip: ``[]`` without a requirements file, the overlay's :attr:`RequirementsEnvironment.sys_path`
    when it is built already (cached in ``<home>/environments``), None when the first job's pip has yet to build it
    (or its install fails). What a fork server must put first on its own ``sys.path`` before importing anything
    (``amtlocal.runners.runner_for``); computing it reads the file and lists the site folders (milliseconds)."""
    code_dir = Path(code_dir)
    if not has_requirements(code_dir):
        return []
    key = requirements_key(code_dir)
    final = Path(home).expanduser().resolve() / ENVIRONMENTS_DIR / key
    return [str(_overlay_site(final))] if final.is_dir() else None


def _existing(key: str, path: Path) -> RequirementsEnvironment:
    try:
        text = (path / _LOG_NAME).read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return RequirementsEnvironment(key, path, [str(_overlay_site(path))], str(_overlay_bin(path)), text, True)


def _build(key: str, final: Path, code_dir: Path, timeout: float | None) -> RequirementsEnvironment:
    for stale in final.parent.glob(f".{key[:16]}-*"):  # left by an installer killed mid-way (we hold the lock)
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key[:16]}-", dir=final.parent))
    try:
        # A venv only to run pip in: its prefix is where pip installs; the tuner's packages are visible through a
        # .pth file (so pip keeps what they satisfy), and the overlay is used by the job's own interpreter.
        venv_cmd = [sys.executable, "-m", "venv", "--without-pip", str(tmp)]
        made = subprocess.run(venv_cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if made.returncode != 0:
            text = made.stdout.decode("utf-8", errors="replace")
            raise RequirementsInstallError(_failure_reason(made.returncode, text, " ".join(venv_cmd)), text)
        site_dir = _overlay_site(tmp)
        site_dir.mkdir(parents=True, exist_ok=True)
        lines = "".join(f"import site; site.addsitedir({d!r})\n" for d in _base_site_dirs())
        (site_dir / "_amtlocal_base.pth").write_text(lines, encoding="utf-8")
        venv_python = _overlay_bin(tmp) / "python"
        cmd = [
            str(venv_python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
            REQUIREMENTS_FILE,
        ]
        shown = f"{sys.executable} -m pip install -r {REQUIREMENTS_FILE}"  # as the toolkit's Command shows it
        log.info("installing %s of %s into %s", REQUIREMENTS_FILE, code_dir, final)
        started = time.monotonic()
        out, err, rc = _run_pip(cmd, code_dir, timeout)
        text = f"Installing dependencies from requirements.txt\n{out}{err}"
        if rc != 0:
            raise RequirementsInstallError(_failure_reason(rc, err, shown), text)
        # The overlay must not carry the tuner-pointing .pth into sys.path twice (the job has those folders already).
        (site_dir / "_amtlocal_base.pth").unlink()
        (tmp / _LOG_NAME).write_text(text, encoding="utf-8")
        _fix_shebangs(_overlay_bin(tmp), str(venv_python))
        os.rename(tmp, final)  # atomic: other jobs see the whole overlay or none
        log.info("installed %s in %.1f s", REQUIREMENTS_FILE, time.monotonic() - started)
        # Paths inside a venv name its folder: the overlay's site folder is recomputed for the final place.
        return RequirementsEnvironment(key, final, [str(_overlay_site(final))], str(_overlay_bin(final)), text, False)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _fix_shebangs(bin_dir: Path, venv_python: str) -> None:
    """Console scripts pip wrote name the temporary venv's python; after the rename they run the job's own."""
    if not bin_dir.is_dir():
        return
    old = f"#!{venv_python}".encode()
    for p in bin_dir.iterdir():
        if p.is_symlink() or not p.is_file():
            continue
        try:
            data = p.read_bytes()
        except OSError:
            continue
        if data.startswith(old + b"\n"):
            p.write_bytes(f"#!{sys.executable}".encode() + data[len(old) :])


def _run_pip(cmd: list[str], cwd: Path, timeout: float | None) -> tuple[str, str, int]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "PIP_TARGET", "PIP_PREFIX", "PIP_USER", "VIRTUAL_ENV")
    }
    env["PIP_NO_WARN_SCRIPT_LOCATION"] = "1"
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", errors="replace")
        err = (e.stderr or b"").decode("utf-8", errors="replace") + f"pip did not finish within {timeout:g} s\n"
        return out, err, -9
    return proc.stdout.decode("utf-8", errors="replace"), proc.stderr.decode("utf-8", errors="replace"), proc.returncode


def _failure_reason(rc: int, stderr: str, command: str) -> str:
    """The FailureReason SageMaker shows for a failed install (toolkit ``errors._CalledProcessError.__str__`` with
    the stderr captured and duplicate lines removed, as ``process.check_error`` does), prefixed ``AlgorithmError:``."""
    lines = [ln for ln in stderr.split("\n") if not ln.startswith("[notice]")]
    message = "\n".join(dict.fromkeys(lines)).strip()
    if len(message) > _ERROR_MESSAGE_CHARS:
        message = "..." + message[-_ERROR_MESSAGE_CHARS:]
    return f'AlgorithmError: InstallRequirementsError:\nExitCode {rc}\nErrorMessage "{message}"\nCommand "{command}"'
