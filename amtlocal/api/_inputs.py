"""Input channels as SDK v2 builds them (``sagemaker.inputs.TrainingInput``, ``sagemaker.job._Job``): ``fit(inputs)``
-> ``InputDataConfig``. Locally a channel's ``S3Uri`` may be a folder, a file or a ``file://`` URI."""

from __future__ import annotations

import os
from typing import Any

from amtlocal.spec.uris import to_uri


class TrainingInput:
    """One input channel (SDK v2 ``sagemaker.inputs.TrainingInput``); ``s3_data`` may be a local path locally.

    ``config`` is the channel's ``Channel`` dict without ``ChannelName``, exactly as the SDK builds it
    (``S3DataDistributionType`` defaults to ``FullyReplicated``).
    """

    def __init__(
        self,
        s3_data: str,
        distribution: str | None = None,
        compression: str | None = None,
        content_type: str | None = None,
        record_wrapping: str | None = None,
        s3_data_type: str = "S3Prefix",
        instance_groups: list[str] | None = None,
        input_mode: str | None = None,
        attribute_names: list[str] | None = None,
        target_attribute_name: str | None = None,
        shuffle_config: Any = None,
    ):
        self.s3_data, self.distribution, self.content_type = s3_data, distribution or "FullyReplicated", content_type
        self.s3_data_type, self.input_mode, self.compression = s3_data_type, input_mode, compression
        self.record_wrapping, self.instance_groups, self.attribute_names = (
            record_wrapping,
            instance_groups,
            attribute_names,
        )
        self.target_attribute_name, self.shuffle_config = target_attribute_name, shuffle_config

    @property
    def config(self) -> dict[str, Any]:
        """The ``Channel`` (without ``ChannelName``); local paths become ``file://`` URIs."""
        s3: dict[str, Any] = {
            "S3DataType": self.s3_data_type,
            "S3Uri": to_uri(self.s3_data),
            "S3DataDistributionType": self.distribution,
        }
        if self.attribute_names:
            s3["AttributeNames"] = list(self.attribute_names)
        if self.instance_groups:
            s3["InstanceGroupNames"] = list(self.instance_groups)
        ch: dict[str, Any] = {"DataSource": {"S3DataSource": s3}}
        for key, value in (
            ("CompressionType", self.compression),
            ("ContentType", self.content_type),
            ("RecordWrapperType", self.record_wrapping),
            ("InputMode", self.input_mode),
        ):
            if value is not None:
                ch[key] = value
        if self.target_attribute_name:
            ch["TargetAttributeName"] = self.target_attribute_name
        if self.shuffle_config is not None:
            ch["ShuffleConfig"] = {"Seed": getattr(self.shuffle_config, "seed", self.shuffle_config)}
        return ch


def _channel(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, TrainingInput):
        ch = value.config
    elif hasattr(value, "config") and isinstance(value.config, dict):  # the SDK's own TrainingInput / FileSystemInput
        ch = dict(value.config)
    elif isinstance(value, (str, os.PathLike)):
        ch = TrainingInput(str(value)).config
    else:
        raise TypeError(f"inputs[{name!r}] must be a path/URI or a TrainingInput, not {type(value).__name__}")
    return {**ch, "ChannelName": name}


def channels_from_inputs(inputs: Any) -> list[dict[str, Any]]:
    """``fit(inputs)`` -> ``InputDataConfig``: a string (or one TrainingInput) is one channel named ``training`` (as in
    SDK v2); a dict maps channel names to paths, URIs or :class:`TrainingInput`.

    Raises:
        TypeError: an input of another kind.
    """
    if inputs is None:
        return []
    if isinstance(inputs, (str, os.PathLike)) or hasattr(inputs, "config"):
        inputs = {"training": inputs}
    if not isinstance(inputs, dict):
        raise TypeError(
            "inputs must be a path/URI, a TrainingInput, or a dict of channel name -> path/URI/TrainingInput"
        )
    return [_channel(str(name), value) for name, value in inputs.items()]


def input_mode_of(inputs: Any) -> str | None:
    """The ``InputMode`` of a single TrainingInput given to ``fit`` (SDK v2 makes it the TrainingInputMode)."""
    if hasattr(inputs, "config") and isinstance(inputs.config, dict):
        return inputs.config.get("InputMode")
    return None
