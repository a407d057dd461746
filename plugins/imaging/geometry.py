"""Sizes of the image codecs' latents (no TensorFlow: decoders check sizes before any model call)."""

from __future__ import annotations

__all__ = ["PAD_MULTIPLE", "latent_shape"]

PAD_MULTIPLE = 16
"""Images are edge-padded to a multiple of this many pixels (4 stride-2 layers)."""


def latent_shape(width: int, height: int, downsampling: int = PAD_MULTIPLE) -> tuple[int, int]:
    """Spatial shape (h, w) of the latent of a width x height image: each side divided
    by `downsampling`, rounded up (the image is edge-padded first)."""
    return -(-height // downsampling), -(-width // downsampling)
