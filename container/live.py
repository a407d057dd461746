"""Matroska to a pipe: the neural tracks' CodecIDs rewritten on their way out, with no seek back.

On a file, the writer patches the Tracks element after the muxer has finished
(``writer.py``). A pipe cannot be rewound, so :class:`TrackPatchingOutput` sits between
PyAV and the pipe instead: it holds the muxer's bytes until the Tracks element is
complete (it comes before the first Cluster, a few kilobytes in), hands that prefix to
the writer to patch and check, sends it, then passes every later byte straight through.
The patch keeps every element's size (``V_MPEG4/ISO/ASP`` and ``V_MS/VFW/FOURCC`` are both
15 bytes, ``A_MS/ACM`` zero-padded fills ``A_PCM/INT/LIT``'s 13), so nothing after it
moves, and the Tracks CRC-32 is recomputed in memory.

The object has no ``seek``: PyAV then gives FFmpeg a non-seekable output, and FFmpeg's
Matroska muxer writes what it writes to any pipe: a Segment of unknown size, no Cues, no
Duration, no SeekHead.
"""

from __future__ import annotations

import io
from typing import BinaryIO, Callable

from neuralav.registry.errors import InvalidDataError

from . import ebml

__all__ = ["TrackPatchingOutput"]

HOLD_LIMIT = ebml.MAX_TRACKS_BYTES + (1 << 20)
"""Most bytes held while waiting for the end of the Tracks element; more means a broken header."""


class _Prefix(io.BytesIO):
    """The bytes received so far, noting whether a parser read past their end (the header is not complete)."""

    short = False

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if size is not None and size >= 0 and len(data) < size:
            self.short = True
        return data


class TrackPatchingOutput:
    """A write-only file object for ``av.open(..., "w")`` that patches the Tracks element in flight.

    Args:
        sink: Where the bytes go (a pipe, ``sys.stdout.buffer``, a socket file...).
        patch: Called once with the held bytes, as a writable file object that holds the
            whole Tracks element (it may hold more); rewrites them in place (same sizes) and
            raises if they are not what the writer made. The ebml parsers signal a header
            that is not complete yet by reading past the end; the call is then retried with
            more bytes.
    """

    def __init__(self, sink: BinaryIO, patch: Callable[[BinaryIO], None]) -> None:
        self._sink = sink
        self._patch = patch
        self._held = bytearray()
        self._through = False

    @property
    def released(self) -> bool:
        """Whether the patched header has been sent (every later byte goes straight through)."""
        return self._through

    def write(self, data: bytes) -> int:
        """Take bytes from the muxer (PyAV's write callback); returns how many were taken (all)."""
        if self._through:
            self._sink.write(data)
        else:
            self._held += data
            self._release(final=False)
        return len(data)

    def finish(self) -> None:
        """After the muxer has closed: send what is held (patched) and flush the sink.

        Raises:
            InvalidDataError: the bytes written never held a complete Tracks element.
        """
        if not self._through:
            self._release(final=True)
        self._sink.flush()

    def _release(self, final: bool) -> None:
        prefix = _Prefix(bytes(self._held))
        try:
            self._patch(prefix)
        except InvalidDataError:
            if prefix.short and not final and len(self._held) <= HOLD_LIMIT:
                return  # the Tracks element is not all here yet
            raise
        self._held = bytearray()
        self._through = True
        self._sink.write(prefix.getvalue())
