"""Memory of `neuralav transcode` over a long piped input (issue 31.4): a benchmark script.

The system ffmpeg generates a stream (lavfi ``testsrc`` with moving noise, so that frames do
not compress away, + ``sine``) and writes it as Matroska
to a pipe; ``neuralav transcode -i - -c:v CODEC -c:a CODEC -f matroska -`` reads it, and this
script reads neuralav's stdout and throws it away, sampling neuralav's resident memory (RSS,
psutil) as the output goes. It prints one Markdown table row per sample, for ``docs/pipes.md``::

    python docs/pipe_memory.py --seconds 600 --size 160x120 --video zlibv --audio zliba

The example codecs ``zlibv``/``zliba`` (``examples/neuralav-zlib``) are lossless and fast, so
the run measures the container path (reader, pipeline, live Matroska writer), not a model.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time

import psutil


def measure(seconds: float, size: str, video: str, audio: str, interval: float = 0.2) -> list[tuple[float, int, int]]:
    """Run the pipeline once; returns ``(wall s, output bytes, neuralav RSS bytes)`` samples.

    Args:
        seconds: Length of the generated stream (s of media, 25 frames/s, 16 kHz mono).
        size: Frame size, ``WxH`` (pixels).
        video, audio: The ``-c:v`` / ``-c:a`` codecs of the transcode.
        interval: Time between RSS samples (s).

    Raises:
        RuntimeError: a process of the pipeline failed (its stderr).
    """
    source = subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error",
                               "-f", "lavfi", "-i", f"testsrc=size={size}:rate=25,noise=alls=60:allf=t",
                               "-f", "lavfi", "-i", "sine=sample_rate=16000", "-t", str(seconds),
                               "-c:v", "ffv1", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", "-f", "matroska", "-"],
                              stdout=subprocess.PIPE)
    neuralav = subprocess.Popen([sys.executable, "-m", "neuralav.container.cli", "transcode", "-i", "-",
                                 "-c:v", video, "-c:a", audio, "-f", "matroska", "-"],
                                stdin=source.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    source.stdout.close()
    process = psutil.Process(neuralav.pid)
    written = [0]
    samples: list[tuple[float, int, int]] = []

    def drain() -> None:
        while chunk := neuralav.stdout.read1(1 << 16):
            written[0] += len(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    began = time.monotonic()
    while neuralav.poll() is None:
        try:
            samples.append((time.monotonic() - began, written[0], process.memory_info().rss))
        except psutil.NoSuchProcess:
            break
        time.sleep(interval)
    reader.join()
    err = neuralav.stderr.read().decode()
    if neuralav.wait() != 0 or source.wait() != 0:
        raise RuntimeError(f"the pipeline failed: {err}")
    return samples


def main(argv: list[str] | None = None) -> int:
    """Measure once and print the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600, help="seconds of generated media")
    parser.add_argument("--size", default="160x120", help="frame size WxH")
    parser.add_argument("--video", default="zlibv")
    parser.add_argument("--audio", default="zliba")
    parser.add_argument("--rows", type=int, default=10, help="table rows")
    args = parser.parse_args(argv)
    samples = measure(args.seconds, args.size, args.video, args.audio)
    total = samples[-1][1] or 1
    print("| wall (s) | output (MB) | share of output | neuralav RSS (MB) |")
    print("|---|---|---|---|")
    step = max(len(samples) // args.rows, 1)
    for wall, written, rss in samples[::step] + samples[-1:]:
        print(f"| {wall:.1f} | {written / 1e6:.1f} | {written / total:.0%} | {rss / 1e6:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
