"""Architecture configuration of the VAE (no TensorFlow import: cheap to import)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from neuralav.plugins.imaging.geometry import PAD_MULTIPLE, latent_shape

__all__ = ["ArchConfig", "latent_shapes"]


@dataclasses.dataclass(frozen=True)
class ArchConfig:
    """Architecture of a scale-hyperprior model.

    Attributes:
        num_filters: N, channels of the hidden layers of the main transforms.
        latent_channels: M, channels of the latent ``y`` (H/16 x W/16 x M).
        hyper_filters: channels of the hyper transforms and of the hyper-latent
            ``z`` (H/64 x W/64 x hyper_filters).
        num_scales: Number of Gaussian scales the hyper-synthesis indexes.
        scale_min: Smallest scale (index 0), in latent units.
        scale_max: Largest scale (index ``num_scales - 1``); scales are spaced
            evenly in log between the two, as in tfc's ``models/bmshj2018.py``.
        mean_scale: The hyper-synthesis also predicts each latent element's mean
            (Minnen et al. 2018's mean-scale hyperprior) instead of taking 0.
    """

    num_filters: int = 64
    latent_channels: int = 96
    hyper_filters: int = 64
    num_scales: int = 64
    scale_min: float = 0.11
    scale_max: float = 256.0
    mean_scale: bool = False

    ADDED_FIELDS: ClassVar[tuple[str, ...]] = ("mean_scale",)
    """Fields that weights files written before them lack (they then take the default)."""

    @classmethod
    def tiny(cls, mean_scale: bool = False) -> "ArchConfig":
        """A very small configuration (N=M=8, 8 hyper channels) for unit tests."""
        return cls(num_filters=8, latent_channels=8, hyper_filters=8, mean_scale=mean_scale)


def latent_shapes(width: int, height: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """((h, w) of ``y``, (zh, zw) of ``z``) for a width x height image (``z`` is 4x smaller
    again: two more stride-2 layers, sizes rounded up)."""
    return latent_shape(width, height), latent_shape(width, height, 4 * PAD_MULTIPLE)
