"""The `vae` quality scale and its models: a variable-rate model, and the one-level files it replaced.

Quality is a real number: quality *q* stands for the rate–distortion trade-off
λ = 0.01 · 2^(q − 3) (:func:`lmbda_of`; loss ``bpp + λ·MSE``, MSE of 0–255 RGB),
so each unit of quality doubles λ. The variable-rate model (``vr.npz``,
:data:`VARIABLE_RATE`) has one gain row per integer quality 0..7 and interpolates
between them (:meth:`.model.VAEModel.gain_vectors`). Qualities 1..4 keep their
meaning as named points (the λ of the former levels).

The one-level files ``q1..q4.npz`` (:data:`LEVELS`), each trained from the
matching ``cae`` level, decode what they wrote (payload format 1, and ``nvc``
keyframes), and still code the whole qualities of :data:`LEVEL_FILE_QUALITIES`, where they
beat the variable-rate model. Importing this module is cheap (no TensorFlow).
"""

from __future__ import annotations

from pathlib import Path

from neuralav.plugins.imaging.zoo import Level, VariableRate, Zoo, lmbda_of, quality_of

from .config import ArchConfig

__all__ = ["Level", "LEVELS", "LMBDAS", "VARIABLE_RATE", "WEIGHTS_DIR", "WEIGHTS_DIR_ENV",
           "LEVEL_FILE_QUALITIES", "ZOO", "level", "lmbda_of", "option_help", "quality_of"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""Folder of the shipped ``q{N}.npz`` files."""

WEIGHTS_DIR_ENV = "NEURALAV_VAE_WEIGHTS_DIR"
"""Environment variable naming another folder of ``q{N}.npz`` files (no hash check then)."""

ARCH = ArchConfig()
"""Architecture of the shipped model."""

LMBDAS = (0.0025, 0.005, 0.01, 0.02)
"""λ of levels 1..4, ascending (the same as ``cae``'s levels, whose transforms they start from)."""

_SHA256 = (
    "412b242b8a63887048545d034219887f0d312f0b938077ce6d07c56fe46a91d0",
    "1222aea74d8f1178dc63b1d9631a9fb82d72c84eb5d25930c65a64ee0e264251",
    "a82d6d231dc8c5ea8f3bc728b3415e81494224d92c9664412b5a86697e3dca4c",
    "3f18cb20476b0d25c4d6edba6c073d58f949bfe9068f4c8ed6a04b5f68b77d48",
)
"""SHA-256 of the shipped ``q1..q4.npz`` (checked on load)."""

_NOMINAL_BPP = (0.22, 0.34, 0.51, 0.68)
"""Measured Kodak mean bpp of each shipped level (help text; ``weights/MODEL_CARD.md``)."""

LEVELS: dict[int, Level] = {
    quality: Level(lmbda, ARCH, f"q{quality}.npz", sha, bpp, gain_index=0)
    for quality, (lmbda, sha, bpp) in enumerate(zip(LMBDAS, _SHA256, _NOMINAL_BPP), start=1)
}
"""``quality`` option value -> level (higher is better quality, more bits)."""

VARIABLE_RATE = VariableRate(
    "vr.npz", "5fd7765ab4512e0071c7eae9a79b9360c3f387fb77440d1b1f5d5059de2486c3", 0.0, 7.0,
    nominal_bpp=((0, 0.18), (3, 0.53), (7, 1.16)))
"""The variable-rate model: qualities 0..7 (λ 0.00125 .. 0.16)."""

LEVEL_FILE_QUALITIES: frozenset[int] = frozenset({1, 2})
"""Whole qualities that, without a size target, are still coded by their one-level file ``q{N}.npz``.

Measured per quality (``weights/MODEL_CARD.md``): the shipped variable-rate model is 0.4–0.6 dB
better than ``q3.npz`` and ``q4.npz`` at their rates, but 0.2–0.4 dB worse than ``q1.npz`` and
``q2.npz``, on Kodak and on the validation set; so those two keep coding what users asked for
until a variable-rate model beats them too (then this becomes empty). Everything else (real
qualities, 0 and 3..7, rate control) is the variable-rate model's."""

ZOO = Zoo("vae", LEVELS, WEIGHTS_DIR, WEIGHTS_DIR_ENV, VARIABLE_RATE)
"""The table with its weights folder, as the shared runtime reads it."""

level = ZOO.level


def option_help() -> str:
    """Help text of the ``quality`` option, generated from the table."""
    rates = "".join(f", {q:g} ~{bpp:g} bpp" for q, bpp in VARIABLE_RATE.nominal_bpp)
    return (f"quality, any real number from {VARIABLE_RATE.min_quality:g} to {VARIABLE_RATE.max_quality:g} "
            f"(λ = 0.01·2^(q−3); 1..4 are the former levels{rates})")
