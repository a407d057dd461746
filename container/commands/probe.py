"""``neuralav probe FILE... [--json]``: describe each track, like ffprobe.

ffprobe takes one file; this takes several and describes each in turn (``--json``: one
object for one file, a list for several). A file that cannot be read gets its error line
and the others are still described; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys

from neuralav.registry.errors import NeuralavError

from .. import damage
from ..probe import format_probe, probe

__all__ = ["add_arguments", "run", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("inputs", nargs="+", metavar="input", help="media file(s); - for standard input")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace) -> int:
    """Print the probe of each of ``args.inputs``; 1 if one of them could not be read."""
    infos, status = [], 0
    for number, path in enumerate(args.inputs):
        try:
            with damage.reported("probe"):
                info = probe(path)
        except NeuralavError as error:
            if len(args.inputs) == 1:
                raise
            print(f"neuralav probe: error: {error}", file=sys.stderr, flush=True)
            status = 1
            continue
        infos.append(info)
        if not args.json:
            print(("\n" if number else "") + format_probe(info), flush=True)
    if args.json:
        print(json.dumps(infos[0] if len(args.inputs) == 1 else infos, indent=2))
    return status


def main(argv: list[str] | None = None) -> int:
    """``neuralav probe ...`` as a function."""
    from ..cli import main as cli_main

    return cli_main(["probe", *(argv if argv is not None else sys.argv[1:])])
