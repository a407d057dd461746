"""The PSNR ceiling of a ``vae`` model's transforms: what no quality of it can exceed.

For each picture: ``g_s(g_a(x))`` without quantization (RGB PSNR, rounded to 8 bits), next
to the picture coded at the model's top gain row. When the two agree, the top of the quality
range is limited by the transforms' capacity (channels N, M), not by λ or quantization:
more rate buys nothing there, only a wider model does.

Usage::

    python docs/vae_ceiling.py WEIGHTS.npz IMAGE_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from neuralav.registry.metrics import psnr


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    from PIL import Image

    from neuralav.plugins.vae.weights import load_model

    model = load_model(argv[0])
    top = model.num_levels - 1
    print("| image | transforms, unquantized (dB) | coded at the top row (dB) |\n|---|---|---|")
    rows = []
    for path in sorted(Path(argv[1]).glob("*.png")):
        image = np.asarray(Image.open(path).convert("RGB"))
        y = model.analysis_transform(model.padded(image))
        unquantized = model.synthesis_transform(y)[0, :image.shape[0], :image.shape[1]].numpy()
        unquantized = np.clip(np.round(unquantized), 0, 255).astype(np.uint8)
        rows.append((psnr(image, unquantized), psnr(image, model.reconstruct(image, top))))
        print(f"| {path.stem} | {rows[-1][0]:.2f} | {rows[-1][1]:.2f} |")
    mean = np.mean(rows, axis=0)
    print(f"| mean of {len(rows)} | {mean[0]:.2f} | {mean[1]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
