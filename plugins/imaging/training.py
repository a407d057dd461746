"""The resumable training loop of the learned image codecs, and its command line.

A codec's ``train.py`` builds an :class:`argparse.ArgumentParser` with
:func:`add_training_arguments` plus its own model options, describes its model
with a :class:`Trainable`, and calls :func:`run`. Everything else is shared:

- run state (``ckpt-*``, ``run.json`` with the config and every session's command
  line) in ``<train-root>/<run>/``; running the same command again resumes from
  the latest checkpoint, and a larger ``--steps`` trains further;
- ``--init-from`` a run folder (its latest checkpoint) or an exported ``.npz``:
  fine-tuning a neighbour level, or continuing shipped weights;
- Adam at ``--lr``, then ``--lr-final`` for the last ``--final-fraction`` of the
  steps, with an optional linear warm-up;
- batches from :class:`neuralav.plugins.imaging.data.CropSampler` (batch *k* depends
  only on (seed, k), so a resumed run sees the batches it would have seen);
- a non-finite loss or gradient never reaches the weights (the update is
  skipped), non-finite weights are never saved (the last checkpoint is restored);
- checkpoints every ``--checkpoint-minutes``, at ``--max-minutes``, at the last
  step and on SIGTERM/SIGINT; ``--export`` / ``--export-only`` write shipping
  weights through the codec's own exporter.

The model is called as ``model(x, training=True)`` on an N x H x W x 3 uint8
batch and returns a tuple whose first element is the scalar loss and whose
elements are named by :attr:`Trainable.metric_names`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["DEFAULT_DATA", "Trainable", "add_training_arguments", "common_config", "run",
           "train_loop", "warmup_schedule"]

DEFAULT_DATA = ["/work/shared/data/photos"]
"""Default training folders (never Kodak: :func:`neuralav.plugins.imaging.data.list_images` refuses it)."""


@dataclasses.dataclass(frozen=True)
class Trainable:
    """What one codec supplies to the shared trainer.

    Attributes:
        name: Codec name, used in messages (``cae``, ``vae``).
        build_model: ``args -> model`` (a ``tf.keras.Model``), from the parsed arguments.
        model_config: ``args -> dict`` of the options that define the model and its
            loss (architecture, λ...). Their keys must be argument ``dest`` names: a
            resumed run refuses other values, and ``--export-only`` restores them.
        export_weights: ``(model, path) -> hex SHA-256`` of the written file.
        load_weights_into: ``(model, path)``: copies an exported ``.npz`` into the model.
        metric_names: Names of the values the model's call returns, loss first.
        describe: Optional ``(args, {name: mean value}) -> str``: the metrics part of a
            progress line (default: every metric, plus PSNR (dB) when ``mse`` is one).
        frozen_by_freeze_steps: Optional ``model -> variables`` held fixed for the
            first ``--freeze-steps`` steps (e.g. transforms taken from another model
            while freshly initialised parts learn); None: the codec has no such split.
        make_sampler: Optional ``args -> (sampler, description)``: the batches, when
            they are not crops of ``--data`` photos (e.g. pairs of video frames);
            ``sampler(step)`` is deterministic in (seed, step) and has a mutable ``seed``.
    """

    name: str
    build_model: Callable[[argparse.Namespace], Any]
    model_config: Callable[[argparse.Namespace], dict]
    export_weights: Callable[[Any, Path], str]
    load_weights_into: Callable[[Any, Path], None]
    metric_names: tuple[str, ...] = ("loss", "bpp", "mse")
    describe: Callable[[argparse.Namespace, dict], str] | None = None
    frozen_by_freeze_steps: Callable[[Any], list] | None = None
    make_sampler: Callable[[argparse.Namespace], tuple[Any, str]] | None = None


def add_training_arguments(p: argparse.ArgumentParser, default_train_root: Path,
                           weights_hint: str = "weights/qN.npz") -> argparse.ArgumentParser:
    """Adds the options every trainer shares (run, data, schedule, checkpoints, export).

    Change a default afterwards with ``p.set_defaults(steps=...)``.
    """
    p.add_argument("--run", required=True, help="run name: state goes to <train-root>/<run>/")
    p.add_argument("--train-root", type=Path, default=default_train_root,
                   help="folder of run folders (default: %(default)s)")
    p.add_argument("--data", nargs="+", default=DEFAULT_DATA,
                   help="folders of training images (never Kodak) (default: %(default)s)")
    p.add_argument("--no-half-scale", action="store_true",
                   help="do not add ×0.5 copies of the training images")
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
    p.add_argument("--freeze-steps", type=int, default=0,
                   help="hold the codec's initialised part (e.g. the vae's main transforms "
                        "taken from cae with --init-from) fixed for this many steps while "
                        "the fresh part learns (default: %(default)s)")
    p.add_argument("--final-fraction", type=float, default=0.2,
                   help="fraction of --steps run at --lr-final (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of weights init and crops (default: %(default)s)")
    p.add_argument("--init-from", type=Path,
                   help="run folder whose latest checkpoint, or exported .npz weights file "
                        f"(e.g. a shipped {weights_hint}), initialises the model weights "
                        "(fine-tuning a neighbour level, or continuing a shipped model on a "
                        "new machine); ignored when resuming")
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


def common_config(args: argparse.Namespace) -> dict:
    """The shared options recorded in ``run.json`` (the codec adds its model config)."""
    return {
        "batch": args.batch, "crop": args.crop, "lr": args.lr, "lr_final": args.lr_final,
        "warmup_steps": args.warmup_steps, "freeze_steps": args.freeze_steps,
        "final_fraction": args.final_fraction,
        "seed": args.seed, "data": [str(Path(d).resolve()) for d in args.data],
        "half_scale": not args.no_half_scale,
        "init_from": str(args.init_from) if args.init_from else None,
    }


def warmup_schedule(warmup_steps: int, schedule, restart_at: int = 0):
    """`schedule` (a Keras learning-rate schedule) ramped up linearly over `warmup_steps`.

    The factor is ``min(1, (step + 1) / warmup_steps)``; with ``restart_at > 0``
    the ramp runs again from that step (when ``--freeze-steps`` releases the held
    variables, so that their first moves are small).
    """
    import tensorflow as tf

    class WarmupSchedule(tf.keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            lr = schedule(step)
            if warmup_steps <= 0:
                return lr
            since = tf.cast(step, tf.float32)
            if restart_at > 0:
                since = tf.where(since >= restart_at, since - restart_at, since)
            ramp = tf.minimum(1.0, (since + 1.0) / float(warmup_steps))
            return lr * tf.cast(ramp, lr.dtype)

        def get_config(self):
            return {"warmup_steps": warmup_steps, "restart_at": restart_at}

    return WarmupSchedule()


def _export(trainable: Trainable, model, optimizer, path: Path) -> None:
    sha = trainable.export_weights(model, path)
    print(f"exported step {int(optimizer.iterations)} to {path} "
          f"({path.stat().st_size} bytes, sha256 {sha})", flush=True)


def run(args: argparse.Namespace, argv: Sequence[str] | None, trainable: Trainable) -> int:
    """Trains (resumes, fine-tunes) and/or exports one run. Returns the exit status.

    Args:
        args: Parsed arguments (:func:`add_training_arguments` plus the codec's own).
        argv: The argument list, recorded in ``run.json`` (``None``: ``sys.argv``).
        trainable: The codec's model hooks.
    """
    if args.export_only and not args.export:
        print("error: --export-only needs --export PATH", file=sys.stderr)
        return 2
    if args.freeze_steps < 0:
        print(f"error: --freeze-steps must be >= 0, not {args.freeze_steps}", file=sys.stderr)
        return 2
    if args.freeze_steps and trainable.frozen_by_freeze_steps is None:
        print(f"error: --freeze-steps: {trainable.name} has no part to hold fixed", file=sys.stderr)
        return 2
    run_dir = args.train_root / args.run
    run_dir.mkdir(parents=True, exist_ok=True)
    meta_path = run_dir / "run.json"
    if args.export_only and meta_path.exists():  # the run's own architecture and λ
        saved = json.loads(meta_path.read_text())["config"]
        for key in trainable.model_config(args):
            if key in saved:
                setattr(args, key, saved[key])

    import tensorflow as tf

    if args.threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
            tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        except RuntimeError:  # TensorFlow already ran in this process (called from Python)
            print(f"note: TensorFlow is already initialised; `--threads {args.threads}` "
                  "is not applied", file=sys.stderr)
    tf.keras.utils.set_random_seed(args.seed)
    model = trainable.build_model(args)
    final_start = int(round(args.steps * (1.0 - args.final_fraction)))
    lr = warmup_schedule(args.warmup_steps, tf.keras.optimizers.schedules.PiecewiseConstantDecay(
        [final_start], [args.lr, args.lr_final]), restart_at=args.freeze_steps)
    optimizer = tf.keras.optimizers.Adam(learning_rate=lr)
    wall = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="wall_seconds")
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, wall_seconds=wall)
    manager = tf.train.CheckpointManager(ckpt, str(run_dir), max_to_keep=3)

    model_config = trainable.model_config(args)
    config = {**model_config, **common_config(args)}
    if manager.latest_checkpoint:
        # Checked before restoring: another architecture would fail inside TensorFlow.
        previous = json.loads(meta_path.read_text()).get("config", {}) if meta_path.exists() else {}
        for key in model_config:
            if key in previous and previous[key] != config[key]:
                print(f"error: run {args.run} was trained with {key}={previous[key]}, "
                      f"not {config[key]}", file=sys.stderr)
                return 2
        ckpt.restore(manager.latest_checkpoint).expect_partial()
        print(f"resumed {manager.latest_checkpoint} at step {int(optimizer.iterations)}", flush=True)
    elif args.init_from is not None and args.init_from.suffix == ".npz":
        try:
            trainable.load_weights_into(model, args.init_from.expanduser())
        except (OSError, ValueError, KeyError) as error:
            print(f"error: cannot initialise from `--init-from` {args.init_from}: {error}",
                  file=sys.stderr)
            return 2
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
        _export(trainable, model, optimizer, args.export)
        return 0
    history = json.loads(meta_path.read_text()).get("sessions", []) if meta_path.exists() else []
    history.append({"argv": sys.argv if argv is None else ["train.py", *argv],
                    "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "start_step": int(optimizer.iterations)})
    meta_path.write_text(json.dumps({"config": config, "sessions": history}, indent=2))

    if int(optimizer.iterations) < args.steps:
        if trainable.make_sampler is not None:
            sampler, description = trainable.make_sampler(args)
        else:
            from neuralav.plugins.imaging.data import CropSampler, list_images, load_images

            files = list_images(args.data)
            images = load_images(files, args.crop, half_scale=not args.no_half_scale)
            sampler = CropSampler(images, args.crop, args.batch, args.seed)
            description = (f"{len(files)} files, {len(images)} images (with ×0.5 copies) from "
                           f"{', '.join(map(str, args.data))}")
        print(f"data: {description}", flush=True)
        train_loop(model, optimizer, manager, wall, sampler, args, history[-1], trainable)
        meta_path.write_text(json.dumps({"config": config, "sessions": history}, indent=2))

    if args.export:
        if manager.latest_checkpoint is None:
            print("error: nothing to export: no checkpoint yet", file=sys.stderr)
            return 2
        _export(trainable, model, optimizer, args.export)
    return 0


def _describe(args: argparse.Namespace, means: dict) -> str:
    import numpy as np

    text = " ".join(f"{name} {value:.4f}" for name, value in means.items())
    if "mse" in means:
        text += f" psnr {10 * np.log10(255.0 ** 2 / max(means['mse'], 1e-10)):.2f}"
    return text


def train_loop(model, optimizer, manager, wall, sampler, args: argparse.Namespace,
               session: dict, trainable: Trainable) -> None:
    """Runs optimizer steps up to ``args.steps``; checkpoints; records the session's end.

    Args:
        model: Called as ``model(x, training=True)`` -> (loss, *metrics).
        optimizer: A Keras optimizer; ``optimizer.iterations`` is the step counter.
        manager: ``tf.train.CheckpointManager`` of (model, optimizer, wall).
        wall: float64 ``tf.Variable``: training wall seconds over all sessions.
        sampler: ``sampler(step) -> N x H x W x 3 uint8`` with a mutable ``seed``.
        args: Parsed arguments (steps, log_every, checkpoint_minutes, max_minutes).
        session: The session's ``run.json`` entry: gets ``end_step`` and ``minutes``.
        trainable: Metric names and progress-line format.
    """
    import numpy as np
    import tensorflow as tf

    frozen_ids = set()
    if args.freeze_steps:
        frozen_ids = {id(v) for v in trainable.frozen_by_freeze_steps(model)}

    @tf.function(input_signature=[tf.TensorSpec((None, None, None, 3), tf.uint8)])
    def train_step(x):
        with tf.GradientTape() as tape:
            outputs = model(x, training=True)
        loss = outputs[0]
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        # A non-finite loss or gradient must never reach the weights: apply zeros instead.
        finite = tf.math.is_finite(loss)
        for g in grads:
            finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(g)))
        grads = [tf.where(finite, g, tf.zeros_like(g)) for g in grads]
        # Held variables still feed Adam's moments and are put back after the update. With
        # zero moments instead, their first steps after release would be several times lr
        # (Keras's bias correction counts the optimizer's steps, not theirs).
        frozen = [v for v in variables if id(v) in frozen_ids]
        held = optimizer.iterations < args.freeze_steps
        saved = [tf.identity(v) for v in frozen]
        optimizer.apply_gradients(zip(grads, variables))
        if frozen:
            tf.cond(held, lambda: tf.group([v.assign(value) for v, value in zip(frozen, saved)]),
                    tf.no_op)
        return tuple(outputs), finite

    def weights_finite() -> bool:
        return all(bool(np.all(np.isfinite(v.numpy()))) for v in model.trainable_variables)

    stop = {"now": False}

    def _on_signal(signum, frame):  # checkpoint, then exit, on SIGTERM/SIGINT
        stop["now"] = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    names = trainable.metric_names
    describe = trainable.describe or _describe
    session_start = last_ckpt = last_log = time.time()
    wall_at_start = float(wall.numpy())
    sums = np.zeros(len(names))
    count = skipped = 0
    step = int(optimizer.iterations)
    while step < args.steps and not stop["now"]:
        values, finite = train_step(sampler(step))
        step += 1
        if bool(finite):
            sums += [float(v) for v in values]
            count += 1
        else:
            skipped += 1
            print(f"step {step}: non-finite loss or gradient, update skipped ({skipped} so far)", flush=True)
        now = time.time()
        if (step % args.log_every == 0 or step == args.steps) and count:
            means = dict(zip(names, (sums / count).tolist()))
            lr = float(optimizer.learning_rate(optimizer.iterations)) \
                if callable(optimizer.learning_rate) else float(optimizer.learning_rate)
            print(f"step {step} {describe(args, means)} lr {lr:.0e} "
                  f"{count / (now - last_log):.2f} steps/s", flush=True)
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
