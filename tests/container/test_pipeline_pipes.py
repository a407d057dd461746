"""`neuralav decode` to a pipe, read by the system ffmpeg as it comes (issue 31.3), with real processes."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

from . import media
from .ffmpeg_media import FFMPEG, needs_ffmpeg

pytestmark = needs_ffmpeg

NEURALAV = [sys.executable, "-m", "neuralav.container.cli"]


@pytest.fixture(scope="module")
def neural(tmp_path_factory):
    """10 frames of zlibv video and zliba audio (lossless: frames compare exactly)."""
    folder = tmp_path_factory.mktemp("pipes")
    clip = media.make_clip(folder / "clip.mkv", frames=10)
    out = folder / "neural.mkv"
    subprocess.run([*NEURALAV, "transcode", "-i", str(clip), "-c:v", "zlibv", "-c:a", "zliba", str(out)],
                   check=True, capture_output=True)
    return out


def _piped(decode_args: list[str], ffmpeg_input: list[str], ffmpeg_output: list[str]) -> tuple[str, str, int]:
    """``neuralav decode ... | ffmpeg <input options> -i - <output options>``: ffmpeg's stdout, decode's stderr
    and decode's exit status."""
    decode = subprocess.Popen([*NEURALAV, "decode", *decode_args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader = subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", *ffmpeg_input, "-i", "-", *ffmpeg_output],
                            stdin=decode.stdout, capture_output=True, text=True, timeout=300)
    decode.stdout.close()
    err = decode.stderr.read().decode()
    status = decode.wait(timeout=300)
    assert reader.returncode == 0, reader.stderr
    return reader.stdout, err, status


def _framemd5(path, *options: str) -> list[str]:
    out = subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(path), *options, "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if not line.startswith("#")]


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("#")]


def test_decode_to_nut_on_stdout_gives_ffmpeg_the_frames_of_the_file_path(neural, tmp_path):
    on_disk = tmp_path / "decoded.nut"
    subprocess.run([*NEURALAV, "decode", str(neural), str(on_disk)], check=True, capture_output=True)
    out, err, status = _piped(["-i", str(neural), "-f", "nut", "-"], [], ["-f", "framemd5", "-"])
    assert status == 0, err
    frames = _lines(out)
    assert frames == _framemd5(on_disk)
    assert sum(1 for line in frames if line.startswith("0,")) == 10
    assert "wrote -" in err  # the summary went to stderr, not into the media


def test_decode_to_matroska_on_stdout_plays_in_ffmpeg(neural):
    out, err, status = _piped(["-i", str(neural), "-f", "matroska", "-"], [], ["-map", "0:v", "-f", "framemd5", "-"])
    assert status == 0, err
    assert len(_lines(out)) == 10


@pytest.mark.parametrize("stream, raw", [("0:v", "rawvideo"), ("0:a", "s16le")])
def test_raw_output_prints_how_to_read_it_and_matches_the_file_path(neural, tmp_path, stream, raw):
    decode = subprocess.run([*NEURALAV, "decode", "-i", str(neural), "-map", stream, "-f", raw, "-"],
                            capture_output=True, timeout=300)
    assert decode.returncode == 0, decode.stderr
    err = decode.stderr.decode()
    (line,) = [l for l in err.splitlines() if "read it with:" in l]
    options = shlex.split(line.split("read it with:", 1)[1])
    assert options[:2] == ["-f", raw]
    raw_file = tmp_path / f"out.{raw}"
    raw_file.write_bytes(decode.stdout)
    read_back = subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", *options, "-i", str(raw_file),
                                "-f", "framemd5", "-"], capture_output=True, text=True, check=True).stdout
    on_disk = tmp_path / "decoded.nut"
    subprocess.run([*NEURALAV, "decode", str(neural), "-map", stream, str(on_disk)], check=True, capture_output=True)
    if raw == "rawvideo":  # the same pictures, in the same order
        assert [l.split(",")[-1] for l in _lines(read_back)] == [l.split(",")[-1] for l in _framemd5(on_disk)]
    else:  # the same samples (packet sizes differ between the two paths: compare the whole)
        whole = lambda path, *o: subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", *o, "-i", str(path),
                                                 "-f", "md5", "-"], capture_output=True, text=True,
                                                check=True).stdout
        assert whole(raw_file, *options) == whole(on_disk)


def test_a_pipe_without_a_format_is_a_one_line_error(neural):
    run = subprocess.run([*NEURALAV, "decode", "-i", str(neural), "-"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and "needs its format named" in run.stderr, run.stderr
    assert run.stdout == ""


def test_a_neural_copy_to_a_matroska_pipe_is_the_neural_track_of_the_file_path(neural, tmp_path):
    """One writer for files and pipes: a copied neural track goes to stdout patched (it was refused)."""
    on_disk = tmp_path / "copied.mkv"
    subprocess.run([*NEURALAV, "decode", "-i", str(neural), "-c:v", "copy", "-map", "0:v", str(on_disk)],
                   check=True, capture_output=True)
    run = subprocess.run([*NEURALAV, "decode", "-i", str(neural), "-c:v", "copy", "-map", "0:v", "-f", "matroska",
                          "-"], capture_output=True, timeout=300)
    assert run.returncode == 0, run.stderr
    piped = tmp_path / "piped.mkv"
    piped.write_bytes(run.stdout)
    decoded = {}
    for name, path in (("disk", on_disk), ("pipe", piped)):
        decoded[name] = tmp_path / f"{name}.nut"
        subprocess.run([*NEURALAV, "decode", "-i", str(path), str(decoded[name])], check=True, capture_output=True)
    assert _framemd5(decoded["pipe"]) == _framemd5(decoded["disk"])
    assert len(_framemd5(decoded["pipe"])) == 10
