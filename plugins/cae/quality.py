"""The `cae` quality scale and its models: a variable-rate model, and the one-level files before it.

Quality is a real number on the image codecs' common scale: λ = 0.01 · 2^(q − 3)
(:func:`~neuralav.plugins.imaging.zoo.lmbda_of`; loss ``bpp + λ·MSE``). The
variable-rate model (``vr.npz``, :data:`VARIABLE_RATE`, :mod:`.variable_rate`) has a
gain row per integer quality 0..7 and codes any quality in steps of 1/8. The one-level
files ``q1..q4.npz`` (:data:`LEVELS`: the same λ as qualities 1..4) decode what they
wrote (payload format 1) and still code the whole qualities of
:data:`LEVEL_FILE_QUALITIES`, where they measured better. Importing this module is cheap
(no TensorFlow). Measured rates and PSNRs are in ``weights/MODEL_CARD.md``;
``nominal_bpp`` is the measured Kodak mean, rounded (help text).
"""

from __future__ import annotations

from pathlib import Path

from neuralav.plugins.imaging.zoo import Level, VariableRate, Zoo, lmbda_of, quality_of

from .config import ArchConfig

__all__ = ["Level", "LEVELS", "LEVEL_FILE_QUALITIES", "VARIABLE_RATE", "WEIGHTS_DIR", "WEIGHTS_DIR_ENV", "ZOO",
           "option_help", "level", "lmbda_of", "quality_of"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""Folder of the shipped ``q{N}.npz`` files."""

WEIGHTS_DIR_ENV = "NEURALAV_CAE_WEIGHTS_DIR"
"""Environment variable naming another folder of ``q{N}.npz`` files (no hash check then)."""

LEVELS: dict[int, Level] = {
    1: Level(0.0025, ArchConfig(64, 96), "q1.npz",
             "29f8f4796aab9a4a21b1294e2267439ee2b3de081a71714ca918211bdfa69e70", 0.21),
    2: Level(0.005, ArchConfig(64, 96), "q2.npz",
             "bc189fc14c68a77d028bbf7d8faf1ef1e918ee54d6f53ff61642ff7f8886ceff", 0.34),
    3: Level(0.01, ArchConfig(64, 96), "q3.npz",
             "095fb9aa4a78fb70f6a2b914c09521bbb11f336b189c95f77ec494f9d590ab29", 0.52),
    4: Level(0.02, ArchConfig(64, 96), "q4.npz",
             "f7d4210049642e03f5bdc3abda316b7e7b74c19f26e681124c7242b6f1fb5030", 0.69),
}
"""``quality`` option value -> level (higher is better quality, more bits)."""

VARIABLE_RATE = VariableRate(
    "vr.npz", "11430ad7b7f285adb3873d2b8be34b68f2494a8708aa92d67b03c42a573e5d9f", 0.0, 7.0,
    nominal_bpp=((0, 0.15), (3, 0.56), (7, 1.32)))
"""The variable-rate model: qualities 0..7 (λ 0.00125 .. 0.16) in steps of 1/8."""

LEVEL_FILE_QUALITIES: frozenset[int] = frozenset({1})
"""Whole qualities still coded by their one-level file ``q{N}.npz``.

Measured per quality (``weights/MODEL_CARD.md``): at the rates of ``q2..q4.npz`` the
variable-rate model is 0.11–0.46 dB better on Kodak and on the validation set, at the rate
of ``q1.npz`` 0.19 dB worse; so quality 1 keeps its file, every other quality (and every
real one) is the variable-rate model's."""

ZOO = Zoo("cae", LEVELS, WEIGHTS_DIR, WEIGHTS_DIR_ENV, VARIABLE_RATE)
"""The table with its weights folder, as the shared runtime reads it."""

level = ZOO.level


def option_help() -> str:
    """Help text of the ``quality`` option, generated from the tables."""
    rates = "".join(f", {q:g} ~{bpp:g} bpp" for q, bpp in VARIABLE_RATE.nominal_bpp)
    return (f"quality, any real number from {VARIABLE_RATE.min_quality:g} to {VARIABLE_RATE.max_quality:g} "
            f"in steps of 1/8 (λ = 0.01·2^(q−3); 1..4 are the former levels{rates}, Kodak mean)")
