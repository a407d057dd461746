"""What a damaged or truncated input lost, said as ffmpeg says it: one error line each.

The demuxer (libavformat) skips what it cannot parse and stops where a file ends,
without telling its caller. :class:`PacketLog` watches the packets a
:class:`~neuralav.container.reader.Reader` hands out and, when a track's packets
run out, finds what is missing:

- a hole: a track whose packets come at a regular step (constant frame rate,
  fixed audio packet length) has a timestamp gap of more than 1.5 steps; the
  packets lost are the steps that fit in the gap;
- a missing tail: the track ends more than 1.5 steps before the end its
  container states (the track's duration, or the file's when the file is
  truncated); the packets lost are estimated from the step. Unless the file
  is known to be truncated, only tracks with a regular step are checked.

The reader adds what :class:`~neuralav.container.ebml.ClusterChecker` finds:
Clusters whose bytes no longer match their CRC-32 (damage a decoder may conceal).
Each loss and each such Cluster becomes a :class:`DamageWarning`. Commands print them with
:func:`reported` as ffmpeg prints its error lines, exit status unchanged (0),
or stop at the first with ``-xerror`` (as ffmpeg's option: exit status 1, no
output file).
"""

from __future__ import annotations

import argparse
import array
import contextlib
import dataclasses
import math
import statistics
import sys
import warnings
from typing import Iterator, TextIO

from neuralav.registry.errors import InvalidDataError

__all__ = ["DamageWarning", "DamagedInputError", "Loss", "PacketLog", "add_arguments", "reported"]

_TOLERANCE = 0.0015
"""Seconds of timestamp jitter that are not a gap (Matroska stores milliseconds)."""
_MERGE_STEPS = 4
"""Holes fewer steps apart than this are one loss (B-frames leave a lost run's timestamps scattered)."""


class DamageWarning(UserWarning):
    """Part of an input was lost to damage or truncation (the message says which track, from when, how much)."""


class DamagedInputError(InvalidDataError):
    """An input is damaged and ``-xerror`` asked to stop at the first error."""


@dataclasses.dataclass(frozen=True)
class Loss:
    """Packets of one track that the input lost.

    Attributes:
        track: Stream index.
        codec: Codec name of the track.
        start: Time of the first missing packet (s).
        end: Time of the next packet read, or the track's stated end (s).
        packets: Packets missing (at the tail: estimated from the track's packet step).
        tail: Whether the loss runs to the track's end (nothing was read after ``start``).
    """

    track: int
    codec: str
    start: float
    end: float
    packets: int
    tail: bool = False

    def describe(self, source: str, cause: str = "") -> str:
        """One line: ``source`` track, time range, packets (and why, when known)."""
        count = f"{'about ' if self.tail else ''}{self.packets} packet{'s' if self.packets != 1 else ''}"
        where = (f"from {self.start:.3f} s to its end at {self.end:.3f} s" if self.tail
                 else f"from {self.start:.3f} s to {self.end:.3f} s")
        return f"`{source}` track #{self.track} ({self.codec}): {count} lost {where}{cause}"


@dataclasses.dataclass
class _TrackTimes:
    codec: str
    starts: array.array = dataclasses.field(default_factory=lambda: array.array("d"))
    """pts of each packet read (s), 8 bytes a packet: a live input may run for hours."""
    ends: array.array = dataclasses.field(default_factory=lambda: array.array("d"))
    """pts + duration of each packet read (s); a duration of 0 (unknown) is stored as NaN."""

    @property
    def times(self) -> Iterator[tuple[float, float]]:
        """(pts, duration) of each packet read (s), duration 0 where unknown."""
        return ((t, 0.0 if math.isnan(e) else e - t) for t, e in zip(self.starts, self.ends))


class PacketLog:
    """The timestamps of the packets read from an input, per track, and what they say was lost."""

    def __init__(self) -> None:
        self._tracks: dict[int, _TrackTimes] = {}

    def watch(self, index: int, codec: str) -> None:
        """Follow track ``index`` (video and audio tracks: their packets come at a regular step)."""
        self._tracks.setdefault(index, _TrackTimes(codec))

    def add(self, index: int, pts: float | None, duration: float) -> None:
        """Record one packet of track ``index`` (times in s; ``pts`` ``None`` is not recorded)."""
        track = self._tracks.get(index)
        if track is not None and pts is not None:
            track.starts.append(pts)
            track.ends.append(pts + duration if duration > 0 else math.nan)

    def losses(self, expected_end: dict[int, float | None], *, truncated: bool = False) -> list[Loss]:
        """Holes in each followed track, and tails missing before the track's ``expected_end`` (s).

        Args:
            expected_end: Where each track should end (s), if known.
            truncated: The input is known to end early; otherwise a missing tail is looked for
                only in tracks with a regular packet step (a last frame may last long).
        """
        found = []
        for index, track in self._tracks.items():
            found += _track_losses(index, track, expected_end.get(index), truncated)
        return found


def _track_losses(index: int, track: _TrackTimes, expected_end: float | None, truncated: bool) -> list[Loss]:
    starts = sorted({round(t, 6) for t, _ in track.times})
    steps = [b - a for a, b in zip(starts, starts[1:])]
    if len(steps) < 2:
        return []
    step = statistics.median(steps)
    if step <= _TOLERANCE:
        return []
    losses = []
    regular = sum(abs(s - step) <= _TOLERANCE for s in steps) >= 0.8 * len(steps)
    if regular:  # a variable frame rate has no holes to find
        for before, after, gap in zip(starts, starts[1:], steps):
            if gap <= 1.5 * step + _TOLERANCE:
                continue
            lost = max(1, round(gap / step) - 1)
            if losses and before - losses[-1].end < _MERGE_STEPS * step:  # reordered frames: one loss
                losses[-1] = dataclasses.replace(losses[-1], end=after, packets=losses[-1].packets + lost)
            else:
                losses.append(Loss(index, track.codec, before + step, after, lost))
    if expected_end is not None and (regular or truncated):
        last = max(t + (d if d > 0 else step) for t, d in track.times)
        if expected_end - last > 1.5 * step + _TOLERANCE:
            losses.append(Loss(index, track.codec, last, expected_end, max(1, round((expected_end - last) / step)),
                               tail=True))
    return losses


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``-xerror`` (stop at the first damage found in an input), as ffmpeg's option."""
    parser.add_argument("-xerror", dest="xerror", action="store_true",
                        help="stop with exit status 1 and no output at the first damage found in an input "
                             "(default: report each as an error line and go on, as ffmpeg does)")


@contextlib.contextmanager
def reported(command: str, *, strict: bool = False, file: TextIO | None = None) -> Iterator[None]:
    """Print each :class:`DamageWarning` raised inside as ``neuralav COMMAND: error: ...`` (stderr).

    Args:
        command: The command's name, for the line's prefix.
        strict: Raise :class:`DamagedInputError` at the first instead (``-xerror``).
        file: Where the lines go (default ``sys.stderr``).
    """
    original = warnings.showwarning

    def show(message, category, filename, lineno, stream=None, line=None):
        if not issubclass(category, DamageWarning):
            return original(message, category, filename, lineno, stream, line)
        if strict:
            raise DamagedInputError(f"{message} (-xerror)")
        print(f"neuralav {command}: error: {message}", file=file or sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always", DamageWarning)
        warnings.showwarning = show
        yield
