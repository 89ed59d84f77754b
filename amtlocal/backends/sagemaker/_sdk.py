"""Objects of the SageMaker Python SDK (v2 or v3) as amtlocal takes them: a tuner stands for its latest tuning job.

- SDK v2 ``sagemaker.tuner.HyperparameterTuner`` (and amtlocal's own ``HyperparameterTuner``): ``latest_tuning_job``
  is a job object whose ``.name`` is the HyperParameterTuningJobName.
- SDK v3 ``sagemaker.train.tuner.HyperparameterTuner``: ``latest_tuning_job`` is a
  ``sagemaker.core.resources.HyperParameterTuningJob`` whose field is ``hyper_parameter_tuning_job_name``
  (``tuner.py``: ``self.latest_tuning_job = self._start_tuning_job(inputs)``).

Neither SDK is imported here: the objects are read by attribute.
"""

from __future__ import annotations

from typing import Any


def tuning_job_name_of(job: Any) -> str:
    """The HyperParameterTuningJobName a name, tuner or tuning-job object stands for.

    Args:
        job: a name (``str``); a tuner of SDK v2, SDK v3 or amtlocal (its ``latest_tuning_job``); or a tuning-job
            object of either SDK (v2 ``_TuningJob.name``, v3 ``HyperParameterTuningJob.hyper_parameter_tuning_job_name``).

    Raises:
        TypeError: ``job`` is none of these, or a tuner that has not started a tuning job yet (named in the message).
    """
    if isinstance(job, str):
        return job
    latest = getattr(job, "latest_tuning_job", None)
    target = latest if latest is not None else job
    for attr in ("hyper_parameter_tuning_job_name", "name"):  # v3 resource first: v2 and amtlocal use .name
        name = getattr(target, attr, None)
        if isinstance(name, str) and name:
            return name
    if latest is None and hasattr(job, "latest_tuning_job"):
        raise TypeError(f"{type(job).__name__} has no tuning job yet: call tune() (SDK v3) or fit() (SDK v2) first")
    raise TypeError(f"expected a tuning job name or a tuner with a tuning job, got {type(job).__name__}")
