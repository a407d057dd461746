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

SHIPPED_SHA256 = "619cb44ba237b5e4f4c02cf1eca1bcb6a60e143f8bf4f450da849eb4f6248315"
"""SHA-256 of ``weights/wavenet.npz`` (run ``kl`` at step 4,500: run ``ps40d``'s step 4,000
fine-tuned on fillets+klettres; ps40d came from run ``ps40``'s step 29,064, itself from run
``base``'s step 18,090; see weights/MODEL_CARD.md)."""


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
    1: Level(0, 2.90),
    2: Level(1, 5.81),
    3: Level(2, 11.1),
}
"""``quality`` option value -> level. Rates: mean over the held-out LibriSpeech clips
(weights/MODEL_CARD.md); they vary with the signal (the levels are variable-rate)."""


def option_help() -> str:
    """Help text of the ``quality`` option, generated from the table."""
    return "bitrate level: " + ", ".join(f"{q} ~{lv.kbps:g} kbps" for q, lv in LEVELS.items()) + " (mono)"
