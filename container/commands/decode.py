"""``neuralav decode IN OUT``: turn neural tracks into standard codecs any player can play.

Neural video becomes H.264 (mkv/mp4/mov), VP9 (webm) or a PNG/JPEG still; neural
audio becomes Opus (mkv/webm/ogg), AAC (mp4/mov) or PCM (wav). Standard tracks are
copied when the output format can hold them. Frame count and timestamps are kept.

The output ``-`` with ``-f FORMAT`` writes to stdout for another program to read as it comes::

    neuralav decode -i x.mkv -f nut - | ffmpeg -i - -f null -
    neuralav decode -i x.mkv -map 0:v -f rawvideo - | ffplay -f rawvideo -pix_fmt yuv420p -video_size 352x288 -

Raw formats (``rawvideo``, ``s16le``) have no header: the options that read them back are
printed on stderr. The summary goes to stderr too when stdout carries the media.
"""

from __future__ import annotations

import argparse
import sys

from .. import damage
from ..errors import StreamSelectionError
from ..pipe_output import STDOUT_NAMES
from ..pipeline import transcode
from ._options import add_stream_options, sigterm_interrupts
from .transcode import print_summary

__all__ = ["add_arguments", "run", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("-i", dest="input_option", default=None, metavar="INPUT",
                        help="input file (instead of the first positional argument), as ffmpeg's -i")
    parser.add_argument("paths", nargs="+", metavar="[INPUT] OUTPUT",
                        help="file with neural tracks (.mkv), then the output: .mp4, .mkv, .webm, .wav, .png..., "
                             "or - for stdout (with -f)")
    parser.add_argument("-f", dest="output_format", default=None, metavar="FORMAT",
                        help="output format (FFmpeg muxer: nut, matroska, mp4, rawvideo, s16le...); needed for -")
    parser.set_defaults(_extra_paths="paths")
    parser.add_argument("-map", dest="maps", action="append", default=[], metavar="0[:SPEC]",
                        help="tracks to keep (default: all the output holds)")
    add_stream_options(parser)
    parser.add_argument("-y", dest="overwrite", action="store_true", help="overwrite the output if it exists")
    parser.add_argument("--ignore-errors", action="store_true", help="skip packets that fail to decode")
    damage.add_arguments(parser)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: only on a terminal)")


def _input_and_output(args: argparse.Namespace) -> tuple[str, str]:
    """``decode IN OUT`` or ``decode -i IN OUT``.

    Raises:
        StreamSelectionError: not one input and one output.
    """
    paths = ([args.input_option] if args.input_option is not None else []) + list(args.paths)
    if len(paths) != 2:
        raise StreamSelectionError(f"decode takes one input and one output (`decode IN OUT` or `decode -i IN OUT`), "
                                   f"got {len(paths)} path(s): {' '.join(paths)}")
    return paths[0], paths[1]


def run(args: argparse.Namespace) -> int:
    """Decode the input into the output (a file, or stdout for ``-``)."""
    source, output = _input_and_output(args)
    notes = sys.stderr if output in STDOUT_NAMES else sys.stdout  # stdout may carry the media

    def announce(line: str) -> None:
        print(f"neuralav decode: {line}", file=sys.stderr, flush=True)

    with sigterm_interrupts(), damage.reported("decode", strict=args.xerror):
        result = transcode([source], output, maps=args.maps, codecs=args.codecs, decode_neural=True,
                           qualities=args.qualities, bitrates=args.bitrates, codec_options=args.codec_options,
                           overwrite=args.overwrite, ignore_errors=args.ignore_errors, progress=args.progress,
                           output_format=args.output_format, announce=announce)
    print_summary(result, file=notes)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``neuralav decode ...`` as a function."""
    from ..cli import main as cli_main

    return cli_main(["decode", *(argv if argv is not None else sys.argv[1:])])
