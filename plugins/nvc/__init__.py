"""``nvc``: the built-in neural inter-frame video codec.

Keyframes every ``g`` frames are ``vae`` frames; every other frame is a P-frame predicted
from the previous decoded frame by overlapped block motion compensation (quarter-pel,
8-tap interpolation, integer arithmetic), its residual coded by a learned scale-hyperprior autoencoder whose synthesis
runs in integers (:mod:`.exact`), so decoders never drift from the encoder. Motion-vector
differences are range-coded with a learned factorized prior (:mod:`.vectors`).

Why a codec of its own rather than a mode of ``vae``: ``vae`` stays intra-only (every
packet a keyframe, every file written so far unchanged, still images coded as before),
while ``nvc`` takes the registry's stateful contract (:mod:`neuralav.registry.inter`);
its keyframes *are* ``vae`` frames, with the same weights.

Registered through the ``neuralav`` entry point group (``pyproject.toml``). This module
imports neither TensorFlow nor the codec. Modules: :mod:`.levels` (the level table),
:mod:`.codec` (encoder/decoder, payload layout), :mod:`.motion`, :mod:`.vectors`,
:mod:`.model`, :mod:`.exact`, :mod:`.weights`, :mod:`.pairs`, :mod:`.train`.
"""

from __future__ import annotations

from neuralav.registry import Capability, CodecDescriptor, MediaType, Option, hookimpl, keyframe_interval_option

from . import levels

__all__ = ["NVC", "neuralav_register_codecs"]

NVC = CodecDescriptor(
    name="nvc",
    long_name="Neural inter-frame video: vae keyframes, motion-compensated learned P-frames (range-coded)",
    media_type=MediaType.VIDEO,
    capabilities=Capability.LOSSY | Capability.NEURAL | Capability.INTER | Capability.VARIABLE_SIZE,
    formats=("rgb24",),
    options=(Option("quality", int, levels.DEFAULT_QUALITY,
                    "quality level: " + ", ".join(f"{q} (λ {lmbda:g})" for q, lmbda in
                                                  zip(levels.QUALITIES, levels.LMBDAS)),
                    min=min(levels.QUALITIES), max=max(levels.QUALITIES)),
             keyframe_interval_option(default=levels.DEFAULT_GOP)),
    version=2,
    fourcc="NNVC",
    encoder="neuralav.plugins.nvc.codec:NVCEncoder",
    decoder="neuralav.plugins.nvc.codec:NVCDecoder",
)


@hookimpl
def neuralav_register_codecs(register):
    """Register the ``nvc`` codec."""
    register(NVC)
