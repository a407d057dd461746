"""Measure CAE weights on a folder of images (Kodak for reporting) against JPEG.

For each weights file: real rate (bytes of the range-coded string, so bpp =
8·bytes / (H·W), mean over images), RGB PSNR (dB, mean of per-image values) and
MS-SSIM (5 scales, 0–255, mean), with encode/decode times. JPEG (Pillow,
4:2:0, qualities 1–100) gives a curve; "JPEG PSNR at equal bpp" interpolates
that curve (PSNR linear in log bpp) at each level's mean bpp (a variable-rate file
gives one level per gain row, i.e. per integer quality), and the
Bjøntegaard delta rate (BD-rate, %; cubic fits, JPEG points within 1 dB of the
levels' PSNR range) compares the two curves over their common PSNR range
(negative: fewer bits than JPEG). Example::

    python -m neuralav.plugins.cae.evaluate --data /work/shared/data/kodak \\
        --weights plugins/cae/weights/q{1,2,3,4}.npz --json /tmp/cae_kodak.json
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

__all__ = ["evaluate_weights", "main"]


def evaluate_weights(path: Path, images: list[tuple[str, np.ndarray]]) -> list[dict]:
    """Codes every image with the weights at `path`: one result for a one-level file, one per
    gain row (integer quality) for a variable-rate file. Checks decode = encode-time
    reconstruction.

    Raises:
        RuntimeError: a decode differs from the encoder-side reconstruction.
    """
    from .variable_rate import TABLES_PER_QUALITY, VariableRateCAE
    from .weights import load_model, sha256_of

    model = load_model(path)
    head = {"weights": str(path), "sha256": sha256_of(path)}
    if isinstance(model, VariableRateCAE):
        return [{**head, "row": row, "lmbda": model.lmbdas[row],
                 **_measure(images, lambda im, i=row * TABLES_PER_QUALITY: _code_variable(model, im, i))}
                for row in range(model.num_levels)]
    return [{**head, "lmbda": model.lmbda, **_measure(images, lambda im: _code_level(model, im))}]


def _code_level(model, im: np.ndarray) -> tuple[bytes, np.ndarray, float, float]:
    t0 = time.perf_counter()
    string, latent_shape = model.compress(im)
    t1 = time.perf_counter()
    rec = model.decompress(string, latent_shape, im.shape[:2]).numpy()
    t2 = time.perf_counter()
    if not np.array_equal(rec, model.reconstruct(im).numpy()):
        raise RuntimeError("decoding differs from encoding")
    return string.numpy(), rec, t1 - t0, t2 - t1


def _code_variable(model, im: np.ndarray, index: int) -> tuple[bytes, np.ndarray, float, float]:
    t0 = time.perf_counter()
    string, latent_shape = model.compress(im, index)
    t1 = time.perf_counter()
    rec = model.decompress(string, latent_shape, index, im.shape[1], im.shape[0])
    t2 = time.perf_counter()
    if not np.array_equal(rec, model.reconstruct(im, index)):
        raise RuntimeError(f"grid point {index}: decoding differs from encoding")
    return string, rec, t1 - t0, t2 - t1


def _measure(images: list[tuple[str, np.ndarray]], code) -> dict:
    rows = []
    for name, im in images:
        string, rec, encode_s, decode_s = code(im)
        rows.append({"image": name, "bytes": len(string), "bpp": 8 * len(string) / (im.shape[0] * im.shape[1]),
                     "psnr": psnr(im, rec), "msssim": msssim(im, rec), "encode_s": encode_s, "decode_s": decode_s})
    return summarize(rows)


def main(argv: list[str] | None = None) -> int:
    """Entry point: prints a table, optionally writes JSON. Returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m neuralav.plugins.cae.evaluate", description=__doc__.split("\n")[0])
    add_evaluation_arguments(p)
    p.add_argument("--weights", type=Path, nargs="*", default=[], help="exported .npz files")
    args = p.parse_args(argv)

    images, curve = prepare(args)
    levels = [level for w in args.weights for level in evaluate_weights(w, images)]
    print(f"{len(images)} images from {args.data}")
    result = {"data": str(args.data), "num_images": len(images), "levels": levels, "jpeg": curve}
    print_levels(levels, curve, result, _label, column="weights")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


def _label(level: dict) -> str:
    name = Path(level["weights"]).name
    return f"{name}:{level['row']}" if "row" in level else name


if __name__ == "__main__":
    sys.exit(main())
