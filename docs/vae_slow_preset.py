"""Measures `vae`'s `-preset slow` against `medium`: BD-rate and time, through the registry.

    python docs/vae_slow_preset.py /work/shared/data/kodak kodim01,kodim05,kodim13,kodim21 1.5,2.5,3.5,4.5,5.5

Codes the named pictures of a folder at each quality with both presets (real payloads,
decoded by the registry's decoder) and prints each point (mean bpp of the payloads, mean
RGB PSNR, median encode seconds per picture), then the BD-rate of slow against medium.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image


def main(argv: list[str] | None = None) -> int:
    from neuralav import registry
    from neuralav.registry.api import parse_video_packet
    from neuralav.registry.metrics import bd_rate

    argv = sys.argv[1:] if argv is None else argv
    folder, names, qualities = Path(argv[0]), argv[1].split(","), [float(q) for q in argv[2].split(",")]
    images = [np.asarray(Image.open(folder / f"{name}.png").convert("RGB")) for name in names]
    curves = {}
    for preset in ("medium", "slow"):
        points = []
        for quality in qualities:
            encoder = registry.create_encoder("vae", {"quality": quality, "preset": preset})
            decoder = registry.create_decoder("vae", encoder.header)
            bits = pixels = 0
            psnrs, seconds = [], []
            for image in images:
                start = time.perf_counter()
                (packet,) = encoder.encode(av.VideoFrame.from_ndarray(image, format="rgb24"))
                seconds.append(time.perf_counter() - start)
                (frame,) = decoder.decode(packet)
                bits += 8 * len(parse_video_packet(bytes(packet)).payload)
                pixels += image.shape[0] * image.shape[1]
                mse = np.mean((frame.to_ndarray(format="rgb24").astype(np.float64) - image) ** 2)
                psnrs.append(10 * np.log10(255 ** 2 / mse))
            points.append((bits / pixels, float(np.mean(psnrs))))
            print(f"{preset} {quality:g}: {points[-1][0]:.4f} bpp {points[-1][1]:.2f} dB "
                  f"{np.median(seconds):.2f} s/picture", flush=True)
        curves[preset] = points
    medium, slow = curves["medium"], curves["slow"]
    gain = bd_rate([p[0] for p in medium], [p[1] for p in medium], [p[0] for p in slow], [p[1] for p in slow])
    print(f"BD-rate slow vs medium (PSNR): {gain:+.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
