"""The framing shared by the image codecs' payloads (after the registry's video packet prefix).

Integers big-endian::

    offset  size  field
    0       1     payload format (1)
    1       1     quality level
    2       4     model id: first 4 bytes of the SHA-256 of the weights file
    6       k     the codec's own fields (``Framing.fields``: k bytes)
    6+k     n     the range-coded strings
    6+k+n   4     CRC-32 (zlib) of bytes 0 .. 6+k+n-1

:meth:`Framing.unpack` checks the length, the CRC and the format before anything
else reads the payload, so a truncated or damaged packet is refused with a one-line
:class:`~neuralav.registry.InvalidDataError`.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib

from neuralav.registry import InvalidDataError

__all__ = ["Framing", "PAYLOAD_FORMAT"]

PAYLOAD_FORMAT = 1
_COMMON = struct.Struct(">BB4s")
_CRC = struct.Struct(">I")


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

    @property
    def head_size(self) -> int:
        """Bytes before the strings."""
        return _COMMON.size + self.fields.size

    @property
    def overhead(self) -> int:
        """Bytes of a payload besides its strings (head and CRC)."""
        return self.head_size + _CRC.size

    def pack(self, quality: int, model_id: bytes, fields: tuple, body: bytes) -> bytes:
        """Serializes one frame."""
        data = _COMMON.pack(PAYLOAD_FORMAT, quality, model_id) + self.fields.pack(*fields) + body
        return data + _CRC.pack(zlib.crc32(data))

    def unpack(self, payload: bytes) -> tuple[int, bytes, tuple, bytes]:
        """Parses and CRC-checks one frame's payload.

        Returns:
            (quality, model_id, the codec's fields, the strings).

        Raises:
            InvalidDataError: truncated, failing its CRC-32, or of another payload format.
        """
        smallest = self.overhead + self.min_body
        if len(payload) < smallest:
            raise InvalidDataError(f"`{self.codec}` payload of {len(payload)} bytes is truncated "
                                   f"(at least {smallest} needed)")
        data, (crc,) = payload[:-_CRC.size], _CRC.unpack(payload[-_CRC.size:])
        if zlib.crc32(data) != crc:
            raise InvalidDataError(f"`{self.codec}` payload fails its CRC-32 check (corrupt or truncated)")
        fmt, quality, model_id = _COMMON.unpack(data[:_COMMON.size])
        if fmt != PAYLOAD_FORMAT:
            raise InvalidDataError(f"`{self.codec}` payload has format {fmt}; "
                                   f"this decoder reads {PAYLOAD_FORMAT}")
        fields = self.fields.unpack(data[_COMMON.size:self.head_size])
        return quality, model_id, fields, data[self.head_size:]
