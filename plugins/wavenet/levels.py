"""The one table of ``wavenet`` quality levels: option value -> model level, weights file, hash.

All levels share one weights file (shared transforms, per-level gains and priors).
Importing this module is cheap (no TensorFlow).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

__all__ = ["CODED_RATE", "Level", "LEVELS", "WEIGHTS_DIR", "RATE_SOURCE", "option_help"]

CODED_RATE = 16000
"""Sample rate (Hz) the codec works at; other rates are resampled with PyAV."""

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

SHIPPED_SHA256 = "63a3af708cf7459d3365dce9e669d361a4de943f77090d728cc6084469536ac2"
"""SHA-256 of ``weights/wavenet.npz`` (how it was trained: weights/MODEL_CARD.md)."""


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


RATE_SOURCE = "16 kHz speech, packet framing included"
"""What the table's rates were measured on (shown next to them in help text)."""


def option_help() -> str:
    """Help text of the ``quality`` option (the rates themselves are the option's
    ``nominal_rates``, made from the same table in the package's descriptor)."""
    return "bitrate level (higher: more bits, better audio; the rate varies with the signal)"
