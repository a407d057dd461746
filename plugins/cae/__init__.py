"""``cae``: the built-in neural image/video codec (factorized-prior convolutional autoencoder).

After Ballé, Laparra & Simoncelli, "End-to-end Optimized Image Compression"
(ICLR 2017): GDN transforms, a range-coded latent with a learned factorized
prior. Every frame is coded on its own (intra only).

Registers one codec through the ``neuralav`` entry-point group. Encoders code any
real quality 0..7 (steps of 1/8) with the variable-rate model ``weights/vr.npz``, or a
one-level file ``weights/qN.npz`` where it measured better; decoders read both. This module
imports neither TensorFlow nor the codec: listing codecs stays fast. Modules:
:mod:`.quality` (the quality scale and models), :mod:`.codec` (encoder/decoder, payload
layout), :mod:`.model`, :mod:`.variable_rate`, :mod:`.weights`, :mod:`.train`, :mod:`.evaluate`.
"""

from __future__ import annotations

from neuralav.plugins.imaging.zoo import image_codec
from neuralav.registry import Option, hookimpl

from .quality import LEVELS, VARIABLE_RATE, option_help

__all__ = ["CAE", "neuralav_register_codecs"]

CAE = image_codec(
    "cae", "Convolutional autoencoder image codec (Ballé 2017 factorized prior, range-coded)",
    "NCAE", LEVELS, option_help(), "neuralav.plugins.cae.codec",
    quality_option=Option("quality", float, 3.0, option_help(), min=VARIABLE_RATE.min_quality,
                          max=VARIABLE_RATE.max_quality))


@hookimpl
def neuralav_register_codecs(register):
    """Register the ``cae`` codec."""
    register(CAE)
