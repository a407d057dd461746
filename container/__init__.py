"""neuralav.container: Matroska files with neural and standard tracks, and the ``neuralav`` command.

:func:`open` reads a file like ``av.open`` (neural tracks decode like any other)
or writes one from a PyAV loop. The on-disk format is in ``container/FORMAT.md``.
This package imports no TensorFlow: a codec's model loads when its first
encoder or decoder is built.
"""

from __future__ import annotations

import os

from .errors import (InputError, MissingPluginError, OutputExistsError, OutputPathError, PacketDecodeError,
                     StreamSelectionError, UnsupportedOutputError)
from .reader import DecodeWarning, Reader, Track
from .writer import OutputStream, Writer

__all__ = ["open", "Reader", "Writer", "Track", "OutputStream", "DecodeWarning", "InputError",
           "MissingPluginError", "OutputExistsError", "OutputPathError", "PacketDecodeError", "StreamSelectionError",
           "UnsupportedOutputError"]


def open(path: str | os.PathLike, mode: str = "r", **kwargs) -> Reader | Writer:  # noqa: A001 (as av.open)
    """Open a media file for reading (``"r"``, a :class:`Reader`) or writing (``"w"``, a :class:`Writer`).

    Keyword arguments go to the class (``registry=``, ``ignore_errors=``, ``overwrite=``, ``format=``).

    Raises:
        ValueError: ``mode`` is neither ``"r"`` nor ``"w"``.
    """
    if mode == "r":
        return Reader(path, **kwargs)
    if mode == "w":
        return Writer(path, **kwargs)
    raise ValueError(f"mode must be 'r' or 'w', not {mode!r}")
