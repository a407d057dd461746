"""The one table of ``nvc`` quality levels (no TensorFlow: cheap to import).

Level *q* codes P-frame residuals with gain row *q − 1* of the residual coder, trained at
the same λ as ``vae`` level *q* (loss ``bpp + λ·MSE``, MSE of 0–255 RGB), and keyframes
with ``vae`` one level higher (the top level: the top ``vae`` level): every P-frame of a
GOP predicts from the keyframe, directly or through its successors, so its quality is
worth more than its own frame's (as x264 codes I-frames at a lower QP than P-frames).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["LMBDAS", "KEYFRAME_QUALITIES", "QUALITIES", "WEIGHTS_DIR", "WEIGHTS_DIR_ENV",
           "WEIGHTS_FILE", "WEIGHTS_SHA256", "DEFAULT_QUALITY", "DEFAULT_GOP"]

LMBDAS = (0.0025, 0.005, 0.01, 0.02)
"""λ of levels 1..4 (the same as ``vae``'s)."""

KEYFRAME_QUALITIES = (2, 3, 4, 4)
"""``vae`` quality of the keyframes of levels 1..4 (measured in ``weights/MODEL_CARD.md``)."""

QUALITIES = tuple(range(1, len(LMBDAS) + 1))
"""Valid values of the ``quality`` option."""

DEFAULT_QUALITY = 3
"""The ``quality`` option's default."""

DEFAULT_GOP = 16
"""The ``g`` option's default: frames from one keyframe to the next (0.64 s at 25 fps; chosen by
measurement on training video, see ``weights/MODEL_CARD.md``)."""

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""Folder of the shipped residual coder."""

WEIGHTS_FILE = "residual.npz"
"""The residual coder's file name."""

WEIGHTS_DIR_ENV = "NEURALAV_NVC_WEIGHTS_DIR"
"""Environment variable naming another folder holding ``residual.npz`` (no hash check then)."""

WEIGHTS_SHA256: str | None = "c957907aa72036ac1989002d5b66c68a6c0e3b981565eb2134bc36f87f4363e5"
"""SHA-256 of the shipped ``residual.npz`` (checked on load)."""
