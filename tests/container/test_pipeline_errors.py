"""Bad input and bad options give one line naming the problem, no traceback and no output
(issue 27, the traceback findings on the pipeline's side)."""

from __future__ import annotations

import subprocess
import sys

import av
import numpy as np
import pytest

from neuralav.container import ebml

from . import media


def _command(*args: str) -> subprocess.CompletedProcess:
    """The real command, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "neuralav.container.cli", *args], capture_output=True, text=True,
                          timeout=300)


def _assert_one_line_error(run: subprocess.CompletedProcess, folder, *words: str, status: int = 1) -> None:
    assert run.returncode == status, (run.returncode, run.stderr)
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
    assert "error:" in run.stderr and all(word in run.stderr for word in words), run.stderr
    assert not [p for p in folder.iterdir() if p.name.startswith(("out", ".out"))], list(folder.iterdir())


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """H.264 with B-frames and Opus, 10 frames (PyAV's encoders)."""
    return media.make_clip(tmp_path_factory.mktemp("src") / "in.mkv", frames=10)


@pytest.mark.parametrize("option, value, words, status", [
    ("-ss", "inf", ("-ss", "'inf'"), 2),
    ("-ss", "nan", ("-ss", "'nan'"), 2),
    ("-ss", "1e30", ("-ss", "'1e30'"), 2),
    ("-b:a", "inf", ("bitrate 'inf'",), 1),
    ("-q:v", "abc", ("-q 'abc'", "libx264"), 1),
    ("-opt:v", "preset=nonsense", ("libx264", "preset=nonsense"), 1),
])
def test_bad_options_are_one_line_errors(source, tmp_path, option, value, words, status):
    run = _command("transcode", "-i", str(source), option, value, "-c:v", "libx264", "-c:a", "libopus",
                   str(tmp_path / "out.mkv"))
    _assert_one_line_error(run, tmp_path, *words, status=status)


def test_library_refuses_a_start_that_is_not_finite(source, tmp_path):
    from neuralav.container.pipeline import transcode
    from neuralav.registry import InvalidOptionError

    for start in (float("inf"), float("nan"), 1e30):
        with pytest.raises(InvalidOptionError, match="-ss"):
            transcode([source], tmp_path / "out.mkv", start=start)
    assert list(tmp_path.iterdir()) == []


def test_a_one_pixel_neural_track_decodes_to_mp4(tmp_path):
    still = tmp_path / "one.png"
    av.VideoFrame.from_ndarray(np.full((1, 1, 3), 200, np.uint8), format="rgb24").to_image().save(still)
    neural, out = tmp_path / "n.mkv", tmp_path / "one.mp4"
    assert _command("transcode", "-i", str(still), "-c:v", "zlibv", str(neural)).returncode == 0
    run = _command("decode", str(neural), str(out))
    assert run.returncode == 0, run.stderr
    with av.open(str(out)) as f:
        frame = next(f.decode(video=0))
        assert (frame.width, frame.height) == (1, 1)
        assert np.abs(frame.to_ndarray(format="rgb24").astype(int) - 200).max() <= 3


def test_a_neural_track_damaged_beyond_recognition_is_one_line(tmp_path):
    """Bit flips in both the CodecID and the codec header tag: the track is neither neural nor
    anything FFmpeg decodes (PyAV gives it no codec context)."""
    media.make_wav(tmp_path / "in.wav", samples=4000)
    neural = tmp_path / "n.mka"
    assert _command("transcode", "-i", str(tmp_path / "in.wav"), "-c:a", "zliba", str(neural)).returncode == 0
    with open(neural, "r+b") as f:
        ebml.patch_codec_ids(f, {1: "A_MS/ACX"})
    data = neural.read_bytes()
    assert data.count(b"NEURALAV_HEADER") == 1
    neural.write_bytes(data.replace(b"NEURALAV_HEADER", b"NEURALAV_HEADEX"))
    with av.open(str(neural)) as f:
        assert f.streams[0].codec_context is None
    run = _command("decode", str(neural), str(tmp_path / "out.wav"))
    _assert_one_line_error(run, tmp_path, "cannot be decoded", "track")
