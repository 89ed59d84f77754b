"""SageMaker's container paths for the runners: whether ``/opt/ml`` can be shown here, how, and the failure if not.

The namespace itself is made by ``_optml.py`` (standard library only, loadable by path); this module is the
package-side face: a cached probe, the argv wrapper for new processes, and the FailureReason for scripts that
hardcode ``/opt/ml`` where it cannot be shown.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from amtlocal.exceptions import OptMlUnavailable

from . import _optml

#: The stdlib-only module making the namespace; the fork server's zygote loads it by path (it imports no amtlocal).
OPTML_MODULE_FILE = str(Path(_optml.__file__).resolve())
#: The wrapper script for new processes (see :func:`optml_exec_argv`).
OPTML_EXEC_FILE = str(Path(__file__).with_name("_optml_exec.py").resolve())
#: Exit status of the wrapper when the namespace could not be entered (its reason is on stderr).
EXIT_CANNOT_ENTER = 126

# Longest prefix first: the SM_* variable (sagemaker-training-toolkit ENVIRONMENT_VARIABLES.md) a script should read.
_SM_VARIABLES = [
    ("/opt/ml/input/config/hyperparameters.json", "SM_HPS (or the command-line arguments)"),
    ("/opt/ml/input/config/inputdataconfig.json", "SM_INPUT_DATA_CONFIG"),
    ("/opt/ml/input/config/resourceconfig.json", "SM_RESOURCE_CONFIG"),
    ("/opt/ml/input/config", "SM_INPUT_CONFIG_DIR"),
    ("/opt/ml/input/data/", "SM_CHANNEL_<CHANNEL>"),
    ("/opt/ml/input", "SM_INPUT_DIR"),
    ("/opt/ml/output/data", "SM_OUTPUT_DATA_DIR"),
    ("/opt/ml/output/intermediate", "SM_OUTPUT_INTERMEDIATE_DIR"),
    ("/opt/ml/output", "SM_OUTPUT_DIR"),
    ("/opt/ml/model", "SM_MODEL_DIR"),
    ("/opt/ml/code", "SM_MODULE_DIR"),
    ("/opt/ml/checkpoints", "a checkpoint folder passed as a hyperparameter"),
    ("/opt/ml", "the SM_* variables"),
]
_PATH_RE = re.compile(r"/opt/ml(?:/[A-Za-z0-9_.\-]+)*")
_SCANNED_SUFFIXES = (".py", ".sh", ".json", ".yaml", ".yml", ".cfg", ".ini", ".toml")
_SCAN_MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class OptMlSupport:
    """Whether training jobs can see their own folder at ``/opt/ml`` on this machine, for this user.

    Attributes:
        available: True when a private mount namespace showing the job folder at ``/opt/ml`` can be made.
        reason: why not (empty when available), e.g. ``unshare(CLONE_NEWUSER | CLONE_NEWNS) refused: ...``.
    """

    available: bool
    reason: str


@functools.lru_cache(maxsize=1)
def optml_support() -> OptMlSupport:
    """Probe (once per process, about 30 ms on Linux) whether ``/opt/ml`` can be shown to jobs here.

    Linux only; runs the wrapper's ``--probe`` in a child process (the probe enters a namespace, which a
    multi-threaded caller could not do in itself). Never raises.
    """
    if not sys.platform.startswith("linux"):
        return OptMlSupport(False, f"private mount namespaces need Linux; this is {sys.platform}")
    try:
        proc = subprocess.run(
            [sys.executable, "-I", "-S", OPTML_EXEC_FILE, "--probe"],
            capture_output=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return OptMlSupport(False, f"the /opt/ml probe did not run: {e}")
    if proc.returncode == 0:
        return OptMlSupport(True, "")
    text = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
    return OptMlSupport(False, text[-1] if text else f"the /opt/ml probe exited with status {proc.returncode}")


def enter_job_namespace(job_dir: str | os.PathLike) -> None:
    """Show ``job_dir`` at ``/opt/ml`` to the calling process and everything it starts (fork-server path).

    Call it in the freshly forked, still single-threaded child, after ``setsid`` and before ``chdir``/running the
    script; the mounts vanish with the job's last process and nothing changes on the host. The zygote, which imports
    no amtlocal, can instead load :data:`OPTML_MODULE_FILE` by path and call its ``enter_job_namespace`` (same
    behaviour, raising plain ``OSError``).

    Raises:
        OptMlUnavailable: not Linux, or the kernel refused (the message names the refused step).
    """
    try:
        _optml.enter_job_namespace(job_dir)
    except OSError as e:
        err = OptMlUnavailable(f"cannot show the job folder at /opt/ml: {e.strerror or e}")
        err.errno = e.errno  # the message stays one clean sentence; the code is still there for callers
        raise err from e


def optml_exec_argv(job_dir: str | os.PathLike, argv: list[str]) -> list[str]:
    """The argv that runs ``argv`` with ``job_dir`` shown at ``/opt/ml`` (new-process path).

    ``[sys.executable, "-I", "-S", <_optml_exec.py>, job_dir, "--", *argv]``: the wrapper enters the namespace and
    ``execvp``'s ``argv`` in the same process (same pid, session, process group, environment, working folder), so
    Popen's ``start_new_session``, ``wait`` and signals behave as without it. ``argv[0]`` is looked up on ``PATH``
    as ``execvp`` does. If the namespace cannot be entered the wrapper prints
    ``amtlocal: cannot show the job folder at /opt/ml: <why>`` on stderr and exits with :data:`EXIT_CANNOT_ENTER`.
    """
    return [sys.executable, "-I", "-S", OPTML_EXEC_FILE, str(Path(job_dir).resolve()), "--", *argv]


def optml_environment(env: dict[str, str], job_dir: str | os.PathLike) -> dict[str, str]:
    """``env`` with the job folder's host path replaced by ``/opt/ml`` in every ``SM_*`` value (``SM_MODEL_DIR``,
    ``SM_CHANNEL_*``, ``SM_TRAINING_ENV``...), and ``SAGEMAKER_BASE_DIR`` dropped: the values SageMaker itself sets.
    Only for a job that runs inside its ``/opt/ml`` namespace (a new dict; ``env`` is unchanged)."""
    roots = sorted({str(Path(job_dir)), str(Path(job_dir).resolve())}, key=len, reverse=True)
    pattern = re.compile("(?:" + "|".join(map(re.escape, roots)) + r")(?=[/\"\],]|$)")
    out = {}
    for key, value in env.items():
        if key == "SAGEMAKER_BASE_DIR":
            continue
        out[key] = pattern.sub("/opt/ml", value) if key.startswith("SM_") else value
    return out


def scan_optml_paths(code_dir: str | os.PathLike) -> list[tuple[str, int, str]]:
    """Where the code folder uses a path under ``/opt/ml``: ``[(relative file, line, path), ...]``, in file order.

    In Python files only string literals count, and not those that cannot reach the file system without
    ``/opt/ml``: docstrings, and the fallback of ``os.environ.get("SM_...", "/opt/ml/...")`` /
    ``os.getenv("SM_...", ...)`` (amtlocal sets every ``SM_*`` variable SageMaker sets, so the fallback is never
    used). Comments never count. Shell scripts: lines outside comments; config files (``.json``, ``.yaml``, ``.cfg``,
    ``.ini``, ``.toml``): every line.
    """
    root = Path(code_dir)
    hits: list[tuple[str, int, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", ".git", ".venv"))
        for name in sorted(filenames):
            if not name.endswith(_SCANNED_SUFFIXES):
                continue
            p = Path(dirpath) / name
            try:
                if p.stat().st_size > _SCAN_MAX_BYTES:
                    continue
                text = p.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if "/opt/ml" not in text:
                continue
            rel = str(p.relative_to(root))
            found = _python_hits(text) if name.endswith(".py") else None
            if found is None:  # not Python, or Python that does not parse: line by line, comments left out
                found = []
                for lineno, line in enumerate(text.splitlines(), 1):
                    if name.endswith((".py", ".sh")):
                        line = line.split("#", 1)[0] if line.lstrip().startswith("#") or " #" in line else line
                    found.extend((lineno, m.group(0)) for m in _PATH_RE.finditer(line))
            hits.extend((rel, lineno, path) for lineno, path in found)
    return hits


def _python_hits(source: str) -> list[tuple[int, str]] | None:
    """``(line, path)`` of string literals naming ``/opt/ml`` paths (see :func:`scan_optml_paths`); None if the
    source does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))  # a docstring
        if isinstance(node, ast.Call) and len(node.args) >= 2 and _is_env_get(node.func):
            key = node.args[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.startswith("SM_"):
                for sub in ast.walk(node.args[1]):
                    skip.add(id(sub))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            found.extend((node.lineno, m.group(0)) for m in _PATH_RE.finditer(node.value))
    return sorted(found)


def _is_env_get(func: ast.AST) -> bool:
    """``os.environ.get`` / ``environ.get`` / ``os.getenv`` / ``getenv``."""
    if isinstance(func, ast.Attribute):
        if func.attr == "getenv":
            return True
        if func.attr == "get":
            v = func.value
            return (isinstance(v, ast.Attribute) and v.attr == "environ") or (
                isinstance(v, ast.Name) and v.id == "environ"
            )
        return False
    return isinstance(func, ast.Name) and func.id == "getenv"


def sm_variable_for(path: str) -> str:
    """The ``SM_*`` variable to read instead of a hardcoded container path (``/opt/ml/model`` -> ``SM_MODEL_DIR``,
    ``/opt/ml/input/data/train`` -> ``SM_CHANNEL_TRAIN``)."""
    for prefix, variable in _SM_VARIABLES:
        if (
            path == prefix
            or path.startswith(prefix.rstrip("/") + "/")
            or (prefix.endswith("/") and path.startswith(prefix))
        ):
            if variable == "SM_CHANNEL_<CHANNEL>":
                channel = path[len(prefix) :].split("/", 1)[0]
                return f"SM_CHANNEL_{channel.upper()}" if channel else "SM_CHANNEL_<CHANNEL>"
            return variable
    return "the SM_* variables"


def optml_failure_reason(code_dir: str | os.PathLike, why: str) -> str | None:
    """The FailureReason of a job whose code names ``/opt/ml`` paths where ``/opt/ml`` cannot be shown, else None.

    Args:
        code_dir: the job's code folder (scanned: ``.py``, ``.sh`` and small config files).
        why: :attr:`OptMlSupport.reason`.

    Returns:
        ``ClientError: the script uses SageMaker's container paths, which amtlocal cannot show at /opt/ml here
        (<why>): train.py line 12 uses /opt/ml/model (use os.environ["SM_MODEL_DIR"]); ... Read the SM_* environment
        variables instead; ...`` (each distinct path once with its first place, at most 5), or None when no
        file names ``/opt/ml`` (the job then runs as usual).
    """
    hits = scan_optml_paths(code_dir)
    if not hits:
        return None
    seen: dict[str, tuple[str, int]] = {}
    for file, line, path in hits:
        seen.setdefault(path, (file, line))
    parts = []
    for path, (file, line) in list(seen.items())[:5]:
        var = sm_variable_for(path)
        use = f'os.environ["{var}"]' if var.startswith("SM_") and " " not in var else var
        parts.append(f"{file} line {line} uses {path} (use {use})")
    return (
        "ClientError: the script uses SageMaker's container paths, which amtlocal cannot show at /opt/ml here ("
        + why
        + "): "
        + "; ".join(parts)
        + ". Read the SM_* environment variables instead; they name the job's "
        "folders on every platform."
    )
