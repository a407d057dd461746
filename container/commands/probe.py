"""``neuralav probe FILE [--json]``: describe each track, like ffprobe."""

from __future__ import annotations

import argparse
import json
import sys

from .. import damage
from ..probe import format_probe, probe

__all__ = ["add_arguments", "run", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("input", help="media file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace) -> int:
    """Print the probe of ``args.input``."""
    with damage.reported("probe"):
        info = probe(args.input)
    print(json.dumps(info, indent=2) if args.json else format_probe(info))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``neuralav probe ...`` as a function."""
    from ..cli import main as cli_main

    return cli_main(["probe", *(argv if argv is not None else sys.argv[1:])])
