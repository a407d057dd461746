"""The one table of ``wavenet`` quality levels: option value -> model level, weights file, hash.

All levels share one weights file (shared transforms, per-level gains and priors).
Importing this module is cheap (no TensorFlow).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

__all__ = ["CODED_RATE", "Level", "LEVELS", "WEIGHTS_DIR", "option_help"]

CODED_RATE = 16000
"""Sample rate (Hz) the codec works at; other rates are resampled with PyAV."""

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

SHIPPED_SHA256 = "63a3af708cf7459d3365dce9e669d361a4de943f77090d728cc6084469536ac2"
"""SHA-256 of ``weights/wavenet.npz`` (the ninth release: the mean of run ``tux``'s checkpoints
9,500-18,000 and run ``tuxhi``'s 4,500-11,000, two fine-tunings of the eighth release with
more women's voices and sped-up speech; see weights/MODEL_CARD.md for the chain back to run
``base``)."""


@dataclasses.dataclass(frozen=True)
class Level:
    """One quality level.

    Attributes:
        index: Level index inside the model (gain vector and prior), also written in packets.
        kbps: Nominal bitrate for mono 16 kHz speech (kbps, packet framing included).
        weights: File name under ``weights/``.
        sha256: Expected SHA-256 of that file (checked when it is loaded), or ``None``.
    """

    index: int
    kbps: float
    weights: str = "wavenet.npz"
    sha256: str | None = SHIPPED_SHA256


LEVELS: dict[int, Level] = {
    1: Level(0, 2.83),
    2: Level(1, 5.71),
    3: Level(2, 11.0),
}
"""``quality`` option value -> level. Rates: mean over the held-out LibriSpeech clips
(weights/MODEL_CARD.md); they vary with the signal (the levels are variable-rate)."""


def option_help() -> str:
    """Help text of the ``quality`` option, generated from the table."""
    return "bitrate level: " + ", ".join(f"{q} ~{lv.kbps:g} kbps" for q, lv in LEVELS.items()) + " (mono)"
