"""The routes of a transcode: one per output stream, saying where its data comes from, which
codec it gets and with which options, and what it received (:class:`OutputSummary`).

:func:`_plan` turns the selected streams and the command line's per-stream choices into routes;
streams chosen by default that the output cannot hold are left out with a
:class:`StreamDroppedWarning`.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from typing import Any

from neuralav.registry import InvalidOptionError

from .default_codecs import _default_codec
from .errors import UnsupportedOutputError
from .reader import Reader, Track
from .selection import _last_match, _options_for, parse_bitrate
from .writer import OutputStream


class StreamDroppedWarning(UserWarning):
    """A stream chosen by default (no ``-map``) was left out: the output format cannot hold it
    (e.g. PGS subtitles or an attachment in MP4). An explicit ``-map`` of it is an error instead."""


@dataclasses.dataclass
class OutputSummary:
    """What one output stream received: frames (or packets, when copied) and coded bytes."""

    index: int
    type: str
    codec: str
    mode: str
    source: str
    frames: int = 0
    bytes: int = 0
    first: float | None = None
    last: float | None = None

    @property
    def kbps(self) -> float | None:
        """Average bitrate over the stream's span (kbit/s), if it spans any time."""
        if self.first is None or self.last is None or self.last <= self.first:
            return None
        return self.bytes * 8 / (self.last - self.first) / 1000


@dataclasses.dataclass
class _Route:
    """One output stream and where its data comes from."""

    reader: Reader
    track: Track
    codec: str
    options: dict[str, Any]
    bit_rate: int | None
    quality: str | None
    output: OutputStream | None = None
    summary: OutputSummary | None = None
    clock: float = 0.0
    """Source time (s) the next frame starts at, for sources without timestamps."""
    max_frames: int | None = None
    """Stop after this many frames (a still-image output takes the first frame)."""
    ignore_errors: bool = False
    """Skip frames the codec fails to encode (with an :class:`EncodeWarning`)."""
    skipped: int = 0
    """Frames skipped because they failed to encode."""
    last_pts: int | None = None
    """Output pts of the last video frame given to the encoder (they must increase)."""

    @property
    def copies(self) -> bool:
        return self.codec == "copy"


def _plan(readers, selected, writer, codecs, qualities, bitrates, codec_options, output,
          decode_neural, explicit: bool = True) -> list[_Route]:
    """One route per selected stream; streams chosen by default (``explicit`` false) that the
    output cannot hold are left out with a :class:`StreamDroppedWarning`."""
    routes = []
    counts: dict[str, int] = {}
    suffix = os.path.splitext(output)[1].lower()
    for number, track in selected:
        out_index = len(routes)  # output stream numbers close up over streams left out
        type_index = counts.get(track.type, 0)
        counts[track.type] = type_index + 1
        codec = _last_match(codecs, track, type_index, out_index)
        if codec is None:
            try:
                codec = _default_codec(track, writer, suffix, decode_neural)
            except UnsupportedOutputError as error:
                if explicit or track.type not in ("subtitle", "attachment"):
                    raise
                warnings.warn(f"{error}: left out", StreamDroppedWarning, stacklevel=3)
                counts[track.type] = type_index
                continue
        quality = _last_match(qualities, track, type_index, out_index)
        bit_rate = _last_match(bitrates, track, type_index, out_index)
        options = _options_for(codec_options, track, type_index, out_index)
        if codec == "copy" and (quality or bit_rate or options):
            raise InvalidOptionError(f"{track.describe()} is copied (-c copy): -q, -b and -opt do not apply")
        routes.append(_Route(readers[number], track, codec, options,
                             parse_bitrate(bit_rate) if bit_rate else None, quality,
                             max_frames=1 if writer.format == "image2" else None))
    return routes
