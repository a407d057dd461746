"""Hypothesis strategies that damage real bytes the way files get damaged.

Each strategy draws a new ``bytes`` from a real one: bit flips, truncation,
extension, overwritten / inserted / deleted runs, whole random bytes, and
splices with other real data (another codec's packet, another file's tail).
:func:`fix_crc` re-seals a mutated neural payload with a valid CRC, so that
a mutation reaches the parser behind the checksum instead of stopping at it.
"""

from __future__ import annotations

import collections
import contextlib
import faulthandler
import struct
import time
import zlib

from hypothesis import strategies as st

__all__ = ["mutation", "fix_crc", "video_prefix_length", "watchdog", "CASES", "count_case"]

CASES: collections.Counter[tuple[str, str]] = collections.Counter()
"""Fuzz cases run in this session, by (target, outcome) (``conftest.py`` prints them after the run)."""


def count_case(target: str, outcome: str = "ok") -> None:
    """Counts one case (one damaged input fed to the code under test) of ``target``.

    Args:
        target: What was fuzzed, e.g. ``packets damaged: cae-q1``.
        outcome: ``ok`` (parsed, or decoded to frames) or the clean error's class name.
    """
    CASES[(target, outcome)] += 1


@st.composite
def _flips(draw, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        bit = draw(st.integers(0, len(out) * 8 - 1))
        out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@st.composite
def _truncation(draw, data: bytes) -> bytes:
    return data[:draw(st.integers(0, len(data) - 1))]


@st.composite
def _extension(draw, data: bytes) -> bytes:
    return data + draw(st.binary(min_size=1, max_size=64))


@st.composite
def _overwrite(draw, data: bytes) -> bytes:
    start = draw(st.integers(0, len(data) - 1))
    chunk = draw(st.one_of(st.binary(min_size=1, max_size=8),
                           st.sampled_from([b"\xff" * 4, b"\x00" * 4, b"\x7f\xff", b"\xff\xff\xff\xff\xff\xff\xff\xff"])))
    return data[:start] + chunk + data[start + len(chunk):]


@st.composite
def _insertion(draw, data: bytes) -> bytes:
    start = draw(st.integers(0, len(data)))
    return data[:start] + draw(st.binary(min_size=1, max_size=16)) + data[start:]


@st.composite
def _deletion(draw, data: bytes) -> bytes:
    start = draw(st.integers(0, len(data) - 1))
    return data[:start] + data[start + draw(st.integers(1, 16)):]


@st.composite
def _splice(draw, data: bytes, others: tuple[bytes, ...]) -> bytes:
    other = draw(st.sampled_from(others))
    return data[:draw(st.integers(0, len(data)))] + other[draw(st.integers(0, len(other))):]


def mutation(data: bytes, others: tuple[bytes, ...] = ()) -> st.SearchStrategy[bytes]:
    """Damaged versions of ``data`` (non-empty); ``others`` are spliced in or sent whole."""
    choices = [_flips(data), _truncation(data), _extension(data), _overwrite(data), _insertion(data),
               _deletion(data), st.binary(max_size=2 * len(data) + 16)]
    if others:
        choices += [_splice(data, others), st.sampled_from(others)]
    return st.one_of(choices)


def video_prefix_length(packet: bytes) -> int | None:
    """Length of the registry's video packet prefix (``registry/api.py``), or ``None`` if truncated."""
    if len(packet) < 6:
        return None
    position = 5 + packet[0]
    if len(packet) <= position:
        return None
    return position + 1 + packet[position]


def fix_crc(packet: bytes, video: bool) -> bytes:
    """Recompute the trailing CRC of a ``cae``/``vae`` payload (CRC-32, after the video prefix)
    or a ``wavenet`` one (CRC-16/GENIBUS, payload format 2)."""
    if not video:
        if len(packet) < 3:
            return packet
        from neuralav.plugins.wavenet.codec import _crc16

        return packet[:-2] + struct.pack(">H", _crc16(packet[:-2]))
    start = video_prefix_length(packet)
    if start is None or len(packet) < start + 5:
        return packet
    body = packet[start:-4]
    return packet[:start] + body + struct.pack(">I", zlib.crc32(body))


@contextlib.contextmanager
def watchdog(seconds: float, what: str):
    """Fail loudly if the block hangs: dumps every thread's stack and exits after ``seconds``
    (a hung C loop cannot be interrupted otherwise); also fails if it merely took that long."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    start = time.monotonic()
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"{what} took {elapsed:.1f} s (limit {seconds} s)"
