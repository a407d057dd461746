"""Audio frames to and from numpy arrays, for any channel count.

PyAV 18 cannot map planar audio of 8 or more channels to numpy: FFmpeg keeps the planes of
such a frame in ``extended_data``, and ``AudioFrame.planes`` reads one pointer past them
(``to_ndarray`` on a 7.1 ``fltp`` frame crashes the process; ``from_ndarray`` raises
``IndexError``). Packed frames have one plane whatever the channel count, and
libswresample converts between planar and packed without touching a value, so these
helpers go through a packed frame for such layouts. Everything else maps directly.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

__all__ = ["DTYPES", "PLANE_LIMIT", "frame_to_array", "array_to_frame", "to_float",
           "float_to_frames"]

PLANE_LIMIT = 8
"""Planar frames with this many channels or more go through a packed frame (see above)."""

DTYPES = {"u8": np.uint8, "s16": np.int16, "s32": np.int32, "s64": np.int64,
          "flt": np.float32, "dbl": np.float64}
"""numpy dtype of each packed sample format (planar ones use their packed twin's)."""


def _through_packed(fmt: av.AudioFormat, channels: int) -> bool:
    return fmt.is_planar and channels >= PLANE_LIMIT


def _reformat(frame: av.AudioFrame, fmt: str) -> list[av.AudioFrame]:
    """The same samples in sample format ``fmt`` (same rate and layout: a lossless reordering)."""
    resampler = av.AudioResampler(format=fmt, layout=frame.layout.name, rate=frame.sample_rate)
    pts, frame.pts = frame.pts, None  # the resampler would retime its output; the caller's frame stays as it was
    try:
        return resampler.resample(frame) + resampler.resample(None)
    finally:
        frame.pts = pts


def frame_to_array(frame: av.AudioFrame) -> np.ndarray:
    """Samples of ``frame`` as an array of shape (channels, samples), in the frame's dtype
    (int16 for ``s16``/``s16p``, float32 for ``flt``/``fltp``...), whatever the channel count."""
    channels = len(frame.layout.channels)
    if frame.samples == 0:
        return np.zeros((channels, 0), DTYPES[frame.format.packed.name])
    if _through_packed(frame.format, channels):
        pieces = _reformat(frame, frame.format.packed.name)
        array = np.concatenate([piece.to_ndarray() for piece in pieces], axis=1)
    else:
        array = frame.to_ndarray()
    if array.shape[0] != channels:  # packed: shape (1, samples * channels)
        array = array.reshape(-1, channels).T
    return np.ascontiguousarray(array)


def array_to_frame(samples: np.ndarray, fmt: str, layout: str, rate: int) -> av.AudioFrame:
    """One ``av.AudioFrame`` in sample format ``fmt`` from ``samples`` of shape (channels, n),
    already of that format's dtype: no pts, time base ``1/rate`` (samples)."""
    audio_format = av.AudioFormat(fmt)
    channels = samples.shape[0]
    packed = np.ascontiguousarray(samples.T.reshape(1, -1))
    if _through_packed(audio_format, channels) and samples.shape[1]:
        packed_frame = av.AudioFrame.from_ndarray(packed, format=audio_format.packed.name, layout=layout)
        packed_frame.sample_rate = rate
        (frame,) = _reformat(packed_frame, fmt)
    else:
        array = np.ascontiguousarray(samples) if audio_format.is_planar else packed
        frame = av.AudioFrame.from_ndarray(array, format=fmt, layout=layout)
        frame.sample_rate = rate
    frame.pts, frame.time_base = None, Fraction(1, rate)
    return frame


_INTEGER_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0}
"""Full scale of the integer sample formats numpy holds (``u8`` is offset by 128)."""


def to_float(samples: np.ndarray) -> np.ndarray:
    """Samples of any sample format's dtype as float32 in [-1, 1) (float32 input as it is)."""
    if samples.dtype == np.float32:
        return samples
    if samples.dtype.kind == "f":
        return samples.astype(np.float32)
    if samples.dtype == np.uint8:
        return ((samples.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    scale = float(2 ** (8 * samples.dtype.itemsize - 1))
    return (samples.astype(np.float64) / scale).astype(np.float32)


def float_to_frames(samples: np.ndarray, fmt: str, layout: str, rate: int) -> list[av.AudioFrame]:
    """(channels, n) float samples in [-1, 1] -> ``av.AudioFrame``s in sample format ``fmt``
    (n samples in all; no pts). Values are clipped to [-1, 1] first; integer formats round to
    the nearest step and clip to their range, as ``round(x * full scale)``."""
    audio_format = av.AudioFormat(fmt)
    packed = audio_format.packed.name
    array = np.clip(samples, -1.0, 1.0)
    if packed in ("flt", "dbl"):
        array = array.astype(np.float32 if packed == "flt" else np.float64)
    elif packed in _INTEGER_SCALE:
        scale = _INTEGER_SCALE[packed]
        array = np.clip(np.round(array * scale), -scale, scale - 1)
        array = (array + 128).astype(np.uint8) if packed == "u8" else array.astype(
            np.int16 if packed == "s16" else np.int32)
    else:  # s64 and anything else numpy cannot hold in PyAV: libswresample converts (same rate)
        frame = array_to_frame(np.ascontiguousarray(array, np.float32), "flt", layout, rate)
        converter = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        return converter.resample(frame) + converter.resample(None)
    return [array_to_frame(array, fmt, layout, rate)]
