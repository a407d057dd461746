"""The one table of `vae` quality levels: option value -> λ, gain row, architecture, weights, hash.

All levels share one model (gain units, see :mod:`.model`), so they name the
same weights file; each level picks its row of gains. Importing this module is
cheap (no TensorFlow). Measured rates go to ``weights/MODEL_CARD.md``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .config import ArchConfig

__all__ = ["Level", "LEVELS", "LMBDAS", "WEIGHTS_DIR", "WEIGHTS_FILE", "level", "option_help"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""Folder of the shipped weights file."""

WEIGHTS_FILE = "vae.npz"
"""File name of the shipped model (every level)."""

WEIGHTS_SHA256: str | None = None
"""SHA-256 of the shipped ``vae.npz`` (None: no weights shipped yet, nothing to check)."""

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


LMBDAS = (0.003, 0.006, 0.012, 0.024)
"""λ of levels 1..4, ascending: the model is trained with exactly these (``train.py`` default)."""

LEVELS: dict[int, Level] = {
    quality: Level(lmbda, quality - 1, ARCH, WEIGHTS_FILE, WEIGHTS_SHA256, None)
    for quality, lmbda in enumerate(LMBDAS, start=1)
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
