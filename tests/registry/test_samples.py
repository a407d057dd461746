"""Audio frames to and from arrays for every channel count, planar 7.1 and 16 channels included.

PyAV 18's own ``to_ndarray`` crashes the process on a planar frame of 8 channels or more,
so these tests build such frames the way a decoder would hand them over: from packed
samples through ``av.AudioResampler``.
"""

from fractions import Fraction

import av
import numpy as np
import pytest

from neuralav.registry.samples import DTYPES, array_to_frame, frame_to_array


def planar_from_resampler(samples: np.ndarray, fmt: str, layout: str, rate: int) -> av.AudioFrame:
    """A planar frame as libswresample makes it (never through PyAV's planar from_ndarray)."""
    packed = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples.T.reshape(1, -1)),
                                        format=av.AudioFormat(fmt).packed.name, layout=layout)
    packed.sample_rate = rate
    resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
    (frame,) = resampler.resample(packed) + resampler.resample(None)
    return frame


def samples_of(fmt: str, channels: int, count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dtype = DTYPES[av.AudioFormat(fmt).packed.name]
    if np.issubdtype(dtype, np.floating):
        return rng.uniform(-1, 1, (channels, count)).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, (channels, count), dtype=dtype, endpoint=True)


@pytest.mark.parametrize("layout", ["mono", "stereo", "5.1", "7.1", "octagonal", "hexadecagonal"])
@pytest.mark.parametrize("fmt", ["fltp", "flt", "s16p", "s16", "s32p", "u8p", "dblp"])
def test_arrays_round_trip_exactly_for_any_layout_and_format(fmt, layout):
    channels = len(av.AudioLayout(layout).channels)
    samples = samples_of(fmt, channels, 301)
    frame = array_to_frame(samples, fmt, layout, 44100)
    assert (frame.format.name, frame.layout.name, frame.sample_rate, frame.samples) == (fmt, layout, 44100, 301)
    back = frame_to_array(frame)
    assert back.dtype == samples.dtype and np.array_equal(back, samples)


@pytest.mark.parametrize("layout", ["7.1", "hexadecagonal"])
def test_planar_frames_of_many_channels_from_a_resampler_read_back_in_channel_order(layout):
    channels = len(av.AudioLayout(layout).channels)
    samples = samples_of("fltp", channels, 1000, seed=3)
    frame = planar_from_resampler(samples, "fltp", layout, 48000)
    assert np.array_equal(frame_to_array(frame), samples)


@pytest.mark.parametrize("fmt", ["fltp", "s16p"])
def test_planar_frames_of_many_channels_hold_each_channel_in_its_own_plane(fmt):
    """Checked through the planes themselves (the first 8 pointers are sound), not our readers."""
    samples = samples_of(fmt, 8, 333, seed=7)
    frame = array_to_frame(samples, fmt, "7.1", 48000)
    for channel in range(8):
        plane = np.frombuffer(frame.planes[channel], samples.dtype)[:333]
        assert np.array_equal(plane, samples[channel])


def test_reading_a_frame_leaves_its_pts_and_time_base_alone():
    frame = planar_from_resampler(samples_of("fltp", 8, 50), "fltp", "7.1", 48000)
    frame.pts, frame.time_base = 4321, Fraction(1, 48000)
    frame_to_array(frame)
    assert (frame.pts, frame.time_base) == (4321, Fraction(1, 48000))


def test_empty_frames_map_to_empty_arrays():
    frame = array_to_frame(np.zeros((8, 0), np.float32), "fltp", "7.1", 16000)
    assert frame.samples == 0
    assert frame_to_array(frame).shape == (8, 0)
