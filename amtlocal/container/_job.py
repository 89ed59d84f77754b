"""One call for a runner: everything the container adds before a training job's script starts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from amtlocal.exceptions import RequirementsInstallError

from ._paths import OptMlSupport, optml_environment, optml_exec_argv, optml_failure_reason, optml_support
from ._requirements import ensure_requirements


@dataclass
class JobContainer:
    """How to start one training job so that it sees what SageMaker's script-mode container gives it.

    Attributes:
        failure_reason: when set, the job must not start: it fails at once with this FailureReason (a failed
            ``requirements.txt`` install, or ``/opt/ml`` paths in the code where ``/opt/ml`` cannot be shown).
        log: text to write first in the job's log: pip's output when there is a requirements file (as every
            SageMaker job's log starts with it; for a reused overlay, the output of the install that built it).
        install_reused: True when the requirements overlay existed already (no pip run).
        argv: the argv for the new-process launcher (wrapped to enter ``/opt/ml`` when :attr:`optml_dir` is set).
        env: the job's environment: ``PYTHONPATH``/``PATH`` start with the overlay's folders when there is one;
            inside ``/opt/ml`` the ``SM_*`` folders read ``/opt/ml/...`` as SageMaker sets them
            (:func:`optml_environment`).
        sys_path: folders a forked child puts first on ``sys.path`` (the overlay's site folder), possibly empty.
        optml_dir: the folder a forked child shows at ``/opt/ml`` (``enter_job_namespace(optml_dir)``), or None.
    """

    argv: list[str]
    env: dict[str, str]
    sys_path: list[str] = field(default_factory=list)
    optml_dir: Path | None = None
    log: str = ""
    install_reused: bool = False
    failure_reason: str | None = None


def prepare_job_container(
    job_dir: str | os.PathLike,
    code_dir: str | os.PathLike,
    program: str,
    argv: list[str],
    env: dict[str, str],
    home: str | os.PathLike,
    *,
    optml: bool | OptMlSupport = True,
    install_timeout: float | None = None,
    first_on_path: str | None = None,
    requirements: bool | None = None,
) -> JobContainer:
    """Install ``requirements.txt`` (cached) and arrange ``/opt/ml`` for one job; never starts it.

    Call it after the job folder is laid out (``ScriptModeJob.prepare``: ``code/`` unpacked) and before the
    launcher starts the script. It can take as long as pip does (the first job of a new requirements file).

    Args:
        job_dir: the job's folder (shown at ``/opt/ml``).
        code_dir: its ``code/`` folder (where ``requirements.txt`` is and pip runs).
        program: ``sagemaker_program``; as the toolkit does, requirements are installed for a ``.py`` entry point only.
        argv, env: what ``ScriptModeJob.prepare`` returned.
        home: amtlocal's home folder (overlays live in ``<home>/environments``).
        optml: False to never show ``/opt/ml``; True to probe (:func:`optml_support`, cached per process); or a
            known :class:`OptMlSupport`.
        install_timeout: seconds pip may take (the job's remaining MaxRuntimeInSeconds: in SageMaker the install
            runs inside the job).
        requirements: whether to install ``code_dir/requirements.txt``: None as the toolkit decides (a ``.py``
            ``program``), True/False as the caller decides (a container entry point: ``SourceCode.requirements``).
        first_on_path: a folder to put first on ``PATH``, before the overlay's (a container entry point's
            ``python3`` must be the tuner's Python, not the overlay's pip-less one).

    Returns:
        :class:`JobContainer`. A failed install or an impossible ``/opt/ml`` is reported in its ``failure_reason``
        (with pip's output in ``log``), not raised.
    """
    job_dir, code_dir = Path(job_dir), Path(code_dir)
    out = JobContainer(argv=list(argv), env=dict(env))
    if program.endswith(".py") if requirements is None else requirements:
        try:
            overlay = ensure_requirements(code_dir, home, timeout=install_timeout)
        except RequirementsInstallError as e:
            out.log, out.failure_reason = e.log, e.failure_reason
            return out
        if overlay is not None:
            out.env = overlay.environment(out.env)
            out.sys_path = list(overlay.sys_path)
            out.log, out.install_reused = overlay.log, overlay.reused
    if first_on_path:
        out.env["PATH"] = os.pathsep.join([first_on_path, *filter(None, [out.env.get("PATH")])])
    if optml is False:
        return out
    support = optml if isinstance(optml, OptMlSupport) else optml_support()
    if support.available:
        out.optml_dir = job_dir.resolve()
        out.argv = optml_exec_argv(out.optml_dir, out.argv)
        out.env = optml_environment(out.env, job_dir)
    else:
        out.failure_reason = optml_failure_reason(code_dir, support.reason)
    return out
