"""Measure VAE weights (every level) on a folder of images (Kodak for reporting) against JPEG.

The same measurements as :mod:`neuralav.plugins.cae.evaluate`, with the same helpers
(:mod:`neuralav.plugins.imaging.evaluation`): real rate (bytes
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

from neuralav.registry.metrics import msssim, psnr
from neuralav.plugins.imaging.evaluation import add_evaluation_arguments, prepare, print_levels, summarize

from .codec import FRAMING

__all__ = ["evaluate_level", "main"]

PAYLOAD_OVERHEAD = FRAMING.overhead()
"""Bytes of the ``vae`` payload around the two strings (14)."""


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
    return {"level": level + 1, "lmbda": model.lmbdas[level], **summarize(rows)}


def main(argv: list[str] | None = None) -> int:
    """Entry point: prints a table, optionally writes JSON. Returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m neuralav.plugins.vae.evaluate",
                                description=__doc__.split("\n")[0])
    add_evaluation_arguments(p)
    p.add_argument("--weights", type=Path, nargs="+", required=True,
                   help="exported vae .npz files, lowest rate first")
    p.add_argument("--levels", type=int, nargs="*", help="1-based levels (default: all)")
    args = p.parse_args(argv)

    from .weights import load_model, sha256_of

    images, curve = prepare(args)
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
    result = {"data": str(args.data), "num_images": len(images),
              "weights": [str(path) for path in args.weights], "levels": levels, "jpeg": curve}
    print_levels(levels, curve, result, lambda lv: lv["level"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
