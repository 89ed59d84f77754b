"""SageMaker's script-mode container, reproduced for local runs: everything between a training job's request and its
script's process (the runners start the process; the local backend schedules and records jobs).

- the script-mode contract (:class:`ScriptModeJob`): the job folder laid out as ``/opt/ml``, the entry point's argv
  and the ``SM_*`` environment as sagemaker-training-toolkit builds them;
- a request's own ``AlgorithmSpecification.ContainerEntrypoint`` (:class:`ContainerEntrypointJob`, SDK v3's
  ModelTrainer): that argv run in the job's ``/opt/ml`` with the platform's environment only, so the SDK's shipped
  ``sm_train.sh`` and drivers set ``SM_*`` and run the script as in SageMaker (``ScriptModeJob.from_definition``
  returns one for such a definition);
- ``requirements.txt`` in the code folder installed as the framework containers install it, into a cached overlay
  that leaves the tuner's environment unchanged (:func:`ensure_requirements`; a fork server serving the jobs must
  start with that overlay first on its own ``sys.path``: :func:`requirements_sys_path`);
- the job's own folder shown at ``/opt/ml`` where the OS allows it without privileges (a private mount namespace per
  job on Linux: :func:`enter_job_namespace` for a forked child, :func:`optml_exec_argv` for a new process), and the
  FailureReason naming the ``SM_*`` variable to use where it does not (:func:`optml_failure_reason`);
- output packed as SageMaker uploads it (:func:`pack_output`) and checkpoints synced as it syncs them
  (:class:`CheckpointSync`).

None of them starts a training job. A runner uses them in this order:

1. after ``ScriptModeJob.prepare`` laid out the job folder: ``sync = CheckpointSync(request["CheckpointConfig"],
   job_dir, base_dir)`` and ``sync.restore()`` when the request has a ``CheckpointConfig``;
2. ``c = prepare_job_container(job_dir, code_dir, program, argv, env, home, install_timeout=...)``; write ``c.log``
   first in the job's log; if ``c.failure_reason``: the job is Failed with it, nothing starts;
3. new process: ``Popen(c.argv, env=c.env, cwd=code_dir, start_new_session=True, ...)`` (the wrapper in ``c.argv``
   execs the script in the same process; exit status :data:`EXIT_CANNOT_ENTER` with the reason on stderr if the
   kernel refused after all); fork server (one whose zygote started with ``c.sys_path`` first on its own
   ``sys.path``: :func:`requirements_sys_path`): send ``c.env`` and ``c.optml_dir``/``c.sys_path`` with the request; the
   child, after ``setsid`` and before running the script, calls ``enter_job_namespace(c.optml_dir)`` when it is set
   (the zygote, importing no amtlocal, loads :data:`OPTML_MODULE_FILE` by path once and calls its function of the
   same name; on ``OSError`` the child writes it to stderr and exits 126 without running the script) and puts
   ``c.sys_path`` first on ``sys.path``;
4. ``sync.start()`` once it runs, ``sync.stop()`` once its processes ended (any status);
5. Completed or Stopped: ``pack_output(job_dir, request["OutputDataConfig"]["S3OutputPath"], job_name, base_dir)``;
   its ``model_artifacts`` is DescribeTrainingJob's ``ModelArtifacts.S3ModelArtifacts``.
"""

from amtlocal.container._carry import check_range_values
from amtlocal.container._entrypoint import ContainerEntrypointJob, has_container_entrypoint
from amtlocal.container._job import JobContainer, prepare_job_container
from amtlocal.container._locations import output_goes_to_s3
from amtlocal.container._output import (
    DEFAULT_CHECKPOINT_LOCAL_PATH,
    CheckpointSync,
    OutputArtifacts,
    checkpoint_local_dir,
    pack_output,
    resolve_local_location,
)
from amtlocal.container._paths import (
    EXIT_CANNOT_ENTER,
    OPTML_EXEC_FILE,
    OPTML_MODULE_FILE,
    OptMlSupport,
    enter_job_namespace,
    optml_environment,
    optml_exec_argv,
    optml_failure_reason,
    optml_support,
    scan_optml_paths,
    sm_variable_for,
)
from amtlocal.container._requirements import (
    RequirementsEnvironment,
    ensure_requirements,
    has_requirements,
    requirements_key,
    requirements_sys_path,
)
from amtlocal.container._script_mode import (
    RESERVED_HYPERPARAMETERS,
    SCRUBBED_ENVIRONMENT,
    ScriptModeJob,
    split_hyperparameters,
    to_cmd_args,
)

__all__ = [
    "check_range_values",
    "ContainerEntrypointJob",
    "has_container_entrypoint",
    "RESERVED_HYPERPARAMETERS",
    "SCRUBBED_ENVIRONMENT",
    "ScriptModeJob",
    "split_hyperparameters",
    "to_cmd_args",
    "DEFAULT_CHECKPOINT_LOCAL_PATH",
    "EXIT_CANNOT_ENTER",
    "OPTML_EXEC_FILE",
    "OPTML_MODULE_FILE",
    "CheckpointSync",
    "JobContainer",
    "OptMlSupport",
    "OutputArtifacts",
    "RequirementsEnvironment",
    "checkpoint_local_dir",
    "ensure_requirements",
    "enter_job_namespace",
    "has_requirements",
    "optml_environment",
    "optml_exec_argv",
    "optml_failure_reason",
    "optml_support",
    "output_goes_to_s3",
    "pack_output",
    "prepare_job_container",
    "requirements_key",
    "requirements_sys_path",
    "resolve_local_location",
    "scan_optml_paths",
    "sm_variable_for",
]
