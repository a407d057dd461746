"""Choose ``nvc``'s keyframe interval: code a clip at several ``g`` and every level, print the
BD-rate (RGB PSNR) of each ``g`` against ``--anchor``.

Rates are the real packet bytes; PSNR is of the encoder's references (what every decoder
rebuilds, bit for bit). Run it on training video, never on the clips results are reported on::

    python docs/nvc_gop_sweep.py /work/shared/data/video/test_cif_I_CABAC_slice.264 --frames 100 --g 8 16 32 50
"""

from __future__ import annotations

import argparse
from fractions import Fraction

import av
import numpy as np

from neuralav import registry
from neuralav.plugins.nvc.levels import QUALITIES
from neuralav.plugins.nvc.pairs import video_frames
from neuralav.registry.metrics.bdrate import bd_rate


def curve(frames: list[np.ndarray], g: int) -> list[tuple[float, float]]:
    """(bpp, mean RGB PSNR dB) of every level at keyframe interval `g`."""
    height, width = frames[0].shape[:2]
    points = []
    for quality in QUALITIES:
        encoder = registry.create_encoder("nvc", {"quality": quality, "g": g})
        bits, psnrs = 0, []
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            (packet,) = encoder.encode(frame)
            bits += 8 * packet.size
            mse = np.mean((encoder._reference.astype(np.float64) - image) ** 2)
            psnrs.append(10 * np.log10(255 ** 2 / mse))
        points.append((bits / (height * width * len(frames)), float(np.mean(psnrs))))
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--g", type=int, nargs="+", default=[8, 16, 32, 50])
    parser.add_argument("--anchor", type=int, default=32)
    args = parser.parse_args()
    frames = video_frames(args.clip, limit=args.frames)
    curves = {g: curve(frames, g) for g in sorted(set(args.g) | {args.anchor})}
    anchor = curves[args.anchor]
    for g, points in curves.items():
        rate = bd_rate([r for r, _ in anchor], [p for _, p in anchor], [r for r, _ in points], [p for _, p in points])
        print(f"g={g:3d}  " + "  ".join(f"{r:.4f} bpp {p:.2f} dB" for r, p in points)
              + f"  BD-rate vs g={args.anchor}: {rate:+.1f} %")


if __name__ == "__main__":
    main()
