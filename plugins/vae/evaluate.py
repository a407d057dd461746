"""Measure VAE weights (every level) on a folder of images (Kodak for reporting) against JPEG.

The same measurements as :mod:`neuralav.plugins.cae.evaluate`, whose helpers it
uses (PSNR, the Pillow JPEG curve, interpolation and BD-rate): real rate (bytes
of both range-coded strings plus the 14-byte payload header, bpp = 8·bytes /
(H·W), mean over images), RGB PSNR (dB, mean), MS-SSIM, encode/decode seconds
(median), and a check that each decode equals the encoder-side reconstruction
and uses the encoder's scale indices. BD-rates against WebP and AVIF come from
the project benchmark (``container/bench``), which runs every registered codec.
Example::

    python -m neuralav.plugins.vae.evaluate --data /work/shared/data/kodak \\
        --weights plugins/vae/weights/q{1,2,3,4}.npz --json /tmp/vae_kodak.json

Levels are numbered 1, 2, ... over the files in the order given, then over the
gain rows inside each file (a shipped file holds one level).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from neuralav.plugins.cae.evaluate import bd_rate, interpolate_psnr, jpeg_curve, psnr
from neuralav.plugins.imaging.evaluation import cached_curve, load_folder, msssim, set_threads

__all__ = ["evaluate_level", "main"]

PAYLOAD_OVERHEAD = 14
"""Bytes of the ``vae`` payload around the two strings (see :mod:`.codec`)."""


def evaluate_level(model, level: int, images: list[tuple[str, np.ndarray]]) -> dict:
    """Codes every image at 0-based `level`.

    Raises:
        RuntimeError: a decode differs from the encoder-side reconstruction or
            used other scale indices than the encoder (a desync).
    """
    rows = []
    for name, im in images:
        t0 = time.perf_counter()
        side, string, indexes = model.compress(im, level)
        t1 = time.perf_counter()
        rec, decoded_indexes = model.decompress(side, string, level, im.shape[1], im.shape[0])
        t2 = time.perf_counter()
        if not np.array_equal(indexes, decoded_indexes) or not np.array_equal(rec, model.reconstruct(im, level)):
            raise RuntimeError(f"{name} level {level}: decoding differs from encoding")
        nbytes = len(side) + len(string) + PAYLOAD_OVERHEAD
        rows.append({"image": name, "bytes": nbytes, "side_bytes": len(side),
                     "bpp": 8 * nbytes / (im.shape[0] * im.shape[1]), "psnr": psnr(im, rec),
                     "msssim": msssim(im, rec), "encode_s": t1 - t0, "decode_s": t2 - t1})
    return {
        "level": level + 1, "lmbda": model.lmbdas[level],
        "bpp": float(np.mean([r["bpp"] for r in rows])),
        "psnr": float(np.mean([r["psnr"] for r in rows])),
        "msssim": float(np.mean([r["msssim"] for r in rows])),
        "encode_s_median": float(np.median([r["encode_s"] for r in rows])),
        "decode_s_median": float(np.median([r["decode_s"] for r in rows])),
        "images": rows,
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: prints a table, optionally writes JSON. Returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m neuralav.plugins.vae.evaluate",
                                description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=Path("/work/shared/data/kodak"),
                   help="folder of PNG images (default: %(default)s)")
    p.add_argument("--weights", type=Path, nargs="+", required=True,
                   help="exported vae .npz files, lowest rate first")
    p.add_argument("--levels", type=int, nargs="*", help="1-based levels (default: all)")
    p.add_argument("--json", type=Path, help="write all results here")
    p.add_argument("--jpeg-json", type=Path,
                   help="cache of the JPEG curve: read if it exists (and is for the same folder), else written")
    p.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: default)")
    args = p.parse_args(argv)

    from .weights import load_model, sha256_of

    set_threads(args.threads)
    images = load_folder(args.data)
    curve = cached_curve(args.data, images, args.jpeg_json, jpeg_curve)
    levels = []
    number = 0
    for path in args.weights:
        model, digest = load_model(path), sha256_of(path)
        for row in range(model.num_levels):
            number += 1
            if args.levels and number not in args.levels:
                continue
            result = evaluate_level(model, row, images)
            result.update(level=number, weights=str(path), sha256=digest)
            levels.append(result)
    print(f"{len(images)} images from {args.data}; weights {' '.join(map(str, args.weights))}")
    print("| level | λ | bpp | PSNR dB | MS-SSIM | JPEG PSNR at equal bpp (dB) | Δ PSNR (dB) "
          "| encode s | decode s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for lv in levels:
        lv["jpeg_psnr_at_bpp"] = interpolate_psnr(curve, lv["bpp"])
        jp = "n/a" if lv["jpeg_psnr_at_bpp"] is None else f"{lv['jpeg_psnr_at_bpp']:.2f}"
        delta = "n/a" if lv["jpeg_psnr_at_bpp"] is None else f"{lv['psnr'] - lv['jpeg_psnr_at_bpp']:+.2f}"
        print(f"| {lv['level']} | {lv['lmbda']:g} | {lv['bpp']:.4f} | {lv['psnr']:.2f} | "
              f"{lv['msssim']:.4f} | {jp} | {delta} | {lv['encode_s_median']:.3f} | "
              f"{lv['decode_s_median']:.3f} |")
    result = {"data": str(args.data), "num_images": len(images),
              "weights": [str(path) for path in args.weights], "levels": levels, "jpeg": curve}
    if len(levels) >= 2:
        try:
            lo = min(lv["psnr"] for lv in levels) - 1.0
            hi = max(lv["psnr"] for lv in levels) + 1.0
            result["bd_rate_vs_jpeg_percent"] = bd_rate(
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
