"""Architecture configuration of the CAE (no TensorFlow import: cheap to import)."""

from __future__ import annotations

import dataclasses

__all__ = ["ArchConfig"]


@dataclasses.dataclass(frozen=True)
class ArchConfig:
    """Architecture of a CAE model.

    Attributes:
        num_filters: N, channels of the hidden layers.
        latent_channels: M, channels of the latent ``y`` (H/16 x W/16 x M).
    """

    num_filters: int = 64
    latent_channels: int = 96

    @classmethod
    def tiny(cls) -> "ArchConfig":
        """A very small configuration (N=8, M=8) for unit tests without shipped weights."""
        return cls(num_filters=8, latent_channels=8)
