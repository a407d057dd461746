"""Exceptions raised by neuralav.

Every error neuralav raises on purpose derives from :class:`NeuralavError` and,
like PyAV's ``InvalidDataError(FFmpegError, ValueError)``, also from the builtin
exception a caller would naturally catch. Messages name the bad value and the
valid choices; the command line prints them as one line, without a traceback.
"""

from __future__ import annotations

__all__ = [
    "NeuralavError",
    "UnknownCodecError",
    "InvalidOptionError",
    "DuplicateCodecError",
    "PluginError",
    "FormatNotSupportedError",
    "InvalidDataError",
    "HeaderMismatchError",
]


class NeuralavError(Exception):
    """Base class of every error neuralav raises on purpose."""


class UnknownCodecError(NeuralavError, LookupError):
    """No installed codec has the requested name."""

    def __str__(self) -> str:  # LookupError would repr() the message
        return str(self.args[0]) if self.args else ""


class InvalidOptionError(NeuralavError, ValueError):
    """A codec option is unknown, of the wrong type, or out of range."""


class DuplicateCodecError(NeuralavError, RuntimeError):
    """Two plugins register the same codec name; neither is used."""


class PluginError(NeuralavError, RuntimeError):
    """A third-party plugin failed (import, registration, encode or decode)."""


class FormatNotSupportedError(NeuralavError, ValueError):
    """A frame's pixel or sample format cannot be coded without loss."""


class InvalidDataError(NeuralavError, ValueError):
    """Bytes read from a file, header or packet are malformed or corrupt."""


class HeaderMismatchError(InvalidDataError):
    """A codec header belongs to another codec or bitstream version."""
