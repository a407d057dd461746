"""The one table of `vae` quality levels: option value -> λ, gain row, architecture, weights, hash.

Each level is its own one-level model (``q{N}.npz``, gain row 0), trained
from the matching ``cae`` level's transforms at that level's λ, so that every
level starts from transforms already trained for its rate (why, and what was
measured: ``weights/MODEL_CARD.md``). The model code also supports several levels
per file through gain units (:mod:`.model`); a level names its file and its gain
row. Importing this module is cheap (no TensorFlow).
"""

from __future__ import annotations

from pathlib import Path

from neuralav.plugins.imaging.zoo import Level, Zoo

from .config import ArchConfig

__all__ = ["Level", "LEVELS", "LMBDAS", "WEIGHTS_DIR", "WEIGHTS_DIR_ENV", "ZOO", "level", "option_help"]

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

ZOO = Zoo("vae", LEVELS, WEIGHTS_DIR, WEIGHTS_DIR_ENV)
"""The table with its weights folder, as the shared runtime reads it."""

level = ZOO.level


def option_help() -> str:
    """Help text of the ``quality`` option, generated from the table."""
    parts = [f"{q} (λ {lv.lmbda:g}" + (f", ~{lv.nominal_bpp:g} bpp)" if lv.nominal_bpp else ")")
             for q, lv in LEVELS.items()]
    return "quality level: " + ", ".join(parts)
