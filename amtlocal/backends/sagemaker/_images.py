"""Training image URIs for SageMaker: a registry-less framework image -> its ECR URI, via the sagemaker SDK.

Locally, ``SKLearn(framework_version="1.2-1")`` without ``image_uri`` puts ``sagemaker-scikit-learn:1.2-1-cpu-py3`` in
``AlgorithmSpecification.TrainingImage`` (repository and tag, no registry: the local backend never pulls it). Before a
request goes to AMT that becomes the full ECR URI, e.g.
``683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3``.

The sagemaker SDK's ``image_uris.retrieve`` is the well-kept source of the account per region and the supported
versions (AMT_REFERENCE.md section 5), so it is used rather than copied: SDK v2 ``sagemaker.image_uris``, SDK v3
``sagemaker.core.image_uris`` (same call). It is the optional extra ``amtlocal[sagemaker]``, imported lazily, and it
only reads its bundled JSON configs: no AWS call, so ``--dry-run`` may use it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sys
import warnings
from typing import Any

from amtlocal.exceptions import AmtLocalError, AmtValidationError

# Repository name of a framework image -> the SDK's framework name for image_uris.retrieve.
FRAMEWORK_REPOSITORIES = {
    "sagemaker-scikit-learn": "sklearn",
    "sagemaker-xgboost": "xgboost",
    "pytorch-training": "pytorch",
    "tensorflow-training": "tensorflow",
    "huggingface-pytorch-training": "huggingface",
    "huggingface-tensorflow-training": "huggingface",
}
# huggingface-<base>-training:<base version>-transformers<version>-<cpu|gpu>-<py>
_HF_TAG = re.compile(
    r"(?P<base>[\d.]+)-transformers(?P<version>[\d.]+)(?:-(?P<processor>cpu|gpu))?(?:-(?P<py>py\d+))?.*"
)
_TAG = re.compile(r"(?P<version>.+?)(?:-(?P<processor>cpu|gpu))?(?:-(?P<py>py\d+))?")
EXTRA_HINT = "pip install 'amtlocal[sagemaker]'"


def has_registry(image: str) -> bool:
    """True when ``image`` names its registry (``<registry>/<repository>[:tag]``), i.e. needs no resolution."""
    return "/" in image


def parse_framework_image(image: str) -> tuple[str, str, str | None, str | None]:
    """``sagemaker-scikit-learn:1.2-1-cpu-py3`` -> ``("sklearn", "1.2-1", "cpu", "py3")``.

    Raises:
        AmtValidationError: an image without registry that is no known framework image (field
            ``AlgorithmSpecification.TrainingImage``, relative to its definition).
    """
    repository, _, tag = image.partition(":")
    framework = FRAMEWORK_REPOSITORIES.get(repository)
    if framework is None or not tag:
        known = ", ".join(f"{r}:<version>-cpu-py3" for r in FRAMEWORK_REPOSITORIES)
        raise AmtValidationError(
            "AlgorithmSpecification.TrainingImage",
            f"{image!r} has no registry and is not a framework image amtlocal can resolve ({known}); "
            "give the full image URI (image_uri=...)",
        )
    if framework == "huggingface":
        hf = _HF_TAG.fullmatch(tag)
        if hf is None:
            raise AmtValidationError(
                "AlgorithmSpecification.TrainingImage",
                f"{image!r}: a Hugging Face image tag is <base version>-transformers<version>-<cpu|gpu>-<py>",
            )
        return framework, hf["version"], hf["processor"], hf["py"]
    m = _TAG.fullmatch(tag)
    assert m is not None  # the pattern matches any non-empty tag
    return framework, m["version"], m["processor"], m["py"]


def base_framework_version(image: str) -> str | None:
    """SDK v2's ``base_framework_version`` of a registry-less Hugging Face image (``pytorch2.0.0``), else None."""
    repository, _, tag = image.partition(":")
    if FRAMEWORK_REPOSITORIES.get(repository) != "huggingface":
        return None
    hf = _HF_TAG.fullmatch(tag)
    return f"{repository.split('-')[1]}{hf['base']}" if hf else None


@contextlib.contextmanager
def _quiet_sdk_import():
    """Import the SDK without writing to stdout (``--dry-run`` prints JSON there) and without its v2 nudge.

    SDK v2 attaches a stdout handler to the ``sagemaker.config`` logger on import unless the logger has a level; it is
    given WARNING here when unset, and anything else printed during the import goes to stderr.
    """
    config_logger = logging.getLogger("sagemaker.config")
    if config_logger.level == logging.NOTSET:
        config_logger.setLevel(logging.WARNING)
    had = "SAGEMAKER_SUPPRESS_V2_WARNING" in os.environ
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
            warnings.simplefilter("ignore")
            yield
    finally:
        if not had:
            os.environ.pop("SAGEMAKER_SUPPRESS_V2_WARNING", None)


def image_uris_module() -> Any:
    """The SDK's ``image_uris`` module: v2 ``sagemaker.image_uris``, else v3 ``sagemaker.core.image_uris``.

    Raises:
        AmtLocalError: the sagemaker SDK is not installed (names the extra ``amtlocal[sagemaker]``).
    """
    with _quiet_sdk_import():
        try:
            from sagemaker import image_uris  # SDK v2

            return image_uris
        except ImportError:
            pass
        try:
            from sagemaker.core import image_uris  # SDK v3 (sagemaker-core)

            return image_uris
        except ImportError:
            pass
    raise AmtLocalError(
        "the SageMaker backend needs the sagemaker SDK to resolve framework image URIs "
        f"(it is the optional extra amtlocal[sagemaker]): {EXTRA_HINT}; or give the full image URI (image_uri=...)"
    )


@functools.lru_cache(maxsize=64)
def _retrieve(
    framework: str,
    region: str,
    version: str,
    py_version: str | None,
    instance_type: str | None,
    base_framework: str | None = None,
) -> str:
    image_uris = image_uris_module()
    extra = {"base_framework_version": base_framework} if base_framework else {}
    try:
        with _quiet_sdk_import():
            return image_uris.retrieve(
                framework,
                region,
                version=version,
                py_version=py_version,
                instance_type=instance_type,
                image_scope="training",
                **extra,
            )
    except ValueError as e:  # e.g. "Unsupported sklearn version: 9.9-9. ..."
        raise AmtValidationError(
            "AlgorithmSpecification.TrainingImage", f"cannot resolve the {framework} image for {region}: {e}"
        ) from None


def resolve_training_image(image: str, region: str, instance_type: str | None = None) -> str:
    """The ECR URI of ``image`` in ``region``; an image that already names its registry is returned unchanged.

    Args:
        image: ``AlgorithmSpecification.TrainingImage`` of the request.
        region: the AWS region the job runs in.
        instance_type: the training instance type (the SDK picks cpu/gpu images by it; scikit-learn is cpu only).

    Raises:
        AmtValidationError: an unknown registry-less image or an unsupported framework version.
        AmtLocalError: the sagemaker SDK is not installed.
    """
    if has_registry(image):
        return image
    framework, version, _processor, py = parse_framework_image(image)
    return _retrieve(framework, region, version, py, instance_type, base_framework_version(image))
