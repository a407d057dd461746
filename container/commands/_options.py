"""ffmpeg-style stream-specified options (``-c:v``, ``-q:a:0``, ``-b:a``) for argparse.

argparse has no notion of ``-c:SPEC``, so every spelling the commands accept is
registered (types ``v a s t`` and indices 0..15); all land, in command-line
order, in one list of :class:`~neuralav.container.pipeline.StreamChoice` per
option family. Only the bare and per-type spellings appear in ``--help``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from typing import Iterator

from .. import interrupts
from ..pipeline import StreamChoice

__all__ = ["add_stream_options", "FAMILIES", "parse_time", "sigterm_interrupts", "MAX_TIME"]

MAX_TIME = 1e9
"""Largest -ss/-t accepted (s, about 32 years): in FFmpeg's int64 microseconds with room to spare,
and exact to the microsecond in a float (inf, nan and 1e30 are refused)."""

FAMILIES = {
    "c": ("codecs", "codec: copy, a neuralav codec (cae, wavenet...) or a PyAV encoder (libx264, libopus...)"),
    "q": ("qualities", "quality: a neural codec's quality level; qscale for PyAV encoders"),
    "b": ("bitrates", "bitrate in bits/s with k/M suffixes (6k, 1.5M): PyAV encoders; vae sets its per-picture size (bpp); other neural codecs pick the nearest quality level"),
    "opt": ("codec_options", "codec option KEY=VALUE (e.g. -opt:v preset=slow, -opt:v quality=2)"),
}
_INDICES = range(16)


class _Append(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        spec = option_string.partition(":")[2]
        items = list(getattr(namespace, self.dest) or [])
        items.append(StreamChoice(spec, values))
        setattr(namespace, self.dest, items)


class _AppendCodecOption(argparse.Action):
    """``-g[:SPEC] N`` (ffmpeg's generic encoder option) as ``-opt[:SPEC] g=N``, ``-preset[:SPEC] NAME``
    as ``-opt[:SPEC] preset=NAME``; a bare ``-g`` or ``-preset`` applies to the video streams."""

    def __call__(self, parser, namespace, values, option_string=None):
        spec = option_string.partition(":")[2] or "v"
        items = list(getattr(namespace, self.dest) or [])
        items.append(StreamChoice(spec, f"{self.metavar.lower()}={values}"))
        setattr(namespace, self.dest, items)


def _spellings(family: str) -> list[str]:
    names = [f"-{family}"]
    for letter in "vast":
        names.append(f"-{family}:{letter}")
        names += [f"-{family}:{letter}:{i}" for i in _INDICES]
    names += [f"-{family}:{i}" for i in _INDICES]
    return names


def add_stream_options(parser: argparse.ArgumentParser) -> None:
    """Register ``-c``, ``-q``, ``-b``, ``-opt``, ``-g`` and ``-preset`` with every stream specifier."""
    for family, (dest, text) in FAMILIES.items():
        names = _spellings(family)
        visible = names[:1] + [n for n in names if n.count(":") == 1 and not n[-1].isdigit()]
        parser.add_argument(*visible, dest=dest, action=_Append, default=[], metavar="VALUE",
                            help=f"{text} (per stream: -{family}:v, -{family}:a:0, -{family}:2)")
        parser.add_argument(*[n for n in names if n not in visible], dest=dest, action=_Append,
                            default=[], metavar="VALUE", help=argparse.SUPPRESS)
    names = _spellings("g")
    parser.add_argument("-g", "-g:v", dest="codec_options", action=_AppendCodecOption, metavar="G",
                        help="keyframe interval in frames, as ffmpeg's -g (inter codecs such as nvc, "
                             "libx264...); the same as -opt:v g=N")
    parser.add_argument(*[n for n in names if n not in ("-g", "-g:v")], dest="codec_options",
                        action=_AppendCodecOption, metavar="G", help=argparse.SUPPRESS)
    names = _spellings("preset")
    parser.add_argument("-preset", "-preset:v", dest="codec_options", action=_AppendCodecOption,
                        metavar="PRESET", help="encoder preset, as ffmpeg's -preset (vae: medium or slow; "
                                               "libx264: ultrafast...veryslow); the same as -opt:v preset=NAME")
    parser.add_argument(*[n for n in names if n not in ("-preset", "-preset:v")], dest="codec_options",
                        action=_AppendCodecOption, metavar="PRESET", help=argparse.SUPPRESS)


def parse_time(text: str) -> float:
    """``12.5`` or ``[HH:]MM:SS[.ms]`` → seconds (as ffmpeg's -ss/-t)."""
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid time {text!r} (seconds or [HH:]MM:SS[.ms])") from None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    if len(parts) > 3 or not 0 <= seconds <= MAX_TIME:  # (nan fails the comparison too)
        raise argparse.ArgumentTypeError(f"invalid time {text!r} (from 0 to {MAX_TIME:.0f} s, as seconds "
                                         "or [HH:]MM:SS[.ms])")
    return seconds


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM (``kill``, a stopping service) interrupts like Ctrl-C.

    Python's default for SIGTERM ends the process at once, leaving the output's
    temporary file behind; as a ``KeyboardInterrupt`` it unwinds the pipeline, which
    deletes it (the command then exits with status 130). It is recorded too, so it
    cannot be lost (:mod:`neuralav.container.interrupts`); any error raised after an
    interrupt came is reported as the interrupt. Outside the main thread (commands called
    from a worker thread) nothing changes.
    """
    with interrupts.recorded(signal.SIGTERM):
        try:
            yield
        except Exception as error:
            # An interrupt can surface as another error (PyAV's I/O callbacks pass on
            # Exceptions only): what the user asked for was to stop.
            if interrupts.received() is not None:
                raise KeyboardInterrupt(f"signal {interrupts.received()}") from error
            raise
