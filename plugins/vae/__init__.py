"""``vae``: the built-in scale-hyperprior image/video codec.

After Ballé, Minnen, Singh, Hwang & Johnston, "Variational Image Compression
with a Scale Hyperprior" (ICLR 2018): a GDN autoencoder whose latent is
range-coded with Gaussian scales predicted from a hyper-latent, itself coded
with a factorized prior. The scale indices are computed by a fixed-point
network (:mod:`.integer`), so decoders never desynchronize. Every frame is
coded on its own (intra only).

Registered through the ``neuralav`` entry point group (``pyproject.toml``);
the shipped weights are ``weights/q1..q4.npz`` (see ``weights/MODEL_CARD.md``).
This module imports neither TensorFlow nor the codec. Modules: :mod:`.quality`
(the level table), :mod:`.codec` (encoder/decoder, payload layout),
:mod:`.model`, :mod:`.integer`, :mod:`.weights`, :mod:`.train`, :mod:`.evaluate`.
"""

from __future__ import annotations

from neuralav.plugins.imaging.zoo import image_codec
from neuralav.registry import hookimpl

from .quality import LEVELS, option_help

__all__ = ["VAE", "neuralav_register_codecs"]

VAE = image_codec(
    "vae", "Scale-hyperprior VAE image codec (Ballé 2018, integer hyper-synthesis, range-coded)",
    "NVAE", LEVELS, option_help(), "neuralav.plugins.vae.codec")


@hookimpl
def neuralav_register_codecs(register):
    """Register the ``vae`` codec."""
    register(VAE)
