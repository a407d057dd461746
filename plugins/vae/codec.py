"""`vae` encoder and decoder: a range-coded hyper-latent and latent per frame (intra only).

Payload of one frame (after the registry's video packet prefix; integers
big-endian)::

    offset  size  field
    0       1     payload format (1)
    1       1     quality level (1..4)
    2       4     model id: first 4 bytes of the SHA-256 of the weights file
    6       4     n = length of the side string
    10      n     range-coded hyper-latent ``z`` (factorized prior)
    10+n    m     range-coded latent ``y`` (Gaussian scales from the integer hyper-synthesis)
    10+n+m  4     CRC-32 (zlib) of bytes 0 .. 10+n+m-1

The latent shapes follow from the frame size (``y``: ceil(H/16) x ceil(W/16),
``z``: ceil(H/64) x ceil(W/64), after edge padding to a multiple of 16). The
decoder checks, before any TensorFlow call: the length, the CRC, the format,
that the level is the decoder's own, that the model id matches its weights and
that n fits. So a packet of another level or of other weights, or a truncated or
damaged packet, raises :class:`~neuralav.registry.InvalidDataError`.

The scale indices of ``y`` are computed in fixed point from the decoded ``z``
(:mod:`.integer`), identically at encode and decode time, so the latent string
always parses as it was written. Weights are loaded once per file and process
(:func:`load_model_file`); the environment variable ``NEURALAV_VAE_WEIGHTS_DIR``
points at another folder holding ``q1..q4.npz`` (no hash check then), e.g. fresh
exports or a tiny test model.
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

__all__ = ["VAEEncoder", "VAEDecoder", "LoadedModel", "load_model_file", "weights_path",
           "pack_payload", "unpack_payload", "PAYLOAD_FORMAT", "WEIGHTS_DIR_ENV"]

PAYLOAD_FORMAT = 1
WEIGHTS_DIR_ENV = "NEURALAV_VAE_WEIGHTS_DIR"
_HEAD = struct.Struct(">BB4sI")
_CRC = struct.Struct(">I")
_MIN_PAYLOAD = _HEAD.size + _CRC.size


def pack_payload(quality: int, model_id: bytes, side: bytes, string: bytes) -> bytes:
    """Serializes one frame (layout in the module docstring)."""
    body = _HEAD.pack(PAYLOAD_FORMAT, quality, model_id, len(side)) + side + string
    return body + _CRC.pack(zlib.crc32(body))


def unpack_payload(payload: bytes) -> tuple[int, bytes, bytes, bytes]:
    """Parses and CRC-checks one frame's payload.

    Returns:
        (quality, model_id, side string, latent string).

    Raises:
        InvalidDataError: truncated, failing its CRC-32, of another payload
            format, or with a side-string length that does not fit.
    """
    if len(payload) < _MIN_PAYLOAD:
        raise InvalidDataError(
            f"`vae` payload of {len(payload)} bytes is truncated (at least {_MIN_PAYLOAD} needed)")
    body, (crc,) = payload[:-_CRC.size], _CRC.unpack(payload[-_CRC.size:])
    if zlib.crc32(body) != crc:
        raise InvalidDataError("`vae` payload fails its CRC-32 check (corrupt or truncated)")
    fmt, quality, model_id, side_length = _HEAD.unpack(body[:_HEAD.size])
    if fmt != PAYLOAD_FORMAT:
        raise InvalidDataError(f"`vae` payload has format {fmt}; this decoder reads {PAYLOAD_FORMAT}")
    strings = body[_HEAD.size:]
    if side_length > len(strings):
        raise InvalidDataError(f"`vae` payload claims a {side_length}-byte side string in "
                               f"{len(strings)} bytes of strings")
    return quality, model_id, strings[:side_length], strings[side_length:]


class LoadedModel:
    """One weights file's model (every level), compiled once and shared by encoders and decoders.

    Attributes:
        path: Weights file.
        model_id: First 4 bytes of the file's SHA-256 (written into every payload).
    """

    def __init__(self, path: Path, expected_sha256: str | None) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        from .weights import load_model, sha256_of

        digest = sha256_of(path)
        if expected_sha256 is not None and digest != expected_sha256:
            raise PluginError(f"`vae` weights {path} have SHA-256 {digest}, expected {expected_sha256}")
        try:
            self.model = load_model(path)
        except (OSError, KeyError, ValueError) as error:
            raise PluginError(f"cannot read `vae` weights {path}: {error}") from error
        self.path = path
        self.model_id = bytes.fromhex(digest[:8])
        self.lock = threading.Lock()
        self._tf_errors = (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError)

    def compress(self, image: np.ndarray, gain_index: int) -> tuple[bytes, bytes]:
        """HxWx3 uint8 RGB -> (side string, latent string)."""
        with self.lock:
            side, string, _ = self.model.compress(image, gain_index)
        return side, string

    def decompress(self, side: bytes, string: bytes, gain_index: int, width: int, height: int) -> np.ndarray:
        """Range-coded strings -> HxWx3 uint8 RGB.

        Raises:
            InvalidDataError: a range decoder rejects a string.
        """
        try:
            with self.lock:
                image, _ = self.model.decompress(side, string, gain_index, width, height)
        except self._tf_errors as error:
            first_line = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            raise InvalidDataError(f"`vae` range decoder rejected the payload: {first_line}") from None
        return image


_MODELS: dict[str, LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


def weights_path(quality: int) -> tuple[Path, str | None]:
    """Weights file of a `quality` level and its expected SHA-256 (``None``: not checked)."""
    entry = get_level(quality)
    override = os.environ.get(WEIGHTS_DIR_ENV)
    if override:
        return Path(override) / entry.weights, None
    return WEIGHTS_DIR / entry.weights, entry.sha256


def load_model_file(quality: int) -> LoadedModel:
    """Loads (once per file and process) the model that codes a `quality` level.

    Raises:
        PluginError: the weights file is missing, unreadable, has the wrong hash,
            or has fewer gain rows than the level needs.
    """
    path, sha256 = weights_path(quality)
    key = str(path.resolve())
    with _MODELS_LOCK:
        if key not in _MODELS:
            if not path.is_file():
                raise PluginError(
                    f"`vae` weights for quality {quality} not found at {path}: no vae model is "
                    f"shipped yet (train one with `python -m neuralav.plugins.vae.train`, see "
                    f"plugins/vae/README.md, or set {WEIGHTS_DIR_ENV})")
            _MODELS[key] = LoadedModel(path, sha256)
        loaded = _MODELS[key]
    if get_level(quality).gain_index >= loaded.model.num_levels:
        raise PluginError(f"`vae` weights {path} have {loaded.model.num_levels} levels; "
                          f"quality {quality} needs {get_level(quality).gain_index + 1}")
    return loaded


class VAEEncoder(VideoEncoder):
    """Encoder of the `vae` codec. Option ``quality`` selects the level (see :mod:`.quality`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.quality = int(self.options["quality"])
        self._gain_index = get_level(self.quality).gain_index
        self._model = load_model_file(self.quality)

    def encode_image(self, image: np.ndarray, pix_fmt: str) -> bytes:
        """Codes one HxWx3 uint8 ``rgb24`` image into a self-checking payload."""
        if pix_fmt != "rgb24" or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"`vae` codes rgb24 HxWx3 uint8 images, got {pix_fmt} {image.dtype} "
                             f"{image.shape}")
        side, string = self._model.compress(np.ascontiguousarray(image), self._gain_index)
        return pack_payload(self.quality, self._model.model_id, side, string)


class VAEDecoder(VideoDecoder):
    """Decoder of the `vae` codec; its quality level comes from the codec header."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.quality = int(self.options["quality"])
        if self.quality not in LEVELS:
            raise InvalidDataError(f"`vae` header names quality {self.quality} "
                                   f"(valid: {min(LEVELS)} to {max(LEVELS)})")
        self._gain_index = get_level(self.quality).gain_index
        self._model = load_model_file(self.quality)

    def decode_image(self, payload: bytes, width: int, height: int, pix_fmt: str) -> np.ndarray:
        """Decodes one payload into an HxWx3 uint8 ``rgb24`` image.

        Raises:
            InvalidDataError: truncated or corrupt payload, another quality level
                or model, or strings the range decoders reject.
        """
        quality, model_id, side, string = unpack_payload(payload)
        if quality != self.quality:
            raise InvalidDataError(f"`vae` packet was coded at quality {quality}; this decoder "
                                   f"decodes quality {self.quality}")
        if model_id != self._model.model_id:
            raise InvalidDataError(
                f"`vae` packet was coded with model {model_id.hex()}; this decoder's quality "
                f"{self.quality} weights are model {self._model.model_id.hex()}")
        return self._model.decompress(side, string, self._gain_index, width, height)
