"""Measure CAE weights on a folder of images (Kodak for reporting) against JPEG.

For each weights file: real rate (bytes of the range-coded string, so bpp =
8·bytes / (H·W), mean over images), RGB PSNR (dB, mean of per-image values) and
MS-SSIM (5 scales, 0–255, mean), with encode/decode times. JPEG (Pillow,
4:2:0, qualities 1–100) gives a curve; "JPEG PSNR at equal bpp" interpolates
that curve (PSNR linear in log bpp) at each level's mean bpp, and the
Bjøntegaard delta rate (BD-rate, %; cubic fits, JPEG points within 1 dB of the
levels' PSNR range) compares the two curves over their common PSNR range
(negative: fewer bits than JPEG). Example::

    python -m neuralav.plugins.cae.evaluate --data /work/shared/data/kodak \\
        --weights plugins/cae/weights/q{1,2,3,4}.npz --json /tmp/cae_kodak.json
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from neuralav.plugins.imaging.evaluation import cached_curve, load_folder as _load, msssim as _msssim, set_threads

__all__ = ["psnr", "jpeg_curve", "interpolate_psnr", "bd_rate", "evaluate_weights", "main"]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """RGB PSNR in dB of two HxWx3 uint8 images (peak 255)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def jpeg_curve(images: list[tuple[str, np.ndarray]], qualities=range(1, 101),
               with_msssim: bool = False) -> list[dict]:
    """Pillow JPEG (4:2:0, baseline) at each quality: mean bpp, PSNR (dB), MS-SSIM."""
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
                ssims.append(_msssim(im, rec))
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


def bd_rate(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> float:
    """Bjøntegaard delta rate (%) of `test` vs `anchor`, lists of (bpp, PSNR dB).

    Fits log-rate as a cubic (or lower, with fewer points) polynomial of PSNR
    for each curve and compares their integrals over the common PSNR range.
    """
    def fit(points):
        points = sorted(points, key=lambda p: p[1])
        d = np.array([p[1] for p in points])
        r = np.log([p[0] for p in points])
        return np.polyfit(d, r, min(3, len(points) - 1)), d.min(), d.max()

    pa, amin, amax = fit(anchor)
    pt, tmin, tmax = fit(test)
    lo, hi = max(amin, tmin), min(amax, tmax)
    if lo >= hi:
        raise ValueError("the two curves have no PSNR range in common")
    ia, it = np.polyint(pa), np.polyint(pt)
    avg_a = (np.polyval(ia, hi) - np.polyval(ia, lo)) / (hi - lo)
    avg_t = (np.polyval(it, hi) - np.polyval(it, lo)) / (hi - lo)
    return float((np.exp(avg_t - avg_a) - 1) * 100)


def evaluate_weights(path: Path, images: list[tuple[str, np.ndarray]]) -> dict:
    """Codes every image with the weights at `path`; checks decode = encode-time reconstruction."""
    from .weights import load_model, sha256_of

    model = load_model(path)
    rows = []
    for name, im in images:
        t0 = time.perf_counter()
        string, latent_shape = model.compress(im)
        t1 = time.perf_counter()
        rec = model.decompress(string, latent_shape, im.shape[:2]).numpy()
        t2 = time.perf_counter()
        nbytes = len(string.numpy())
        rows.append({"image": name, "bytes": nbytes,
                     "bpp": 8 * nbytes / (im.shape[0] * im.shape[1]),
                     "psnr": psnr(im, rec), "msssim": _msssim(im, rec),
                     "encode_s": t1 - t0, "decode_s": t2 - t1})
    return {
        "weights": str(path), "sha256": sha256_of(path), "lmbda": model.lmbda,
        "bpp": float(np.mean([r["bpp"] for r in rows])),
        "psnr": float(np.mean([r["psnr"] for r in rows])),
        "msssim": float(np.mean([r["msssim"] for r in rows])),
        # first image includes tracing; report the median
        "encode_s_median": float(np.median([r["encode_s"] for r in rows])),
        "decode_s_median": float(np.median([r["decode_s"] for r in rows])),
        "images": rows,
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: prints a table, optionally writes JSON. Returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m neuralav.plugins.cae.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=Path("/work/shared/data/kodak"),
                   help="folder of PNG images (default: %(default)s)")
    p.add_argument("--weights", type=Path, nargs="*", default=[], help="exported .npz files")
    p.add_argument("--json", type=Path, help="write all results here")
    p.add_argument("--jpeg-json", type=Path,
                   help="cache of the JPEG curve: read if it exists (and is for the same folder), else written")
    p.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: default)")
    args = p.parse_args(argv)

    set_threads(args.threads)
    images = _load(args.data)
    curve = cached_curve(args.data, images, args.jpeg_json, jpeg_curve)
    levels = [evaluate_weights(w, images) for w in args.weights]
    print(f"{len(images)} images from {args.data}")
    print("| weights | λ | bpp | PSNR dB | MS-SSIM | JPEG PSNR at equal bpp (dB) | Δ PSNR (dB) "
          "| encode s | decode s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for lv in levels:
        lv["jpeg_psnr_at_bpp"] = interpolate_psnr(curve, lv["bpp"])
        if lv["jpeg_psnr_at_bpp"] is None:
            jp = delta = "n/a"
        else:
            jp = f"{lv['jpeg_psnr_at_bpp']:.2f}"
            delta = f"{lv['psnr'] - lv['jpeg_psnr_at_bpp']:+.2f}"
        print(f"| {Path(lv['weights']).name} | {lv['lmbda']:g} | {lv['bpp']:.4f} | {lv['psnr']:.2f} | "
              f"{lv['msssim']:.4f} | {jp} | {delta} | {lv['encode_s_median']:.3f} | "
              f"{lv['decode_s_median']:.3f} |")
    result = {"data": str(args.data), "num_images": len(images), "levels": levels, "jpeg": curve}
    if len(levels) >= 2:
        try:
            lo = min(lv["psnr"] for lv in levels) - 1.0
            hi = max(lv["psnr"] for lv in levels) + 1.0
            result["bd_rate_vs_jpeg_percent"] = bd_rate(  # JPEG points near the tested range
                [(c["bpp"], c["psnr"]) for c in curve if lo <= c["psnr"] <= hi],
                [(lv["bpp"], lv["psnr"]) for lv in levels])
            print(f"BD-rate vs JPEG (RGB PSNR): {result['bd_rate_vs_jpeg_percent']:+.1f}%")
        except ValueError as error:
            print(f"BD-rate: {error}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
