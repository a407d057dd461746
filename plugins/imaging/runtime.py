"""Loaded image-codec models: read once per weights file and process, shared by every coder.

A :class:`LoadedModel` holds one weights file's coding-ready model, the file's
model id (written into every payload) and a lock: TensorFlow functions of one
model are not re-entrant with their tfc range coders, so calls are serialized.
:func:`load` keeps one per (codec, resolved weights path).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np

from neuralav.registry import InvalidDataError, PluginError

from .weights import sha256_of
from .zoo import Zoo

__all__ = ["FLUSH_BITS", "LoadedModel", "load", "load_file", "min_coded_bits"]


class LoadedModel:
    """One weights file's model, compiled once and shared by encoders and decoders.

    Args:
        codec: Codec name, for messages.
        path: Weights file.
        expected_sha256: The file's recorded hash, or ``None`` (not checked).
        read_model: ``path -> model``, the codec's loader (e.g. ``weights.load_model``).

    Attributes:
        model: The coding-ready model.
        path: Weights file.
        model_id: First 4 bytes of the file's SHA-256 (written into every payload).
    """

    def __init__(self, codec: str, path: Path, expected_sha256: str | None,
                 read_model: Callable[[Path], Any]) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        digest = sha256_of(path)
        if expected_sha256 is not None and digest != expected_sha256:
            raise PluginError(f"`{codec}` weights {path} have SHA-256 {digest}, expected {expected_sha256}")
        try:
            self.model = read_model(path)
        except (OSError, KeyError, ValueError) as error:
            raise PluginError(f"cannot read `{codec}` weights {path}: {error}") from error
        self.codec, self.path = codec, path
        self.model_id = bytes.fromhex(digest[:8])
        self.lock = threading.Lock()
        self._tf_errors = (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError)

    def compress(self, *args) -> Any:
        """``model.compress(*args)``, one call at a time."""
        with self.lock:
            return self.model.compress(*args)

    def decompress(self, *args) -> Any:
        """``model.decompress(*args)``, one call at a time.

        Raises:
            InvalidDataError: a range decoder rejects a string.
        """
        try:
            with self.lock:
                return self.model.decompress(*args)
        except self._tf_errors as error:
            first_line = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            raise InvalidDataError(f"`{self.codec}` range decoder rejected the payload: {first_line}") from None


_MODELS: dict[tuple[str, str], LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


def load(zoo: Zoo, quality: int, read_model: Callable[[Path], Any], missing_hint: str) -> LoadedModel:
    """The model of a `quality` level, read once per weights file and process.

    Args:
        zoo: The codec's level table.
        quality: The level.
        read_model: ``path -> model``, the codec's loader.
        missing_hint: How to get the file, appended to the error when it is missing.

    Raises:
        PluginError: the weights file is missing, unreadable or has the wrong hash.
    """
    path, sha256 = zoo.weights_path(quality)
    return load_file(zoo.codec, path, sha256, read_model, f"for quality {quality}", missing_hint)


def load_file(codec: str, path: Path, sha256: str | None, read_model: Callable[[Path], Any], what: str,
              missing_hint: str) -> LoadedModel:
    """The model of one weights file, read once per file and process.

    Args:
        codec: Codec name, for messages.
        path: Weights file.
        sha256: Its expected SHA-256, or ``None`` (not checked).
        read_model: ``path -> model``, the codec's loader.
        what: What the file is for, in the missing-file message (``for quality 3``).
        missing_hint: How to get the file, appended to the error when it is missing.

    Raises:
        PluginError: the weights file is missing, unreadable or has the wrong hash.
    """
    key = (codec, str(path.resolve()))
    with _MODELS_LOCK:
        if key not in _MODELS:
            if not path.is_file():
                raise PluginError(f"`{codec}` weights {what} not found at {path}{missing_hint}")
            _MODELS[key] = LoadedModel(codec, path, sha256, read_model)
        return _MODELS[key]


MIN_INTERVAL = 2.0 ** 16
"""Smallest interval of tfc's range encoder between symbols (its loop invariant: 2**16 <= size)."""

FLUSH_BITS = 64
"""Bits of interval a tfc range-coded string may leave unwritten: the encoder's 32-bit window
and a pending 16-bit carry (trailing zero bytes are dropped at the end)."""


def min_coded_bits(cdf: np.ndarray) -> np.ndarray:
    """Fewest bits tfc's range coder can spend on one symbol of each of a model's pmfs.

    tfc's encoder narrows an interval of ``size >= 2**16`` to ``floor(size * v / 2**p) -
    floor(size * u / 2**p)`` for a symbol of quantized probability ``(v - u) / 2**p``: at
    most ``size * (v - u) / 2**p + 1``. So a symbol of pmf k costs at least
    ``-log2(largest probability of pmf k + 2**-16)`` bits, and a string of n symbols
    ``n`` times that, less :data:`FLUSH_BITS`.

    Args:
        cdf: A tfc entropy model's flat ``cdf`` table: for each pmf, ``-precision``
            then its quantized CDF (0 ... 2**precision).

    Returns:
        float64 [number of pmfs], bits (0 for a pmf with a certain symbol).
    """
    cdf = np.asarray(cdf, np.int64)
    starts = np.flatnonzero(cdf < 0)
    bits = []
    for start, end in zip(starts, [*starts[1:], cdf.size]):
        largest = np.max(np.diff(cdf[start + 1:end])) / 2.0 ** -int(cdf[start])
        bits.append(-np.log2(min(1.0, largest + 1.0 / MIN_INTERVAL)))
    return np.array(bits, np.float64)
