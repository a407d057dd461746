"""`cae` encoder and decoder: one range-coded latent per frame (intra only).

Payload of one frame (after the registry's video packet prefix; integers
big-endian)::

    offset size  field
    0      1     payload format (1)
    1      1     quality level (1..15)
    2      4     model id: first 4 bytes of the SHA-256 of the weights file
    6      2     latent height h = ceil(height / 16)
    8      2     latent width  w = ceil(width / 16)
    10     n     range-coded latent (tfc ``ContinuousBatchedEntropyModel.compress``)
    10+n   4     CRC-32 (zlib) of bytes 0 .. 10+n-1

The decoder checks, before any TensorFlow call: the length, the CRC, the
format, that the level is the decoder's own, that the model id matches its
weights, and that (h, w) match the frame size. So a packet of another level or
of other weights, or a truncated or damaged packet, raises
:class:`~neuralav.registry.InvalidDataError` with a one-line message.

Weights are loaded once per file and process (see :func:`load_level`). The
environment variable ``NEURALAV_CAE_WEIGHTS_DIR`` points at another folder of
``q{N}.npz`` files (no hash check then), e.g. fresh exports or a tiny test model.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from pathlib import Path

import numpy as np

from neuralav.registry import InvalidDataError, PluginError, VideoDecoder, VideoEncoder

from .quality import LEVELS, WEIGHTS_DIR, level as get_level

__all__ = ["CAEEncoder", "CAEDecoder", "LoadedLevel", "load_level", "pack_payload",
           "unpack_payload", "PAYLOAD_FORMAT", "WEIGHTS_DIR_ENV"]

PAYLOAD_FORMAT = 1
WEIGHTS_DIR_ENV = "NEURALAV_CAE_WEIGHTS_DIR"
_HEAD = struct.Struct(">BB4sHH")
_CRC = struct.Struct(">I")
_MIN_PAYLOAD = _HEAD.size + _CRC.size


def latent_shape_of(width: int, height: int) -> tuple[int, int]:
    """Latent spatial shape (h, w) of a width x height frame (16x downsampling, padded)."""
    return (height + 15) // 16, (width + 15) // 16


def pack_payload(quality: int, model_id: bytes, latent_shape: tuple[int, int], string: bytes) -> bytes:
    """Serializes one frame (layout in the module docstring)."""
    body = _HEAD.pack(PAYLOAD_FORMAT, quality, model_id, *latent_shape) + string
    return body + _CRC.pack(zlib.crc32(body))


def unpack_payload(payload: bytes) -> tuple[int, bytes, tuple[int, int], bytes]:
    """Parses and CRC-checks one frame's payload.

    Returns:
        (quality, model_id, latent_shape, range-coded string).

    Raises:
        InvalidDataError: truncated, failing its CRC-32, or of another payload format.
    """
    if len(payload) < _MIN_PAYLOAD + 1:
        raise InvalidDataError(
            f"`cae` payload of {len(payload)} bytes is truncated (at least {_MIN_PAYLOAD + 1} needed)")
    body, (crc,) = payload[:-_CRC.size], _CRC.unpack(payload[-_CRC.size:])
    if zlib.crc32(body) != crc:
        raise InvalidDataError("`cae` payload fails its CRC-32 check (corrupt or truncated)")
    fmt, quality, model_id, h, w = _HEAD.unpack(body[:_HEAD.size])
    if fmt != PAYLOAD_FORMAT:
        raise InvalidDataError(f"`cae` payload has format {fmt}; this decoder reads {PAYLOAD_FORMAT}")
    return quality, model_id, (h, w), body[_HEAD.size:]


class LoadedLevel:
    """One quality level's model, compiled once and shared by encoders and decoders.

    Attributes:
        quality: The level.
        path: Weights file.
        model_id: First 4 bytes of the file's SHA-256 (written into every payload).
    """

    def __init__(self, quality: int, path: Path, expected_sha256: str | None) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        from .weights import load_model, sha256_of

        digest = sha256_of(path)
        if expected_sha256 is not None and digest != expected_sha256:
            raise PluginError(f"`cae` weights {path} have SHA-256 {digest}, expected {expected_sha256}")
        try:
            self.model = load_model(path)
        except (OSError, KeyError, ValueError) as error:
            raise PluginError(f"cannot read `cae` weights {path}: {error}") from error
        self.quality, self.path = quality, path
        self.model_id = bytes.fromhex(digest[:8])
        self.lock = threading.Lock()
        self._tf_errors = (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError)

    def compress(self, image: np.ndarray) -> tuple[bytes, tuple[int, int]]:
        """HxWx3 uint8 RGB -> (range-coded bytes, latent shape (h, w))."""
        with self.lock:
            string, latent_shape = self.model.compress(image)
        return string.numpy(), tuple(int(v) for v in latent_shape.numpy())

    def decompress(self, string: bytes, latent_shape: tuple[int, int], height: int, width: int) -> np.ndarray:
        """Range-coded bytes -> HxWx3 uint8 RGB.

        Raises:
            InvalidDataError: the range decoder rejects the string.
        """
        try:
            with self.lock:
                image = self.model.decompress(string, np.array(latent_shape, np.int32),
                                              np.array([height, width], np.int32))
        except self._tf_errors as error:
            first_line = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            raise InvalidDataError(f"`cae` range decoder rejected the payload: {first_line}") from None
        return image.numpy()


_LEVELS: dict[tuple[int, str], LoadedLevel] = {}
_LEVELS_LOCK = threading.Lock()


def weights_path(quality: int) -> tuple[Path, str | None]:
    """Weights file of a `quality` level and its expected SHA-256 (``None``: not checked)."""
    entry = get_level(quality)
    override = os.environ.get(WEIGHTS_DIR_ENV)
    if override:
        return Path(override) / entry.weights, None
    return WEIGHTS_DIR / entry.weights, entry.sha256


def load_level(quality: int) -> LoadedLevel:
    """Loads (once per file and process) the model of a `quality` level.

    Raises:
        PluginError: the weights file is missing, unreadable or has the wrong hash.
    """
    path, sha256 = weights_path(quality)
    key = (quality, str(path.resolve()))
    with _LEVELS_LOCK:
        if key not in _LEVELS:
            if not path.is_file():
                raise PluginError(
                    f"`cae` weights for quality {quality} not found at {path} (export them with "
                    f"`python -m neuralav.plugins.cae.train --run q{quality} --export-only --export {path}`)")
            _LEVELS[key] = LoadedLevel(quality, path, sha256)
        return _LEVELS[key]


class CAEEncoder(VideoEncoder):
    """Encoder of the `cae` codec. Option ``quality`` selects the level (see :mod:`.quality`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.quality = int(self.options["quality"])
        self._level = load_level(self.quality)

    def encode_image(self, image: np.ndarray, pix_fmt: str) -> bytes:
        """Codes one HxWx3 uint8 ``rgb24`` image into a self-checking payload."""
        if pix_fmt != "rgb24" or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"`cae` codes rgb24 HxWx3 uint8 images, got {pix_fmt} {image.dtype} "
                             f"{image.shape}")
        string, latent_shape = self._level.compress(np.ascontiguousarray(image))
        return pack_payload(self.quality, self._level.model_id, latent_shape, string)


class CAEDecoder(VideoDecoder):
    """Decoder of the `cae` codec; its quality level comes from the codec header."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.quality = int(self.options["quality"])
        if self.quality not in LEVELS:
            raise InvalidDataError(f"`cae` header names quality {self.quality} "
                                   f"(valid: {min(LEVELS)} to {max(LEVELS)})")
        self._level = load_level(self.quality)

    def decode_image(self, payload: bytes, width: int, height: int, pix_fmt: str) -> np.ndarray:
        """Decodes one payload into an HxWx3 uint8 ``rgb24`` image.

        Raises:
            InvalidDataError: truncated or corrupt payload, another quality level
                or model, or a latent shape that does not fit width x height.
        """
        quality, model_id, latent_shape, string = unpack_payload(payload)
        if quality != self.quality:
            raise InvalidDataError(f"`cae` packet was coded at quality {quality}; this decoder "
                                   f"decodes quality {self.quality}")
        if model_id != self._level.model_id:
            raise InvalidDataError(
                f"`cae` packet was coded with model {model_id.hex()}; this decoder's quality "
                f"{self.quality} weights are model {self._level.model_id.hex()}")
        expected = latent_shape_of(width, height)
        if latent_shape != expected:
            raise InvalidDataError(f"`cae` packet has a {latent_shape[0]}x{latent_shape[1]} latent; "
                                   f"a {width}x{height} frame needs {expected[0]}x{expected[1]}")
        return self._level.decompress(string, latent_shape, height, width)
