"""The codec header: a small versioned binary record, neuralav's ``extradata``.

Every neuralav encoder exposes one (``Encoder.header``) and every decoder is
built from one. It names the codec, its bitstream version, the media type and a
few typed fields (quality level, model id, sample rate...), so a file says how
to decode it and a decoder refuses a header of another codec or version.

Layout (all integers big-endian)::

    offset size  field
    0      4     magic b"NAVH"
    4      1     header format version (1)
    5      1     media type: 0 video, 1 audio
    6      1     n = length of the codec name (1..32)
    7      n     codec name, ASCII
    7+n    2     codec bitstream version
    9+n    1     k = number of fields (0..64)
    then k fields:
           1     key length (1..32), then the key (ASCII)
           1     type: b"i" signed 64-bit int, b"s" UTF-8 string, b"b" bytes
           ...   "i": 8 bytes; "s"/"b": 2-byte length (0..4096), then the data

Parsing checks every length against these bounds before reading, and rejects
trailing bytes. Nothing in a header is ever executed or used as a path.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Mapping, Union

from .descriptor import MediaType
from .errors import HeaderMismatchError, InvalidDataError

__all__ = ["CodecHeader", "MAGIC", "MAX_FIELDS", "MAX_VALUE_BYTES"]

MAGIC = b"NAVH"
FORMAT_VERSION = 1
MAX_NAME = 32
MAX_FIELDS = 64
MAX_VALUE_BYTES = 4096
_MEDIA_CODES = {MediaType.VIDEO: 0, MediaType.AUDIO: 1}
_MEDIA_BY_CODE = {code: media for media, code in _MEDIA_CODES.items()}

FieldValue = Union[int, str, bytes]


@dataclasses.dataclass(frozen=True)
class CodecHeader:
    """A parsed codec header.

    Attributes:
        codec: Codec name, e.g. ``cae``.
        version: Codec bitstream version.
        media_type: Video or audio.
        fields: Codec-specific typed values, e.g. ``{"quality": 3}``.
    """

    codec: str
    version: int
    media_type: MediaType
    fields: Mapping[str, FieldValue] = dataclasses.field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Serialize to the layout in the module docstring."""
        name = self.codec.encode("ascii")
        if not 1 <= len(name) <= MAX_NAME:
            raise ValueError(f"codec name {self.codec!r} must be 1 to {MAX_NAME} ASCII characters")
        if len(self.fields) > MAX_FIELDS:
            raise ValueError(f"a header holds at most {MAX_FIELDS} fields, not {len(self.fields)}")
        out = bytearray(MAGIC)
        out += struct.pack(">BBB", FORMAT_VERSION, _MEDIA_CODES[MediaType(self.media_type)], len(name))
        out += name + struct.pack(">HB", self.version, len(self.fields))
        for key, value in sorted(self.fields.items()):
            key_bytes = key.encode("ascii")
            if not 1 <= len(key_bytes) <= MAX_NAME:
                raise ValueError(f"header field name {key!r} must be 1 to {MAX_NAME} ASCII characters")
            out += struct.pack(">B", len(key_bytes)) + key_bytes
            if isinstance(value, bool) or not isinstance(value, (int, str, bytes)):
                raise TypeError(f"header field `{key}` must be int, str or bytes, not {type(value).__name__}")
            if isinstance(value, int):
                out += b"i" + struct.pack(">q", value)
            else:
                data = value.encode("utf-8") if isinstance(value, str) else value
                if len(data) > MAX_VALUE_BYTES:
                    raise ValueError(f"header field `{key}` is {len(data)} bytes; at most {MAX_VALUE_BYTES}")
                out += (b"s" if isinstance(value, str) else b"b") + struct.pack(">H", len(data)) + data
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> "CodecHeader":
        """Parse a header, checking every length before reading it.

        Raises:
            InvalidDataError: the bytes are not a well-formed neuralav header.
        """
        reader = _Reader(bytes(data))
        if reader.take(4, "magic") != MAGIC:
            raise InvalidDataError("not a neuralav codec header (bad magic; expected b'NAVH')")
        format_version, media_code, name_length = struct.unpack(">BBB", reader.take(3, "header start"))
        if format_version != FORMAT_VERSION:
            raise InvalidDataError(f"codec header format version {format_version} is not supported (expected 1)")
        if media_code not in _MEDIA_BY_CODE:
            raise InvalidDataError(f"codec header has an unknown media type code {media_code}")
        if not 1 <= name_length <= MAX_NAME:
            raise InvalidDataError(f"codec header names a codec of {name_length} bytes (1 to {MAX_NAME} allowed)")
        raw_name = reader.take(name_length, "codec name")
        if not raw_name.isascii() or not raw_name.replace(b"_", b"").isalnum():
            raise InvalidDataError(f"codec header has an invalid codec name {raw_name!r}")
        version, field_count = struct.unpack(">HB", reader.take(3, "codec version"))
        if field_count > MAX_FIELDS:
            raise InvalidDataError(f"codec header claims {field_count} fields (at most {MAX_FIELDS})")
        fields: dict[str, FieldValue] = {}
        for _ in range(field_count):
            key_length = reader.take(1, "field name length")[0]
            if not 1 <= key_length <= MAX_NAME:
                raise InvalidDataError(f"codec header field name of {key_length} bytes (1 to {MAX_NAME} allowed)")
            key_bytes = reader.take(key_length, "field name")
            if not key_bytes.isascii():
                raise InvalidDataError(f"codec header field name {key_bytes!r} is not ASCII")
            kind = reader.take(1, "field type")
            if kind == b"i":
                value: FieldValue = struct.unpack(">q", reader.take(8, "integer field"))[0]
            elif kind in (b"s", b"b"):
                length = struct.unpack(">H", reader.take(2, "field length"))[0]
                if length > MAX_VALUE_BYTES:
                    raise InvalidDataError(f"codec header field of {length} bytes (at most {MAX_VALUE_BYTES})")
                payload = reader.take(length, "field value")
                if kind == b"s":
                    try:
                        value = payload.decode("utf-8")
                    except UnicodeDecodeError:
                        raise InvalidDataError("codec header string field is not UTF-8") from None
                else:
                    value = payload
            else:
                raise InvalidDataError(f"codec header field has an unknown type {kind!r}")
            fields[key_bytes.decode("ascii")] = value
        if reader.remaining:
            raise InvalidDataError(f"codec header has {reader.remaining} unexpected trailing bytes")
        return cls(raw_name.decode("ascii"), version, _MEDIA_BY_CODE[media_code], fields)

    def check(self, codec: str, version: int) -> None:
        """Raise :class:`HeaderMismatchError` unless the header is for ``codec`` ``version``."""
        if self.codec != codec:
            raise HeaderMismatchError(f"header is for codec `{self.codec}`, not `{codec}`")
        if self.version != version:
            raise HeaderMismatchError(
                f"header is for `{codec}` bitstream version {self.version}; this decoder reads version {version}"
            )


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, count: int, what: str) -> bytes:
        if count > self.remaining:
            raise InvalidDataError(f"codec header is truncated: {what} needs {count} bytes, {self.remaining} left")
        chunk = self._data[self._pos:self._pos + count]
        self._pos += count
        return chunk
