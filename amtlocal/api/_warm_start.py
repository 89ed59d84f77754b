"""WarmStartConfig and WarmStartTypes with SDK v2's names (``sagemaker.tuner``)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class WarmStartTypes(Enum):
    """``WarmStartConfig.WarmStartType`` values."""

    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"


class WarmStartConfig:
    """Parents and type of a warm start (SDK v2 ``WarmStartConfig``).

    Args:
        warm_start_type: a :class:`WarmStartTypes` member (a plain string raises ValueError, as in SDK v2).
        parents: names of 1-5 parent tuning jobs.

    Raises:
        ValueError: not a WarmStartTypes member, or no parents.
    """

    def __init__(self, warm_start_type: WarmStartTypes, parents: Iterable[str]):
        if warm_start_type not in list(WarmStartTypes):
            raise ValueError(f"Invalid type: {warm_start_type}, valid warm start types are: {list(WarmStartTypes)}")
        if not parents:
            raise ValueError(f"Invalid parents: {parents}, parents should not be None/empty")
        self.type = warm_start_type
        self.parents = set(parents)

    @classmethod
    def from_job_desc(cls, warm_start_config: dict | None) -> WarmStartConfig | None:
        """From the ``WarmStartConfig`` of a DescribeHyperParameterTuningJob response."""
        if not warm_start_config:
            return None
        return cls(
            WarmStartTypes(warm_start_config["WarmStartType"]),
            [p["HyperParameterTuningJobName"] for p in warm_start_config["ParentHyperParameterTuningJobs"]],
        )

    def to_input_req(self) -> dict:
        """The request's ``WarmStartConfig`` (parents sorted, so the same config gives the same request)."""
        return {
            "WarmStartType": self.type.value,
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": p} for p in sorted(self.parents)],
        }
