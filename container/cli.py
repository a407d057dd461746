"""The ``neuralav`` command line: ``neuralav <command> [options]``.

Each command lives in its own module under :mod:`neuralav.container.commands`
(``add_arguments(parser)`` / ``run(args) -> int``), imported only when it runs,
so ``neuralav codecs`` stays fast. Errors raised on purpose
(:class:`~neuralav.registry.errors.NeuralavError`) print as one line on stderr
with exit status 1; usage errors exit with status 2, as argparse does.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import sys
import warnings
from typing import Iterator, Sequence

from . import interrupts

__all__ = ["COMMANDS", "main"]

COMMANDS: dict[str, str] = {
    "codecs": "list the installed codecs, or show one codec's options",
    "demo": "transcode the bundled sample clip with the neural codecs and probe the result",
    "transcode": "convert media files, ffmpeg-style (-i, -map, -c:v, -q:v, -b:a, -t, -ss, -y)",
    "probe": "describe the tracks of a media file, like ffprobe",
    "decode": "turn neural tracks back into standard codecs any player can play",
    "batch": "the same transcode over many files, on this machine's cores or a Dask cluster",
    "bench": "rate-distortion and speed of the neural codecs against JPEG, WebP, AV1, HEVC, H.264 and Opus",
}
"""Command name -> help line. A command whose module is not installed is left out."""


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("neuralav")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _available_commands() -> dict[str, str]:
    found = {}
    for name, help_text in COMMANDS.items():
        if importlib.util.find_spec(f"neuralav.container.commands.{name}") is not None:
            found[name] = help_text
    return found


class _OneLineErrors(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``neuralav transcode: error: ...``)
    pointing to ``--help``, not argparse's usage block; the exit status stays 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser(commands: dict[str, str] | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser with one subparser per available command."""
    parser = _OneLineErrors(prog="neuralav", description="Learned media codecs for FFmpeg-style pipelines.")
    parser.add_argument("--version", action="version", version=f"neuralav {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in (commands if commands is not None else _available_commands()).items():
        subparser = subparsers.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(f"neuralav.container.commands.{name}")
        module.add_arguments(subparser)
        subparser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Before any heavy import: a Ctrl-C from here on is recorded, so a run interrupted
    # while Python was in a finalizer still stops before its output is moved into place.
    with interrupts.recorded():
        return _main(argv)


def _main(argv: list[str]) -> int:
    from neuralav.registry.errors import NeuralavError

    # Codecs may import TensorFlow: keep its C++ start-up chatter off the terminal.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # Import only the module of the command being run: listing codecs must not
    # pay for the transcode pipeline's imports.
    wanted = argv[0] if argv and not argv[0].startswith("-") else None
    available = _available_commands()
    commands = {wanted: available[wanted]} if wanted in available else available
    parser = build_parser(commands)
    args, extra = parser.parse_known_args(argv)
    # A command whose paths may come on both sides of its options (``decode IN -map 0:v OUT``)
    # names the list they go to; argparse alone takes one run of positional arguments.
    field = getattr(args, "_extra_paths", None)
    if extra:
        if field is None or any(item.startswith("-") and item != "-" for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        getattr(args, field).extend(extra)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    try:
        with _one_line_warnings(args.command):
            return int(args._run(args) or 0)
    except NeuralavError as error:
        print(f"neuralav {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"neuralav {args.command}: interrupted", file=sys.stderr)
        return 130


@contextlib.contextmanager
def _one_line_warnings(command: str) -> Iterator[None]:
    """Within the block, warnings print as ``neuralav COMMAND: warning: message`` (one line, no
    source line), as a command's notices should (a stream left out, a packet skipped).

    Only the formatting changes (``warnings.formatwarning``): filters, and callers that record
    warnings (``warnings.catch_warnings(record=True)``, ``pytest.warns``), work as before.
    """
    def one_line(message, category, filename, lineno, line=None):
        return f"neuralav {command}: warning: {str(message).replace(chr(10), ' ')}\n"

    previous, warnings.formatwarning = warnings.formatwarning, one_line
    try:
        yield
    finally:
        warnings.formatwarning = previous


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
