"""A terminal progress bar for long transcodes (tqdm), silent when stderr is not a TTY."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Shows output time done / total, frames, frames/s, bitrate (kbit/s) and ETA.

    Args:
        total: Expected output duration in seconds (0 if unknown).
        enabled: Force on or off; default: on only when stderr is a terminal.
        label: What the bar is labelled with: the command (``transcode``, ``decode``).
    """

    def __init__(self, total: float, enabled: bool | None = None, label: str = "transcode") -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.total = max(total, 0.0)
        self.position = 0.0
        self.frames = 0
        self.bytes = 0
        self._began = time.monotonic()
        self._bar = None
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=round(self.total, 2) or None, unit="s", file=sys.stderr, leave=True,
                             bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}{postfix}]",
                             desc=label)

    def add_bytes(self, count: int) -> None:
        """Count coded bytes written (for the bitrate)."""
        self.bytes += count

    def advance(self, seconds: float, frames: int = 0) -> None:
        """Move to output time ``seconds`` and count ``frames`` more video frames."""
        self.frames += frames
        if seconds <= self.position:
            return
        step, self.position = seconds - self.position, seconds
        if self._bar is not None:
            elapsed = max(time.monotonic() - self._began, 1e-6)
            self._bar.set_postfix_str(f"frame={self.frames} fps={self.frames / elapsed:.1f} "
                                      f"bitrate={self.bytes * 8 / max(self.position, 1e-3) / 1000:.1f}kbit/s",
                                      refresh=False)
            self._bar.update(round(step, 3))

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
