"""The framework estimators SDK v2 users import for script mode: SKLearn, PyTorch, TensorFlow, XGBoost, HuggingFace.

Each takes its SDK v2 class's own constructor arguments (then every :class:`~amtlocal.api.Framework` and
:class:`~amtlocal.api.Estimator` argument by keyword) and applies the same checks. Without ``image_uri`` the training
image is the registry-less ``<repository>:<tag>`` of the framework's training image (e.g.
``pytorch-training:2.1-cpu-py310``): a label locally, resolved to the ECR URI by the sagemaker backend.
"""

from __future__ import annotations

import re
from typing import Any

from amtlocal.api._estimator import Framework, _is_gpu
from amtlocal.spec.hyperparameters import encode_hyperparameter

_TAG = re.compile(r"(?P<version>.+?)-(?P<processor>cpu|gpu)(?:-(?P<py>py\d+))?(?:-.*)?")
SKLEARN_GPU_TYPES = (
    "ml.p2.xlarge",
    "ml.p2.8xlarge",
    "ml.p2.16xlarge",
    "ml.p3.xlarge",
    "ml.p3.8xlarge",
    "ml.p3.16xlarge",
)


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def _validate_version_or_image(framework_version: str | None, py_version: str | None, image_uri: str | None) -> None:
    """SDK v2's ``validate_version_or_image_args`` (same message)."""
    if (framework_version is None or py_version is None) and image_uri is None:
        raise ValueError(
            "framework_version or py_version was None, yet image_uri was also None. "
            "Either specify both framework_version and py_version, or specify image_uri."
        )


def _tag_versions(image: str) -> dict[str, Any]:
    """``.../pytorch-training:2.1-cpu-py310`` -> ``{"framework_version": "2.1", "py_version": "py310"}`` ({} if no tag)."""
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    m = _TAG.fullmatch(tag) if tag else None
    if not m:
        return {"framework_version": tag} if tag else {}
    out: dict[str, Any] = {"framework_version": m["version"]}
    if m["py"]:
        out["py_version"] = m["py"]
    return out


class SKLearn(Framework):
    """SDK v2 ``sagemaker.sklearn.SKLearn``: a scikit-learn script-mode training job
    (image ``sagemaker-scikit-learn:<framework_version>-cpu-py3``).

    Raises:
        ValueError: neither ``framework_version`` nor ``image_uri``; a GPU instance type (SDK v2's list).
        AttributeError: ``instance_count`` other than 1, ``py_version`` other than py3 (SDK v2's rules).
    """

    _framework_name = "sklearn"
    _module = "sagemaker.sklearn.estimator"

    def __init__(
        self,
        entry_point: str,
        framework_version: str | None = None,
        py_version: str = "py3",
        source_dir: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        image_uri: str | None = None,
        image_uri_region: str | None = None,
        **kwargs: Any,
    ):
        _validate_version_or_image(framework_version, py_version, image_uri)
        if py_version and py_version != "py3":
            raise AttributeError("Scikit-learn image only supports Python 3. Please use 'py3' for py_version.")
        itype = kwargs.get("instance_type", kwargs.get("train_instance_type"))
        if itype in SKLEARN_GPU_TYPES:
            raise ValueError("GPU training is not supported for Scikit-Learn. Please pick a different instance type")
        count = kwargs.pop("instance_count", kwargs.pop("train_instance_count", None))
        if count and count != 1:
            raise AttributeError(
                "Scikit-Learn does not support distributed training. Please remove the 'instance_count' "
                "argument or set 'instance_count=1' when initializing SKLearn."
            )
        self.image_uri_region = image_uri_region
        super().__init__(
            entry_point,
            source_dir,
            hyperparameters,
            image_uri=image_uri,
            framework_version=framework_version,
            py_version=py_version,
            instance_count=1,
            **kwargs,
        )

    def local_image_uri(self) -> str:
        return f"sagemaker-scikit-learn:{self.framework_version}-cpu-{self.py_version or 'py3'}"

    @classmethod
    def _versions_from_image(cls, image: str) -> dict[str, Any]:
        return _tag_versions(image)


class XGBoost(Framework):
    """SDK v2 ``sagemaker.xgboost.XGBoost`` in framework (script) mode (image ``sagemaker-xgboost:<version>``).

    Raises:
        ValueError: ``py_version`` other than py3 (SDK v2 accepts py3 only for script mode).
    """

    _framework_name = "xgboost"
    _module = "sagemaker.xgboost.estimator"

    def __init__(
        self,
        entry_point: str,
        framework_version: str,
        source_dir: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        py_version: str = "py3",
        image_uri: str | None = None,
        image_uri_region: str | None = None,
        **kwargs: Any,
    ):
        if py_version != "py3":
            raise ValueError(f"XGBoost script mode supports py_version 'py3' only, not {py_version!r}")
        self.image_uri_region = image_uri_region
        super().__init__(
            entry_point,
            source_dir,
            hyperparameters,
            image_uri=image_uri,
            framework_version=framework_version,
            py_version=py_version,
            **kwargs,
        )

    def local_image_uri(self) -> str:
        return f"sagemaker-xgboost:{self.framework_version}"

    @classmethod
    def _versions_from_image(cls, image: str) -> dict[str, Any]:
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        return {"framework_version": tag.split("-cpu")[0] or "1.7-1"}


class PyTorch(Framework):
    """SDK v2 ``sagemaker.pytorch.PyTorch`` (image ``pytorch-training:<framework_version>-<cpu|gpu>-<py_version>``,
    gpu for p*/g* instance types). ``enable_sagemaker_metrics`` defaults to True from PyTorch 1.3, as in SDK v2.

    ``distribution``: ``torch_distributed``, ``pytorchddp``, ``mpi`` and ``parameter_server`` become SDK v2's
    hyperparameters; ``smdistributed`` raises ValueError. ``compiler_config``, ``training_recipe`` and
    ``recipe_overrides`` are accepted only as None (they need SageMaker's own containers).

    Raises:
        ValueError: no ``framework_version``/``py_version`` and no ``image_uri`` (SDK v2's message).
    """

    _framework_name = "pytorch"
    _module = "sagemaker.pytorch.estimator"

    def __init__(
        self,
        entry_point: str | None = None,
        framework_version: str | None = None,
        py_version: str | None = None,
        source_dir: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        image_uri: str | None = None,
        distribution: dict | None = None,
        compiler_config: Any = None,
        training_recipe: str | None = None,
        recipe_overrides: dict | None = None,
        **kwargs: Any,
    ):
        if training_recipe is not None or recipe_overrides is not None or compiler_config is not None:
            raise ValueError("training_recipe, recipe_overrides and compiler_config are not supported by amtlocal")
        if entry_point is None:
            raise ValueError("Argument entry_point must be set when training_recipe is not provided")
        _validate_version_or_image(framework_version, py_version, image_uri)
        if (
            "enable_sagemaker_metrics" not in kwargs
            and framework_version
            and _version_tuple(framework_version) >= (1, 3)
        ):
            kwargs["enable_sagemaker_metrics"] = True
        super().__init__(
            entry_point,
            source_dir,
            hyperparameters,
            image_uri=image_uri,
            framework_version=framework_version,
            py_version=py_version,
            **kwargs,
        )
        if distribution and "pytorchddp" in distribution and "smdistributed" in distribution:
            raise ValueError(
                "Cannot use both pytorchddp and smdistributed distribution options together.", distribution
            )
        self.distribution = distribution or {}
        self.compiler_config = None

    def _distribution_hyperparameters(self) -> dict[str, Any]:
        d = self.distribution
        if d.get("pytorchddp", {}).get("enabled"):
            return {"sagemaker_pytorch_ddp_enabled": True, "sagemaker_instance_type": self.instance_type}
        if "pytorchddp" not in d and d.get("torch_distributed", {}).get("enabled"):
            if "smdistributed" in d:
                raise ValueError("distribution with smdistributed is not supported by amtlocal")
            return {"sagemaker_torch_distributed_enabled": True, "sagemaker_instance_type": self.instance_type}
        return super()._distribution_hyperparameters()

    def local_image_uri(self) -> str:
        return f"pytorch-training:{self.framework_version}-{self._processor()}-{self.py_version}"

    @classmethod
    def _versions_from_image(cls, image: str) -> dict[str, Any]:
        return _tag_versions(image)


class TensorFlow(Framework):
    """SDK v2 ``sagemaker.tensorflow.TensorFlow`` (image ``tensorflow-training:<framework_version>-<cpu|gpu>-<py>``).

    ``model_dir`` (a hyperparameter, as in SDK v2): unless ``model_dir=False``, ``<output_path>/<job>/model`` for an
    ``s3://`` output path, else ``/opt/ml/model`` locally (SDK v2's local-mode value); the sagemaker backend turns the
    local value into ``<cloud output path>/<job>/model``. ``enable_sagemaker_metrics`` defaults to True from 1.15.

    Raises:
        ValueError: no ``framework_version``/``py_version`` and no ``image_uri`` (SDK v2's message).
        AttributeError: ``py_version='py2'``.
    """

    _framework_name = "tensorflow"
    _module = "sagemaker.tensorflow.estimator"

    def __init__(
        self,
        py_version: str | None = None,
        framework_version: str | None = None,
        model_dir: Any = None,
        image_uri: str | None = None,
        distribution: dict | None = None,
        compiler_config: Any = None,
        **kwargs: Any,
    ):
        if compiler_config is not None:
            raise ValueError("compiler_config is not supported by amtlocal")
        if "distributions" in kwargs:
            distribution = kwargs.pop("distributions")
        _validate_version_or_image(framework_version, py_version, image_uri)
        if py_version == "py2":
            raise AttributeError(
                "Python 2 containers are only available with 2.1 and lower versions. Please use a Python 3 container."
            )
        if (
            "enable_sagemaker_metrics" not in kwargs
            and framework_version
            and _version_tuple(framework_version) >= (1, 15)
        ):
            kwargs["enable_sagemaker_metrics"] = True
        entry_point = kwargs.pop("entry_point", None)
        if entry_point is None:
            raise TypeError("TensorFlow.__init__() missing required keyword argument: 'entry_point'")
        super().__init__(
            entry_point, image_uri=image_uri, framework_version=framework_version, py_version=py_version, **kwargs
        )
        self.model_dir = model_dir
        self.distribution = distribution or {}

    def job_hyperparameters(self, job_name: str) -> dict[str, str]:
        """``model_dir`` (JSON-encoded) unless ``model_dir=False``; see the class docstring."""
        if self.model_dir is False:
            return {}
        model_dir = self.model_dir
        if not model_dir:
            out = self.output_path or ""
            mpi = bool(self.distribution.get("mpi", {}).get("enabled"))
            model_dir = (
                f"{out.rstrip('/')}/{job_name}/model" if out.startswith("s3://") and not mpi else "/opt/ml/model"
            )
        return {"model_dir": encode_hyperparameter(model_dir)}

    def local_image_uri(self) -> str:
        return f"tensorflow-training:{self.framework_version}-{self._processor()}-{self.py_version}"

    @classmethod
    def _versions_from_image(cls, image: str) -> dict[str, Any]:
        return _tag_versions(image)

    @classmethod
    def _init_params_from_description(cls, desc: dict[str, Any], model_channel_name: str | None) -> dict[str, Any]:
        p = super()._init_params_from_description(desc, model_channel_name)
        p["model_dir"] = p["hyperparameters"].pop("model_dir", None) or False
        return p


class HuggingFace(Framework):
    """SDK v2 ``sagemaker.huggingface.HuggingFace`` (image ``huggingface-<pytorch|tensorflow>-training:<base version>
    -transformers<transformers_version>-<cpu|gpu>-<py_version>``). ``enable_sagemaker_metrics`` defaults to True.

    Raises:
        ValueError: SDK v2's version rules (transformers_version or image_uri; exactly one of tensorflow_version and
            pytorch_version; versions of the same length).
    """

    _framework_name = "huggingface"
    _module = "sagemaker.huggingface.estimator"

    def __init__(
        self,
        py_version: str,
        entry_point: str,
        transformers_version: str | None = None,
        tensorflow_version: str | None = None,
        pytorch_version: str | None = None,
        source_dir: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        image_uri: str | None = None,
        distribution: dict | None = None,
        compiler_config: Any = None,
        **kwargs: Any,
    ):
        if compiler_config is not None:
            raise ValueError("compiler_config is not supported by amtlocal")
        if image_uri is None:
            if transformers_version is None:
                raise ValueError(
                    "transformers_version, and image_uri are both None. Specify either transformers_version or image_uri"
                )
            if tensorflow_version is not None and pytorch_version is not None:
                raise ValueError(
                    "tensorflow_version and pytorch_version are both not None. Specify only tensorflow_version or pytorch_version."
                )
            if tensorflow_version is None and pytorch_version is None:
                raise ValueError(
                    "tensorflow_version and pytorch_version are both None. Specify either tensorflow_version or pytorch_version."
                )
            base = tensorflow_version or pytorch_version or ""
            if len(base.split(".")) != len(transformers_version.split(".")):
                raise ValueError(
                    "Please use either full version or shortened version for both transformers_version, "
                    "tensorflow_version and pytorch_version."
                )
        kwargs.setdefault("enable_sagemaker_metrics", True)
        super().__init__(
            entry_point,
            source_dir,
            hyperparameters,
            image_uri=image_uri,
            framework_version=transformers_version,
            py_version=py_version,
            **kwargs,
        )
        self.transformers_version, self.tensorflow_version, self.pytorch_version = (
            transformers_version,
            tensorflow_version,
            pytorch_version,
        )
        self.base_framework_name = "tensorflow" if tensorflow_version is not None else "pytorch"
        self.base_framework_version = tensorflow_version if tensorflow_version is not None else pytorch_version
        self.distribution = distribution or {}

    def _distribution_hyperparameters(self) -> dict[str, Any]:
        d = self.distribution
        if "pytorchddp" in d:
            out: dict[str, Any] = {"sagemaker_pytorch_ddp_enabled": d["pytorchddp"].get("enabled", False)}
            if out["sagemaker_pytorch_ddp_enabled"]:
                out["sagemaker_instance_type"] = self.instance_type
            return out
        if "torch_distributed" in d:
            out = {"sagemaker_torch_distributed_enabled": d["torch_distributed"].get("enabled", False)}
            if out["sagemaker_torch_distributed_enabled"]:
                out["sagemaker_instance_type"] = self.instance_type
            return out
        return super()._distribution_hyperparameters()

    def local_image_uri(self) -> str:
        return (
            f"huggingface-{self.base_framework_name}-training:{self.base_framework_version}"
            f"-transformers{self.transformers_version}-{'gpu' if _is_gpu(self.instance_type) else 'cpu'}-{self.py_version}"
        )

    @classmethod
    def _versions_from_image(cls, image: str) -> dict[str, Any]:
        repo, _, tag = image.rsplit("/", 1)[-1].partition(":")
        m = re.fullmatch(r"(?P<base>[\d.]+)-transformers(?P<tv>[\d.]+)-(?:cpu|gpu)-(?P<py>py\d+).*", tag)
        if not m:
            return {"py_version": "py3"}
        key = "tensorflow_version" if "tensorflow" in repo else "pytorch_version"
        return {"transformers_version": m["tv"], key: m["base"], "py_version": m["py"]}
