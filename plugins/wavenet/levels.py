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

SHIPPED_SHA256 = "e5e75543409b0ef44d9b1e9b9ea1785993b3a9b8ee4dc2ae5e26f807467e823f"
"""SHA-256 of ``weights/wavenet.npz`` (run ``kl2``, the mean of its checkpoints of steps 3,500
to 9,000: the seventh release, run ``kl``'s step 4,500, fine-tuned further on fillets+klettres;
see weights/MODEL_CARD.md for the chain back to run ``base``)."""


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
    1: Level(0, 2.92),
    2: Level(1, 5.82),
    3: Level(2, 11.2),
}
"""``quality`` option value -> level. Rates: mean over the held-out LibriSpeech clips
(weights/MODEL_CARD.md); they vary with the signal (the levels are variable-rate)."""


def option_help() -> str:
    """Help text of the ``quality`` option, generated from the table."""
    return "bitrate level: " + ", ".join(f"{q} ~{lv.kbps:g} kbps" for q, lv in LEVELS.items()) + " (mono)"
