"""Train the ``nvc`` P-frame residual coder (every level at once, gain units); resumable; exports weights.

Example (the shipped model's command is in ``weights/MODEL_CARD.md``)::

    python -m neuralav.plugins.nvc.train --run main --steps 20000 \\
        --videos /work/shared/data/video/VID_1280x720_cabac_temporal_direct.264 \\
                 /work/shared/data/video/test_cif_I_CABAC_slice.264 \\
        --data /work/shared/data/photos --export plugins/nvc/weights/residual.npz

Batches are (motion-compensated prediction, frame) pairs (:mod:`.pairs`): real camera
video plus synthetic camera motion over the ``--data`` photos, each reference first
coded by ``vae`` at the level being trained. Pair *k* of a batch trains level
``k mod L`` with loss ``bpp + λ_l·MSE``. The motion prior is fitted to the vector
differences of the same pairs at export. The loop, run state, resuming and export are
the image codecs' (:mod:`neuralav.plugins.imaging.training`); run state lives in
``<train-root>/<run>/`` (default ``~/.cache/neuralav/train/nvc/``), the pairs in
``<train-root>/pairs/``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from neuralav.plugins.imaging.training import Trainable, add_training_arguments, run

from .levels import LMBDAS, KEYFRAME_QUALITIES

DEFAULT_TRAIN_ROOT = Path(os.path.expanduser("~/.cache/neuralav/train/nvc"))

DEFAULT_VIDEOS = ["/work/shared/data/video/VID_1280x720_cabac_temporal_direct.264",
                  "/work/shared/data/video/test_cif_I_CABAC_slice.264"]
"""Training video (never the clips the bench reports: ``BA1_FT_C``, ``LS_SVA_D``)."""


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    from neuralav.plugins.vae.config import ArchConfig

    p = argparse.ArgumentParser(prog="python -m neuralav.plugins.nvc.train",
                                description="Train (or resume, export) the nvc P-frame residual coder.")
    add_training_arguments(p, DEFAULT_TRAIN_ROOT, weights_hint="plugins/nvc/weights/residual.npz")
    defaults = ArchConfig(num_filters=48, latent_channels=64, hyper_filters=48)
    p.add_argument("--videos", nargs="*", default=DEFAULT_VIDEOS, help="training video files (default: %(default)s)")
    p.add_argument("--video-every", type=int, default=2, help="frame step between video pairs (default: %(default)s)")
    p.add_argument("--photo-pairs", type=int, default=3, help="synthetic pairs per photo (default: %(default)s)")
    p.add_argument("--photo-size", type=int, default=320,
                   help="side of the synthetic frames, px; photos are halved first and need this + 64 "
                        "(default: %(default)s)")
    p.add_argument("--lmbdas", type=float, nargs="+", default=list(LMBDAS),
                   help="λ of each level, ascending (default: %(default)s)")
    p.add_argument("--num-filters", type=int, default=defaults.num_filters, help="N (default: %(default)s)")
    p.add_argument("--latent-channels", type=int, default=defaults.latent_channels, help="M (default: %(default)s)")
    p.add_argument("--hyper-filters", type=int, default=defaults.hyper_filters,
                   help="channels of the hyper transforms and of z (default: %(default)s)")
    p.set_defaults(steps=20000, lr=5e-4, lr_final=5e-5, crop=256, batch=4)
    return p


def _arch(args):
    from neuralav.plugins.vae.config import ArchConfig

    return ArchConfig(num_filters=args.num_filters, latent_channels=args.latent_channels,
                      hyper_filters=args.hyper_filters)


def _pair_sets(args):
    from neuralav.plugins.imaging.data import list_images

    from .pairs import build_pairs

    photos = list_images(args.data) if args.data else []
    return build_pairs(args.train_root / "pairs", args.videos, photos, KEYFRAME_QUALITIES[:len(args.lmbdas)],
                       args.lmbdas, every=args.video_every, per_photo=args.photo_pairs, photo_size=args.photo_size,
                       seed=args.seed)


def _make_sampler(args):
    from .pairs import PairSampler

    sets = _pair_sets(args)
    count = sum(len(s.frames) for s in sets)
    return PairSampler(sets, args.crop, args.batch, args.seed), f"{count} pairs in {len(sets)} sources"


def _motion_tables(args):
    import numpy as np

    from .vectors import fit_tables

    differences = np.concatenate([s.differences for s in _pair_sets(args)])
    rng = np.random.default_rng(args.seed)
    sample = differences[rng.permutation(len(differences))[:100_000]]
    return fit_tables(sample, seed=args.seed)


def trainable(args: argparse.Namespace) -> Trainable:
    """The residual coder's hooks for the shared trainer."""
    def build(a):
        from .model import ResidualModel

        return ResidualModel(_arch(a), tuple(a.lmbdas))

    def export(model, path):
        from .weights import export_weights

        return export_weights(model, path, _motion_tables(args))

    def load(model, path):
        from .weights import load_weights_into

        load_weights_into(model, path)

    def config(a):
        return {"lmbdas": list(a.lmbdas), "num_filters": a.num_filters, "latent_channels": a.latent_channels,
                "hyper_filters": a.hyper_filters}

    return Trainable("nvc", build, config, export, load,
                     metric_names=("loss", "bpp", "mse", "side_bpp"), make_sampler=_make_sampler)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m neuralav.plugins.nvc.train``."""
    args = build_parser().parse_args(argv)
    return run(args, argv, trainable(args))


if __name__ == "__main__":
    sys.exit(main())
