"""Train a CAE quality level; resumable; exports shipping weights.

Example (the base level, then a fine-tuned neighbour)::

    python -m neuralav.plugins.cae.train --run q3 --lmbda 0.01 --steps 7000 \\
        --data /work/shared/data/photos --seed 1
    python -m neuralav.plugins.cae.train --run q4 --lmbda 0.02 --steps 1800 \\
        --init-from ~/.cache/neuralav/train/cae/q3 --export plugins/cae/weights/q4.npz

Run state (``ckpt-*``, ``run.json``) lives in ``<train-root>/<run>/``
(default ``~/.cache/neuralav/train/cae/``). Running the same command again
resumes from the latest checkpoint; with ``--steps`` raised it trains further.
Loss: ``bpp + λ·MSE`` (MSE of 0–255 RGB), or ``bpp + λ·(1 − MS-SSIM)``.
Adam at ``--lr`` then ``--lr-final`` for the last ``--final-fraction`` of steps.
The loop, run state, resuming, ``--init-from`` and export are shared with
``vae``: see :mod:`neuralav.plugins.imaging.training`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from neuralav.plugins.imaging.training import Trainable, add_training_arguments, run

from .weights import export_weights, load_weights_into

DEFAULT_TRAIN_ROOT = Path(os.path.expanduser("~/.cache/neuralav/train/cae"))


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="python -m neuralav.plugins.cae.train",
        description="Train (or resume, fine-tune, export) one CAE quality level.")
    add_training_arguments(p, DEFAULT_TRAIN_ROOT, weights_hint="plugins/cae/weights/qN.npz")
    p.add_argument("--lmbda", type=float, default=0.01, help="λ of bpp + λ·D (default: %(default)s)")
    p.add_argument("--distortion", choices=("mse", "ms-ssim"), default="mse")
    p.add_argument("--num-filters", type=int, default=64, help="N (default: %(default)s)")
    p.add_argument("--latent-channels", type=int, default=96, help="M (default: %(default)s)")
    return p


def _build_model(args: argparse.Namespace):
    from .model import ArchConfig, CAEModel

    return CAEModel(ArchConfig(args.num_filters, args.latent_channels), args.lmbda, args.distortion)


def _model_config(args: argparse.Namespace) -> dict:
    return {"lmbda": args.lmbda, "distortion": args.distortion, "num_filters": args.num_filters,
            "latent_channels": args.latent_channels}


def _describe(args: argparse.Namespace, means: dict) -> str:
    import numpy as np

    psnr = 10 * np.log10(255.0 ** 2 / max(means["mse"], 1e-10))
    extra = f" msssim {means['msssim']:.4f}" if args.distortion == "ms-ssim" else ""
    return f"loss {means['loss']:.4f} bpp {means['bpp']:.4f} mse {means['mse']:.2f} psnr {psnr:.2f}{extra}"


TRAINABLE = Trainable(name="cae", build_model=_build_model, model_config=_model_config,
                      export_weights=export_weights, load_weights_into=load_weights_into,
                      metric_names=("loss", "bpp", "mse", "msssim"), describe=_describe)
"""The CAE's hooks for the shared trainer."""


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the process exit status."""
    args = build_parser().parse_args(argv)
    return run(args, argv, TRAINABLE)


if __name__ == "__main__":
    sys.exit(main())
