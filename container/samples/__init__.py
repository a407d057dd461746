"""The bundled sample clip (``sample.mkv``) and the script that makes it; see README.md here."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SAMPLE"]

SAMPLE = Path(__file__).resolve().parent / "sample.mkv"
"""Path of the bundled clip: 2.0 s of H.264 352x288 video and Opus 16 kHz mono speech."""
