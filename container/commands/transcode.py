"""``neuralav transcode``: convert media files, ffmpeg-style.

Examples::

    neuralav transcode -i in.mp4 -c:v cae -q:v 3 -c:a copy out.mkv
    neuralav transcode -i a.mkv -i b.wav -map 0:v -map 1:a -c:a libopus -b:a 16k out.mkv
    ffmpeg -i in.mp4 -f matroska - | neuralav transcode -i - -c:v cae -c:a wavenet -f matroska - | ...

As in ffmpeg, ``-f`` before the first ``-i`` names the input's format and after it the
output's; the output ``-`` (stdout) needs it. The summary goes to stderr when stdout carries
the media.
"""

from __future__ import annotations

import argparse
import sys

from .. import damage
from ..pipe_output import STDOUT_NAMES
from ..pipeline import TranscodeResult, transcode
from ._options import add_stream_options, parse_time, sigterm_interrupts

__all__ = ["add_arguments", "add_coding_arguments", "coding_options", "run", "main", "print_summary"]


def add_coding_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options that say how one input is coded (``-map``, ``-c``/``-q``/``-b``/``-opt``,
    ``-ss``, ``-t``, ``-f``); ``neuralav batch`` declares the same ones."""
    parser.add_argument("-map", dest="maps", action="append", default=[], metavar="IN[:SPEC]",
                        help="streams to include (repeatable): 0, 0:v, 1:a:0, 0:2; default: all the output holds")
    add_stream_options(parser)
    parser.add_argument("-ss", dest="start", type=parse_time, default=0.0, metavar="TIME",
                        help="skip the first TIME (seconds or [HH:]MM:SS)")
    parser.add_argument("-t", dest="duration", type=parse_time, default=None, metavar="TIME",
                        help="stop after TIME of output")
    parser.add_argument("-f", dest="input_format", action=_FormatOption, default=None, metavar="FORMAT",
                        help="before -i: input demuxer, for raw streams (h264); after -i (transcode): "
                             "output muxer (matroska, nut...), needed for the output -")


class _InputOption(argparse.Action):
    """``-i``: appends an input, and notes that a later ``-f`` names the output's format (as ffmpeg's)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), values])
        namespace.input_seen = True


class _FormatOption(argparse.Action):
    """``-f``: the input's format before any ``-i``, the output's after one (``-i - -f matroska -``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, "output_format" if getattr(namespace, "input_seen", False) else self.dest, values)


def coding_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of :func:`~neuralav.container.pipeline.transcode` set by
    :func:`add_coding_arguments`'s options in parsed ``args``."""
    return dict(maps=args.maps, codecs=args.codecs, qualities=args.qualities, bitrates=args.bitrates,
                codec_options=args.codec_options, start=args.start, duration=args.duration,
                input_format=args.input_format)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("-i", dest="inputs", action=_InputOption, default=[], metavar="INPUT", required=True,
                        help="input file (repeatable): mp4, mkv, webm, wav, flac, png, jpg, img%%03d.png..., "
                             "or - for stdin")
    parser.set_defaults(output_format=None, input_seen=False)
    add_coding_arguments(parser)
    parser.add_argument("-y", dest="overwrite", action="store_true", help="overwrite the output if it exists")
    parser.add_argument("--ignore-errors", action="store_true",
                        help="skip packets that fail to decode and frames a neural codec fails to encode "
                             "(reported), instead of stopping")
    damage.add_arguments(parser)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: only on a terminal)")
    parser.add_argument("output", help="output file; .mkv for neural tracks; - for stdout (with -f), or a FIFO")


def print_summary(result: TranscodeResult, file=None) -> None:
    """One line per output stream: codec, mode, frames, bytes, kbit/s."""
    file = file or sys.stdout
    print(f"wrote {result.path} in {result.seconds:.1f} s", file=file)
    for s in result.streams:
        if s.index < 0:
            print(f"  attachment of {s.source}: copied", file=file)
            continue
        rate = f", {s.kbps:.1f} kbit/s" if s.kbps is not None else ""
        count = "packets" if s.mode == "copy" else "frames"
        print(f"  #{s.index} {s.type} {s.codec} ({s.mode} of {s.source}): {s.frames} {count}, "
              f"{s.bytes} bytes{rate}", file=file)
    if result.skipped_packets:
        print(f"  {result.skipped_packets} packet(s) failed to decode and were skipped", file=file)
    if result.skipped_frames:
        print(f"  {result.skipped_frames} frame(s) failed to encode and were skipped", file=file)


def run(args: argparse.Namespace) -> int:
    """Run the transcode described by parsed ``args``; the summary goes to stderr when stdout carries the media."""
    with sigterm_interrupts(), damage.reported("transcode", strict=args.xerror):
        result = transcode(args.inputs, args.output, **coding_options(args), overwrite=args.overwrite,
                           ignore_errors=args.ignore_errors, progress=args.progress,
                           output_format=args.output_format)
    print_summary(result, file=sys.stderr if args.output in STDOUT_NAMES else None)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``neuralav transcode ...`` as a function (tests call it)."""
    from ..cli import main as cli_main

    return cli_main(["transcode", *(argv if argv is not None else sys.argv[1:])])
