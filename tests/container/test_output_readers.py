"""What ffmpeg's automatic selection and mkvextract do with neuralav files (issue 26.6, 26.9).

These pin down what container/FORMAT.md tells users, with the system ffmpeg (5.1) and
mkvtoolnix: ffmpeg picks the standard video track beside a neural one in either order (the
writer flags standard tracks default, worth 5,000,000 in ffmpeg's score); where the neural
track is the only video, ffmpeg fails and `neuralav decode` is the way; a standard preview
track added with the existing options is what ffmpeg then picks. mkvextract cannot extract
an `A_MS/ACM` track, and the commands FORMAT.md gives instead work.
"""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from neuralav import container
from neuralav.container.cli import main

from . import media
from .conftest import run_tool


@pytest.fixture
def ffmpeg(tools):
    if not (tools["ffmpeg"] and tools["ffprobe"]):
        pytest.skip("ffmpeg not installed")


@pytest.fixture
def mkvtoolnix(tools):
    if not tools["mkvmerge"] or not run_tool("which", "mkvextract").stdout:
        pytest.skip("mkvtoolnix not installed")


def streams_of(path) -> list[tuple[str, str]]:
    result = run_tool("ffprobe", "-v", "error", "-of", "json", "-show_streams", str(path))
    assert result.returncode == 0, result.stderr
    return [(s["codec_type"], s.get("codec_name", "unknown")) for s in json.loads(result.stdout)["streams"]]


def frames_of(path) -> int:
    result = run_tool("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                      "stream=nb_read_frames", "-of", "csv=p=0", str(path))
    return int(result.stdout.strip())


@pytest.mark.parametrize("neural_first", [False, True], ids=["standard first", "neural first"])
def test_plain_ffmpeg_picks_the_standard_tracks_beside_neural_ones(ffmpeg, clip, tmp_path, neural_first):
    out, auto = tmp_path / "out.mkv", tmp_path / "auto.mp4"
    neural, standard = ("0", "1") if neural_first else ("1", "0")
    assert main(["transcode", "-i", str(clip), "-map", "0:v", "-map", "0:v", "-map", "0:a", "-map", "0:a",
                 f"-c:v:{neural}", "zlibv", f"-c:v:{standard}", "copy", f"-c:a:{neural}", "zliba",
                 f"-c:a:{standard}", "copy", str(out)]) == 0
    kinds = streams_of(out)
    assert [kinds[i] for i in ((0, 2) if neural_first else (1, 3))] == [("video", "unknown"), ("audio", "unknown")]
    result = run_tool("ffmpeg", "-v", "error", "-i", str(out), str(auto))
    assert (result.returncode, result.stderr) == (0, "")
    assert streams_of(auto) == [("video", "h264"), ("audio", "aac")]
    assert frames_of(auto) == 10


@pytest.mark.parametrize("neural", ["v", "a"])
def test_with_only_a_neural_track_of_a_kind_ffmpeg_fails_and_neuralav_decode_works(ffmpeg, clip, tmp_path, neural):
    out, auto = tmp_path / "out.mkv", tmp_path / "auto.mp4"
    codec, other = ("zlibv", "a") if neural == "v" else ("zliba", "v")
    assert main(["transcode", "-i", str(clip), f"-c:{neural}", codec, f"-c:{other}", "copy", str(out)]) == 0
    result = run_tool("ffmpeg", "-v", "error", "-i", str(out), str(auto))
    assert result.returncode != 0 and "Decoder (codec none) not found" in result.stderr
    # Leaving the neural kind out works with ffmpeg alone.
    skip = "-vn" if neural == "v" else "-an"
    assert run_tool("ffmpeg", "-v", "error", "-i", str(out), skip, str(tmp_path / "other.mkv")).returncode == 0
    assert main(["decode", str(out), str(auto), "-y"]) == 0
    assert streams_of(auto) == [("video", "h264"), ("audio", "opus" if neural == "v" else "aac")]
    assert frames_of(auto) == 10


@pytest.mark.parametrize("preview_first", [False, True], ids=["preview second", "preview first"])
def test_a_preview_track_made_with_the_existing_options_is_what_ffmpeg_plays(ffmpeg, clip, tmp_path, preview_first):
    out, auto = tmp_path / "out.mkv", tmp_path / "auto.mp4"
    neural, preview = ("1", "0") if preview_first else ("0", "1")
    assert main(["transcode", "-i", str(clip), "-map", "0:v", "-map", "0:v", f"-c:v:{neural}", "zlibv",
                 f"-c:v:{preview}", "libx264", f"-opt:v:{preview}", "crf=35", str(out)]) == 0
    assert run_tool("ffmpeg", "-v", "error", "-i", str(out), str(auto)).returncode == 0
    assert streams_of(auto) == [("video", "h264")] and frames_of(auto) == 10


@pytest.fixture
def mixed(clip, tmp_path):
    """H.264 + zliba + Opus: mkvmerge track ids 0, 1, 2."""
    out = tmp_path / "mixed.mkv"
    assert main(["transcode", "-i", str(clip), "-map", "0:v", "-map", "0:a", "-map", "0:a", "-c:v", "copy",
                 "-c:a:0", "zliba", "-c:a:1", "copy", str(out)]) == 0
    return out


def decoded_samples(path) -> np.ndarray:
    with container.open(path) as f:
        track = next(t for t in f.streams if t.is_neural)
        return np.concatenate([frame.to_ndarray() for frame in f.decode(track)], axis=1)


def test_mkvextract_cannot_extract_neural_audio_and_stops_the_whole_run(mkvtoolnix, mixed, tmp_path):
    result = run_tool("mkvextract", str(mixed), "tracks", f"1:{tmp_path / 'neural.bin'}",
                      f"2:{tmp_path / 'speech.opus'}")
    assert result.returncode == 2
    assert "Extraction of track ID 1 with the CodecID 'A_MS/ACM' is not supported" in result.stdout
    assert not (tmp_path / "speech.opus").exists()


def test_the_commands_format_md_gives_instead_of_mkvextract_work(mkvtoolnix, mixed, tmp_path):
    # The other tracks: leave the neural one out of the mkvextract run.
    opus = tmp_path / "speech.opus"
    assert run_tool("mkvextract", str(mixed), "tracks", f"2:{opus}").returncode == 0
    with av.open(str(opus)) as f:
        assert f.streams.audio[0].codec_context.name == "opus"
    # The neural track on its own, in Matroska: mkvmerge, or neuralav itself.
    alone, copied = tmp_path / "neural.mka", tmp_path / "copied.mka"
    assert run_tool("mkvmerge", "-q", "-o", str(alone), "-D", "-S", "-a", "1", str(mixed)).returncode == 0
    assert main(["transcode", "-i", str(mixed), "-map", "0:a:0", "-c", "copy", str(copied)]) == 0
    reference = decoded_samples(mixed)
    np.testing.assert_array_equal(decoded_samples(alone), reference)
    np.testing.assert_array_equal(decoded_samples(copied), reference)
    # --raw works but keeps no packet boundaries: the bytes of every packet, one after the other.
    raw = tmp_path / "neural.raw"
    assert run_tool("mkvextract", str(mixed), "tracks", "--raw", f"1:{raw}").returncode == 0
    assert raw.read_bytes() == b"".join(data for _, data in media.packets(mixed, 1))
