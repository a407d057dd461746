"""Measures `vae` rate control: each picture of a folder coded at a bpp target, through the registry.

    python docs/vae_rate_control.py /work/shared/data/kodak --bpp 0.5 [--preset slow]

Prints one row per picture (the quality the search chose, the payload's bpp, its error
against the target, encode seconds) and the largest error. The payload is what the
target counts (the codec's whole packet payload, headers and CRC included); the
registry's frame prefix (a dozen bytes naming the size and pixel format) is not.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--bpp", type=float, default=0.5)
    p.add_argument("--preset", default="medium")
    args = p.parse_args(argv)

    from neuralav import registry
    from neuralav.registry.api import parse_video_packet

    encoder = registry.create_encoder("vae", {"bpp": args.bpp, "preset": args.preset})
    decoder = registry.create_decoder("vae", encoder.header)
    errors = []
    print(f"| picture | quality | bpp | error % | PSNR dB | encode s |\n|---|---|---|---|---|---|")
    for path in sorted(args.folder.glob("*.png")):
        image = np.asarray(Image.open(path).convert("RGB"))
        start = time.perf_counter()
        (packet,) = encoder.encode(av.VideoFrame.from_ndarray(image, format="rgb24"))
        seconds = time.perf_counter() - start
        bpp = 8 * len(parse_video_packet(bytes(packet)).payload) / (image.shape[0] * image.shape[1])
        (frame,) = decoder.decode(packet)
        mse = np.mean((frame.to_ndarray(format="rgb24").astype(np.float64) - image) ** 2)
        errors.append(bpp / args.bpp - 1)
        print(f"| {path.stem} | {encoder.last_quality:.4f} | {bpp:.4f} | {100 * errors[-1]:+.2f} | "
              f"{10 * np.log10(255 ** 2 / mse):.2f} | {seconds:.2f} |")
    print(f"\n{len(errors)} pictures at {args.bpp} bpp ({args.preset}): largest error "
          f"{100 * max(map(abs, errors)):.2f} %, mean {100 * np.mean(errors):+.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
