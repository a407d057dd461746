"""Frame helpers of the transcode pipeline: cutting decoded audio where -ss/-t fall."""

from __future__ import annotations

import av

from neuralav.registry.samples import array_to_frame, frame_to_array

__all__ = ["slice_frame"]


def slice_frame(frame: av.AudioFrame, start: int, stop: int) -> av.AudioFrame:
    """Samples ``start:stop`` of ``frame`` as a new frame of the same format, layout and rate.

    Args:
        frame: A decoded audio frame (any sample format and channel count).
        start, stop: Sample indices into the frame, ``0 <= start <= stop <= frame.samples``.

    Returns:
        The new frame, in the frame's time base; its pts moves by ``start`` samples (none when
        the frame has no pts or time base).
    """
    array = frame_to_array(frame)[:, start:stop]
    out = array_to_frame(array, frame.format.name, frame.layout.name, frame.sample_rate)
    if frame.pts is not None and frame.time_base is not None:
        out.time_base = frame.time_base
        out.pts = frame.pts + int(round(start / frame.sample_rate / frame.time_base))
    return out
