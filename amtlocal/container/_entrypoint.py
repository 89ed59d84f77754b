"""A training job whose request names its own ``AlgorithmSpecification.ContainerEntrypoint`` (SDK v3's ModelTrainer).

SageMaker runs ``ContainerEntrypoint + ContainerArguments`` in place of the image's entry point, so the image's
sagemaker-training-toolkit never runs: no ``sagemaker_program``, no toolkit argv, no toolkit ``SM_*``. What the
process gets is the platform's part only: the ``/opt/ml`` tree (``input/config/{hyperparameters,inputdataconfig,
resourceconfig}.json``, each channel at ``input/data/<channel>``, ``model/``, ``output/``) and the platform's
environment (``TRAINING_JOB_NAME``, ``TRAINING_JOB_ARN``, the request's ``Environment``).

SDK v3 (sagemaker-train 1.27, ``model_trainer.py`` ``_create_training_job_args``) sends
``ContainerEntrypoint ["/bin/bash"]``, ``ContainerArguments ["-c", "chmod +x /opt/ml/input/data/sm_drivers/
sm_train.sh && /opt/ml/input/data/sm_drivers/sm_train.sh"]`` (``constants.py`` ``DEFAULT_CONTAINER_*``) with two
channels of its own: ``code`` (``SourceCode.source_dir``) and ``sm_drivers`` (the SDK's ``container_drivers/``
folder, ``sourcecode.json``, ``distributed.json`` and the generated ``sm_train.sh``). ``sm_train.sh`` then writes the
``SM_*`` variables from the config files (``scripts/environment.py``), ``cd``'s to the code channel, installs
``SourceCode.requirements`` and runs ``SourceCode.command`` or ``distributed_drivers/basic_script_driver.py``.

Locally the job runs exactly that argv, the SDK's own shipped scripts included, inside the job's private ``/opt/ml``
mount namespace (``_optml.py``): those scripts name ``/opt/ml`` paths only, so it is the one faithful way. Where the
namespace cannot be made the request is rejected before anything starts. Differences, each for the tuner's sake:

- ``python3``/``pip3`` on ``PATH`` are the tuner's Python (its ``bin`` folder goes first), as the image's are there;
- the ``code`` and ``sm_drivers`` channels are copied into the job folder (the driver ``chmod``'s and extracts there);
  other channels are linked, as for every local job;
- ``SourceCode.requirements``: amtlocal installs ``requirements.txt`` into its cached overlay first
  (``_requirements.py``) and puts it on ``PYTHONPATH``, so the driver's own ``pip install -r`` finds everything
  satisfied and the tuner's environment is never changed; another file name is rejected (it would install into the
  tuner's environment).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from amtlocal.container import _carry as carry
from amtlocal.exceptions import AmtValidationError
from amtlocal.spec.placeholders import training_job_arn

from ._paths import optml_support
from ._requirements import REQUIREMENTS_FILE
from ._script_mode import ScriptModeJob, _channels, _output_and_checkpoint

#: Channels an SDK v3 ModelTrainer adds (sagemaker-train ``constants.py``: ``SM_CODE``, ``SM_DRIVERS``): copied, not
#: linked, into the job folder.
COPIED_CHANNELS = ("code", "sm_drivers")


def has_container_entrypoint(definition: dict) -> bool:
    """Whether a training job definition names ``AlgorithmSpecification.ContainerEntrypoint``."""
    return bool((definition.get("AlgorithmSpecification") or {}).get("ContainerEntrypoint"))


@dataclass
class ContainerEntrypointJob(ScriptModeJob):
    """A :class:`ScriptModeJob` whose process is the request's ``ContainerEntrypoint + ContainerArguments``.

    ``command`` holds that argv; ``code_source`` is None (no toolkit unpacks code: the code comes as a channel), so
    the runners start it as a new process. ``program`` is the entry script named in the ``sm_drivers`` channel's
    ``sourcecode.json`` (``""`` for a ``SourceCode.command``). ``installs_requirements``: ``SourceCode.requirements``
    is set (``requirements.txt``: ``prepare_job_container`` installs it into the overlay first; without it nothing is
    installed, as the driver installs nothing). ``needs_optml``: the job always runs inside its ``/opt/ml``
    namespace.
    """

    source_code: dict | None = None
    installs_requirements: bool = False
    needs_optml: ClassVar[bool] = True

    @property
    def first_on_path(self) -> str:
        """The tuner's Python's folder, first on the job's ``PATH`` (``sm_train.sh``'s ``command -v python3``)."""
        return str(Path(sys.executable).parent)

    @classmethod
    def from_definition(
        cls, definition: dict, base_dir: Path, path: str = "TrainingJobDefinition", home: Path | None = None
    ) -> ScriptModeJob:
        """Resolve a definition with ``AlgorithmSpecification.ContainerEntrypoint`` for a local run (``s3://``
        channels, SDK v3's ``code`` and ``sm_drivers`` prefixes among them, fetched into ``home``'s S3 cache).

        Raises:
            AmtValidationError: ``/opt/ml`` cannot be shown here; a missing local channel path; a
                ``SourceCode.requirements`` file other than ``requirements.txt``.
        """
        algo = definition.get("AlgorithmSpecification") or {}
        field = f"{path}.AlgorithmSpecification.ContainerEntrypoint"
        support = optml_support()
        if not support.available:
            raise AmtValidationError(
                field,
                "a container entry point runs with the job's folder at /opt/ml, which amtlocal cannot show here "
                f"({support.reason})",
            )
        carry.check_hyperparameters(definition, path)
        carry.check_environment(definition, path)
        channels, idc = _channels(definition, base_dir, path, home)
        output, checkpoint = _output_and_checkpoint(definition, base_dir, path)
        source_code = _source_code(channels.get("sm_drivers"))
        requirements = (source_code or {}).get("requirements")
        if requirements and requirements != REQUIREMENTS_FILE:
            raise AmtValidationError(
                f"{path}.InputDataConfig[sm_drivers]",
                f"SourceCode.requirements {requirements!r}: the local backend installs a file named "
                f"{REQUIREMENTS_FILE} only (into its overlay, so the tuner's environment is never changed)",
            )
        entry = str((source_code or {}).get("entry_script") or "")
        rc = definition.get("ResourceConfig") or definition.get("HyperParameterTuningResourceConfig") or {}
        return cls(
            None,
            entry,
            channels,
            idc,
            rc.get("InstanceType", "ml.m5.large"),
            dict(definition.get("Environment") or {}),
            output,
            checkpoint,
            Path(base_dir),
            command=[*map(str, algo["ContainerEntrypoint"]), *map(str, algo.get("ContainerArguments") or [])],
            source_code=source_code,
            installs_requirements=bool(requirements),
        )

    def prepare(
        self, job_dir: Path, job_name: str, wire_hyperparameters: dict[str, str]
    ) -> tuple[list[str], dict[str, str], Path]:
        """Lay out ``job_dir`` as /opt/ml (as :meth:`ScriptModeJob.prepare`, with the ``code`` and ``sm_drivers``
        channels copied) and return ``(argv, env, cwd)``: the entry point's argv, the platform's environment (no
        ``SM_*``: the container's own scripts set them), and the code channel's folder (``/opt/ml/input/data/code``,
        where ``sm_train.sh`` works) or the job folder when there is none."""
        argv, _toolkit_env, _cwd = super().prepare(job_dir, job_name, wire_hyperparameters)
        data_dir = Path(job_dir) / "input" / "data"
        for name in COPIED_CHANNELS:
            src = self.channels.get(name)
            target = data_dir / name
            if src is None or not target.is_symlink():
                continue  # absent, or copied already (a retried job keeps its folder)
            target.unlink()
            if src.is_dir():
                shutil.copytree(src, target, symlinks=False)
            else:
                target.mkdir()
                shutil.copy2(src, target / src.name)
        env = self.base_environment()
        env["PATH"] = os.pathsep.join([self.first_on_path, *filter(None, [env.get("PATH")])])
        env["TRAINING_JOB_NAME"] = job_name
        env["TRAINING_JOB_ARN"] = training_job_arn(job_name)
        cwd = data_dir / "code" if "code" in self.channels else Path(job_dir)
        return argv, env, cwd


def _source_code(sm_drivers: Path | None) -> dict | None:
    """The ``sourcecode.json`` an SDK v3 ModelTrainer writes in its ``sm_drivers`` channel, or None."""
    if sm_drivers is None or not (sm_drivers / "sourcecode.json").is_file():
        return None
    try:
        data = json.loads((sm_drivers / "sourcecode.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
