"""The image benchmark: rate–distortion points, curves, BD-rates and speed for a folder of images.

:func:`run_images` returns one JSON-ready ``dict`` (schema
:data:`IMAGE_SCHEMA`); :mod:`.report` turns it into a table and a plot.

Per image and setting: bpp = 8 · coded bytes / (width · height), RGB PSNR (dB),
MS-SSIM. A codec's curve point at one setting is the mean over images of each
metric (MS-SSIM in dB is computed from the mean MS-SSIM); BD-rates compare
those curves (see :mod:`.bdrate`).
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from PIL import Image

from neuralav.registry import metrics
from neuralav.registry.metrics import bdrate
from neuralav.registry import NeuralavError

from .errors import BenchError, NoMediaError
from .image_codecs import ImageCodec, RegistryImageCodec
from .timing import MIB, RSSSampler, summarize_times, time_call

__all__ = ["IMAGE_SCHEMA", "IMAGE_SUFFIXES", "ANCHORS", "ImageBenchConfig", "load_images",
           "load_video_frames", "run_images", "curves_from_points"]

IMAGE_SCHEMA = "neuralav-bench-images/1"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".tif", ".tiff", ".webp")
ANCHORS = ("jpeg", "webp", "avif")
"""Codecs every other codec's BD-rate is computed against, when they are in the run."""

QUICK_IMAGES = 3


@dataclass
class ImageBenchConfig:
    """What :func:`run_images` measures.

    Attributes:
        folder: Folder of images (RGB; other modes are converted).
        codecs: The codecs to run; standard anchors first so their memory is not
            charged for a neural codec's TensorFlow.
        quick: Use the first :data:`QUICK_IMAGES` images and each codec's ``quick_settings``.
        with_msssim: Compute MS-SSIM (imports TensorFlow).
        speed_images: Images timed in the speed section (the first ones).
        speed_repeats: Timed repeats per image after one warm-up.
        speed_bpp: Each codec is timed at its setting whose mean bpp is nearest this.
        video: Video file whose first ``video_frames`` frames give frames per second.
        video_frames: Frames of ``video`` to code.
        progress: Callable wrapping an iterable with a progress bar (``tqdm``), or ``None``.
    """

    folder: Path
    codecs: list[ImageCodec]
    quick: bool = False
    with_msssim: bool = True
    speed_images: int = 3
    speed_repeats: int = 5
    speed_bpp: float = 0.5
    video: Path | None = None
    video_frames: int = 30
    progress: Callable[..., Any] | None = None


def load_images(folder: Path, limit: int | None = None) -> list[tuple[str, np.ndarray]]:
    """The images of ``folder`` (sorted by name) as ``(file name, HxWx3 uint8 RGB)``.

    Raises:
        NoMediaError: the folder does not exist or holds no image file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NoMediaError(f"image folder `{folder}` does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise NoMediaError(f"no image ({', '.join(IMAGE_SUFFIXES)}) in `{folder}`")
    files = files[:limit] if limit else files
    images = []
    for path in files:
        with Image.open(path) as picture:
            images.append((path.name, np.asarray(picture.convert("RGB"))))
    return images


def load_video_frames(path: Path, count: int) -> list[np.ndarray]:
    """The first ``count`` frames of a video file as HxWx3 ``uint8`` RGB arrays (PyAV).

    Raises:
        NoMediaError: the file cannot be opened or has no video frame.
    """
    import av

    frames = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) >= count:
                    break
    except (av.FFmpegError, FileNotFoundError, IndexError) as error:
        raise NoMediaError(f"cannot read video frames from `{path}`: {error}") from None
    if not frames:
        raise NoMediaError(f"`{path}` has no video frame")
    return frames


def _measure(codec: ImageCodec, setting: Any, name: str, image: np.ndarray, with_msssim: bool) -> dict:
    height, width = image.shape[:2]
    encoded, encode_s = time_call(codec.encode, image, setting)
    decoded, decode_s = time_call(codec.decode, encoded, setting, width, height)
    if decoded.shape != image.shape:
        raise BenchError(f"codec `{codec.name}` at {codec.setting_name} {setting} decoded {name} to shape "
                         f"{decoded.shape}, not {image.shape}")
    size = sum(len(packet) for packet in encoded)
    psnr = metrics.psnr(image, decoded)
    return {
        "codec": codec.name, "setting": setting, "image": name, "width": width, "height": height,
        "bytes": size, "bpp": metrics.bits_per_pixel(size, width, height),
        "psnr": psnr, "lossless": math.isinf(psnr),
        "msssim": metrics.msssim(image, decoded) if with_msssim else None,
        "encode_s": encode_s, "decode_s": decode_s,
    }


def _mean(values: Iterable[float | None]) -> float | None:
    values = list(values)
    if not values or any(v is None for v in values):
        return None
    return float(np.mean(values))


def curves_from_points(points: Sequence[dict]) -> dict[str, list[dict]]:
    """Group points by codec and setting: ``{codec: [curve point, ...]}`` sorted by bpp.

    A curve point holds the setting, the number of images, mean ``bpp``, mean
    ``psnr`` (``inf`` when every image was coded losslessly), mean ``msssim``,
    ``msssim_db`` of that mean, and the median ``encode_s`` / ``decode_s``.
    """
    groups: dict[tuple[str, Any], list[dict]] = {}
    for point in points:
        groups.setdefault((point["codec"], point["setting"]), []).append(point)
    curves: dict[str, list[dict]] = {}
    for (codec, setting), group in groups.items():
        psnrs = [p["psnr"] for p in group]
        finite = [p for p in psnrs if math.isfinite(p)]
        psnr = math.inf if not finite else (float(np.mean(finite)) if len(finite) == len(psnrs) else None)
        msssim = _mean(p["msssim"] for p in group)
        curves.setdefault(codec, []).append({
            "setting": setting, "images": len(group),
            "bpp": float(np.mean([p["bpp"] for p in group])),
            "psnr": psnr, "msssim": msssim, "msssim_db": metrics.msssim_db(msssim),
            "encode_s": statistics.median(p["encode_s"] for p in group),
            "decode_s": statistics.median(p["decode_s"] for p in group),
        })
    for curve in curves.values():
        curve.sort(key=lambda c: c["bpp"])
    return curves


def _speed_setting(curve: list[dict], target_bpp: float) -> Any:
    return min(curve, key=lambda c: abs(math.log(c["bpp"] / target_bpp)) if c["bpp"] > 0 else math.inf)["setting"]


def _speed(config: ImageBenchConfig, codecs: list[ImageCodec], curves: dict[str, list[dict]],
           images: list[tuple[str, np.ndarray]]) -> dict:
    """Encode/decode time per image (round robin over codecs), per-call peak memory, video fps."""
    chosen = {c.name: _speed_setting(curves[c.name], config.speed_bpp) for c in codecs if c.name in curves}
    active = [c for c in codecs if c.name in chosen]
    timed = images[:max(1, config.speed_images)]
    times: dict[str, dict[str, list[float]]] = {c.name: {"encode": [], "decode": []} for c in active}
    memory: dict[str, dict[str, float]] = {c.name: {"encode": 0.0, "decode": 0.0} for c in active}
    for codec in active:  # warm-up (graph tracing, caches) and one memory-sampled call each, untimed
        name, image = timed[0]
        with RSSSampler() as sampler:
            encoded = codec.encode(image, chosen[codec.name])
        memory[codec.name]["encode"] = sampler.peak_increase / MIB
        with RSSSampler() as sampler:
            codec.decode(encoded, chosen[codec.name], image.shape[1], image.shape[0])
        memory[codec.name]["decode"] = sampler.peak_increase / MIB
    steps = [(r, codec, item) for r in range(config.speed_repeats) for codec in active for item in timed]
    for _, codec, (name, image) in _progress(config, steps, "speed"):
        setting = chosen[codec.name]
        encoded, encode_s = time_call(codec.encode, image, setting)
        _, decode_s = time_call(codec.decode, encoded, setting, image.shape[1], image.shape[0])
        times[codec.name]["encode"].append(encode_s)
        times[codec.name]["decode"].append(decode_s)
    result: dict[str, Any] = {
        "target_bpp": config.speed_bpp, "images": [n for n, _ in timed], "repeats": config.speed_repeats,
        "memory_method": "peak RSS above the RSS before the call (psutil, sampled every 2 ms), "
                         "on a warm codec: working memory of one call, not the model load",
        "codecs": {},
    }
    for codec in active:
        bpp = next(c["bpp"] for c in curves[codec.name] if c["setting"] == chosen[codec.name])
        result["codecs"][codec.name] = {
            "setting": chosen[codec.name], "bpp": bpp,
            "encode_s": summarize_times(times[codec.name]["encode"]),
            "decode_s": summarize_times(times[codec.name]["decode"]),
            "encode_peak_mib": memory[codec.name]["encode"], "decode_peak_mib": memory[codec.name]["decode"],
        }
    if config.video is not None:
        result["video"] = _video_fps(config, active, chosen)
    return result


def _video_fps(config: ImageBenchConfig, codecs: list[ImageCodec], chosen: dict[str, Any]) -> dict:
    frames = load_video_frames(config.video, config.video_frames)
    height, width = frames[0].shape[:2]
    result: dict[str, Any] = {"file": str(config.video), "frames": len(frames), "width": width,
                              "height": height, "codecs": {}}
    for codec in _progress(config, codecs, "video fps"):
        setting = chosen[codec.name]
        codec.decode(codec.encode(frames[0], setting), setting, width, height)  # warm-up
        coded, encode_total, decode_total, size = [], 0.0, 0.0, 0
        for frame in frames:
            encoded, seconds = time_call(codec.encode, frame, setting)
            encode_total += seconds
            coded.append(encoded)
            size += sum(len(p) for p in encoded)
        for encoded in coded:
            _, seconds = time_call(codec.decode, encoded, setting, width, height)
            decode_total += seconds
        result["codecs"][codec.name] = {
            "setting": setting, "encode_fps": len(frames) / encode_total,
            "decode_fps": len(frames) / decode_total,
            "bpp": metrics.bits_per_pixel(size, width, height) / len(frames)}
    return result


def _progress(config: ImageBenchConfig, iterable: Any, description: str) -> Any:
    return config.progress(iterable, desc=description) if config.progress else iterable


def run_images(config: ImageBenchConfig) -> dict:
    """Run the image benchmark; return the JSON-ready result (schema :data:`IMAGE_SCHEMA`).

    A registry codec that fails to load (e.g. missing weights) is skipped with a
    warning and listed under ``skipped``; errors of the standard codecs propagate.

    Raises:
        NoMediaError: no image in the folder.
        BenchError: no codec could run.
    """
    images = load_images(config.folder, QUICK_IMAGES if config.quick else None)
    codecs = list(config.codecs)
    points: list[dict] = []
    load_memory: dict[str, float] = {}
    steps = sum(len(c.quick_settings if config.quick else c.settings) for c in codecs) * len(images)
    bar = config.progress(total=steps, desc="rate-distortion") if config.progress else None
    ran: list[ImageCodec] = []
    skipped: list[dict[str, str]] = []
    if config.with_msssim:  # import TensorFlow now, so that no codec's memory is charged for it
        metrics.msssim(images[0][1], images[0][1])
    for codec in codecs:
        settings = codec.quick_settings if config.quick else codec.settings
        codec_points = []
        try:
            with RSSSampler() as sampler:
                for setting in settings:
                    if isinstance(codec, RegistryImageCodec):
                        codec.prepare(setting)
                    for name, image in images:
                        codec_points.append(_measure(codec, setting, name, image, config.with_msssim))
                        if bar is not None:
                            bar.update(1)
        except NeuralavError as error:
            if codec.family == "standard":
                raise
            reason = f"{type(error).__name__}: {error}"
            warnings.warn(f"skipping codec `{codec.name}`: {reason}", RuntimeWarning, stacklevel=2)
            skipped.append({"codec": codec.name, "reason": reason})
            if bar is not None:
                bar.update(len(settings) * len(images) - len(codec_points))
            continue
        load_memory[codec.name] = sampler.peak_increase / MIB
        points += codec_points
        ran.append(codec)
    if bar is not None:
        bar.close()
    if not ran:
        raise BenchError("no codec could run: " + "; ".join(s["reason"] for s in skipped))
    curves = curves_from_points(points)
    speed = _speed(config, ran, curves, images)
    for name, mib in load_memory.items():
        speed["codecs"][name]["sweep_peak_mib"] = mib
    return {
        "schema": IMAGE_SCHEMA,
        "dataset": {"folder": str(config.folder), "quick": config.quick,
                    "images": [{"name": n, "width": int(im.shape[1]), "height": int(im.shape[0])}
                               for n, im in images]},
        "metrics": {
            "bpp": "8 * coded bytes / (width * height), mean over images",
            "psnr": "RGB PSNR in dB (peak 255, MSE over all channels), mean over images",
            "msssim": "MS-SSIM (tf.image.ssim_multiscale, 5 scales, peak 255), mean over images; "
                      "msssim_db = -10 log10(1 - mean)",
            "time": "wall-clock seconds per image (time.perf_counter)",
            "sweep_peak_mib": "peak RSS above the RSS before the codec's whole rate-distortion sweep "
                              "(includes importing its libraries and loading its models)",
        },
        "codecs": [c.describe() for c in ran],
        "skipped": list(skipped),
        "points": points,
        "curves": curves,
        "bd_rate": {"method": bdrate.METHOD, "rate": "bpp",
                    "quality": {"psnr": "PSNR (dB)", "msssim": "MS-SSIM in dB"},
                    "anchors": [a for a in ANCHORS if a in curves],
                    "results": bdrate.bd_rates(curves, ANCHORS, "bpp", {"psnr": "psnr", "msssim": "msssim_db"})},
        "speed": speed,
    }
