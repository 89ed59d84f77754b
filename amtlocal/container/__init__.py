"""What SageMaker's script-mode container adds around a training job, reproduced for local runs.

- ``requirements.txt`` in the code folder installed as the framework containers install it, into a cached overlay
  that leaves the tuner's environment unchanged (:func:`ensure_requirements`);
- the job's own folder shown at ``/opt/ml`` where the OS allows it without privileges (a private mount namespace per
  job on Linux: :func:`enter_job_namespace` for a forked child, :func:`optml_exec_argv` for a new process), and the
  FailureReason naming the ``SM_*`` variable to use where it does not (:func:`optml_failure_reason`);
- output packed as SageMaker uploads it (:func:`pack_output`) and checkpoints synced as it syncs them
  (:class:`CheckpointSync`).

The runners call these; none of them starts a training job itself.
"""
from amtlocal.container._output import (DEFAULT_CHECKPOINT_LOCAL_PATH, CheckpointSync, OutputArtifacts,
                                        checkpoint_local_dir, pack_output, resolve_local_location)
from amtlocal.container._paths import (EXIT_CANNOT_ENTER, OPTML_EXEC_FILE, OPTML_MODULE_FILE, OptMlSupport,
                                       enter_job_namespace, optml_exec_argv, optml_failure_reason, optml_support,
                                       scan_optml_paths, sm_variable_for)
from amtlocal.container._requirements import (RequirementsEnvironment, ensure_requirements, has_requirements,
                                              requirements_key)

__all__ = [
    "DEFAULT_CHECKPOINT_LOCAL_PATH", "EXIT_CANNOT_ENTER", "OPTML_EXEC_FILE", "OPTML_MODULE_FILE", "CheckpointSync",
    "OptMlSupport", "OutputArtifacts", "RequirementsEnvironment", "checkpoint_local_dir", "ensure_requirements",
    "enter_job_namespace", "has_requirements", "optml_exec_argv", "optml_failure_reason", "optml_support",
    "pack_output", "requirements_key", "resolve_local_location", "scan_optml_paths", "sm_variable_for",
]
