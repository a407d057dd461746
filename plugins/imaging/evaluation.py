"""Evaluation helpers shared by the image codecs' ``evaluate`` commands.

Images are H x W x 3 uint8 RGB; rates in bits per pixel (bpp), PSNR in dB, from
:mod:`neuralav.registry.metrics` (one PSNR, MS-SSIM and BD-rate for the codecs and the
bench). The Pillow JPEG curve is the anchor; :func:`print_levels` prints the table every
codec's ``evaluate`` prints and adds the BD-rate against JPEG to its result.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from neuralav.registry.metrics import MetricError, bd_rate, msssim, psnr

__all__ = ["IMAGE_SUFFIXES", "add_evaluation_arguments", "cached_curve", "interpolate_psnr", "jpeg_curve", "load_folder",
           "prepare", "print_levels", "set_threads", "summarize"]

IMAGE_SUFFIXES = (".png", ".ppm", ".bmp")
"""Lossless image files read by :func:`load_folder`."""


def load_folder(folder: Path) -> list[tuple[str, np.ndarray]]:
    """(file name, H x W x 3 uint8 RGB) of every PNG/PPM/BMP image in `folder`, sorted by name.

    Raises:
        FileNotFoundError: no such image in `folder`.
    """
    from PIL import Image

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no PNG/PPM/BMP image in {folder}")
    return [(p.name, np.asarray(Image.open(p).convert("RGB"))) for p in files]


def add_evaluation_arguments(parser) -> None:
    """Adds the options every image codec's ``evaluate`` takes: ``--data``, ``--json``,
    ``--jpeg-json``, ``--threads``."""
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/kodak"),
                        help="folder of PNG images (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--jpeg-json", type=Path, help="cache of the JPEG curve: read if it exists (and is "
                                                       "for the same folder), else written")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: default)")


def prepare(args) -> tuple[list[tuple[str, np.ndarray]], list[dict]]:
    """Sets the threads and reads the images and the JPEG curve that `args` name.

    Returns:
        (the images of ``args.data``, the JPEG curve over them).
    """
    set_threads(args.threads)
    images = load_folder(args.data)
    return images, cached_curve(args.data, images, args.jpeg_json, jpeg_curve)


def set_threads(threads: int) -> None:
    """Sets TensorFlow's intra- and inter-op threads (0 keeps TensorFlow's default)."""
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def cached_curve(data: Path, images: list, cache: Path | None, compute) -> list[dict]:
    """An anchor curve (e.g. JPEG) of `images` from folder `data`, cached in JSON file `cache`.

    The cache is used when it names the same folder and image count; else
    ``compute(images)`` runs and, if `cache` is given, its result is written there.
    """
    import json

    saved = json.loads(cache.read_text()) if cache and cache.exists() else None
    if saved is not None and saved.get("data") == str(data) and saved.get("num_images") == len(images):
        return saved["jpeg"]
    curve = compute(images)
    if cache:
        cache.write_text(json.dumps({"data": str(data), "num_images": len(images), "jpeg": curve}, indent=1))
    return curve


def jpeg_curve(images: list[tuple[str, np.ndarray]], qualities=range(1, 101),
               with_msssim: bool = False) -> list[dict]:
    """Pillow JPEG (4:2:0, baseline) at each quality: mean bpp, PSNR (dB), MS-SSIM."""
    from PIL import Image

    curve = []
    for q in qualities:
        bpps, psnrs, ssims = [], [], []
        for _, im in images:
            buf = io.BytesIO()
            Image.fromarray(im).save(buf, format="JPEG", quality=q, subsampling=2)
            rec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
            bpps.append(8 * len(buf.getvalue()) / (im.shape[0] * im.shape[1]))
            psnrs.append(psnr(im, rec))
            if with_msssim:
                ssims.append(msssim(im, rec))
        point = {"quality": q, "bpp": float(np.mean(bpps)), "psnr": float(np.mean(psnrs))}
        if with_msssim:
            point["msssim"] = float(np.mean(ssims))
        curve.append(point)
    return curve


def interpolate_psnr(curve: list[dict], bpp: float, key: str = "psnr") -> float | None:
    """`key` of a rate curve at `bpp` (linear in log bpp); None outside the curve."""
    points = sorted((p["bpp"], p[key]) for p in curve)
    rates = np.log([r for r, _ in points])
    values = [v for _, v in points]
    if not rates[0] <= np.log(bpp) <= rates[-1]:
        return None
    return float(np.interp(np.log(bpp), rates, values))


def summarize(rows: list[dict]) -> dict:
    """A level's means over its per-image `rows` (``bpp``, ``psnr``, ``msssim``) and median
    encode/decode seconds (the median: the first image's time includes tracing)."""
    return {
        "bpp": float(np.mean([r["bpp"] for r in rows])),
        "psnr": float(np.mean([r["psnr"] for r in rows])),
        "msssim": float(np.mean([r["msssim"] for r in rows])),
        "encode_s_median": float(np.median([r["encode_s"] for r in rows])),
        "decode_s_median": float(np.median([r["decode_s"] for r in rows])),
        "images": rows,
    }


def print_levels(levels: list[dict], curve: list[dict], result: dict, name_of, column: str = "level") -> None:
    """Prints one table row per level against the JPEG `curve`, then the BD-rate against JPEG.

    Adds ``jpeg_psnr_at_bpp`` to each level and ``bd_rate_vs_jpeg_percent`` to `result`
    (with two levels or more; JPEG points within 1 dB of the levels' PSNR range;
    :func:`neuralav.registry.metrics.bd_rate` needs four points on each curve).

    Args:
        levels: Each with ``lmbda``, ``bpp``, ``psnr``, ``msssim``, ``encode_s_median``
            and ``decode_s_median``.
        curve: :func:`jpeg_curve`'s points.
        result: The evaluation's JSON result.
        name_of: ``level -> str``, the first column.
        column: Heading of the first column.
    """
    print(f"| {column} | λ | bpp | PSNR dB | MS-SSIM | JPEG PSNR at equal bpp (dB) | Δ PSNR (dB) "
          "| encode s | decode s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for lv in levels:
        lv["jpeg_psnr_at_bpp"] = interpolate_psnr(curve, lv["bpp"])
        jp = "n/a" if lv["jpeg_psnr_at_bpp"] is None else f"{lv['jpeg_psnr_at_bpp']:.2f}"
        delta = "n/a" if lv["jpeg_psnr_at_bpp"] is None else f"{lv['psnr'] - lv['jpeg_psnr_at_bpp']:+.2f}"
        print(f"| {name_of(lv)} | {lv['lmbda']:g} | {lv['bpp']:.4f} | {lv['psnr']:.2f} | "
              f"{lv['msssim']:.4f} | {jp} | {delta} | {lv['encode_s_median']:.3f} | "
              f"{lv['decode_s_median']:.3f} |")
    if len(levels) >= 2:
        try:
            lo = min(lv["psnr"] for lv in levels) - 1.0
            hi = max(lv["psnr"] for lv in levels) + 1.0
            anchor = [c for c in curve if lo <= c["psnr"] <= hi]  # JPEG points near the tested range
            value = bd_rate([c["bpp"] for c in anchor], [c["psnr"] for c in anchor],
                            [lv["bpp"] for lv in levels], [lv["psnr"] for lv in levels])
        except MetricError as error:
            print(f"BD-rate: {error}")
            return
        if value is None:
            print("BD-rate: the JPEG and level curves have no PSNR range in common")
            return
        result["bd_rate_vs_jpeg_percent"] = value
        print(f"BD-rate vs JPEG (RGB PSNR): {value:+.1f}%")
