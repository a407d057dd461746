"""Which input streams go into the output, and which per-stream options apply to each.

The command line's stream specifiers, as ffmpeg's: ``v``, ``a``, ``s``, ``t`` (attachments),
a type and an index (``v:0``) or an index (``2``). In ``-map`` they follow the input number
(``0``, ``0:v``, ``1:a:0``, ``0:2``); after ``-c``, ``-q``, ``-b`` and ``-opt`` they select the
output streams an option applies to, and when several options match a stream the last one wins.
Without ``-map``, every stream the output format can hold is chosen.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from neuralav.registry import InvalidOptionError

from .errors import StreamSelectionError
from .pipe_output import RAW_FORMATS
from .reader import Reader, Track


_TYPE_LETTERS = {"v": "video", "a": "audio", "s": "subtitle", "t": "attachment", "d": "data"}


@dataclasses.dataclass(frozen=True)
class StreamChoice:
    """A per-stream option from the command line: ``-c:v cae`` is ``StreamChoice("v", "cae")``."""

    spec: str
    value: str


def parse_bitrate(text: str) -> int:
    """``6k`` → 6000, ``1.5M`` → 1500000, ``64000`` → 64000 (bits/s).

    Raises:
        InvalidOptionError: not a positive number with an optional k/M suffix.
    """
    scale = {"k": 1000, "K": 1000, "m": 1_000_000, "M": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    try:
        value = float(number) * scale
    except ValueError:
        raise InvalidOptionError(f"bitrate {text!r} is not a number of bits/s (e.g. 6k, 64000, 1.5M)") from None
    if not value > 0:
        raise InvalidOptionError(f"bitrate {text!r} must be positive")
    if not value < 2 ** 31:  # FFmpeg's bit rates are int64, its encoders' options int32
        raise InvalidOptionError(f"bitrate {text!r} is too large (at most 2G bits/s)")
    return int(value)


def matches_spec(spec: str, track_type: str, type_index: int, index: int) -> bool:
    """Whether a stream specifier (``""``, ``v``, ``a:1``, ``2``) selects a stream.

    Raises:
        StreamSelectionError: the specifier is malformed.
    """
    if spec == "":
        return True
    parts = spec.split(":")
    if parts[0] in _TYPE_LETTERS:
        if _TYPE_LETTERS[parts[0]] != track_type:
            return False
        if len(parts) == 1:
            return True
        if len(parts) == 2 and parts[1].isdigit():
            return int(parts[1]) == type_index
    elif len(parts) == 1 and parts[0].isdigit():
        return int(parts[0]) == index
    raise StreamSelectionError(f"invalid stream specifier {spec!r} (use v, a, s, t, v:0, a:1 or a stream index)")


def _select(readers: list[Reader], maps: Sequence[str], output_format: str) -> list[tuple[int, Track]]:
    """The (input number, track) pairs of the output, in order."""
    chosen: list[tuple[int, Track]] = []
    if not maps:
        wanted = {"image2": ("video",), "wav": ("audio",), "flac": ("audio",), "mp3": ("audio",),
                  "ogg": ("audio",), **{name: (kind,) for name, kind in RAW_FORMATS.items()}}.get(
                      output_format, ("video", "audio", "subtitle", "attachment"))
        for number, reader in enumerate(readers):
            for track in reader.streams:
                if track.type in wanted and not ((output_format == "image2" or output_format in RAW_FORMATS)
                                                 and chosen):
                    chosen.append((number, track))
        if not chosen:
            raise StreamSelectionError(f"no input stream can go into a {output_format} output")
        return chosen
    for text in maps:
        number_text, _, spec = text.partition(":")
        if not number_text.isdigit() or int(number_text) >= len(readers):
            raise StreamSelectionError(f"-map {text!r}: input {number_text!r} does not exist "
                                       f"(there {'is' if len(readers) == 1 else 'are'} {len(readers)} input(s), "
                                       f"numbered from 0)")
        reader = readers[int(number_text)]
        counts: dict[str, int] = {}
        found = []
        for track in reader.streams:
            type_index = counts.get(track.type, 0)
            counts[track.type] = type_index + 1
            if matches_spec(spec, track.type, type_index, track.index):
                found.append((int(number_text), track))
        if not found:
            raise StreamSelectionError(f"-map {text!r} matches no stream of `{reader.path}` "
                                       f"({', '.join(t.describe() for t in reader.streams) or 'no streams'})")
        chosen += found
    return chosen


def _last_match(choices: Sequence[StreamChoice], track: Track, type_index: int, out_index: int) -> str | None:
    value = None
    for choice in choices:
        if matches_spec(choice.spec, track.type, type_index, out_index):
            value = choice.value
    return value


def _options_for(choices: Sequence[StreamChoice], track: Track, type_index: int, out_index: int
                 ) -> dict[str, str]:
    options = {}
    for choice in choices:
        if matches_spec(choice.spec, track.type, type_index, out_index):
            key, sep, value = choice.value.partition("=")
            if not sep or not key:
                raise InvalidOptionError(f"codec option {choice.value!r} must look like KEY=VALUE")
            options[key] = value
    return options
