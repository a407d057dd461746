"""``wavenet``: the built-in neural audio codec (WaveNet-block autoencoder, learned entropy model).

Registers one codec through the ``neuralav`` entry-point group. This module imports
neither TensorFlow nor the codec: listing codecs stays fast.
"""

from __future__ import annotations

from neuralav.registry import Capability, CodecDescriptor, MediaType, NominalRates, Option, hookimpl

from .levels import CODED_RATE, LEVELS, RATE_SOURCE, option_help

__all__ = ["WAVENET", "neuralav_register_codecs"]

WAVENET = CodecDescriptor(
    name="wavenet",
    long_name=f"WaveNet-block neural audio codec ({CODED_RATE // 1000} kHz, learned entropy coding)",
    media_type=MediaType.AUDIO,
    capabilities=Capability.LOSSY | Capability.NEURAL | Capability.DELAY,
    formats=("flt",),
    options=(Option("quality", int, 2, option_help(), min=min(LEVELS), max=max(LEVELS),
                    nominal_rates=NominalRates(tuple((q, level.kbps * 1000) for q, level in LEVELS.items()),
                                               per_channel=True, source=RATE_SOURCE)),),
    version=1,
    fourcc="NWAV",
    encoder="neuralav.plugins.wavenet.codec:WavenetEncoder",
    decoder="neuralav.plugins.wavenet.codec:WavenetDecoder",
)


@hookimpl
def neuralav_register_codecs(register):
    """Register the ``wavenet`` codec."""
    register(WAVENET)
