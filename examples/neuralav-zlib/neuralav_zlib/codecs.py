"""Lossless example codecs: prediction + zlib, for video planes and audio channels.

``zlibv`` codes every frame alone (intra-only). ``zlibp`` is the example of a stateful
(inter-frame) codec: keyframes as ``zlibv`` codes frames, P-frames as the difference from
the previous frame; the registry's :class:`~neuralav.registry.InterVideoEncoder` /
:class:`~neuralav.registry.InterVideoDecoder` keep the reference, pick the frame types and
check the chain, so the codec only codes one frame given its reference.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from neuralav.registry import (AudioChunk, AudioDecoder, AudioEncoder, InterVideoDecoder, InterVideoEncoder,
                               InvalidDataError, VideoDecoder, VideoEncoder)

MAX_EXPANDED = 1 << 28  # bytes a payload may inflate to (256 MiB)


def _inflate(payload: bytes, expected: int) -> bytes:
    if expected > MAX_EXPANDED:
        raise InvalidDataError(f"payload claims {expected} bytes, above the {MAX_EXPANDED} limit")
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(payload, expected)
        if len(data) == expected and not inflater.eof:  # read on to the end: the checksum is checked there
            data += inflater.decompress(inflater.unconsumed_tail, 1)
    except zlib.error as error:
        raise InvalidDataError(f"corrupt zlib payload: {error}") from None
    if len(data) != expected or inflater.unconsumed_tail:
        decoded = f"more than {expected}" if len(data) > expected else str(len(data))
        raise InvalidDataError(f"zlib payload decodes to {decoded} bytes, expected {expected}")
    if not inflater.eof:
        raise InvalidDataError(f"zlib payload is truncated: it ends before its checksum ({expected} bytes decoded)")
    return data


def _predict(plane: np.ndarray, predictor: str) -> np.ndarray:
    residual = plane.astype(np.uint8)
    if predictor in ("up", "gradient"):
        residual = np.diff(residual, axis=0, prepend=np.uint8(0))
    if predictor == "gradient":
        residual = np.diff(residual, axis=1, prepend=np.uint8(0))
    return residual


def _unpredict(residual: np.ndarray, predictor: str) -> np.ndarray:
    plane = residual
    if predictor == "gradient":
        plane = np.cumsum(plane, axis=1, dtype=np.uint8)
    if predictor in ("up", "gradient"):
        plane = np.cumsum(plane, axis=0, dtype=np.uint8)
    return plane


_PREDICTORS = ("none", "up", "gradient")


class ZlibVideoEncoder(VideoEncoder):
    """Payload: 1 byte predictor index, then zlib of the predicted array (uint8)."""

    def encode_image(self, image: np.ndarray, pix_fmt: str) -> bytes:
        predictor = self.options["predictor"]
        residual = _predict(image, predictor)
        return bytes([_PREDICTORS.index(predictor)]) + zlib.compress(residual.tobytes(), self.options["level"])


class ZlibVideoDecoder(VideoDecoder):
    def decode_image(self, payload: bytes, width: int, height: int, pix_fmt: str) -> np.ndarray:
        shape = _array_shape(pix_fmt, width, height)
        if not payload or payload[0] >= len(_PREDICTORS):
            raise InvalidDataError("zlibv payload has no valid predictor byte")
        data = _inflate(payload[1:], int(np.prod(shape)))
        residual = np.frombuffer(data, dtype=np.uint8).reshape(shape)
        return _unpredict(residual, _PREDICTORS[payload[0]])


class ZlibInterEncoder(InterVideoEncoder):
    """Keyframe payload: zlib of the gradient-predicted frame. P-frame payload: zlib of the
    frame minus the previous one (uint8, modulo 256). Lossless, so the input is the reference."""

    def encode_frame(self, image: np.ndarray, pix_fmt: str, reference: np.ndarray | None) -> bytes:
        residual = _predict(image, "gradient") if reference is None else image - reference
        return zlib.compress(residual.astype(np.uint8).tobytes(), self.options["level"])


class ZlibInterDecoder(InterVideoDecoder):
    def decode_frame(self, payload: bytes, width: int, height: int, pix_fmt: str,
                     reference: np.ndarray | None) -> np.ndarray:
        shape = _array_shape(pix_fmt, width, height)
        residual = np.frombuffer(_inflate(payload, int(np.prod(shape))), dtype=np.uint8).reshape(shape)
        return _unpredict(residual, "gradient") if reference is None else reference + residual


def _array_shape(pix_fmt: str, width: int, height: int) -> tuple[int, ...]:
    """Shape of ``VideoFrame.to_ndarray(format=pix_fmt)`` for a width x height frame."""
    if pix_fmt == "rgb24":
        return (height, width, 3)
    if pix_fmt == "rgba":
        return (height, width, 4)
    if pix_fmt == "gray":
        return (height, width)
    if pix_fmt == "yuv444p":
        return (3, height, width)
    if pix_fmt == "yuv420p":
        if width % 2 or height % 2:
            raise InvalidDataError(f"yuv420p frames need even dimensions, not {width}x{height}")
        return (height * 3 // 2, width)
    raise InvalidDataError(f"zlibv does not code `{pix_fmt}`")


class ZlibAudioEncoder(AudioEncoder):
    """One packet per input frame. Payload: 4-byte sample count, then zlib of the
    per-channel first-order differences (integers) or raw samples (float)."""

    def encode_samples(self, samples: np.ndarray, flush: bool) -> list[AudioChunk]:
        if samples.shape[1] == 0:
            return []
        data = np.diff(samples, axis=1, prepend=samples.dtype.type(0)) if samples.dtype.kind == "i" else samples
        payload = struct.pack(">I", samples.shape[1]) + zlib.compress(
            np.ascontiguousarray(data).tobytes(), self.options["level"])
        return [AudioChunk(payload, samples.shape[1], keyframe=True)]


class ZlibAudioDecoder(AudioDecoder):
    def decode_samples(self, payload: bytes) -> np.ndarray:
        if len(payload) < 4:
            raise InvalidDataError("zliba payload is truncated")
        (count,) = struct.unpack(">I", payload[:4])
        dtype = np.dtype({"s16": np.int16, "s32": np.int32, "flt": np.float32}[self.coded_format])
        data = _inflate(payload[4:], count * self.channels * dtype.itemsize)
        array = np.frombuffer(data, dtype=dtype).reshape(self.channels, count)
        return np.cumsum(array, axis=1, dtype=dtype) if dtype.kind == "i" else array.copy()
