"""Errors of the container layer; each also derives from the builtin a caller would catch."""

from __future__ import annotations

from neuralav.registry.errors import InvalidDataError, NeuralavError, UnknownCodecError

__all__ = ["OutputExistsError", "OutputPathError", "InputError", "StreamSelectionError", "MissingPluginError",
           "PacketDecodeError", "UnsupportedOutputError"]


class OutputExistsError(NeuralavError, FileExistsError):
    """The output file exists and overwriting was not asked for (``-y``)."""


class OutputPathError(NeuralavError, OSError):
    """The output path cannot be written: it is a folder, or its folder does not exist."""


class InputError(NeuralavError, OSError):
    """An input cannot be opened or read as media (names the file and the reason)."""


class StreamSelectionError(NeuralavError, LookupError):
    """A ``-map`` or stream specifier matches no stream of the inputs."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingPluginError(UnknownCodecError):
    """A file's neural track uses a codec that no installed plugin provides."""


class PacketDecodeError(InvalidDataError):
    """A packet failed to decode; the message names the track and the timestamp."""


class UnsupportedOutputError(NeuralavError, ValueError):
    """The output format cannot hold what was asked (e.g. a neural track in mp4)."""
