"""Image URIs of SageMaker's built-in algorithms, offline: ``retrieve`` as SDK v2's ``sagemaker.image_uris.retrieve``.

    from amtlocal import image_uris
    image_uris.retrieve("xgboost", "us-east-1", "1.7-1")
    # '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1'

The registry accounts per region and the versions are SDK v2's own table, ``sagemaker/image_uri_config/xgboost.json``
of ``sagemaker==2.257.7`` (Apache-2.0), copied beside this module as ``xgboost.json``; the ECR host name per region
comes from botocore's endpoint data, as the SDK takes it. So the answer is the SDK's, with neither the SDK nor a
network. ``tests/test_image_uris.py`` compares the two for every version and region of the table.

:func:`parse_image` reads an image back (any registry, any region, or none): ``sagemaker-xgboost:1.7-1`` and
``<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:1.7-1`` name the same algorithm.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amtlocal.exceptions import AmtValidationError

__all__ = ["FRAMEWORKS", "ImageName", "parse_image", "retrieve", "supported_versions"]

FRAMEWORKS = ("xgboost",)
_CONFIG_DIR = Path(__file__).resolve().parent
_SCOPES = ("training", "inference")


@functools.cache
def _config(framework: str) -> dict[str, Any]:
    return json.loads((_CONFIG_DIR / f"{framework}.json").read_text(encoding="utf-8"))


def _unsupported(what: str, value: Any, options: list[str]) -> AmtValidationError:
    # SDK v2's _validate_arg message, so code that matches on it keeps working.
    return AmtValidationError(
        "",
        f"Unsupported {what}: {value}. You may need to upgrade your SDK version "
        f"(pip install -U sagemaker) for newer {what}s. "
        f"Supported {what}(s): {', '.join(options)}.",
    )


def supported_versions(framework: str = "xgboost", image_scope: str = "training") -> list[str]:
    """The versions ``retrieve`` accepts, aliases (``latest``) last, in the SDK's order."""
    scope = _config(framework)[image_scope]
    return list(scope["versions"]) + list(scope.get("version_aliases", {}))


@functools.cache
def _ecr_hostname(region: str) -> str:
    from botocore import loaders, regions  # only here: botocore is heavy to import

    resolver = regions.EndpointResolver(loaders.create_loader().load_data("endpoints"))
    endpoint = resolver.construct_endpoint("ecr", region)
    if region == "il-central-1" and not endpoint:  # as the SDK does for a region botocore's data lacked
        endpoint = {"hostname": f"ecr.{region}.amazonaws.com"}
    if not endpoint:
        raise AmtValidationError("", f"botocore knows no ECR endpoint for region {region!r}")
    return endpoint["hostname"]


def retrieve(
    framework: str,
    region: str,
    version: str | None = None,
    py_version: str | None = None,
    instance_type: str | None = None,
    image_scope: str | None = None,
    **_ignored: Any,
) -> str:
    """The ECR image URI of a built-in algorithm, as SDK v2's ``sagemaker.image_uris.retrieve`` answers it.

    Args:
        framework: ``"xgboost"`` (the only built-in algorithm amtlocal runs).
        region: AWS region, e.g. ``"us-east-1"``.
        version: ``"1.7-1"``, ``"3.0-5"``, ... or ``"1"``/``"latest"`` (the legacy ``xgboost`` repository); required
            (the SDK's default is no version either).
        py_version, instance_type: accepted as the SDK accepts them; XGBoost images are CPU ``py3`` images of one
            tag per version (versions 0.90-1 and 1.0-1 carry ``-cpu-py3`` in their tag).
        image_scope: ``"training"`` (default) or ``"inference"`` (same URIs for XGBoost).
        **_ignored: the SDK's other keyword arguments (``container_version``, ``distribution``...): no effect here.

    Returns:
        ``<account>.dkr.<ecr host of the region>/<repository>:<tag>``.

    Raises:
        AmtValidationError (a ValueError, as the SDK raises): unknown framework, version, scope or region, with the
            SDK's message (``Unsupported xgboost version: 9.9-9. ... Supported xgboost version(s): ...``).
    """
    if framework not in FRAMEWORKS:
        raise AmtValidationError(
            "",
            f"amtlocal.image_uris knows the built-in algorithms {', '.join(FRAMEWORKS)} "
            f"(got {framework!r}); framework images come from the sagemaker SDK",
        )
    config = _config(framework)
    scope_name = image_scope or "training"
    if scope_name not in _SCOPES:
        raise _unsupported("image scope", scope_name, list(_SCOPES))
    scope = config[scope_name]
    options = supported_versions(framework, scope_name)
    if version not in options:
        raise _unsupported(f"{framework} version", version, options)
    version_config = scope["versions"][scope.get("version_aliases", {}).get(version, version)]
    registries = version_config["registries"]
    if region not in registries:
        raise _unsupported("region", region, sorted(registries))
    tag = version
    if version_config.get("processors"):  # 0.90-x and 1.0-1: <version>-cpu-py3
        tag = f"{version}-{version_config['processors'][0]}-{(version_config.get('py_versions') or ['py3'])[0]}"
    return f"{registries[region]}.dkr.{_ecr_hostname(region)}/{version_config['repository']}:{tag}"


@dataclass(frozen=True)
class ImageName:
    """An image name read back: ``registry`` (``""`` when none), ``repository``, ``tag`` (``""`` when none), and the
    ``region`` of an ECR registry (``None`` otherwise)."""

    registry: str
    repository: str
    tag: str
    region: str | None

    @property
    def version(self) -> str:
        """The algorithm version in the tag: ``1.0-1-cpu-py3`` -> ``1.0-1``."""
        for suffix in ("-cpu-py3", "-gpu-py3", "-cpu", "-py3"):
            if self.tag.endswith(suffix):
                return self.tag[: -len(suffix)]
        return self.tag


def parse_image(image: str) -> ImageName:
    """Split ``[<registry>/]<repository>[:<tag>]`` (a digest ``@sha256:...`` is kept out of the tag).

    ``683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1`` ->
    ``ImageName("683313688378.dkr.ecr.us-east-1.amazonaws.com", "sagemaker-xgboost", "1.7-1", "us-east-1")``.
    """
    name = image.strip().split("@", 1)[0]
    registry, _, rest = name.rpartition("/") if "/" in name else ("", "", name)
    repository, _, tag = rest.partition(":")
    region = None
    parts = registry.split(".")
    if len(parts) >= 4 and parts[1] == "dkr" and parts[2] == "ecr":
        region = parts[3]
    return ImageName(registry, repository, tag, region)
