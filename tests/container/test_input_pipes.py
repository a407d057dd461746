"""Inputs read once, in order: named pipes with a writer process, standard input, file objects
that cannot seek (issue 27.6, 31.1)."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuralav import container
from neuralav.container.commands.transcode import main as transcode_cli
from neuralav.container.probe import probe

from . import media
from .test_writer_reader import write_mixed

NEURALAV = Path(sys.executable).parent / "neuralav"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """neuralav's own output: H.264 + zlibv video, zliba + Opus audio."""
    path = tmp_path_factory.mktemp("pipes") / "mixed.mkv"
    images, audio = write_mixed(path)
    return path, images, audio


def _fifo_with_writer(path: Path, folder: Path) -> tuple[Path, subprocess.Popen]:
    """A named pipe in ``folder`` that a separate ``cat`` process fills with ``path``'s bytes."""
    fifo = folder / "live.mkv"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f'cat "{path}" > "{fifo}"'])
    return fifo, writer


def test_probe_of_a_named_pipe_with_a_writer_reads_it_once_and_ends(mixed, tmp_path):
    path, _, _ = mixed
    fifo, writer = _fifo_with_writer(path, tmp_path)
    try:
        result = subprocess.run([str(NEURALAV), "probe", str(fifo), "--json"], capture_output=True, text=True,
                                timeout=60)
    finally:
        writer.kill()
        writer.wait()
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert [t["codec"] for t in info["tracks"]] == ["h264", "zlibv", "zliba", "opus"]
    assert info["tracks"][1]["neural"]["codec"] == "zlibv" and info["tracks"][1]["packets"] == 6
    assert info["size"] == path.stat().st_size


def test_reader_on_a_fifo_decodes_neural_tracks_like_the_file(mixed, tmp_path):
    path, images, audio = mixed
    fifo, writer = _fifo_with_writer(path, tmp_path)
    try:
        with container.open(fifo) as f:
            assert not f.seekable
            assert [(t.codec, t.is_neural) for t in f.streams] == [
                ("h264", False), ("zlibv", True), ("zliba", True), ("opus", False)]
            assert (f.streams[1].width, f.streams[1].height) == (images[0].shape[1], images[0].shape[0])
            frames = list(f.decode(f.streams[1], f.streams[2]))
    finally:
        writer.kill()
        writer.wait()
    video = [frame for frame in frames if frame.__class__.__name__ == "VideoFrame"]
    sound = [frame for frame in frames if frame.__class__.__name__ == "AudioFrame"]
    assert len(video) == len(images)
    for frame, image in zip(video, images):
        np.testing.assert_array_equal(frame.to_ndarray(format="rgb24"), image)
    np.testing.assert_array_equal(np.concatenate([s.to_ndarray() for s in sound], axis=1), audio)


class OnceOnly(io.RawIOBase):
    """A file object that can only be read forward, counting what it gives."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.given = 0

    def readable(self):
        return True

    def seekable(self):
        return False

    def read(self, size=-1):
        chunk = self._data.read(size)
        self.given += len(chunk)
        return chunk


def test_reader_on_a_file_object_that_cannot_seek_reads_each_byte_once(mixed):
    path, images, _ = mixed
    data = path.read_bytes()
    source = OnceOnly(data)
    with container.open(source) as f:
        packets = [(p.stream.index, p.pts, bytes(p)) for p in f.demux()]
    with container.open(path) as f:
        expected = [(p.stream.index, p.pts, bytes(p)) for p in f.demux()]
    assert packets == expected
    assert source.given == len(data)


def test_seeking_a_pipe_is_refused_by_name(mixed):
    path, _, _ = mixed
    with container.open(OnceOnly(path.read_bytes())) as f, pytest.raises(container.InputError, match="cannot seek"):
        f.seek(0.1)


def test_probe_takes_standard_input_from_a_pipe_as_dash(mixed):
    path, _, _ = mixed
    cat = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)
    try:
        result = subprocess.run([str(NEURALAV), "probe", "-", "--json"], stdin=cat.stdout, capture_output=True,
                                text=True, timeout=60)
    finally:
        cat.stdout.close()
        cat.wait()
    assert result.returncode == 0, result.stderr
    piped = json.loads(result.stdout)
    on_disk = probe(path)
    assert piped["tracks"] == on_disk["tracks"] and piped["size"] == on_disk["size"]
    assert piped["tracks"][1]["neural"]["codec"] == "zlibv"


def test_a_raw_stream_named_with_format_is_read_from_a_real_pipe(tmp_path, clip):
    ffmpeg = subprocess.Popen(["ffmpeg", "-v", "error", "-i", str(clip), "-map", "0:v", "-c", "copy", "-f", "h264",
                               "-"], stdout=subprocess.PIPE)
    try:
        with container.open(ffmpeg.stdout, format="h264") as f:
            assert not f.seekable and [t.codec for t in f.streams] == ["h264"]
            piped = [frame.to_ndarray(format="rgb24") for frame in f.decode(video=0)]
    finally:
        ffmpeg.stdout.close()
        assert ffmpeg.wait(timeout=60) == 0
    on_disk = [image for _, image in media.decode_video(clip)]
    assert len(piped) == len(on_disk) == 10
    for a, b in zip(piped, on_disk):
        np.testing.assert_array_equal(a, b)


def _ffmpeg_matroska_to(args: list[str], source: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``ffmpeg -i source -c copy -f matroska - | neuralav ARGS`` (real processes, a real pipe)."""
    ffmpeg = subprocess.Popen(["ffmpeg", "-v", "error", "-i", str(source), "-c", "copy", "-f", "matroska", "-"],
                              stdout=subprocess.PIPE)
    try:
        return subprocess.run([str(NEURALAV), *args], stdin=ffmpeg.stdout, capture_output=True, text=True,
                              timeout=timeout)
    finally:
        ffmpeg.stdout.close()
        ffmpeg.wait(timeout=60)


def test_transcode_from_standard_input_equals_the_file_based_run(mixed, tmp_path):
    path, images, _ = mixed
    piped, on_disk = tmp_path / "piped.mkv", tmp_path / "disk.mkv"
    result = _ffmpeg_matroska_to(["transcode", "-i", "-", "-map", "0:0", "-c:v", "zlibv", str(piped)], path)
    assert result.returncode == 0, result.stderr
    remuxed = tmp_path / "remuxed.mkv"  # what ffmpeg wrote to the pipe, written to a file instead
    assert subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-c", "copy", "-f", "matroska",
                           str(remuxed)]).returncode == 0
    assert transcode_cli(["-i", str(remuxed), "-map", "0:0", "-c:v", "zlibv", str(on_disk)]) == 0
    assert media.packets(piped, 0) == media.packets(on_disk, 0)
    with container.open(piped) as f:
        frames = [frame.to_ndarray(format="rgb24") for frame in f.decode(video=0)]
    assert len(frames) == len(images)


def test_seeking_options_on_standard_input_give_one_clear_line(mixed, tmp_path):
    path, _, _ = mixed
    out = tmp_path / "out.mkv"
    result = _ffmpeg_matroska_to(["transcode", "-ss", "0.1", "-i", "-", "-c", "copy", str(out)], path)
    assert result.returncode == 1 and not out.exists()
    assert result.stderr.strip().splitlines() == [
        "neuralav transcode: error: `pipe:` is a pipe or stream, read once in order: it cannot seek (to 0.1 s); "
        "give a file instead, or cut the stream before it"]


def test_a_fifo_writer_killed_mid_stream_ends_the_probe_with_the_loss_reported(tmp_path):
    source = media.make_clip(tmp_path / "long.mkv", frames=50)
    fifo = tmp_path / "live.mkv"
    os.mkfifo(fifo)
    half = source.stat().st_size // 2
    writer = subprocess.Popen(f'exec 3>"{fifo}"; head -c {half} "{source}" >&3; exec sleep 600 3>&3', shell=True,
                              start_new_session=True)
    probe_run = subprocess.Popen([str(NEURALAV), "probe", str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            probe_run.wait(timeout=3)  # the writer holds the pipe open: the reader waits for more
        os.killpg(writer.pid, signal.SIGKILL)
        out, err = probe_run.communicate(timeout=60)
    finally:
        if probe_run.poll() is None:
            probe_run.kill()
        writer.wait()
    assert probe_run.returncode == 0, err
    assert re.search(r"track #0 \(h264\): about \d+ packets lost from [\d.]+ s to its end at 2\.000 s "
                     rf"\(the file is truncated: \d+ of {source.stat().st_size} bytes\)", err), err
