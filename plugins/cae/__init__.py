"""``cae``: the built-in neural image/video codec (factorized-prior convolutional autoencoder).

After Ballé, Laparra & Simoncelli, "End-to-end Optimized Image Compression"
(ICLR 2017): GDN transforms, a range-coded latent with a learned factorized
prior. Every frame is coded on its own (intra only).

Registers one codec through the ``neuralav`` entry-point group. This module
imports neither TensorFlow nor the codec: listing codecs stays fast. Modules:
:mod:`.quality` (the level table), :mod:`.codec` (encoder/decoder, payload
layout), :mod:`.model`, :mod:`.weights`, :mod:`.train`, :mod:`.evaluate`.
"""

from __future__ import annotations

from neuralav.plugins.imaging.zoo import image_codec
from neuralav.registry import hookimpl

from .quality import LEVELS, option_help

__all__ = ["CAE", "neuralav_register_codecs"]

CAE = image_codec(
    "cae", "Convolutional autoencoder image codec (Ballé 2017 factorized prior, range-coded)",
    "NCAE", LEVELS, option_help(), "neuralav.plugins.cae.codec")


@hookimpl
def neuralav_register_codecs(register):
    """Register the ``cae`` codec."""
    register(CAE)
