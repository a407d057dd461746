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
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

DEFAULT_TRAIN_ROOT = Path(os.path.expanduser("~/.cache/neuralav/train/cae"))
DEFAULT_DATA = ["/work/shared/data/photos"]


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="python -m neuralav.plugins.cae.train",
        description="Train (or resume, fine-tune, export) one CAE quality level.")
    p.add_argument("--run", required=True, help="run name: state goes to <train-root>/<run>/")
    p.add_argument("--train-root", type=Path, default=DEFAULT_TRAIN_ROOT,
                   help="folder of run folders (default: %(default)s)")
    p.add_argument("--data", nargs="+", default=DEFAULT_DATA,
                   help="folders of training images (never Kodak) (default: %(default)s)")
    p.add_argument("--no-half-scale", action="store_true",
                   help="do not add ×0.5 copies of the training images")
    p.add_argument("--lmbda", type=float, default=0.01, help="λ of bpp + λ·D (default: %(default)s)")
    p.add_argument("--distortion", choices=("mse", "ms-ssim"), default="mse")
    p.add_argument("--num-filters", type=int, default=64, help="N (default: %(default)s)")
    p.add_argument("--latent-channels", type=int, default=96, help="M (default: %(default)s)")
    p.add_argument("--steps", type=int, default=7000, help="total optimizer steps (default: %(default)s)")
    p.add_argument("--batch", type=int, default=8, help="crops per batch (default: %(default)s)")
    p.add_argument("--crop", type=int, default=128, help="crop side in px (default: %(default)s)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: %(default)s)")
    p.add_argument("--lr-final", type=float, default=1e-4,
                   help="learning rate for the last part (default: %(default)s)")
    p.add_argument("--warmup-steps", type=int, default=0,
                   help="raise the learning rate linearly from 0 over this many steps: fresh "
                        "Adam moments take full-size steps that wreck a trained model's "
                        "first updates (use ~300 with --init-from) (default: %(default)s)")
    p.add_argument("--final-fraction", type=float, default=0.2,
                   help="fraction of --steps run at --lr-final (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="seed of weights init and crops (default: %(default)s)")
    p.add_argument("--init-from", type=Path,
                   help="run folder whose latest checkpoint, or exported .npz weights file "
                        "(e.g. a shipped plugins/cae/weights/qN.npz), initialises the model "
                        "weights (fine-tuning a neighbour level, or continuing a shipped "
                        "model on a new machine); ignored when resuming")
    p.add_argument("--checkpoint-minutes", type=float, default=3.0,
                   help="wall minutes between checkpoints (default: %(default)s)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop (after a checkpoint) when this session has trained this long")
    p.add_argument("--threads", type=int, default=0,
                   help="TensorFlow intra-op threads (0: TensorFlow's default, all cores)")
    p.add_argument("--log-every", type=int, default=100, help="steps between progress lines")
    p.add_argument("--export", type=Path, help="after training, write shipping weights (.npz) here")
    p.add_argument("--export-only", action="store_true",
                   help="do not train: export the latest checkpoint to --export")
    return p


def _config_of(args: argparse.Namespace) -> dict:
    return {
        "lmbda": args.lmbda, "distortion": args.distortion, "num_filters": args.num_filters,
        "latent_channels": args.latent_channels, "batch": args.batch, "crop": args.crop,
        "lr": args.lr, "lr_final": args.lr_final, "warmup_steps": args.warmup_steps, "final_fraction": args.final_fraction,
        "seed": args.seed, "data": [str(Path(d).resolve()) for d in args.data],
        "half_scale": not args.no_half_scale,
        "init_from": str(args.init_from) if args.init_from else None,
    }


def _WarmupSchedule(warmup_steps: int, schedule):
    """`schedule` scaled by ``min(1, (step + 1) / warmup_steps)``."""
    import tensorflow as tf

    class WarmupSchedule(tf.keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            lr = schedule(step)
            if warmup_steps <= 0:
                return lr
            ramp = tf.minimum(1.0, tf.cast(step + 1, tf.float32) / float(warmup_steps))
            return lr * tf.cast(ramp, lr.dtype)

        def get_config(self):
            return {"warmup_steps": warmup_steps}

    return WarmupSchedule()


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the process exit status."""
    args = build_parser().parse_args(argv)
    if args.export_only and not args.export:
        print("error: --export-only needs --export PATH", file=sys.stderr)
        return 2
    run_dir = args.train_root / args.run
    run_dir.mkdir(parents=True, exist_ok=True)
    meta_path = run_dir / "run.json"
    if args.export_only and meta_path.exists():  # the run's own architecture and λ
        saved = json.loads(meta_path.read_text())["config"]
        args.lmbda, args.distortion = saved["lmbda"], saved["distortion"]
        args.num_filters, args.latent_channels = saved["num_filters"], saved["latent_channels"]

    import numpy as np
    import tensorflow as tf

    from .data import CropSampler, list_images, load_images
    from .model import ArchConfig, CAEModel
    from .weights import export_weights

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.keras.utils.set_random_seed(args.seed)
    model = CAEModel(ArchConfig(args.num_filters, args.latent_channels), args.lmbda, args.distortion)
    final_start = int(round(args.steps * (1.0 - args.final_fraction)))
    lr = _WarmupSchedule(args.warmup_steps,
                         tf.keras.optimizers.schedules.PiecewiseConstantDecay(
                             [final_start], [args.lr, args.lr_final]))
    optimizer = tf.keras.optimizers.Adam(learning_rate=lr)
    wall = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="wall_seconds")
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, wall_seconds=wall)
    manager = tf.train.CheckpointManager(ckpt, str(run_dir), max_to_keep=3)

    config = _config_of(args)
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint).expect_partial()
        previous = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        for key in ("lmbda", "distortion", "num_filters", "latent_channels"):
            if key in previous.get("config", {}) and previous["config"][key] != config[key]:
                print(f"error: run {args.run} was trained with {key}={previous['config'][key]}, "
                      f"not {config[key]}", file=sys.stderr)
                return 2
        print(f"resumed {manager.latest_checkpoint} at step {int(optimizer.iterations)}", flush=True)
    elif args.init_from is not None and args.init_from.suffix == ".npz":
        from .weights import load_weights_into
        load_weights_into(model, args.init_from.expanduser())
        print(f"initialised from {args.init_from}", flush=True)
    elif args.init_from is not None:
        source = tf.train.latest_checkpoint(str(args.init_from.expanduser()))
        if source is None:
            print(f"error: no checkpoint in `--init-from` {args.init_from}", file=sys.stderr)
            return 2
        tf.train.Checkpoint(model=model).restore(source).expect_partial()
        print(f"initialised from {source}", flush=True)
    if args.export_only:
        if manager.latest_checkpoint is None:
            print(f"error: nothing to export: no checkpoint in {run_dir}", file=sys.stderr)
            return 2
        sha = export_weights(model, args.export)
        print(f"exported step {int(optimizer.iterations)} to {args.export} "
              f"({args.export.stat().st_size} bytes, sha256 {sha})", flush=True)
        return 0
    history = json.loads(meta_path.read_text()).get("sessions", []) if meta_path.exists() else []
    history.append({"argv": sys.argv if argv is None else ["train.py", *argv],
                    "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "start_step": int(optimizer.iterations)})
    meta_path.write_text(json.dumps({"config": config, "sessions": history}, indent=2))

    if int(optimizer.iterations) < args.steps:
        files = list_images(args.data)
        images = load_images(files, args.crop, half_scale=not args.no_half_scale)
        sampler = CropSampler(images, args.crop, args.batch, args.seed)
        print(f"data: {len(files)} files, {len(images)} images (with ×0.5 copies) from "
              f"{', '.join(args.data)}", flush=True)
        _train(model, optimizer, manager, wall, sampler, args, history[-1])
        meta_path.write_text(json.dumps({"config": config, "sessions": history}, indent=2))

    if args.export:
        if manager.latest_checkpoint is None:
            print("error: nothing to export: no checkpoint yet", file=sys.stderr)
            return 2
        sha = export_weights(model, args.export)
        print(f"exported step {int(optimizer.iterations)} to {args.export} "
              f"({args.export.stat().st_size} bytes, sha256 {sha})", flush=True)
    return 0


def _train(model, optimizer, manager, wall, sampler, args, session: dict) -> None:
    import numpy as np
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((None, None, None, 3), tf.uint8)])
    def train_step(x):
        with tf.GradientTape() as tape:
            loss, bpp, mse, msssim = model(x, training=True)
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        # A non-finite loss or gradient must never reach the weights: apply zeros instead.
        finite = tf.math.is_finite(loss)
        for g in grads:
            finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(g)))
        grads = [tf.where(finite, g, tf.zeros_like(g)) for g in grads]
        optimizer.apply_gradients(zip(grads, variables))
        return loss, bpp, mse, msssim, finite

    def weights_finite() -> bool:
        return all(bool(np.all(np.isfinite(v.numpy()))) for v in model.trainable_variables)

    stop = {"now": False}

    def _on_signal(signum, frame):  # checkpoint, then exit, on SIGTERM/SIGINT
        stop["now"] = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    session_start = last_ckpt = last_log = time.time()
    wall_at_start = float(wall.numpy())
    sums = np.zeros(4)
    count = skipped = 0
    step = int(optimizer.iterations)
    while step < args.steps and not stop["now"]:
        *values, finite = train_step(sampler(step))
        step += 1
        if bool(finite):
            sums += [float(v) for v in values]
            count += 1
        else:
            skipped += 1
            print(f"step {step}: non-finite loss or gradient, update skipped ({skipped} so far)", flush=True)
        now = time.time()
        if (step % args.log_every == 0 or step == args.steps) and count:
            loss, bpp, mse, msssim = sums / count
            psnr = 10 * np.log10(255.0 ** 2 / max(mse, 1e-10))
            lr = float(optimizer.learning_rate(optimizer.iterations)) \
                if callable(optimizer.learning_rate) else float(optimizer.learning_rate)
            extra = f" msssim {msssim:.4f}" if args.distortion == "ms-ssim" else ""
            print(f"step {step} loss {loss:.4f} bpp {bpp:.4f} mse {mse:.2f} psnr {psnr:.2f}{extra} "
                  f"lr {lr:.0e} {count / (now - last_log):.2f} steps/s", flush=True)
            sums[:] = 0
            count = 0
            last_log = now
        out_of_time = args.max_minutes is not None and now - session_start > 60 * args.max_minutes
        if now - last_ckpt > 60 * args.checkpoint_minutes or step == args.steps or out_of_time:
            if not weights_finite():  # never save a broken model: go back to the last good one
                print(f"step {step}: non-finite weights; restoring {manager.latest_checkpoint}", flush=True)
                if manager.latest_checkpoint is None:
                    raise FloatingPointError("weights became non-finite before the first checkpoint")
                manager.checkpoint.restore(manager.latest_checkpoint)
                step = int(optimizer.iterations)
                sampler.seed += 1  # other crops than the ones that led here
                print(f"continuing at step {step} with crop seed {sampler.seed}", flush=True)
                last_ckpt = now
                continue
            wall.assign(wall_at_start + now - session_start)
            path = manager.save(checkpoint_number=step)
            print(f"checkpoint {path} (trained {float(wall.numpy()) / 60:.1f} min in total)", flush=True)
            last_ckpt = now
        if out_of_time:
            print(f"stopping: --max-minutes {args.max_minutes} reached at step {step}", flush=True)
            break
    if stop["now"] and weights_finite():
        wall.assign(wall_at_start + time.time() - session_start)
        print(f"interrupted: checkpoint {manager.save(checkpoint_number=step)}", flush=True)
    session["end_step"] = step
    session["minutes"] = round((time.time() - session_start) / 60, 2)


if __name__ == "__main__":
    sys.exit(main())
