"""Train the VAE (every quality level at once, through gain units); resumable; exports weights.

Example (from scratch, then continue shipped weights on another machine)::

    python -m neuralav.plugins.vae.train --run main --steps 60000 --threads 1 \\
        --data /work/shared/data/photos ~/.cache/neuralav/train/cae/data/debian_wallpapers_x0.5
    python -m neuralav.plugins.vae.train --run main2 --init-from plugins/vae/weights/q3.npz \\
        --warmup-steps 300 --lmbdas 0.01 --export plugins/vae/weights/q3.npz

Crop *i* of each batch is trained at level ``i mod L`` with loss ``bpp + λ_l·MSE``
(MSE of 0–255 RGB; λ_l from ``--lmbdas``, by default :data:`.quality.LMBDAS`).
Default crops are 256×256, batch 2 (see ``weights/MODEL_CARD.md`` for why not 128);
``--freeze-steps`` holds the main transforms and gains fixed while a fresh
hyperprior learns (after ``--init-from`` a ``cae`` file).
The loop, run state, resuming, ``--init-from`` and export are shared with
``cae``: see :mod:`neuralav.plugins.imaging.training`. Run state lives in
``<train-root>/<run>/`` (default ``~/.cache/neuralav/train/vae/``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from neuralav.plugins.imaging.training import Trainable, add_training_arguments, run

from .config import ArchConfig
from .quality import LMBDAS

DEFAULT_TRAIN_ROOT = Path(os.path.expanduser("~/.cache/neuralav/train/vae"))


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="python -m neuralav.plugins.vae.train",
                                description="Train (or resume, fine-tune, export) the VAE.")
    add_training_arguments(p, DEFAULT_TRAIN_ROOT, weights_hint="plugins/vae/weights/q3.npz")
    defaults = ArchConfig()
    p.add_argument("--lmbdas", type=float, nargs="+", default=list(LMBDAS),
                   help="λ of each level, ascending (default: %(default)s)")
    p.add_argument("--num-filters", type=int, default=defaults.num_filters, help="N (default: %(default)s)")
    p.add_argument("--latent-channels", type=int, default=defaults.latent_channels,
                   help="M (default: %(default)s)")
    p.add_argument("--hyper-filters", type=int, default=defaults.hyper_filters,
                   help="channels of the hyper transforms and of z (default: %(default)s)")
    p.add_argument("--num-scales", type=int, default=defaults.num_scales,
                   help="number of Gaussian scales (default: %(default)s)")
    p.add_argument("--mean-scale", action="store_true",
                   help="mean-scale hyperprior: the hyper-synthesis also predicts the latent's means")
    # 256-pixel crops: with 128 the hyper-latent is 2x2, all border, and the model does not
    # carry over to whole images (weights/MODEL_CARD.md).
    p.set_defaults(steps=60000, lr=5e-4, lr_final=5e-5, crop=256, batch=2)
    return p


def _arch(args: argparse.Namespace) -> ArchConfig:
    return ArchConfig(num_filters=args.num_filters, latent_channels=args.latent_channels,
                      hyper_filters=args.hyper_filters, num_scales=args.num_scales,
                      mean_scale=args.mean_scale)


def _build_model(args: argparse.Namespace):
    from .model import VAEModel

    return VAEModel(_arch(args), tuple(args.lmbdas))


def _model_config(args: argparse.Namespace) -> dict:
    return {"lmbdas": list(args.lmbdas), "num_filters": args.num_filters,
            "latent_channels": args.latent_channels, "hyper_filters": args.hyper_filters,
            "num_scales": args.num_scales, "mean_scale": args.mean_scale}


def _export(model, path: Path) -> str:
    from .weights import export_weights

    return export_weights(model, path)


def _load(model, path: Path) -> None:
    from .weights import load_weights_into

    load_weights_into(model, path)


def _main_transforms_and_gains(model) -> list:
    """What ``--freeze-steps`` holds fixed: all but the hyperprior (taken from cae, or trained)."""
    return [*model.analysis_transform.trainable_variables,
            *model.synthesis_transform.trainable_variables,
            model.log_gain, model.log_inverse_gain]


TRAINABLE = Trainable(name="vae", build_model=_build_model, model_config=_model_config,
                      export_weights=_export, load_weights_into=_load,
                      metric_names=("loss", "bpp", "mse", "side_bpp"),
                      frozen_by_freeze_steps=_main_transforms_and_gains)
"""The VAE's hooks for the shared trainer."""


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the process exit status."""
    args = build_parser().parse_args(argv)
    return run(args, argv, TRAINABLE)


if __name__ == "__main__":
    sys.exit(main())
