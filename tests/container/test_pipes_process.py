"""Pipes between real processes (issue 31): ffmpeg | neuralav transcode | neuralav decode | ffmpeg,
FIFOs on either side, and either end of a pipe going away (a reader closing early, a writer killed).

Every comparison is against the same command run on files: frame and sample counts and the
decoded bytes (ffmpeg's framemd5) must be equal.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .ffmpeg_media import FFMPEG, ffmpeg, needs_ffmpeg

pytestmark = needs_ffmpeg

NEURALAV = [sys.executable, "-m", "neuralav.container.cli"]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """2 s of 64x48 H.264 (GOP 25) and 16 kHz PCM, in Matroska: ffmpeg's own pipe input."""
    path = tmp_path_factory.mktemp("pipes") / "source.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", "-f", "lavfi", "-i", "sine=sample_rate=16000",
           "-t", "2", "-c:v", "libx264", "-g", "25", "-c:a", "pcm_s16le", str(path))
    return path


def framemd5(path: Path | str, *options: str, stdin=None) -> list[str]:
    """ffmpeg's framemd5 of every stream of ``path`` (``-`` with ``stdin``): one line per decoded frame."""
    run = subprocess.run([FFMPEG, "-nostdin" if stdin is None else "-y", "-loglevel", "error", "-i", str(path),
                          "-map", "0", *options, "-f", "framemd5", "-"], stdin=stdin, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    return [line for line in run.stdout.splitlines() if not line.startswith("#")]


def chain(*commands: list[str], stdin=None) -> tuple[bytes, list[subprocess.CompletedProcess]]:
    """Run ``commands`` as one shell pipeline of real processes; returns the last stdout and each one's
    exit status and stderr (as CompletedProcess)."""
    processes = []
    previous = stdin
    for command in commands:
        process = subprocess.Popen(command, stdin=previous, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if previous is not None and previous is not stdin:
            previous.close()  # only the next process holds the read end
        previous = process.stdout
        processes.append(process)
    errors: dict[int, bytes] = {}
    threads = [threading.Thread(target=lambda i=i, p=p: errors.__setitem__(i, p.stderr.read()))
               for i, p in enumerate(processes)]
    for thread in threads:
        thread.start()
    out = processes[-1].stdout.read()
    results = []
    for i, (command, process) in enumerate(zip(commands, processes)):
        status = process.wait(timeout=600)
        threads[i].join()
        results.append(subprocess.CompletedProcess(command, status, None, errors[i].decode(errors="replace")))
    return out, results


def ffmpeg_matroska(path: Path) -> list[str]:
    """``ffmpeg -i path -c copy -f matroska -``: the system ffmpeg writing live Matroska to stdout."""
    return [FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(path), "-c", "copy", "-f", "matroska", "-"]


def no_traceback(results: list[subprocess.CompletedProcess]) -> None:
    for result in results:
        assert "Traceback" not in result.stderr, result.stderr


def decoded_frames(neural: Path, folder: Path) -> list[str]:
    """framemd5 of a neural file decoded by `neuralav decode` to lossless FFV1 + PCM (on disk)."""
    decoded = folder / f"{neural.stem}.decoded.nut"
    subprocess.run([*NEURALAV, "decode", "-i", str(neural), "-c:v", "ffv1", "-c:a", "pcm_s16le", "-y", str(decoded)],
                   check=True, capture_output=True, timeout=300)
    return framemd5(decoded)


@pytest.fixture(scope="module")
def file_path_frames(source, tmp_path_factory) -> list[str]:
    """The file-based path: ffmpeg's Matroska as a file, transcoded to zlibv/zliba on disk, decoded."""
    folder = tmp_path_factory.mktemp("disk")
    remuxed, neural = folder / "remuxed.mkv", folder / "neural.mkv"
    ffmpeg("-i", str(source), "-c", "copy", str(remuxed))  # the bytes ffmpeg sends down a pipe, as a file
    subprocess.run([*NEURALAV, "transcode", "-i", str(remuxed), "-c:v", "zlibv", "-c:a", "zliba", str(neural)],
                   check=True, capture_output=True, timeout=300)
    frames = decoded_frames(neural, folder)
    assert sum(line.startswith("0,") for line in frames) == 50
    return frames


def test_transcode_output_format_after_input_writes_neural_matroska_to_stdout_as_to_a_file(source, tmp_path,
                                                                                           file_path_frames):
    """`-f` after `-i` names the output's format (as in ffmpeg); the piped file decodes as the disk file."""
    out, results = chain(ffmpeg_matroska(source),
                         [*NEURALAV, "transcode", "-i", "-", "-c:v", "zlibv", "-c:a", "zliba", "-f", "matroska", "-"])
    assert [r.returncode for r in results] == [0, 0], results
    assert "wrote -" in results[1].stderr  # the summary went to stderr, not into the media
    piped = tmp_path / "piped.mkv"
    piped.write_bytes(out)
    assert decoded_frames(piped, tmp_path) == file_path_frames


def test_a_fifo_input_and_an_mkv_fifo_output_stream_through(source, tmp_path, file_path_frames):
    """`-i FIFO` reads once in order; an existing `.mkv` FIFO is written as a pipe (no -y, no rename)."""
    fifo_in, fifo_out = tmp_path / "in.mkv", tmp_path / "out.mkv"
    os.mkfifo(fifo_in)
    os.mkfifo(fifo_out)
    feeder = subprocess.Popen([FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-i", str(source), "-c", "copy",
                               "-f", "matroska", str(fifo_in)], stderr=subprocess.PIPE)
    neuralav = subprocess.Popen([*NEURALAV, "transcode", "-i", str(fifo_in), "-c:v", "zlibv", "-c:a", "zliba",
                                 str(fifo_out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with open(fifo_out, "rb") as reader:
        piped = reader.read()
    assert neuralav.wait(timeout=300) == 0, neuralav.stderr.read()
    assert feeder.wait(timeout=60) == 0
    assert fifo_out.is_fifo() and sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv", "out.mkv"]
    saved = tmp_path / "saved.mkv"
    saved.write_bytes(piped)
    assert decoded_frames(saved, tmp_path) == file_path_frames


@pytest.mark.parametrize("command", [["transcode", "-i", "SOURCE", "-c:v", "zlibv", "-c:a", "zliba", "-f", "matroska",
                                      "-"],
                                     ["decode", "-i", "NEURAL", "-f", "nut", "-"]])
def test_a_reader_closing_the_pipe_early_ends_with_one_line_and_status_1(source, tmp_path, command):
    """`neuralav ... - | head -c 1000`: EPIPE on stdout; ffmpeg says "Broken pipe" and exits 1 too."""
    neural = tmp_path / "neural.mkv"
    subprocess.run([*NEURALAV, "transcode", "-i", str(source), "-c:v", "zlibv", "-c:a", "zliba", str(neural)],
                   check=True, capture_output=True, timeout=300)
    args = [str(source) if a == "SOURCE" else str(neural) if a == "NEURAL" else a for a in command]
    out, results = chain([*NEURALAV, *args], ["head", "-c", "1000"])
    assert len(out) == 1000
    writer = results[0]
    assert writer.returncode == 1, writer.stderr
    assert writer.stderr.splitlines() == [
        f"neuralav {command[0]}: error: cannot write output `-`: the program reading it closed the pipe (Broken pipe)"]


def test_a_writer_killed_mid_stream_ends_the_transcode_with_the_loss_reported(source, tmp_path):
    """The process feeding stdin dies mid-packet: what came is transcoded and sent, the loss is named,
    and the status is 0 as ffmpeg's on a truncated input ("File ended prematurely")."""
    writer, neuralav = _transcode_from_a_stalled_writer(source)
    try:
        first = neuralav.stdout.read(1)  # output starts while the writer still holds the pipe open
        assert first and neuralav.poll() is None
        os.killpg(writer.pid, signal.SIGKILL)
        rest = neuralav.stdout.read()  # (communicate() would skip what read(1) buffered)
        err = neuralav.stderr.read()
        neuralav.wait(timeout=300)
    finally:
        if neuralav.poll() is None:
            neuralav.kill()
        writer.wait()
    err = err.decode()
    assert neuralav.returncode == 0, err
    assert "Traceback" not in err and "the file is truncated" in err, err
    saved = tmp_path / "partial.mkv"
    saved.write_bytes(first + rest)
    decoded = tmp_path / "partial.nut"
    subprocess.run([*NEURALAV, "decode", "-i", str(saved), "-c:v", "ffv1", "-c:a", "pcm_s16le", str(decoded)],
                   check=True, capture_output=True, timeout=300)
    video = [line for line in framemd5(decoded) if line.startswith("0,")]
    assert 5 < len(video) < 50


def test_ffmpeg_into_transcode_cae_wavenet_into_decode_into_ffmpeg_equals_the_file_path(tmp_path):
    """The issue's pipeline with the shipped neural codecs, every stage a real process on a pipe:
    ffmpeg -f matroska - | neuralav transcode -i - -c:v cae -c:a wavenet -f matroska - |
    neuralav decode -i - -f nut - | ffmpeg -i - -f framemd5 - -f null -.
    Kept tiny (8 frames of 64x48, 0.32 s of audio): the models are slow on 2 shared cores."""
    tiny = tmp_path / "tiny.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=0.32", "-f", "lavfi",
           "-i", "sine=sample_rate=16000:duration=0.32", "-c:v", "libx264", "-c:a", "pcm_s16le", str(tiny))
    decode_args = ["-c:v", "ffv1", "-c:a", "pcm_s16le"]  # lossless and deterministic: hashes compare
    out, results = chain(ffmpeg_matroska(tiny),
                         [*NEURALAV, "transcode", "-i", "-", "-c:v", "cae", "-c:a", "wavenet", "-f", "matroska", "-"],
                         [*NEURALAV, "decode", "-i", "-", *decode_args, "-f", "nut", "-"],
                         [FFMPEG, "-loglevel", "error", "-i", "-", "-map", "0", "-f", "framemd5", "-",
                          "-map", "0", "-f", "null", "-"])
    assert [r.returncode for r in results] == [0, 0, 0, 0], results
    no_traceback(results)
    piped = [line for line in out.decode().splitlines() if not line.startswith("#")]

    remuxed, neural, decoded = tmp_path / "remuxed.mkv", tmp_path / "neural.mkv", tmp_path / "decoded.nut"
    ffmpeg("-i", str(tiny), "-c", "copy", str(remuxed))
    subprocess.run([*NEURALAV, "transcode", "-i", str(remuxed), "-c:v", "cae", "-c:a", "wavenet", str(neural)],
                   check=True, capture_output=True, timeout=600)
    subprocess.run([*NEURALAV, "decode", "-i", str(neural), *decode_args, str(decoded)], check=True,
                   capture_output=True, timeout=600)
    on_disk = framemd5(decoded)
    assert piped == on_disk
    video = [line.split(",") for line in piped if line.startswith("0,")]
    audio = [line.split(",") for line in piped if line.startswith("1,")]
    assert len(video) == 8
    assert sum(int(fields[3]) for fields in audio) == 5120  # samples (duration in 1/16000 s): 0.32 s


@pytest.mark.parametrize("signum, blocked_on", [(signal.SIGINT, "stdin"), (signal.SIGTERM, "stdin"),
                                               (signal.SIGINT, "stdout")])
def test_interrupting_neuralav_while_it_waits_on_a_pipe_stops_it_with_one_line(source, signum, blocked_on):
    """Ctrl-C (or a SIGTERM) while neuralav waits on a pipe: it stops at once, status 130.

    Waiting for stdin, it used to print the KeyboardInterrupt as "Exception ignored in
    pyio_read_gil" (PyAV's I/O callbacks let Exceptions only through) and read on until the
    writer closed the pipe; waiting for its reader (stdout full), it printed a traceback."""
    writer, neuralav = _transcode_from_a_stalled_writer(source)
    try:
        assert neuralav.stdout.read(1)  # it has started
        if blocked_on == "stdin":  # read all it sends: it ends up waiting for more input
            threading.Thread(target=neuralav.stdout.read, daemon=True).start()
        time.sleep(2)
        neuralav.send_signal(signum)
        status = neuralav.wait(timeout=20)  # not when the writer ends (600 s)
        err = neuralav.stderr.read().decode()
    finally:
        if neuralav.poll() is None:
            neuralav.kill()
        os.killpg(writer.pid, signal.SIGKILL)
        writer.wait()
    assert status == 130 and err.splitlines() == ["neuralav transcode: interrupted"], err


@pytest.mark.parametrize("size", [0, 300])
def test_a_stream_that_ends_inside_its_header_is_one_line_naming_where(source, size):
    """EOF before the Tracks are complete: status 1 as ffmpeg's, one line saying how far the stream
    went (it said "Input/output error: '<none>'", PyAV's file name for a stream)."""
    run = subprocess.run([*NEURALAV, "transcode", "-i", "-", "-c:v", "zlibv", "-f", "matroska", "-"],
                         input=source.read_bytes()[:size], capture_output=True, timeout=120)
    err = run.stderr.decode()
    assert run.returncode == 1 and run.stdout == b"", err
    assert len(err.splitlines()) == 1 and f"(after reading {size} bytes of it)" in err and "<none>" not in err, err


def test_a_closed_stdout_is_one_line(source):
    """`neuralav ... -f nut - >&-`: ffmpeg says "Bad file descriptor" and exits 1; neuralav said
    AttributeError ('NoneType' object has no attribute 'flush'), or wrote to whatever file it had
    opened as descriptor 1 since."""
    command = shlex.join([*NEURALAV, "transcode", "-i", str(source), "-c:v", "zlibv", "-f", "nut", "-"])
    run = subprocess.run(f"exec {command} >&-", shell=True, stderr=subprocess.PIPE, text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.splitlines() == ["neuralav transcode: error: cannot write output `-`: standard output is closed"]


def _transcode_from_a_stalled_writer(source):
    """A writer that sends the first half of ``source`` and then holds stdin open, piped into
    ``neuralav transcode -i - ... -f matroska -``: (writer process, neuralav process)."""
    half = source.stat().st_size // 2
    writer = subprocess.Popen(["sh", "-c", f'head -c {half} "{source}"; exec sleep 600'], stdout=subprocess.PIPE,
                              start_new_session=True)
    neuralav = subprocess.Popen([*NEURALAV, "transcode", "-i", "-", "-c:v", "zlibv", "-c:a", "zliba", "-f",
                                 "matroska", "-"], stdin=writer.stdout, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    writer.stdout.close()
    return writer, neuralav
