"""The one table of `cae` quality levels: option value -> λ, architecture, weights file, hash.

Importing this module is cheap (no TensorFlow). Measured rates and PSNRs are in
``weights/MODEL_CARD.md``; ``nominal_bpp`` is the measured Kodak mean, rounded (help text).
"""

from __future__ import annotations

from pathlib import Path

from neuralav.plugins.imaging.zoo import Level, Zoo

from .config import ArchConfig

__all__ = ["Level", "LEVELS", "WEIGHTS_DIR", "WEIGHTS_DIR_ENV", "ZOO", "option_help", "level"]

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

ZOO = Zoo("cae", LEVELS, WEIGHTS_DIR, WEIGHTS_DIR_ENV)
"""The table with its weights folder, as the shared runtime reads it."""

level = ZOO.level


def option_help() -> str:
    """Help text of the ``quality`` option, generated from the table."""
    return "quality level: " + ", ".join(
        f"{q} ~{lv.nominal_bpp:g} bpp" for q, lv in LEVELS.items()) + " (Kodak mean)"
