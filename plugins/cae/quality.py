"""The one table of `cae` quality levels: option value -> λ, architecture, weights file, hash.

Importing this module is cheap (no TensorFlow). Measured rates and PSNRs are in
``weights/MODEL_CARD.md``; ``nominal_bpp`` is the measured Kodak mean, rounded (help text).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .config import ArchConfig

__all__ = ["Level", "LEVELS", "WEIGHTS_DIR", "option_help", "level"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""Folder of the shipped ``q{N}.npz`` files."""


@dataclasses.dataclass(frozen=True)
class Level:
    """One quality level.

    Attributes:
        lmbda: λ of the training loss ``bpp + λ·MSE`` (MSE of 0–255 RGB).
        arch: Architecture of the weights.
        weights: File name under :data:`WEIGHTS_DIR`.
        sha256: Expected SHA-256 of that file (checked on load), or ``None``.
        nominal_bpp: Approximate rate on photos (bits per pixel), for help text.
    """

    lmbda: float
    arch: ArchConfig
    weights: str
    sha256: str | None
    nominal_bpp: float


LEVELS: dict[int, Level] = {
    1: Level(0.0025, ArchConfig(64, 96), "q1.npz",
             "d4eb608e28ee44bdaae3bec0281db4c006f35d8f4c364d062a219711be3a821b", 0.26),
    2: Level(0.005, ArchConfig(64, 96), "q2.npz",
             "18e878df9eb99ca6a760939388acb02651d66ad742a44c28a33b0ba8a041f519", 0.43),
    3: Level(0.01, ArchConfig(64, 96), "q3.npz",
             "5a92f0e4a997a0119cdae452253562a1c06ab6763d68d1e8b561fce4ae09e8a8", 0.62),
    4: Level(0.02, ArchConfig(64, 96), "q4.npz",
             "996828e2895ddc2e1806ff6860ee9070589317678748dc9baabe8b61c7c5c1ad", 0.71),
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
        raise ValueError(f"`quality` = {quality!r} is not a cae level "
                         f"(valid: {min(LEVELS)} to {max(LEVELS)})") from None


def option_help() -> str:
    """Help text of the ``quality`` option, generated from the table."""
    return "quality level: " + ", ".join(
        f"{q} ~{lv.nominal_bpp:g} bpp" for q, lv in LEVELS.items()) + " (Kodak mean)"
