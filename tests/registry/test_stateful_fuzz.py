"""An inter decoder fed a damaged packet mid-GOP: a frame or a clean InvalidDataError, never a crash,
and the keyframe after it decodes exactly whatever came before (the chain recovers)."""

from __future__ import annotations

import functools

import av
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuralav import registry
from neuralav.registry import InvalidDataError

from tests.hardening.mutate import mutation

GOP = 4


@functools.cache
def _stream() -> tuple[bytes, list[av.Packet], list[np.ndarray]]:
    """A zlibp stream of two GOPs: its header, packets and source images (rgb24), built once."""
    with av.open("testsrc=size=48x32:rate=25:duration=0.4", format="lavfi") as source:
        frames = list(source.decode(video=0))[:2 * GOP]
    encoder = registry.create_encoder("zlibp", {"g": GOP})
    packets = [p for f in frames for p in encoder.encode(f)]
    return encoder.header, packets, [f.to_ndarray(format="rgb24") for f in frames]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, GOP - 1), st.data())
def test_a_damaged_p_frame_is_a_frame_or_invalid_data_and_the_next_keyframe_recovers(index, data):
    header, packets, images = _stream()
    damaged = data.draw(mutation(bytes(packets[index]), (bytes(packets[0]), bytes(packets[GOP + 1]))))
    decoder = registry.create_decoder("zlibp", header)
    for packet in packets[:index]:
        decoder.decode(packet)
    for packet in [av.Packet(damaged)] + packets[index + 1:GOP]:
        try:
            decoder.decode(packet)
        except InvalidDataError:
            pass
    for packet, image in zip(packets[GOP:], images[GOP:]):
        (frame,) = decoder.decode(packet)
        np.testing.assert_array_equal(frame.to_ndarray(format="rgb24"), image)
