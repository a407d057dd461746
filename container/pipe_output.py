"""Outputs that are pipes: stdout (``-``, ``pipe:``), FIFOs and character devices, in one pass.

There is one way to a pipe: a :class:`~neuralav.container.writer.Writer` on a writable file
object, for every format (``nut``, ``matroska`` with or without neural tracks, raw
``rawvideo``/``s16le``...). This module only builds that file object:

* ``Writer("-", format=...)`` (:func:`open_pipe`) writes to stdout through :func:`stdout_sink`;
* :class:`PipeSink` writes every byte straight to a file descriptor, with no buffer of its
  own, so nothing is left to flush (and fail) at exit once the reader has gone;
* :func:`is_pipe_path` tells a FIFO or device (``/dev/stdout``) from a file to replace.

A reader that closes its end (``neuralav ... -f matroska - | head -c 1000``) makes the next
write fail with ``EPIPE`` (Python ignores SIGPIPE): the Writer turns it into one
:class:`~neuralav.container.errors.OutputPathError` line, and the command exits with
status 1, as ffmpeg does ("Broken pipe", status 1).

Raw formats (``rawvideo``, ``s16le``...) carry no header: :func:`raw_parameters` gives the
ffmpeg input options that read them back (``-f rawvideo -pix_fmt yuv420p -video_size 96x64
-framerate 25``).
"""

from __future__ import annotations

import os
import stat
import sys
from typing import TYPE_CHECKING, BinaryIO

from neuralav.registry import Registry

from .errors import OutputPathError

if TYPE_CHECKING:  # writer.py imports this module
    from .writer import OutputStream, Writer

__all__ = ["open_pipe", "stdout_sink", "PipeSink", "is_pipe_path", "STDOUT_NAMES", "RAW_FORMATS",
           "raw_parameters"]

STDOUT_NAMES = frozenset({"-", "pipe:", "pipe:1"})
"""Output names meaning standard output, as ffmpeg spells them."""

RAW_FORMATS = {"rawvideo": "video", "s16le": "audio", "s16be": "audio", "f32le": "audio", "u8": "audio"}
"""Raw output formats (one stream, no header) -> the media type they hold."""


class PipeSink:
    """A write-only binary file object over a file descriptor: each write is written whole, at once.

    It has no ``seek``, so PyAV gives FFmpeg a non-seekable output (what ffmpeg's ``pipe:``
    is), and no buffer: what the muxer hands over is in the pipe when ``write`` returns.

    Args:
        fd: The descriptor (1 for stdout). It is not closed.
        name: How error messages name the output (``-``).
    """

    def __init__(self, fd: int, name: str = "-") -> None:
        self.fd = fd
        self.name = name

    def write(self, data: bytes) -> int:
        """Write all of ``data``; returns its length.

        Raises:
            BrokenPipeError: the reading end is closed.
            RuntimeError: an interrupt (Ctrl-C, SIGTERM) came while the write waited for the
                reader: PyAV's write callback passes on Exceptions only (a KeyboardInterrupt
                would be printed and lost); the command reports it as the interrupt.
        """
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except KeyboardInterrupt as interrupt:
            raise RuntimeError(f"writing `{self.name}` was interrupted ({interrupt})") from interrupt
        return len(data)

    def flush(self) -> None:
        """Nothing is held."""


def is_pipe_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names an existing FIFO or character device (written as a stream, never replaced)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def stdout_sink() -> BinaryIO:
    """The file object a Writer of ``-`` writes to: a :class:`PipeSink` on standard output.

    Raises:
        OutputPathError: standard output is closed (``>&-``).
    """
    # Python sets sys.stdout to None when descriptor 1 was closed at start; the number
    # may since name another file this process opened, which must not be written.
    if sys.stdout is None:
        raise OutputPathError("cannot write output `-`: standard output is closed")
    sys.stdout.flush()  # text printed before must come before the media
    try:
        return PipeSink(sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):  # a stdout replaced in-process (io.StringIO...)
        return getattr(sys.stdout, "buffer", sys.stdout)


def open_pipe(format: str, *, stream: BinaryIO | None = None, registry: Registry | None = None) -> Writer:
    """A :class:`Writer` of ``format`` on standard output (or on ``stream``), written in one pass.

    The same as ``Writer(stream or "-", format=format)``.

    Args:
        format: FFmpeg muxer name (``nut``, ``matroska``, ``rawvideo``, ``s16le``...): a pipe
            has no suffix to tell it.
        stream: Binary stream to write to (default: standard output, through a :class:`PipeSink`).
        registry: Codec registry (default: the installed plugins).

    Raises:
        UnsupportedOutputError: the format is not one FFmpeg can write.
        OutputPathError: standard output is closed (``>&-``).
    """
    from .writer import Writer

    return Writer(stream if stream is not None else "-", format=format, registry=registry)


def raw_parameters(stream: OutputStream) -> str:
    """The ffmpeg input options that read a raw output stream back, e.g.
    ``-f rawvideo -pix_fmt yuv420p -video_size 96x64 -framerate 25`` or
    ``-f s16le -ar 16000 -ac 1``."""
    context = stream.av_stream.codec_context
    container_format = stream.av_stream.container.format.name
    if stream.type == "video":
        rate = context.framerate or stream.av_stream.average_rate
        return (f"-f {container_format} -pix_fmt {context.format.name} -video_size {context.width}x{context.height}"
                f" -framerate {rate}")
    return f"-f {container_format} -ar {context.sample_rate} -ac {context.channels}"
