"""BD-rate between two image-codec evaluation runs (the model cards' model-vs-model numbers).

Each input is the ``--json`` of ``python -m neuralav.plugins.vae.evaluate`` or
``python -m neuralav.plugins.cae.evaluate``: the mean bpp and
mean PSNR / MS-SSIM of every quality it coded. Prints the bits the second run needs for the
first one's quality, in percent (negative: the second is better), by PSNR and by MS-SSIM
(in dB, -10·log10(1 - MS-SSIM)), over the quality range both runs cover; then, at each
point of the first run inside the second's rate range, the second's PSNR there (linear in
log bpp) and the difference (the model cards' per-quality comparisons).

Usage::

    python docs/bd_rate.py reference.json candidate.json
"""

from __future__ import annotations

import json
import sys

import numpy as np

from neuralav.registry.metrics import bd_rate


def curve(run: dict, key: str) -> tuple[list[float], list[float]]:
    """(mean bpp, mean quality in dB) of each coded quality of one evaluation run."""
    rates = [level["bpp"] for level in run["levels"]]
    values = [level[key] for level in run["levels"]]
    if key == "msssim":
        values = [-10 * np.log10(1 - v) for v in values]
    return rates, values


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    reference, candidate = (json.load(open(path)) for path in argv)
    for key in ("psnr", "msssim"):
        print(f"BD-rate of {argv[1]} vs {argv[0]} ({key}): "
              f"{bd_rate(*curve(reference, key), *curve(candidate, key)):+.2f} %")
    rates, psnrs = curve(candidate, "psnr")
    order = np.argsort(rates)
    for level in reference["levels"]:
        if not min(rates) <= level["bpp"] <= max(rates):
            continue
        at = float(np.interp(np.log(level["bpp"]), np.log(np.asarray(rates)[order]), np.asarray(psnrs)[order]))
        name = level.get("weights", level.get("level", "?"))
        print(f"  at {name}'s {level['bpp']:.4f} bpp ({level['psnr']:.2f} dB): candidate {at:.2f} dB, "
              f"{at - level['psnr']:+.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
