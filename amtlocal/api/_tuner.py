"""HyperparameterTuner with SDK v2's argument names, defaults and methods, over a local or SageMaker backend."""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amtlocal.api._estimator import Estimator, channels_from_inputs
from amtlocal.api._naming import name_from_base
from amtlocal.api._parameter import CategoricalParameter, ParameterRange
from amtlocal.api._strategy import StrategyConfig, TuningJobCompletionCriteriaConfig
from amtlocal.api._warm_start import WarmStartConfig, WarmStartTypes
from amtlocal.backends import Backend, get_backend
from amtlocal.exceptions import AmtLocalError
from amtlocal.spec.definitions import objective_of
from amtlocal.spec.hyperparameters import encode_hyperparameter
from amtlocal.spec.placeholders import region

log = logging.getLogger("amtlocal")

_RANGE_LISTS = {
    "Integer": "IntegerParameterRanges",
    "Continuous": "ContinuousParameterRanges",
    "Categorical": "CategoricalParameterRanges",
}


def _as_request_part(obj: Any) -> Any:
    """SDK config objects (with ``to_input_req``) or plain dicts -> the request's dict."""
    if obj is None or isinstance(obj, dict):
        return obj
    if hasattr(obj, "to_input_req"):
        return obj.to_input_req()
    raise TypeError(f"expected a dict or an object with to_input_req(), got {type(obj).__name__}")


class HyperparameterTuner:
    """SDK v2 ``sagemaker.tuner.HyperparameterTuner``, running locally (default) or on SageMaker AMT.

    Arguments and defaults are SDK v2's; ``backend`` (``"local"`` | ``"sagemaker"`` | a Backend; default
    ``$AMTLOCAL_BACKEND`` or ``"local"``) chooses where jobs run. ``max_jobs=None`` means 1 except for Grid, where it
    is left out and AMT derives it (the SDK sends ``None`` there, which the API rejects).

    Raises:
        ValueError: no ranges and no autotune (SDK v2's message), an unknown objective_type.
    """

    def __init__(
        self,
        estimator: Estimator | None,
        objective_metric_name: str | None = None,
        hyperparameter_ranges: dict[str, ParameterRange] | None = None,
        metric_definitions: list[dict[str, str]] | None = None,
        strategy: str = "Bayesian",
        objective_type: str = "Maximize",
        max_jobs: int | None = None,
        max_parallel_jobs: int = 1,
        max_runtime_in_seconds: int | None = None,
        tags: list[dict] | None = None,
        base_tuning_job_name: str | None = None,
        warm_start_config: WarmStartConfig | None = None,
        strategy_config: Any = None,
        completion_criteria_config: Any = None,
        early_stopping_type: str = "Off",
        estimator_name: str | None = None,
        random_seed: int | None = None,
        autotune: bool = False,
        hyperparameters_to_keep_static: list[str] | None = None,
        backend: str | Backend | None = None,
        sagemaker_session: Any = None,
    ):
        if not hyperparameter_ranges and not autotune and estimator is not None:
            raise ValueError("Need to specify hyperparameter ranges or set autotune=True.")
        if objective_type not in ("Maximize", "Minimize"):
            raise ValueError("objective_type must be 'Maximize' or 'Minimize'")
        self.estimator = estimator
        self.objective_metric_name = objective_metric_name
        self._hyperparameter_ranges = dict(hyperparameter_ranges or {})
        self.metric_definitions = metric_definitions
        self.strategy, self.objective_type = strategy, objective_type
        self.max_jobs = max_jobs if max_jobs is not None or strategy == "Grid" else 1
        self.max_parallel_jobs, self.max_runtime_in_seconds = max_parallel_jobs, max_runtime_in_seconds
        self.tags, self.base_tuning_job_name = tags, base_tuning_job_name
        self.warm_start_config, self.strategy_config = warm_start_config, strategy_config
        self.completion_criteria_config, self.early_stopping_type = completion_criteria_config, early_stopping_type
        self.estimator_name, self.random_seed, self.autotune = estimator_name, random_seed, autotune
        self.hyperparameters_to_keep_static = hyperparameters_to_keep_static
        self.sagemaker_session = sagemaker_session
        self.backend = get_backend(backend) if not isinstance(backend, Backend) else backend
        self.latest_tuning_job: _TuningJobRef | None = None
        self._base_request: dict[str, Any] | None = None  # set by attach(): the request of an existing job
        self._base_dir = Path.cwd()

    # -- building the request ---------------------------------------------------------------------------------
    def hyperparameter_ranges(self) -> dict[str, list[dict]]:
        """``ParameterRanges`` of the request (categorical values JSON-quoted for framework estimators)."""
        out: dict[str, list[dict]] = {}
        framework = getattr(self.estimator, "_framework", False)
        for name, rng in self._hyperparameter_ranges.items():
            if isinstance(rng, CategoricalParameter):
                entry = rng.as_json_range(name) if framework else rng.as_tuning_range(name)
            else:
                entry = rng.as_tuning_range(name)
            out.setdefault(_RANGE_LISTS[rng.__name__], []).append(entry)
        return out

    def _static_hyperparameters(self, estimator_job_name: str) -> dict[str, str]:
        est = self.estimator
        static = dict(est.hyperparameters())
        static.update(est.job_hyperparameters(estimator_job_name))
        static.update(est.code_hyperparameters())
        if getattr(est, "_framework", False):
            static["sagemaker_job_name"] = encode_hyperparameter(estimator_job_name)
            static["sagemaker_region"] = encode_hyperparameter(region())
            static["sagemaker_estimator_class_name"] = encode_hyperparameter(type(est).__name__)
            static["sagemaker_estimator_module"] = encode_hyperparameter(getattr(est, "_module", type(est).__module__))
        for name in self._hyperparameter_ranges:
            static.pop(name, None)
        return static

    def to_request(self, inputs: Any = None, job_name: str | None = None) -> dict[str, Any]:
        """The CreateHyperParameterTuningJob request that :meth:`fit` sends (nothing is started).

        Raises:
            AmtLocalError: neither an estimator nor an attached job to build from.
        """
        if self._base_request is not None and self.estimator is None:
            req = copy.deepcopy(self._base_request)
            if inputs is not None:
                req["TrainingJobDefinition"]["InputDataConfig"] = channels_from_inputs(inputs)
            if self.warm_start_config:
                req["WarmStartConfig"] = self.warm_start_config.to_input_req()
            req["HyperParameterTuningJobName"] = job_name or name_from_base(self._base_name())
            return req
        if self.estimator is None:
            raise AmtLocalError("this tuner has no estimator to build a request from")
        name = job_name or name_from_base(self._base_name())
        limits: dict[str, Any] = {"MaxParallelTrainingJobs": self.max_parallel_jobs}
        if self.max_jobs is not None:
            limits["MaxNumberOfTrainingJobs"] = self.max_jobs
        if self.max_runtime_in_seconds is not None:
            limits["MaxRuntimeInSeconds"] = self.max_runtime_in_seconds
        config: dict[str, Any] = {
            "Strategy": self.strategy,
            "ResourceLimits": limits,
            "TrainingJobEarlyStoppingType": self.early_stopping_type,
        }
        if self.objective_metric_name:
            config["HyperParameterTuningJobObjective"] = {
                "Type": self.objective_type,
                "MetricName": self.objective_metric_name,
            }
        if self._hyperparameter_ranges:
            config["ParameterRanges"] = self.hyperparameter_ranges()
        if self.strategy_config is not None:
            config["StrategyConfig"] = _as_request_part(self.strategy_config)
        if self.completion_criteria_config is not None:
            config["TuningJobCompletionCriteria"] = _as_request_part(self.completion_criteria_config)
        if self.random_seed is not None:
            config["RandomSeed"] = self.random_seed
        # The SDK sends only the tuner's metric_definitions (issue #3932); amtlocal falls back to the estimator's.
        metrics = self.metric_definitions if self.metric_definitions is not None else self.estimator.metric_definitions
        # SDK v2 names the estimator job after fit()'s job_name when one is given (sagemaker_job_name, code prefix).
        estimator_job = job_name or name_from_base(self.estimator.default_base_name(), 63)
        definition = self.estimator.training_job_definition(
            inputs, self._static_hyperparameters(estimator_job), metrics
        )
        req: dict[str, Any] = {
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": definition,
        }
        if self.warm_start_config:
            req["WarmStartConfig"] = self.warm_start_config.to_input_req()
        tags = list(self.tags or [])
        for tag in getattr(self.estimator, "tags", None) or []:  # SDK v2's _prepare_tags_for_tuning: estimator tags too
            if tag not in tags:
                tags.append(tag)
        if tags:
            req["Tags"] = tags
        if self.autotune:
            req["Autotune"] = {"Mode": "Enabled"}
        return req

    def _base_name(self) -> str:
        if self.base_tuning_job_name:
            return self.base_tuning_job_name
        if self.estimator is not None:
            return self.estimator.default_base_name()
        return "tuning"

    # -- running ----------------------------------------------------------------------------------------------
    def fit(
        self,
        inputs: Any = None,
        job_name: str | None = None,
        include_cls_metadata: bool = False,
        estimator_kwargs: dict | None = None,
        wait: bool = True,
        progress: Callable | None = None,
        **kwargs: Any,
    ) -> None:
        """Create the tuning job and (with ``wait``) run it to its end.

        ``inputs``: a local folder, ``file://`` or ``s3://`` URI (one channel named ``training``), or a dict of
        channel name -> location. With ``wait=False`` this returns at once and the job runs on in the background;
        on the local backend it runs in a detached worker process that outlives this Python process.

        ``progress``: a callable taking the backend's ``Progress`` snapshots, or False for none; by default (None)
        a wait shows :mod:`amtlocal.progress`'s display (a live output in a notebook, a redrawn line on a terminal,
        a start and an end line in a log).

        Raises:
            AmtValidationError: the request is invalid (before any training job starts).
            UnexpectedStatusException: with ``wait``, the job ended Failed.
        """
        if kwargs:
            raise TypeError(f"fit() got unexpected keyword arguments: {', '.join(kwargs)}")
        for _ in range(5):
            req = self.to_request(inputs, job_name)
            if job_name or not self.backend.exists(req["HyperParameterTuningJobName"]):
                break
        watcher = None
        if wait and progress is None:
            from amtlocal.progress import tuning_job_progress

            watcher = tuning_job_progress(self.backend, req["HyperParameterTuningJobName"])
        # The display polls while the backend runs the job (elapsed time and counts between the backend's own
        # reports, which come when training jobs start and end); a caller's own callback (or False) replaces it.
        with watcher.following() if watcher is not None else contextlib.nullcontext():
            self.backend.create_tuning_job(
                req, self._base_dir, wait=False if not wait else True, progress=progress or watcher or None
            )
            self.latest_tuning_job = _TuningJobRef(req["HyperParameterTuningJobName"], self)
            if wait:
                self._wait(None, show=False)

    def _current_job_name(self) -> str:
        if self.latest_tuning_job is None:
            raise ValueError("No tuning job available")
        return self.latest_tuning_job.name

    def wait(self) -> None:
        """Block until the latest tuning job ends, showing its progress (see :meth:`fit`). Raises
        UnexpectedStatusException unless Completed/Stopped."""
        self._wait(None)

    def _wait(self, watcher, show: bool = True, name: str | None = None) -> None:
        """backend.wait on tuning job ``name`` (default: the latest) with ``watcher``, or a new progress display
        when ``show``."""
        name = name or self._current_job_name()
        if watcher is None and show:
            from amtlocal.progress import tuning_job_progress

            watcher = tuning_job_progress(self.backend, name)
        if watcher is None:
            desc = self.backend.wait(name)
        else:
            with watcher.following():
                desc = self.backend.wait(name)
        if desc["HyperParameterTuningJobStatus"] == "Stopped":
            log.warning("Tuning job %s was stopped", name)

    def describe(self) -> dict[str, Any]:
        """DescribeHyperParameterTuningJob of the latest tuning job."""
        return self.backend.describe(self._current_job_name())

    def stop_tuning_job(self) -> None:
        """StopHyperParameterTuningJob on the latest tuning job."""
        self.backend.stop(self._current_job_name())

    def best_training_job(self) -> str:
        """Name of the best training job. Raises Exception (SDK v2's message) when there is none yet."""
        desc = self.describe()
        try:
            return desc["BestTrainingJob"]["TrainingJobName"]
        except KeyError:
            raise Exception(f"Best training job not available for tuning job: {self._current_job_name()}") from None

    def best_estimator(self, best_training_job: dict | None = None) -> Estimator:
        """An estimator of the tuner's estimator class attached to the best training job (SDK v2 ``best_estimator``):
        its ``model_data`` is that job's ``model.tar.gz``.

        Args:
            best_training_job: ``{"TrainingJobName": ...}`` (default: the tuning job's BestTrainingJob).

        Raises:
            Exception: no best training job yet (SDK v2's message).
        """
        name = (best_training_job or {}).get("TrainingJobName") or self.best_training_job()
        cls = type(self.estimator) if self.estimator is not None else Estimator
        if self.estimator is None and "sagemaker_program" in (self.describe().get("TrainingJobDefinition") or {}).get(
            "StaticHyperParameters", {}
        ):
            from amtlocal.api._estimator import Framework

            cls = Framework
        return cls.attach(name, sagemaker_session=self.sagemaker_session, backend=self.backend)

    def analytics(self):
        """:class:`HyperparameterTuningJobAnalytics` of the latest tuning job."""
        from amtlocal.api._analytics import HyperparameterTuningJobAnalytics

        return HyperparameterTuningJobAnalytics(self._current_job_name(), backend=self.backend)

    # -- display ----------------------------------------------------------------------------------------------
    def _display_facts(self):
        from amtlocal.api._display import tuning_job_facts

        title = f"{type(self).__name__} ({self.strategy}, {self.objective_type} {self.objective_metric_name})"
        if self.latest_tuning_job is None:
            return title, None
        return title, tuning_job_facts(self.backend, self.latest_tuning_job.name)

    def __repr__(self) -> str:
        """The latest tuning job: name, backend, status, training jobs by status, best job and objective, folder."""
        from amtlocal.api._display import text

        title, facts = self._display_facts()
        return text(title, "Tuning job", facts)

    def _repr_html_(self) -> str:
        """Jupyter's rich display: the facts of :meth:`__repr__` as a table."""
        from amtlocal.api._display import html_table

        title, facts = self._display_facts()
        return html_table(title, "Tuning job", facts)

    # -- existing jobs and warm start -------------------------------------------------------------------------
    @classmethod
    def attach(
        cls,
        tuning_job_name: str,
        sagemaker_session: Any = None,
        job_details: dict | None = None,
        estimator_cls: Any = None,
        backend: str | Backend | None = None,
    ) -> HyperparameterTuner:
        """A tuner bound to an existing tuning job (SDK v2 ``attach``). Raises TuningJobNotFound."""
        be = get_backend(backend)
        desc = job_details or be.describe(tuning_job_name)
        cfg = desc["HyperParameterTuningJobConfig"]
        obj = objective_of(desc)  # the config's, or (TrainingJobDefinitions) the first definition's TuningObjective
        tuner = cls(
            None,
            obj.get("MetricName"),
            None,
            strategy=cfg["Strategy"],
            objective_type=obj.get("Type", "Maximize"),
            max_jobs=cfg["ResourceLimits"].get("MaxNumberOfTrainingJobs"),
            max_parallel_jobs=cfg["ResourceLimits"]["MaxParallelTrainingJobs"],
            warm_start_config=WarmStartConfig.from_job_desc(desc.get("WarmStartConfig")),
            early_stopping_type=cfg.get("TrainingJobEarlyStoppingType", "Off"),
            random_seed=cfg.get("RandomSeed"),
            strategy_config=StrategyConfig.from_job_desc(cfg["StrategyConfig"]) if cfg.get("StrategyConfig") else None,
            completion_criteria_config=(
                TuningJobCompletionCriteriaConfig.from_job_desc(cfg["TuningJobCompletionCriteria"])
                if "TuningJobCompletionCriteria" in cfg
                else None
            ),
            backend=be,
        )
        tuner._base_request = {
            k: copy.deepcopy(desc[k])
            for k in (
                "HyperParameterTuningJobName",
                "HyperParameterTuningJobConfig",
                "TrainingJobDefinition",
                "TrainingJobDefinitions",
                "WarmStartConfig",
            )
            if k in desc
        }
        tuner.base_tuning_job_name = desc["HyperParameterTuningJobName"][:15]
        tuner.latest_tuning_job = _TuningJobRef(desc["HyperParameterTuningJobName"], tuner)
        return tuner

    def _warm_start_tuner(
        self, ws_type: WarmStartTypes, additional_parents: set | None, estimator: Any = None
    ) -> HyperparameterTuner:
        parents = {self._current_job_name(), *(additional_parents or set())}
        new = copy.copy(self)
        new.latest_tuning_job = None
        new.warm_start_config = WarmStartConfig(ws_type, parents)
        if estimator is not None:
            new.estimator = estimator
        if self._base_request is not None:
            new._base_request = copy.deepcopy(self._base_request)
        return new

    def identical_dataset_and_algorithm_tuner(self, additional_parents: set | None = None) -> HyperparameterTuner:
        """A new tuner warm-started (IdenticalDataAndAlgorithm) from this job and ``additional_parents``."""
        return self._warm_start_tuner(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, additional_parents)

    def transfer_learning_tuner(
        self, additional_parents: set | None = None, estimator: Any = None
    ) -> HyperparameterTuner:
        """A new tuner warm-started (TransferLearning) from this job and ``additional_parents``."""
        return self._warm_start_tuner(WarmStartTypes.TRANSFER_LEARNING, additional_parents, estimator)


Tuner = HyperparameterTuner


class _TuningJobRef:
    """SDK v2's ``_TuningJob``: ``.name`` of the latest job, ``.wait()``, ``.describe()``, ``.stop()``."""

    def __init__(self, name: str, tuner: HyperparameterTuner):
        self.name, self._tuner = name, tuner

    def wait(self) -> None:
        """Block until this tuning job ends, showing its progress (see :meth:`HyperparameterTuner.fit`)."""
        self._tuner._wait(None, name=self.name)

    def describe(self) -> dict:
        return self._tuner.backend.describe(self.name)

    def stop(self) -> None:
        self._tuner.backend.stop(self.name)

    def __repr__(self) -> str:
        from amtlocal.api._display import text, tuning_job_facts

        return text("Tuning job", "Tuning job", tuning_job_facts(self._tuner.backend, self.name))

    def _repr_html_(self) -> str:
        from amtlocal.api._display import html_table, tuning_job_facts

        return html_table("Tuning job", "Tuning job", tuning_job_facts(self._tuner.backend, self.name))


def create_identical_dataset_and_algorithm_tuner(
    parent: str, additional_parents: set | None = None, backend: str | Backend | None = None
) -> HyperparameterTuner:
    """SDK v2's module function: attach to ``parent``, then :meth:`HyperparameterTuner.identical_dataset_and_algorithm_tuner`."""
    return HyperparameterTuner.attach(parent, backend=backend).identical_dataset_and_algorithm_tuner(additional_parents)


def create_transfer_learning_tuner(
    parent: str, additional_parents: set | None = None, estimator: Any = None, backend: str | Backend | None = None
) -> HyperparameterTuner:
    """SDK v2's module function: attach to ``parent``, then :meth:`HyperparameterTuner.transfer_learning_tuner`."""
    return HyperparameterTuner.attach(parent, backend=backend).transfer_learning_tuner(additional_parents, estimator)
