"""``neuralav decode IN OUT``: turn neural tracks into standard codecs any player can play.

Neural video becomes H.264 (mkv/mp4/mov), VP9 (webm) or a PNG/JPEG still; neural
audio becomes Opus (mkv/webm/ogg), AAC (mp4/mov) or PCM (wav). Standard tracks are
copied when the output format can hold them. Frame count and timestamps are kept.
"""

from __future__ import annotations

import argparse
import sys

from .. import damage
from ..pipeline import transcode
from ._options import add_stream_options, sigterm_interrupts
from .transcode import print_summary

__all__ = ["add_arguments", "run", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("input", help="file with neural tracks (.mkv)")
    parser.add_argument("output", help="output: .mp4, .mkv, .webm, .wav, .png...")
    parser.add_argument("-map", dest="maps", action="append", default=[], metavar="0[:SPEC]",
                        help="tracks to keep (default: all the output holds)")
    add_stream_options(parser)
    parser.add_argument("-y", dest="overwrite", action="store_true", help="overwrite the output if it exists")
    parser.add_argument("--ignore-errors", action="store_true", help="skip packets that fail to decode")
    damage.add_arguments(parser)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: only on a terminal)")


def run(args: argparse.Namespace) -> int:
    """Decode ``args.input`` into ``args.output``."""
    with sigterm_interrupts(), damage.reported("decode", strict=args.xerror):
        result = transcode([args.input], args.output, maps=args.maps, codecs=args.codecs, decode_neural=True,
                           qualities=args.qualities, bitrates=args.bitrates, codec_options=args.codec_options,
                           overwrite=args.overwrite, ignore_errors=args.ignore_errors, progress=args.progress)
    print_summary(result)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``neuralav decode ...`` as a function."""
    from ..cli import main as cli_main

    return cli_main(["decode", *(argv if argv is not None else sys.argv[1:])])
