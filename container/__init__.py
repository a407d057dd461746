"""neuralav.container: Matroska files with neural and standard tracks, and the ``neuralav`` command.

:func:`open` reads a file like ``av.open`` (neural tracks decode like any other)
or writes one from a PyAV loop. The on-disk format is in ``container/FORMAT.md``.
This package imports no TensorFlow: a codec's model loads when its first
encoder or decoder is built. Its names load on first use (PEP 562), so the
``neuralav`` command starts, and installs its interrupt handling
(:mod:`.interrupts`), before PyAV and numpy are imported.
"""

from __future__ import annotations

import os

__all__ = ["open", "Reader", "Writer", "Track", "OutputStream", "DecodeWarning", "InputError",
           "MissingPluginError", "OutputExistsError", "OutputPathError", "PacketDecodeError", "StreamSelectionError",
           "UnsupportedOutputError"]

def __getattr__(name: str):
    if name in ("Reader", "Track", "DecodeWarning"):
        from . import reader as home
    elif name in ("Writer", "OutputStream"):
        from . import writer as home
    elif name in __all__ and name.endswith("Error"):
        from . import errors as home
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(home, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def open(path: str | os.PathLike, mode: str = "r", **kwargs) -> Reader | Writer:  # noqa: A001 (as av.open)
    """Open a media file for reading (``"r"``, a :class:`Reader`) or writing (``"w"``, a :class:`Writer`).

    Keyword arguments go to the class (``registry=``, ``ignore_errors=``, ``overwrite=``, ``format=``).

    Raises:
        ValueError: ``mode`` is neither ``"r"`` nor ``"w"``.
    """
    if mode == "r":
        from .reader import Reader

        return Reader(path, **kwargs)
    if mode == "w":
        from .writer import Writer

        return Writer(path, **kwargs)
    raise ValueError(f"mode must be 'r' or 'w', not {mode!r}")
