"""``neuralav bench images|audio DIR`` / ``bench video CLIP...``: rate–distortion and speed against standard codecs.

Writes ``<output>/images.{txt,json,png}`` (or ``audio.*``, ``video.*``) and prints the table.
Neural codecs come from the registry (every installed one with the ``neural``
capability, or those named with ``--codec``); the standard codecs are those
this machine's Pillow and PyAV provide. Runs offline.
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import importlib.util
import os
import platform
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from neuralav.container.bench.errors import BenchError

DEFAULT_OUTPUT = "bench-out"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``images`` and ``audio`` subcommands and their options."""
    media = parser.add_subparsers(dest="media", metavar="MEDIA", required=True)
    images = media.add_parser("images", help="image codecs on a folder of images (PNG, JPEG, PPM...)",
                              description="Code every image with each neural codec at each quality level "
                                          "and with JPEG, WebP, AVIF, HEVC and H.264 intra at a sweep of "
                                          "qualities; report bpp, PSNR, MS-SSIM, BD-rates and speed.")
    audio = media.add_parser("audio", help="audio codecs on a folder of clips (Ogg, WAV, FLAC...)",
                             description="Code every clip with each neural audio codec at each level and "
                                         "with Opus at matching bitrates; report kbps, PESQ-WB, STOI, SNR, "
                                         "log-spectral distance and real-time factors.")
    video = media.add_parser("video", help="video codecs on whole clips (mp4, mkv, raw .264...)",
                             description="Code the first frames of each clip with each neural video codec at "
                                         "each quality level and with libx264 (default preset, P/B-frames), "
                                         "libx264 intra-only and libx265 over a CRF sweep; report bpp, RGB "
                                         "PSNR, MS-SSIM, BD-rates (per clip, mean over clips) and fps.")
    video.add_argument("clips", type=Path, nargs="+", metavar="CLIP", help="video files")
    video.add_argument("--frames", type=int, default=None, help="frames coded from the start of each clip "
                       "(default 30, 10 with --quick)")
    video.add_argument("--no-msssim", action="store_true", help="skip MS-SSIM")
    video.add_argument("--standard", default=None, metavar="LIST",
                       help="comma-separated standard codecs (default: all available of x264,x264-intra,x265)")
    for sub in (images, audio):
        sub.add_argument("folder", type=Path, metavar="DIR", help="folder of media files")
    for sub in (images, audio, video):
        sub.add_argument("-o", "--output", type=Path, default=Path(DEFAULT_OUTPUT),
                         help=f"folder for the table, JSON and PNG (default {DEFAULT_OUTPUT}/)")
        sub.add_argument("--quick", action="store_true", help="a small subset: few files, fewer settings")
        sub.add_argument("--codec", action="append", metavar="NAME",
                         help="registry codec to benchmark (repeatable; default: every installed neural one)")
        sub.add_argument("--no-neural", action="store_true",
                         help="leave out the installed neural codecs (those named with --codec still run)")
        if sub is not video:
            sub.add_argument("--repeats", type=int, default=None, help="timed repeats in the speed section "
                             "(default 5, 2 with --quick)")
        sub.add_argument("--no-progress", action="store_true", help="no progress bar (none is shown off a TTY)")
    images.add_argument("--standard", default=None, metavar="LIST",
                        help="comma-separated standard codecs (default: all available of jpeg,webp,avif,hevc,h264)")
    images.add_argument("--no-msssim", action="store_true", help="skip MS-SSIM (avoids importing TensorFlow)")
    images.add_argument("--speed-images", type=int, default=None, help="images timed (default 3, 1 with --quick)")
    images.add_argument("--speed-bpp", type=float, default=0.5,
                        help="time each codec at its setting nearest this bpp (default 0.5)")
    images.add_argument("--video", type=Path, default=None, help="video file for a frames-per-second measurement")
    images.add_argument("--video-frames", type=int, default=None, help="frames of --video (default 30, 8 with --quick)")
    audio.add_argument("--opus-kbps", default=None, metavar="LIST",
                       help="comma-separated Opus bitrates in kbps, added to those matching the neural codecs "
                            "(default 6,8,12,16,24,32)")
    audio.add_argument("--rate", type=int, default=16000, help="sample rate clips are resampled to (default 16000 "
                       "Hz, the rate of wideband PESQ)")
    audio.add_argument("--max-seconds", type=float, default=None,
                       help="cut each clip to this many seconds (default: whole clips, 5 s with --quick)")


def _positive(value: int | float | None, name: str) -> None:
    if value is not None and value <= 0:
        raise BenchError(f"`--{name}` = {value} must be positive")


def _progress(args: argparse.Namespace):
    if args.no_progress:
        return None
    from tqdm import tqdm

    return functools.partial(tqdm, disable=None, file=sys.stderr, dynamic_ncols=True)  # None: off when not a TTY


def _versions(names: tuple[str, ...]) -> dict[str, str | None]:
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def _run_info(argv_text: str, seconds: float) -> dict[str, Any]:
    return {
        "command": argv_text, "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(seconds, 1), "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "load_average": list(os.getloadavg()),
        "versions": _versions(("neuralav", "av", "pillow", "numpy", "tensorflow", "pesq", "pystoi")),
    }


def _image_codecs(args: argparse.Namespace) -> list:
    from neuralav.container.bench.image_codecs import registry_image_codecs, standard_image_codecs

    standard = standard_image_codecs()
    if args.standard is not None:
        wanted = [n.strip() for n in args.standard.split(",") if n.strip()]
        names = [c.name for c in standard]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise BenchError(f"`--standard` names {', '.join(unknown)}, not available here "
                             f"(available: {', '.join(names)})")
        standard = [c for c in standard if c.name in wanted]
    return standard + (registry_image_codecs(args.codec) if args.codec or not args.no_neural else [])


def _run_images(args: argparse.Namespace) -> tuple[dict, str]:
    from neuralav.container.bench import report
    from neuralav.container.bench.images import ImageBenchConfig, run_images

    for name in ("repeats", "speed_images", "video_frames"):
        _positive(getattr(args, name), name.replace("_", "-"))
    config = ImageBenchConfig(
        folder=args.folder, codecs=_image_codecs(args), quick=args.quick, with_msssim=not args.no_msssim,
        speed_images=args.speed_images or (1 if args.quick else 3),
        speed_repeats=args.repeats or (2 if args.quick else 5), speed_bpp=args.speed_bpp,
        video=args.video, video_frames=args.video_frames or (8 if args.quick else 30),
        progress=_progress(args))
    result = run_images(config)
    return result, report.format_image_table(result)


def _run_audio(args: argparse.Namespace) -> tuple[dict, str]:
    from neuralav.container.bench import report
    from neuralav.container.bench.audio import DEFAULT_OPUS_KBPS, AudioBenchConfig, run_audio

    _positive(args.repeats, "repeats")
    _positive(args.rate, "rate")
    _positive(args.max_seconds, "max-seconds")
    opus = DEFAULT_OPUS_KBPS
    if args.opus_kbps is not None:
        try:
            opus = tuple(float(v) for v in args.opus_kbps.split(",") if v.strip())
        except ValueError:
            raise BenchError(f"`--opus-kbps` = {args.opus_kbps!r} is not a comma-separated list of numbers") from None
    config = AudioBenchConfig(
        folder=args.folder, codec_names=args.codec, with_neural=not args.no_neural, quick=args.quick, rate=args.rate, opus_kbps=opus,
        max_seconds=args.max_seconds or (5.0 if args.quick else None),
        speed_repeats=args.repeats or (2 if args.quick else 5), progress=_progress(args))
    result = run_audio(config)
    return result, report.format_audio_table(result)


def _run_video(args: argparse.Namespace) -> tuple[dict, str]:
    from neuralav.container.bench.video import (VideoBenchConfig, format_video_table, registry_video_codecs,
                                                run_video, standard_video_codecs)

    _positive(args.frames, "frames")
    standard = standard_video_codecs()
    if args.standard is not None:
        wanted = [n.strip() for n in args.standard.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in [c.name for c in standard]]
        if unknown:
            raise BenchError(f"`--standard` names {', '.join(unknown)}, not available here "
                             f"(available: {', '.join(c.name for c in standard)})")
        standard = [c for c in standard if c.name in wanted]
    codecs = standard + (registry_video_codecs(args.codec) if args.codec or not args.no_neural else [])
    config = VideoBenchConfig(clips=list(args.clips), codecs=codecs, frames=args.frames or (10 if args.quick else 30),
                              quick=args.quick, with_msssim=not args.no_msssim, progress=_progress(args))
    result = run_video(config)
    return result, format_video_table(result)


REQUIRED = {"images": ("psutil", "matplotlib"), "video": ("matplotlib",), "audio": ("psutil", "matplotlib", "pesq", "pystoi", "scipy")}
"""Modules each benchmark needs beyond neuralav's own dependencies (the ``bench`` extra)."""


def _require(media: str) -> None:
    missing = [name for name in REQUIRED[media] if importlib.util.find_spec(name) is None]
    if missing:
        raise BenchError(f"`neuralav bench {media}` needs {', '.join(missing)}: "
                         f"pip install 'neuralav[bench]'")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print the table, write ``<output>/<media>.{txt,json,png}``."""
    _require(args.media)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter would bury the table
    from neuralav.container.bench import report

    start = time.perf_counter()
    target = " ".join(str(c) for c in args.clips) if args.media == "video" else args.folder
    argv_text = "neuralav bench " + " ".join(shlex.quote(a) for a in sys.argv[2:]) \
        if len(sys.argv) > 1 and sys.argv[1] == "bench" else f"neuralav bench {args.media} {target}"
    result, table = {"images": _run_images, "audio": _run_audio, "video": _run_video}[args.media](args)
    result["run"] = _run_info(argv_text, time.perf_counter() - start)
    table = (f"$ {argv_text}\n{table}\n\nran in {result['run']['seconds']:.0f} s on {result['run']['cpus']} CPUs "
             f"(load average {result['run']['load_average'][0]:.1f}), finished {result['run']['finished_utc']}")
    args.output.mkdir(parents=True, exist_ok=True)
    base = args.output / args.media
    report.write_json(result, base.with_suffix(".json"))
    (base.with_suffix(".txt")).write_text(table + "\n")
    if args.media == "video":
        from neuralav.container.bench.video import plot_video
        plot_video(result, base.with_suffix(".png"))
    else:
        (report.plot_images if args.media == "images" else report.plot_audio)(result, base.with_suffix(".png"))
    print(table)
    print(f"\nwrote {base}.txt, {base}.json, {base}.png")
    return 0
