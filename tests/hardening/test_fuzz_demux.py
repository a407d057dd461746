"""The demuxer on damaged real Matroska files: frames or a clean neuralav error, never a hang.

Two files written by the project's own writer (``conftest.matroska_files``: neural
``cae``/``wavenet``/``zlibv``/``zliba`` tracks next to H.264 and Opus) are damaged
(bit flips, truncation, overwrites, splices of the two files) and read back through
:func:`neuralav.container.open`, probing every track the way ``neuralav probe`` does
and decoding every video and audio track, strictly and with ``ignore_errors``.
"""

from __future__ import annotations

import struct
import warnings

import pytest
from hypothesis import given, settings, strategies as st

from neuralav import container
from neuralav.container import DecodeWarning
from neuralav.registry import InvalidDataError, NeuralavError

from .mutate import count_case, mutation, watchdog

pytestmark = pytest.mark.usefixtures("tiny_env")
FUZZ = settings.get_profile("neuralav-fuzz")
CLUSTER = b"\x1f\x43\xb6\x75"
TRACKS = b"\x16\x54\xae\x6b"


def read_everything(path, fuzz_registry, ignore_errors: bool) -> int:
    """Open, probe and decode every track of ``path``; returns the number of frames decoded."""
    frames = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DecodeWarning)
        with container.open(path, registry=fuzz_registry, ignore_errors=ignore_errors) as reader:
            reader.duration
            for track in reader.streams:
                track.describe()
                track.duration
            for frame in reader.decode(*[t for t in reader.streams if t.type in ("video", "audio")]):
                assert frame.pts is not None or frame.time_base is None
                frames += 1
    return frames


def check_file(tmp_path, fuzz_registry, data: bytes, ignore_errors: bool, target: str) -> None:
    target = f"demux {target}"
    path = tmp_path / "damaged.mkv"
    path.write_bytes(data)
    with watchdog(60, f"reading a damaged {len(data)}-byte file"):
        try:
            read_everything(path, fuzz_registry, ignore_errors)
        except NeuralavError as error:
            return count_case(target, type(error).__name__)
    count_case(target)


def test_the_undamaged_files_decode_every_track(matroska_files, fuzz_registry, tmp_path):
    for name, data in matroska_files.items():
        path = tmp_path / f"{name}.mkv"
        path.write_bytes(data)
        assert read_everything(path, fuzz_registry, ignore_errors=False) >= 8


@pytest.mark.parametrize("name", ["a", "b"])
def test_damaged_files_decode_or_raise_cleanly(matroska_files, fuzz_registry, tmp_path_factory, name):
    data = matroska_files[name]
    other = matroska_files["b" if name == "a" else "a"]
    tracks = data.index(TRACKS)
    header = data[:data.index(CLUSTER)]
    folder = tmp_path_factory.mktemp("damaged")

    @FUZZ
    @given(st.one_of(mutation(data, (other,)),
                     # the same damage aimed at the file's header (EBML, Segment, Tracks, tags)
                     mutation(header, (other[:other.index(CLUSTER)],)).map(lambda h: h + data[len(header):]),
                     st.integers(tracks, len(header) - 1).map(lambda i: data[:i] + b"\xff" + data[i + 1:])),
           st.booleans())
    def fuzz(damaged, ignore_errors):
        check_file(folder, fuzz_registry, damaged, ignore_errors, f"damaged: file {name}")

    fuzz()


def test_files_truncated_at_many_offsets_decode_or_raise_cleanly(matroska_files, fuzz_registry, tmp_path):
    cases = 0
    for data in matroska_files.values():
        header_end = data.index(CLUSTER)
        offsets = sorted(set(range(0, header_end + 64, 7)) | set(range(header_end, len(data), 97)))
        for offset in offsets:
            check_file(tmp_path, fuzz_registry, data[:offset], offset % 2 == 0, "truncated")
            cases += 1
    assert cases > 200


def test_spliced_files_decode_or_raise_cleanly(matroska_files, fuzz_registry, tmp_path):
    """One file's header (tracks, codec headers) with the other's clusters (packets), and the
    other way round; and the two files' clusters one after the other."""
    a, b = matroska_files["a"], matroska_files["b"]
    a_head, a_body = a[:a.index(CLUSTER)], a[a.index(CLUSTER):]
    b_head, b_body = b[:b.index(CLUSTER)], b[b.index(CLUSTER):]
    for spliced in (a_head + b_body, b_head + a_body, a + b_body, a_head + b_body + a_body, b + a):
        for ignore_errors in (False, True):
            check_file(tmp_path, fuzz_registry, spliced, ignore_errors, "spliced")


# ------------------------------------------------------------------ regressions (found by the fuzzers)


def test_a_track_whose_codec_nobody_knows_fails_to_decode_with_a_clean_error(matroska_files, fuzz_registry,
                                                                             tmp_path):
    # Found: a damaged neural header (CodecPrivate and tag) left a track without any codec
    # context, and decoding it raised AttributeError.
    data = matroska_files["a"]
    assert data.count(b"NAVH\x01\x01\x07wavenet") == 1
    damaged = data.replace(b"NAVH\x01\x01\x07wavenet", b"NAVX\x01\x01\x07wavenet")
    damaged = damaged.replace(b"NEURALAV_HEADER", b"NEURALAV_HEADEX")
    path = tmp_path / "unknown.mkv"
    path.write_bytes(damaged)
    with container.open(path, registry=fuzz_registry) as reader:
        (audio,) = [t for t in reader.streams if t.type == "audio" and t.codec == "unknown"]
        with pytest.raises(container.PacketDecodeError, match="codec is unknown"):
            list(reader.decode(audio))


def test_a_tag_that_is_not_utf8_is_read_with_replacement_characters(matroska_files, fuzz_registry, tmp_path):
    # Found: PyAV decodes tags as strict UTF-8, so one damaged tag byte made av.open raise
    # UnicodeDecodeError and the whole file unreadable.
    data = matroska_files["a"]
    tag = b"NEURALAV_PLUGIND\x87\x88neuralav"
    assert tag in data
    path = tmp_path / "tag.mkv"
    path.write_bytes(data.replace(tag, tag[:-8] + b"\xffeuralav"))
    with container.open(path, registry=fuzz_registry) as reader:
        assert reader.streams[0].plugin == "\ufffdeuralav"
        assert sum(1 for _ in reader.decode(reader.streams[0])) == 3


@pytest.mark.parametrize("damaged", [b"00:00:00.1\x010000000", b"0\x01:00:00.120000000", b"000000000000000000"])
def test_a_damaged_duration_tag_is_an_unknown_duration(matroska_files, fuzz_registry, tmp_path, damaged):
    # Found: Track.duration split the tag on ":" and raised ValueError for a damaged one.
    data = matroska_files["a"]
    tag = b"00:00:00.120000000"
    assert tag in data and len(damaged) == len(tag)
    path = tmp_path / "duration.mkv"
    path.write_bytes(data.replace(tag, damaged, 1))
    with container.open(path, registry=fuzz_registry) as reader:
        durations = [track.duration for track in reader.streams]
    assert None in durations and 0.12 in durations  # the damaged tag, an intact one


@pytest.mark.parametrize("width,height", [(100000, 100000), (16384, 16384), (0, 24), (-5, 24)])
def test_a_neural_track_claiming_an_absurd_frame_size_is_refused_at_open(matroska_files, fuzz_registry,
                                                                        tmp_path, width, height):
    # The BITMAPINFOHEADER's 32-bit sizes were taken as they came (Track.width = 100000).
    data = matroska_files["a"]
    bih = struct.pack("<Iii", 40 + len(b"NAVH\x01\x00\x03cae"), 32, 24)
    start = data.index(b"NCAE") - 16
    assert data[start:start + 4] == struct.pack("<I", 40 + 25) and data[start + 4:start + 12] == bih[4:]
    path = tmp_path / "huge.mkv"
    path.write_bytes(data[:start + 4] + struct.pack("<ii", width, height) + data[start + 12:])
    with pytest.raises(InvalidDataError, match=f"claims a {width}x{height} frame"):
        container.open(path, registry=fuzz_registry)


def test_a_neural_audio_header_with_an_unknown_layout_opens_and_fails_to_decode_cleanly(
        matroska_files, fuzz_registry, tmp_path):
    # Found: Reader._track read the layout with av.AudioLayout and raised ValueError at open.
    data = matroska_files["a"]
    field = b"\x06layouts\x00\x04mono"
    assert data.count(field) == 1
    path = tmp_path / "layout.mkv"
    path.write_bytes(data.replace(field, b"\x06layouts\x00\x04momo"))
    with container.open(path, registry=fuzz_registry) as reader:
        (audio,) = [t for t in reader.streams if t.codec == "wavenet"]
        assert (audio.layout, audio.channels) == ("", 0)
        with pytest.raises(container.PacketDecodeError, match="layout"):
            list(reader.decode(audio))
