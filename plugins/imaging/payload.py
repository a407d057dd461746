"""The framing shared by the image codecs' payloads (after the registry's video packet prefix).

Integers big-endian. Format 1 (one weights file per integer quality level)::

    offset  size  field
    0       1     payload format (1)
    1       1     quality level
    2       4     model id: first 4 bytes of the SHA-256 of the weights file
    6       k     the codec's own fields (``Framing.fields``: k bytes)
    6+k     n     the range-coded strings
    6+k+n   4     CRC-32 (zlib) of bytes 0 .. 6+k+n-1

Format 2 (a variable-rate model: any real quality in its range) differs only in
the quality field, two bytes holding ``quality · 256`` (:data:`QUALITY_STEP`), so
every field after it sits one byte later::

    0       1     payload format (2)
    1       2     quality · 256, unsigned
    3       4     model id
    7       k     the codec's own fields, then the strings and the CRC-32 as above

:meth:`Framing.unpack` checks the length, the CRC and the format before anything
else reads the payload, so a truncated or damaged packet is refused with a one-line
:class:`~neuralav.registry.InvalidDataError`.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib

from neuralav.registry import InvalidDataError

__all__ = ["Framing", "PAYLOAD_FORMAT", "VARIABLE_RATE_FORMAT", "QUALITY_STEP", "snap_quality"]

PAYLOAD_FORMAT = 1
"""Payloads of one-level models: an integer quality level."""

VARIABLE_RATE_FORMAT = 2
"""Payloads of variable-rate models: a quality in steps of :data:`QUALITY_STEP`."""

QUALITY_STEP = 1.0 / 256
"""Resolution of a format-2 quality (exact in binary floating point)."""

_COMMON = {PAYLOAD_FORMAT: struct.Struct(">BB4s"), VARIABLE_RATE_FORMAT: struct.Struct(">BH4s")}
_CRC = struct.Struct(">I")


def snap_quality(quality: float) -> float:
    """`quality` rounded to the nearest multiple of :data:`QUALITY_STEP` (what a payload can hold)."""
    return round(float(quality) / QUALITY_STEP) * QUALITY_STEP


@dataclasses.dataclass(frozen=True)
class Framing:
    """One codec's payload layout.

    Attributes:
        codec: Codec name, for messages.
        fields: Struct of the codec's own fields after the model id.
        min_body: Fewest bytes of strings a valid payload has.
    """

    codec: str
    fields: struct.Struct
    min_body: int = 0

    def head_size(self, payload_format: int = PAYLOAD_FORMAT) -> int:
        """Bytes before the strings in a payload of `payload_format`."""
        return _COMMON[payload_format].size + self.fields.size

    def overhead(self, payload_format: int = PAYLOAD_FORMAT) -> int:
        """Bytes of a payload of `payload_format` besides its strings (head and CRC)."""
        return self.head_size(payload_format) + _CRC.size

    def pack(self, quality: int, model_id: bytes, fields: tuple, body: bytes) -> bytes:
        """Serializes one frame of a one-level model (format 1, integer `quality`)."""
        return self._seal(_COMMON[PAYLOAD_FORMAT].pack(PAYLOAD_FORMAT, quality, model_id), fields, body)

    def pack_variable(self, quality: float, model_id: bytes, fields: tuple, body: bytes) -> bytes:
        """Serializes one frame of a variable-rate model (format 2); `quality` must be a
        multiple of :data:`QUALITY_STEP` from 0 to 255 (see :func:`snap_quality`)."""
        steps = float(quality) / QUALITY_STEP
        if steps != int(steps) or not 0 <= steps <= 0xFFFF:
            raise ValueError(f"quality {quality!r} is not a multiple of 1/256 from 0 to 255")
        head = _COMMON[VARIABLE_RATE_FORMAT].pack(VARIABLE_RATE_FORMAT, int(steps), model_id)
        return self._seal(head, fields, body)

    def _seal(self, head: bytes, fields: tuple, body: bytes) -> bytes:
        data = head + self.fields.pack(*fields) + body
        return data + _CRC.pack(zlib.crc32(data))

    def unpack(self, payload: bytes) -> tuple[int, bytes, tuple, bytes]:
        """Parses and CRC-checks one frame's payload (format 1 or 2).

        Returns:
            (quality, model_id, the codec's fields, the strings): quality is an ``int``
            level for format 1 and a ``float`` (a multiple of 1/256) for format 2.

        Raises:
            InvalidDataError: truncated, failing its CRC-32, or of another payload format.
        """
        smallest = self.overhead() + self.min_body
        if len(payload) < smallest:
            raise InvalidDataError(f"`{self.codec}` payload of {len(payload)} bytes is truncated "
                                   f"(at least {smallest} needed)")
        data, (crc,) = payload[:-_CRC.size], _CRC.unpack(payload[-_CRC.size:])
        if zlib.crc32(data) != crc:
            raise InvalidDataError(f"`{self.codec}` payload fails its CRC-32 check (corrupt or truncated)")
        fmt = data[0]
        if fmt not in _COMMON:
            raise InvalidDataError(f"`{self.codec}` payload has format {fmt}; "
                                   f"this decoder reads {', '.join(map(str, _COMMON))}")
        if len(payload) < self.overhead(fmt) + self.min_body:
            raise InvalidDataError(f"`{self.codec}` payload of {len(payload)} bytes is truncated "
                                   f"(at least {self.overhead(fmt) + self.min_body} needed)")
        common = _COMMON[fmt]
        _, quality, model_id = common.unpack(data[:common.size])
        if fmt == VARIABLE_RATE_FORMAT:
            quality = quality * QUALITY_STEP
        fields = self.fields.unpack(data[common.size:self.head_size(fmt)])
        return quality, model_id, fields, data[self.head_size(fmt):]
