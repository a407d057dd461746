"""Time in a transcode: packet and frame times, the -ss/-t window, each input's origin and the
frame rate an encoder runs at.

As ffmpeg (without ``-copyts``): each input's timeline starts at 0 in the output, ``-ss`` counts
from the input's own start, and decoded video frames get FFmpeg's best-effort timestamps
(:class:`_TimestampGuess`), since encoders need them in order.
"""

from __future__ import annotations

from fractions import Fraction

import av

from .reader import Reader, Track


def _frame_rate(track: Track) -> Fraction:
    """The frame rate an encoder of ``track`` runs at (frames/s), as ffmpeg picks it.

    FFmpeg's guess (``r_frame_rate``, the rate the timestamps are on) comes first: the average
    rate of a file without frame durations is its mean packet spacing, which Matroska's 1 ms
    ticks round (a 60 fps source without durations averages 62.5 fps: 16 ms frames). Then the
    reader's rate, then 25.
    """
    guessed = None
    if track.av_stream is not None and not track.is_neural:
        guessed = getattr(track.av_stream, "guessed_rate", None)
    for rate in (guessed, track.frame_rate):
        if rate and 0 < rate <= 1000:
            return Fraction(rate)
    return Fraction(25)


def _packet_time(packet: av.Packet) -> float:
    if packet.pts is None or packet.time_base is None:
        return float("-inf")
    return float(packet.pts * packet.time_base)


class _Clock:
    """Output-time window: ``start`` (-ss) and ``duration`` (-t), in seconds."""

    def __init__(self, start: float, duration: float | None) -> None:
        self.start = start
        self.end = start + duration if duration is not None else None

    def before(self, seconds: float) -> bool:
        return seconds < self.start - 1e-9

    def after(self, seconds: float) -> bool:
        return self.end is not None and seconds >= self.end - 1e-9


def _frame_seconds(frame: av.frame.Frame) -> float | None:
    if frame.pts is None or frame.time_base is None:
        return None
    return float(frame.pts * frame.time_base)


def _origin(reader: Reader) -> float:
    """Where the input's timeline starts (s): the container's start time, 0 if unknown.

    ffmpeg subtracts it from every timestamp (a file cut from 10 s on starts at 0 in the output).
    """
    start = reader.container.start_time
    return start / av.time_base if start is not None else 0.0


class _TimestampGuess:
    """FFmpeg's ``best_effort_timestamp`` for a stream of decoded frames (libavcodec's
    ``guess_correct_pts``, which PyAV does not expose): a frame's pts, unless pts have gone
    backwards more often than the packets' dts have, then its dts.

    Files whose B-frames were given pts = dts (``ffmpeg -f h264 -i raw.264 -c copy x.mp4``)
    decode to frames whose pts jump back and forth; encoders need them in order.
    """

    def __init__(self) -> None:
        self.faulty_pts = self.faulty_dts = 0
        self.last_pts: int | None = None
        self.last_dts: int | None = None

    def __call__(self, pts: int | None, dts: int | None) -> int | None:
        if dts is not None:
            self.faulty_dts += self.last_dts is not None and dts <= self.last_dts
            self.last_dts = dts
        if pts is not None:
            self.faulty_pts += self.last_pts is not None and pts <= self.last_pts
            self.last_pts = pts
        if pts is not None and (self.faulty_pts <= self.faulty_dts or dts is None):
            return pts
        return dts


def _timestamps_guessed(frames: list, guesses: dict, key: tuple[int, int]) -> list:
    """Video frames with FFmpeg's best-effort pts (:class:`_TimestampGuess`, one per source track)."""
    for frame in frames:
        if isinstance(frame, av.VideoFrame):
            frame.pts = guesses.setdefault(key, _TimestampGuess())(frame.pts, frame.dts)
    return frames
