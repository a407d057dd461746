"""Throughput of ``neuralav batch`` on this machine: files per minute with 1 and 2 local
workers, against one ``neuralav transcode`` process per file, and where the per-file
overhead goes (cluster start, each worker's first file: TensorFlow import and model load).

Usage::

    python docs/batch_bench.py [--files 6] [--seconds 0.4] [--codec cae] [--workers 1 2]

Inputs are cut from the bundled sample clip (352x288 H.264 + Opus) with ffmpeg, each from
another offset; the video is coded with ``--codec`` at quality 1, the audio copied. Prints a
Markdown table. Every run is a real subprocess of the installed ``neuralav`` command.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "container" / "samples" / "sample.mkv"
NEURALAV = [sys.executable, "-m", "neuralav.container.cli"]


def make_inputs(folder: Path, count: int, seconds: float) -> list[Path]:
    """``count`` clips of ``seconds`` s from the sample, each from another offset."""
    folder.mkdir(parents=True)
    files = []
    for number in range(count):
        path = folder / f"clip{number:02d}.mkv"
        start = (number * 0.2) % max(2.0 - seconds, 0.2)
        subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{start:.2f}", "-i", str(SAMPLE), "-t", str(seconds),
                        "-c:v", "libx264", "-c:a", "libopus", "-y", str(path)], check=True, timeout=120)
        files.append(path)
    return files


def one_by_one(files: list[Path], out: Path, codec_args: list[str]) -> float:
    """Wall time (s) of one ``neuralav transcode`` process per file, one after the other."""
    out.mkdir()
    began = time.monotonic()
    for file in files:
        subprocess.run([*NEURALAV, "transcode", "-i", str(file), *codec_args, str(out / file.name)],
                       check=True, capture_output=True, timeout=900)
    return time.monotonic() - began


def batch(folder: Path, out: Path, codec_args: list[str], workers: int) -> tuple[float, list[dict]]:
    """Wall time (s) of one ``neuralav batch -j workers`` process, and its per-file results."""
    summary = out.with_suffix(".json")
    began = time.monotonic()
    subprocess.run([*NEURALAV, "batch", str(folder), "-o", str(out / "{name}"), *codec_args, "-j", str(workers),
                    "--json", str(summary)], check=True, capture_output=True, timeout=900)
    return time.monotonic() - began, json.loads(summary.read_text())["files"]


def cluster_start(workers: int) -> float:
    """Seconds to start and stop an empty LocalCluster of ``workers`` processes (as batch makes it)."""
    code = ("import time; t=time.monotonic()\n"
            "from neuralav.container.batch import cluster_client\n"
            f"with cluster_client(workers={workers}) as c: c.wait_for_workers({workers})\n"
            "print(time.monotonic()-t)")
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=300)
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=0.4, help="length of each input clip, s")
    parser.add_argument("--codec", default="cae", help="video codec (a neural codec or libx264)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    codec_args = ["-c:v", args.codec, "-q:v", "1", "-c:a", "copy"]
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as temporary:
        root = Path(temporary)
        files = make_inputs(root / "in", args.files, args.seconds)
        rows = []
        alone = one_by_one(files, root / "alone", codec_args)
        rows.append(("`transcode` per file", "1 process/file", alone, "-", "-", "-"))
        for workers in args.workers:
            start = cluster_start(workers)
            wall, results = batch(root / "in", root / f"j{workers}", codec_args, workers)
            first = [r["seconds"] for r in results if r["task_number"] == 1]
            later = [r["seconds"] for r in results if r["task_number"] > 1]
            rows.append((f"`batch -j {workers}`", f"{workers}", wall, f"{start:.1f}",
                         f"{statistics.mean(first):.2f}", f"{statistics.mean(later):.2f}" if later else "-"))
    print(f"{args.files} files of {args.seconds} s (352x288 H.264 + Opus), `-c:v {args.codec} -q:v 1 -c:a copy`\n")
    print("| run | workers | wall s | files/min | cluster start+stop s | first file on a worker s | later files s |")
    print("|---|---|---|---|---|---|---|")
    for name, workers, wall, start, first, later in rows:
        print(f"| {name} | {workers} | {wall:.1f} | {args.files / wall * 60:.1f} | {start} | {first} | {later} |")
    print(f"\n`transcode` per file: {alone / args.files:.2f} s each (process start, imports, model load and the "
          f"file)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
