"""Train a CAE quality level; resumable; exports shipping weights.

Example (the base level, then a fine-tuned neighbour)::

    python -m neuralav.plugins.cae.train --run q3 --lmbda 0.01 --steps 7000 \\
        --data /work/shared/data/photos --seed 1
    python -m neuralav.plugins.cae.train --run q4 --lmbda 0.02 --steps 1800 \\
        --init-from ~/.cache/neuralav/train/cae/q3 --export plugins/cae/weights/q4.npz

The variable-rate model (:mod:`.variable_rate`: one gain row per λ) trains with
``--lmbdas``; it can start from the ``vae`` model's transforms and gains, holding
them while its fresh prior learns::

    python -m neuralav.plugins.cae.train --run vr1 --lmbdas 0.00125 0.0025 0.005 0.01 \\
        0.02 0.04 0.08 0.16 --init-from plugins/vae/weights/vr.npz --freeze-steps 400 ...

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
        description="Train (or resume, fine-tune, export) one CAE quality level, or the variable-rate model.")
    add_training_arguments(p, DEFAULT_TRAIN_ROOT, weights_hint="plugins/cae/weights/qN.npz")
    p.add_argument("--lmbda", type=float, default=0.01, help="λ of bpp + λ·D (default: %(default)s)")
    p.add_argument("--lmbdas", type=float, nargs="+", default=None,
                   help="train the variable-rate model, one gain row per λ (ascending, MSE only)")
    p.add_argument("--distortion", choices=("mse", "ms-ssim"), default="mse")
    p.add_argument("--num-filters", type=int, default=64, help="N (default: %(default)s)")
    p.add_argument("--latent-channels", type=int, default=96, help="M (default: %(default)s)")
    return p


def _build_model(args: argparse.Namespace):
    from .model import ArchConfig, CAEModel

    config = ArchConfig(args.num_filters, args.latent_channels)
    if args.lmbdas:
        from .variable_rate import VariableRateCAE

        if args.distortion != "mse":
            raise SystemExit("the variable-rate model trains for MSE only")
        return VariableRateCAE(config, args.lmbdas)
    return CAEModel(config, args.lmbda, args.distortion)


def _model_config(args: argparse.Namespace) -> dict:
    # Both λ keys, so ``--export-only`` restores whichever the run was trained with.
    config = {"distortion": args.distortion, "num_filters": args.num_filters,
              "latent_channels": args.latent_channels, "lmbdas": list(args.lmbdas) if args.lmbdas else None}
    return config if args.lmbdas else {**config, "lmbda": args.lmbda}


def _initialised_part(model) -> list:
    """What ``--freeze-steps`` holds: every weight but the prior (the part a ``vae`` file gives)."""
    return [v for name, v in model.named_weights().items() if not name.startswith("prior/")]


def _describe(args: argparse.Namespace, means: dict) -> str:
    import numpy as np

    psnr = 10 * np.log10(255.0 ** 2 / max(means["mse"], 1e-10))
    extra = f" msssim {means['msssim']:.4f}" if args.distortion == "ms-ssim" else ""
    return f"loss {means['loss']:.4f} bpp {means['bpp']:.4f} mse {means['mse']:.2f} psnr {psnr:.2f}{extra}"


TRAINABLE = Trainable(name="cae", build_model=_build_model, model_config=_model_config,
                      export_weights=export_weights, load_weights_into=load_weights_into,
                      metric_names=("loss", "bpp", "mse", "msssim"), describe=_describe,
                      frozen_by_freeze_steps=_initialised_part)
"""The CAE's hooks for the shared trainer."""


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the process exit status."""
    args = build_parser().parse_args(argv)
    return run(args, argv, TRAINABLE)


if __name__ == "__main__":
    sys.exit(main())
