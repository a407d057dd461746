"""The one table of `vae` quality levels: option value -> λ, gain row, architecture, weights, hash.

Each level is its own one-level model (``q{N}.npz``, gain row 0), trained
from the matching ``cae`` level's transforms at that level's λ, so that every
level starts from transforms already trained for its rate (the choice of this
2-core CPU's short sessions, not a measured win over one variable-rate model;
see ``weights/MODEL_CARD.md``). The model code still supports several levels per
file through gain units (:mod:`.model`); a level names its file and its gain
row. Importing this module is cheap (no TensorFlow). Measured rates go to
``weights/MODEL_CARD.md``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .config import ArchConfig

__all__ = ["Level", "LEVELS", "LMBDAS", "WEIGHTS_DIR", "level", "option_help"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""Folder of the shipped ``q{N}.npz`` files."""

ARCH = ArchConfig()
"""Architecture of the shipped model."""


@dataclasses.dataclass(frozen=True)
class Level:
    """One quality level.

    Attributes:
        lmbda: λ of the training loss ``bpp + λ·MSE`` (MSE of 0–255 RGB).
        gain_index: Row of the model's gain units (0-based).
        arch: Architecture of the weights.
        weights: File name under :data:`WEIGHTS_DIR`.
        sha256: Expected SHA-256 of that file (checked on load), or ``None``.
        nominal_bpp: Approximate Kodak rate (bits per pixel) for help text, or
            ``None`` until shipped weights are measured.
    """

    lmbda: float
    gain_index: int
    arch: ArchConfig
    weights: str
    sha256: str | None
    nominal_bpp: float | None


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
    quality: Level(lmbda, 0, ARCH, f"q{quality}.npz", sha, bpp)
    for quality, (lmbda, sha, bpp) in enumerate(zip(LMBDAS, _SHA256, _NOMINAL_BPP), start=1)
}
"""``quality`` option value -> level (higher is better quality, more bits)."""


def level(quality: int) -> Level:
    """The level of a ``quality`` value.

    Raises:
        ValueError: `quality` is not in the table (message lists the valid range).
    """
    try:
        return LEVELS[quality]
    except (KeyError, TypeError):
        raise ValueError(f"`quality` = {quality!r} is not a vae level "
                         f"(valid: {min(LEVELS)} to {max(LEVELS)})") from None


def option_help() -> str:
    """Help text of the ``quality`` option, generated from the table."""
    parts = [f"{q} (λ {lv.lmbda:g}" + (f", ~{lv.nominal_bpp:g} bpp)" if lv.nominal_bpp else ")")
             for q, lv in LEVELS.items()]
    return "quality level: " + ", ".join(parts)
