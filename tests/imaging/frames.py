"""Frames for the image-codec tests."""

from __future__ import annotations

from fractions import Fraction

import av


def frame_of(image, fmt="rgb24", pts=7, time_base=Fraction(1, 25)):
    """An ``av.VideoFrame`` of an HxWx3 uint8 RGB `image`, converted to `fmt`, with pts and time base."""
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    if fmt != "rgb24":
        frame = frame.reformat(format=fmt)
    frame.pts, frame.time_base = pts, time_base
    return frame


def payload_of(packet) -> bytes:
    """The codec payload of a registry video packet (after its prefix)."""
    from neuralav.registry.api import parse_video_packet

    return parse_video_packet(bytes(packet)).payload


def with_payload(packet, payload: bytes):
    """An ``av.Packet`` like `packet` (same prefix) carrying another codec `payload`."""
    data = bytes(packet)
    return av.Packet(data[:len(data) - len(payload_of(packet))] + payload)
