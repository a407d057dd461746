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
