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

from neuralav.registry import Capability, CodecDescriptor, MediaType, Option, hookimpl

from .quality import LEVELS, option_help

__all__ = ["CAE", "neuralav_register_codecs"]

CAE = CodecDescriptor(
    name="cae",
    long_name="Convolutional autoencoder image codec (Ballé 2017 factorized prior, range-coded)",
    media_type=MediaType.VIDEO,
    capabilities=Capability.LOSSY | Capability.NEURAL | Capability.INTRA_ONLY | Capability.VARIABLE_SIZE,
    formats=("rgb24",),
    options=(Option("quality", int, 3, option_help(), min=min(LEVELS), max=max(LEVELS)),),
    version=1,
    fourcc="NCAE",
    encoder="neuralav.plugins.cae.codec:CAEEncoder",
    decoder="neuralav.plugins.cae.codec:CAEDecoder",
)


@hookimpl
def neuralav_register_codecs(register):
    """Register the ``cae`` codec."""
    register(CAE)
