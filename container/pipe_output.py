"""Writing a decoded output to a pipe (``neuralav decode IN -f nut -``): no temporary file, no rename.

:class:`PipeWriter` is a :class:`~neuralav.container.writer.Writer` whose container is PyAV's
file-object output on a binary stream (stdout by default), written once from start to end, so
the next program in the pipeline (``ffmpeg -i -``, ``ffplay -``) reads it as it comes. It takes
standard codecs only: a neural track needs its CodecIDs patched after the mux, which a pipe
cannot go back to.

Raw formats (``rawvideo``, ``s16le``...) carry no header: :func:`raw_parameters` gives the
ffmpeg input options that read them back (``-f rawvideo -pix_fmt yuv420p -video_size 96x64
-framerate 25``).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import BinaryIO

import av

from neuralav.registry import Registry

from .carrier import NeuralTrackInfo
from .errors import UnsupportedOutputError
from .writer import OutputStream, Writer

__all__ = ["PipeWriter", "RAW_FORMATS", "raw_parameters"]

RAW_FORMATS = {"rawvideo": "video", "s16le": "audio", "s16be": "audio", "f32le": "audio", "u8": "audio"}
"""Raw output formats (one stream, no header) -> the media type they hold."""


class PipeWriter(Writer):
    """A media stream written to a binary file object (stdout by default) in one pass.

    Args:
        format: FFmpeg muxer name (``nut``, ``matroska``, ``rawvideo``, ``s16le``...): a pipe
            has no suffix to tell it.
        registry: Codec registry (default: the installed plugins).
        stream: Binary stream to write to (default: ``sys.stdout.buffer``).

    Raises:
        UnsupportedOutputError: the format is not one FFmpeg can write.
    """

    def __init__(self, format: str, *, registry: Registry | None = None, stream: BinaryIO | None = None) -> None:
        self.path = Path("-")
        self.format = format
        self.overwrite = False
        self.registry = registry
        self.streams: list[OutputStream] = []
        self._closed = False
        self._started = False
        self._temporary = None
        self._lock = None
        self._stream = stream if stream is not None else sys.stdout.buffer
        try:
            self._container = av.open(self._stream, "w", format=format)
        except (ValueError, av.FFmpegError) as error:
            raise UnsupportedOutputError(f"cannot write format `{format}` to a pipe: {error}") from None
        self._container.flags |= av.container.Flags.bitexact.value

    def add_neural_copy(self, info: NeuralTrackInfo, **kwargs) -> OutputStream:
        """Refused: neural tracks need a seekable output (their CodecIDs are patched after the mux)."""
        raise UnsupportedOutputError(f"neural track `{info.codec}` cannot be written to a pipe; decode it "
                                     "(the default of `neuralav decode`) or write a file")

    def _add_carrier(self, info: NeuralTrackInfo, plugin, **kwargs) -> OutputStream:
        return self.add_neural_copy(info)

    def close(self) -> Path:
        """Finish the stream (trailer) and flush it."""
        if self._closed:
            return self.path
        if not self.streams:
            self.abort()
            raise UnsupportedOutputError("the output has no streams: nothing was written")
        self._closed = True
        if not self._started:
            self._set_defaults()
        self._container.close()
        with contextlib.suppress(ValueError, OSError):
            self._stream.flush()
        return self.path

    def abort(self) -> None:
        """Stop writing (what was written to the pipe stays written: a reader sees it end)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._container.close()

    def _remove_temporary(self) -> None:
        pass


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
