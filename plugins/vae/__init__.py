"""``vae``: the built-in scale-hyperprior image/video codec.

After Ballé, Minnen, Singh, Hwang & Johnston, "Variational Image Compression
with a Scale Hyperprior" (ICLR 2018): a GDN autoencoder whose latent is
range-coded with Gaussian scales predicted from a hyper-latent, itself coded
with a factorized prior. The scale indices are computed by a fixed-point
network (:mod:`.integer`), so decoders never desynchronize. Every frame is
coded on its own (intra only).

Registered through the ``neuralav`` entry point group (``pyproject.toml``);
encoders use the variable-rate model ``weights/vr.npz`` (any real quality 0..7,
per-picture rate control with ``bpp``, ``preset=slow`` latent refinement); the
former one-level files ``weights/q1..q4.npz`` decode the payloads written with
them (see ``weights/MODEL_CARD.md``).
This module imports neither TensorFlow nor the codec. Modules: :mod:`.quality`
(the level table), :mod:`.codec` (encoder/decoder, payload layout),
:mod:`.model`, :mod:`.integer`, :mod:`.weights`, :mod:`.train`, :mod:`.evaluate`.
"""

from __future__ import annotations

from neuralav.plugins.imaging.zoo import image_codec
from neuralav.registry import Option, hookimpl

from .quality import LEVELS, VARIABLE_RATE, option_help

__all__ = ["VAE", "neuralav_register_codecs"]

VAE = image_codec(
    "vae", "Scale-hyperprior VAE image codec (Ballé 2018, integer hyper-synthesis, range-coded)",
    "NVAE", LEVELS, option_help(), "neuralav.plugins.vae.codec",
    quality_option=Option("quality", float, 3.0, option_help(), min=VARIABLE_RATE.min_quality,
                          max=VARIABLE_RATE.max_quality),
    extra_options=(
        Option("bpp", float, None, "target size of each picture in bits per pixel (whole payload): the "
               "quality is searched per picture to land within 3 %; -b:v RATE sets it from the frame size "
               "and rate", min=0.01, max=24.0),
        Option("preset", str, "medium", "medium: code the analysis transform's latents; slow: refine them "
               "per picture first (same decoder and bitstream, several seconds per picture)",
               choices=("medium", "slow")),
    ))


@hookimpl
def neuralav_register_codecs(register):
    """Register the ``vae`` codec."""
    register(VAE)
