"""The one exception family of amtlocal.

Every error a user can cause derives from :class:`AmtLocalError`; the CLI prints its message on one line and exits
non-zero without a traceback.
"""

from __future__ import annotations


class AmtLocalError(Exception):
    """Base class of every amtlocal error a user can act on."""


class AmtValidationError(AmtLocalError, ValueError):
    """A tuning spec breaks a rule of the SageMaker API or of AMT (AWS's ``ValidationException``).

    Attributes:
        field: dotted path of the offending field in the CreateHyperParameterTuningJob request, e.g.
            ``HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0].MinValue``.
        rule: the rule broken, in words.
    """

    def __init__(self, field: str, rule: str):
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}" if field else rule)


class TuningJobNotFound(AmtLocalError, LookupError):
    """No tuning job of that name in the store (AWS's ``ResourceNotFound``)."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"Tuning job {name!r} not found in the local store")


class CloudTuningJobNotFound(TuningJobNotFound):
    """No tuning job of that name on SageMaker in this account and region (AMT's ``ResourceNotFound``).

    Attributes:
        name: the tuning job name asked for.
        region: the region looked in (None when unknown).
    """

    def __init__(self, name: str, region: str | None = None):
        super().__init__(name)
        self.region = region
        where = f" in {region}" if region else ""
        self.args = (f"Tuning job {name!r} not found on SageMaker{where} (for a local job use --backend local)",)


class TrainingJobNotFound(AmtLocalError, LookupError):
    """No training job of that name, standalone or of a tuning job (AWS's ``ResourceNotFound`` / DescribeTrainingJob's
    "Requested resource not found")."""

    def __init__(self, name: str, where: str = "in the local store"):
        self.name = name
        super().__init__(f"Training job {name!r} not found {where}")


class TrainingJobExists(AmtLocalError):
    """A training job of that name already exists (AWS's ``ResourceInUse``)."""


class TuningJobExists(AmtLocalError):
    """A tuning job of that name already exists with a different spec (AWS's ``ResourceInUse``)."""


class TuningJobBusy(AmtLocalError):
    """Another live tuner process already runs this tuning job."""

    @classmethod
    def running(cls, name: str) -> TuningJobBusy:
        """The error for tuning job ``name``, saying how to follow or stop the tuner that runs it."""
        return cls(
            f"tuning job {name!r} is already running in another tuner process; "
            f"follow it with `amtlocal describe {name}`, or stop it with `amtlocal stop {name}`"
        )


class VizError(AmtLocalError, ValueError):
    """The tuning jobs cannot be drawn together (e.g. different objectives); a ValueError, as amtviz raises."""


class UnexpectedStatusException(AmtLocalError):
    """A waited-for tuning job ended in a status other than Completed (SDK v2's exception of the same name).

    Attributes:
        actual_status: the final ``HyperParameterTuningJobStatus``.
    """

    def __init__(self, message: str, allowed_statuses=("Completed",), actual_status: str | None = None):
        self.allowed_statuses = allowed_statuses
        self.actual_status = actual_status
        super().__init__(message)


class RequirementsInstallError(AmtLocalError):
    """``pip install -r requirements.txt`` of a training job's code folder failed (the toolkit's
    ``InstallRequirementsError``); the training job fails with :attr:`failure_reason` as its FailureReason.

    Attributes:
        failure_reason: ``AlgorithmError: InstallRequirementsError:\\nExitCode n\\nErrorMessage "<pip's stderr>"\\n
            Command "..."``, as SageMaker shows it (also the exception's message).
        log: pip's whole output (stdout then stderr), the first part of the job's log.
    """

    def __init__(self, failure_reason: str, log: str = ""):
        self.failure_reason = failure_reason
        self.log = log
        super().__init__(failure_reason)


class OptMlUnavailable(AmtLocalError, OSError):
    """The job's folder cannot be shown at ``/opt/ml`` here (not Linux, or the kernel refuses a private mount
    namespace for this user); the message says which step was refused."""


class BuiltinAlgorithmError(AmtLocalError):
    """A built-in algorithm (SageMaker's XGBoost) refused its inputs or failed, as its container's toolkit errors do.

    Attributes:
        kind: the container's error class: ``UserError`` (hyperparameters, channels or data the user can fix),
            ``AlgorithmError`` (the algorithm failed) or ``PlatformError``.
        message: the container's message, e.g. ``Missing required hyperparameter: num_round``.
    """

    def __init__(self, message: str, kind: str = "UserError"):
        self.kind = kind
        self.message = message
        super().__init__(message)


class StorageUnavailable(AmtLocalError, ConnectionError):
    """The shared (RDB) storage did not answer for the whole retry window (``$AMTLOCAL_DB_RETRY_SECONDS``): the
    database is down or unreachable. The job it was running stays resumable: run the same command again once the
    database answers.

    Attributes:
        url: the storage URL, password hidden.
        seconds: how long the calls were retried.
        cause: the last driver error, ``<type>: <first line>``.
    """

    def __init__(self, url: str, seconds: float, cause: str):
        self.url = url
        self.seconds = seconds
        self.cause = cause
        super().__init__(
            f"the database {url} did not answer for {seconds:g} s ({cause}); the tuning job stays resumable: "
            "run the same command again once the database answers"
        )
