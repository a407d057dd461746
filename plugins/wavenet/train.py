"""Train, resume and export the ``wavenet`` codec model.

One model serves every bitrate level: the transforms are shared and each level has its
own gain vectors and factorized prior; a training step picks the levels in turn. The
loss of level ``l`` is::

    D + rate_weight * max(0, kbps - target_l) + rate_below_weight * max(0, target_l - kbps)
      + rate_floor * kbps
    D = multi-resolution log-STFT L1 + spectral convergence + log-mel L1 + waveform L1 (relative)
        + pesq_weight * PESQ disturbance + stoi_weight * (1 - STOI correlation)

where ``kbps`` is the differentiable rate bound of the latent (noisy quantization) and the
last two terms are the differentiable stand-ins of :mod:`.perceptual`. The loss trains the
transforms and gains; each level's prior trains on ``kbps`` alone, so it stays the best
density model of the latents: were the whole loss to reach the priors, the below-target
term would make a prior worse in order to raise its rate.

A run can start from a weights file (``--init-weights``, e.g. the shipped one): it takes the
transforms and gains from it, and its priors (not stored in the file, only their coding
tables) are first fitted alone to the latents of ``--prior-crops`` training crops (the
transforms fixed, ``--prior-fit-steps`` Adam steps on the noisy-quantization rate); then
everything trains, the learning rate rising linearly over ``--lr-warmup`` steps.

Usage::

    python -m neuralav.plugins.wavenet.train --run base --steps 200000     # trains, resumes
    python -m neuralav.plugins.wavenet.train --run base --export plugins/wavenet/weights

Checkpoints go to ``~/.cache/neuralav/train/wavenet/<run>/`` (``--root``); running the
same command again resumes from the newest one. Progress lines::

    step 1200 level 1 loss 2.315 dist 2.101 kbps 5.62 snr 3.4 dB pesq~ 1.85 stoi~ 0.871 1.9 steps/s

(``pesq~``/``stoi~``: the stand-ins on the training crops, PESQ's disturbance mapped to
MOS-LQO like PESQ-WB does.)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_ROOT = Path(os.path.expanduser("~/.cache/neuralav/train/wavenet"))
DEFAULT_TARGETS = (3.2, 6.2, 12.0)
"""Rates (kbps) of the training rate bound the levels aim at; what real range-coded bytes
plus packet framing come to at each level: ``weights/MODEL_CARD.md``."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neuralav.plugins.wavenet.train", description=__doc__.split("\n")[0])
    p.add_argument("--run", default="base", help="run name (checkpoint folder)")
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder of runs")
    p.add_argument("--config", default="base", help="named architecture (model.CONFIGS)")
    p.add_argument("--steps", type=int, default=200000, help="train until this global step")
    p.add_argument("--batch", type=int, default=8, help="crops per step")
    p.add_argument("--seconds", type=float, default=0.5, help="crop length (s)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--lr-decay-step", type=int, default=150000, help="step from which lr is divided by 10")
    p.add_argument("--targets", default=",".join(map(str, DEFAULT_TARGETS)),
                   help="latent kbps target of each level, comma-separated")
    p.add_argument("--level-weights", default=None,
                   help="relative share of the steps each level trains, e.g. 1,3,1 (default: equal)")
    p.add_argument("--rate-weight", type=float, default=0.2, help="loss per kbps above the target")
    p.add_argument("--rate-below-weight", type=float, default=0.0,
                   help="loss per kbps below the target (pulls each level up to its nominal rate)")
    p.add_argument("--rate-floor", type=float, default=0.002, help="loss per kbps at any rate")
    p.add_argument("--music", type=float, default=0.1, help="fraction of crops taken from music")
    p.add_argument("--speed-up-share", type=float, default=0.0,
                   help="share of speech crops sped up (pitch and formants raised; see Sampler)")
    p.add_argument("--speed-up-max", type=float, default=1.5, help="largest speed-up factor")
    p.add_argument("--data-cache", type=Path, default=None,
                   help="decoded training audio (data.prepare's cache; default: data.default_cache(DATASET))")
    p.add_argument("--dataset", default="fillets", help="training data set (data.DATASETS; the model card names the one of each stage)")
    p.add_argument("--pesq-weight", type=float, default=0.0, help="weight of the PESQ disturbance stand-in")
    p.add_argument("--stoi-weight", type=float, default=0.0, help="weight of 1 - the STOI stand-in")
    p.add_argument("--init-weights", type=Path, default=None,
                   help="start a new run from this wavenet.npz (transforms and gains; priors retrained)")
    p.add_argument("--prior-crops", type=int, default=256,
                   help="with --init-weights: training crops whose latents the new priors are fitted to")
    p.add_argument("--prior-fit-steps", type=int, default=3000, help="Adam steps of that fit")
    p.add_argument("--lr-warmup", type=int, default=0, help="steps over which the learning rate rises to --lr")
    p.add_argument("--seed", type=int, default=1, help="seed of weights and data sampling")
    p.add_argument("--threads", type=int, default=1, help="TF intra-op threads (inter-op is 1)")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--validate-every", type=int, default=0,
                   help="every this many steps, print real PESQ-WB/STOI of every level on the "
                        "validation clips (0: never)")
    p.add_argument("--validation-data", type=Path, default=None,
                   help="folder of validation clips (default: data.DEFAULT_VALIDATION, written by "
                        "python -m neuralav.plugins.wavenet.data)")
    p.add_argument("--keep", type=int, default=3, help="checkpoints kept (the newest ones)")
    p.add_argument("--export", type=Path, default=None,
                   help="write the newest checkpoint's weights to DIR/wavenet.npz and exit")
    p.add_argument("--export-step", type=_steps, default=None,
                   help="with --export: the checkpoint of this step instead of the newest, or the "
                        "mean of the weights of several kept ones (comma-separated steps)")
    p.add_argument("--export-also", type=_run_steps, action="append", default=None, metavar="RUN:STEPS",
                   help="with --export-step: average kept checkpoints of another run of the same "
                        "architecture in too, e.g. tuxhi:4500,5000 (repeatable; a 'model soup')")
    return p


def _run_steps(text: str) -> tuple[str, list[int]]:
    """``--export-also``'s value: ``RUN:STEP[,STEP...]``."""
    run, colon, steps = text.partition(":")
    if not run or not colon:
        raise argparse.ArgumentTypeError(f"`{text}` is not RUN:STEPS (e.g. tuxhi:4500,5000)")
    return run, _steps(steps)


def _steps(text: str) -> list[int]:
    """``--export-step``'s value: one step or several, comma-separated, all different."""
    try:
        steps = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a step or a comma-separated list of steps") from None
    if len(set(steps)) != len(steps):
        raise argparse.ArgumentTypeError(f"`{text}` names a step twice")
    return steps


def stft_loss(x, x_hat):
    """Multi-resolution spectral distance between (B, T) waveforms (a scalar)."""
    import tensorflow as tf

    total = 0.0
    for n in (1024, 512, 256, 128):
        s = tf.abs(tf.signal.stft(x, n, n // 4, fft_length=n))
        s_hat = tf.abs(tf.signal.stft(x_hat, n, n // 4, fft_length=n))
        log_l1 = tf.reduce_mean(tf.abs(tf.math.log(s + 1e-5) - tf.math.log(s_hat + 1e-5)))
        convergence = tf.norm(s - s_hat) / (tf.norm(s) + 1e-6)
        total += log_l1 + convergence
        if n == 1024:
            mel = tf.signal.linear_to_mel_weight_matrix(64, n // 2 + 1, 16000, 40.0, 7600.0)
            m, m_hat = tf.tensordot(s, mel, 1), tf.tensordot(s_hat, mel, 1)
            total += tf.reduce_mean(tf.abs(tf.math.log(m + 1e-5) - tf.math.log(m_hat + 1e-5)))
    return total / 4.0


class Sampler:
    """Random training crops: speech, and music with probability ``music``, at random levels.

    With ``speed_up_share`` > 0, that share of the speech crops is sped up by a factor drawn
    uniformly from 1 to ``speed_up_max`` (a longer piece resampled to the crop's length, with
    libsamplerate-style anti-aliasing by ``scipy.signal.resample_poly``): pitch and formants
    rise by that factor, so mostly men's recordings also stand for women's and children's
    voices (f0 of 200-300 Hz and more).
    """

    SPEED_STEPS = 40
    """Speed factors are multiples of 1/SPEED_STEPS (the resampling ratio is up/down = 40/k)."""

    def __init__(self, arrays: dict[str, np.ndarray], length: int, music: float, seed: int,
                 speed_up_share: float = 0.0, speed_up_max: float = 1.0) -> None:
        self.arrays, self.length, self.music = arrays, length, music
        self.speed_up_share, self.speed_up_max = speed_up_share, speed_up_max
        self.rng = np.random.default_rng(seed)

    def _speed(self, kind: str) -> int:
        """Samples of the source per ``SPEED_STEPS`` samples of the crop (``SPEED_STEPS``: none)."""
        if kind != "speech" or self.speed_up_share <= 0 or self.rng.random() >= self.speed_up_share:
            return self.SPEED_STEPS
        factor = self.rng.uniform(1.0, self.speed_up_max)
        return max(self.SPEED_STEPS, int(round(factor * self.SPEED_STEPS)))

    def crop(self) -> np.ndarray:
        kind = "music" if "music" in self.arrays and self.rng.random() < self.music else "speech"
        source = self.arrays[kind]
        down = self._speed(kind)
        span = -(-self.length * down // self.SPEED_STEPS)
        for _ in range(10):  # prefer crops that are not silence
            start = self.rng.integers(0, len(source) - span)
            piece = source[start:start + span]
            if down != self.SPEED_STEPS:
                from scipy.signal import resample_poly

                piece = resample_poly(piece, self.SPEED_STEPS, down)[:self.length]
            rms = float(np.sqrt(np.mean(piece ** 2)))
            if rms > 3e-3:
                break
        target_db = self.rng.uniform(-36.0, -14.0)
        piece = piece * (10 ** (target_db / 20) / max(rms, 3e-3))
        return np.clip(piece, -1.0, 1.0).astype(np.float32)

    def batch(self, size: int) -> np.ndarray:
        return np.stack([self.crop() for _ in range(size)])[:, :, None]


def _setup_tf(threads: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already running in this process (tests): keep its setting
        pass
    return tf


def build(args, export_step: int | None = None):
    """Create (model, optimizer, step, checkpoint manager, config, restored checkpoint path or
    ``None``) and restore the newest checkpoint, or the kept one of ``export_step`` (for export:
    its optimizer slots are not read)."""
    tf = _setup_tf(args.threads)
    from .model import CONFIGS, ModelConfig, WavenetModel, read_weights, weights_for_config

    run_dir = args.root / args.run
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / "config.json"
    if config_path.exists():
        config = ModelConfig.from_dict(json.loads(config_path.read_text()))
    else:
        config = CONFIGS[args.config]
        config_path.write_text(json.dumps(config.to_dict(), indent=1))
    tf.random.set_seed(args.seed)
    model = WavenetModel(config, seed=args.seed)
    optimizer = tf.keras.optimizers.Adam(learning_rate=args.lr)
    optimizer.build(model.trainable_variables)  # steps of one level update a subset
    step = tf.Variable(0, dtype=tf.int64, name="step")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
    manager = tf.train.CheckpointManager(checkpoint, str(run_dir / "ckpt"), max_to_keep=args.keep)
    chosen = _chosen_checkpoint(manager, export_step)
    if chosen:
        status = checkpoint.restore(chosen)
        if export_step is not None:
            status.expect_partial()
        print(f"resumed from {chosen} at step {int(step.numpy())}", flush=True)
    elif args.init_weights is not None:
        meta, weights, _ = read_weights(args.init_weights)
        stored = ModelConfig.from_dict(meta["config"])
        try:
            weights = weights_for_config(weights, stored, config)
        except ValueError as e:
            raise SystemExit(f"{args.init_weights}: {e}") from None
        model.load_weights(weights)
        print(f"started from the weights of {args.init_weights} (priors trained anew)", flush=True)
    return tf, model, optimizer, step, manager, config, chosen


def _chosen_checkpoint(manager, export_step: int | None) -> str | None:
    """The newest checkpoint, or the one saved at ``export_step`` (``SystemExit`` if none is)."""
    if export_step is None:
        return manager.latest_checkpoint
    for path in manager.checkpoints:
        if path.endswith(f"ckpt-{export_step}"):
            return path
    kept = ", ".join(p.rsplit("-", 1)[-1] for p in manager.checkpoints) or "none"
    raise SystemExit(f"no checkpoint of step {export_step} (kept: {kept})")


def export(args) -> Path:
    """Write ``wavenet.npz``: transform/gain weights, per-level coding tables, config, provenance.

    With several ``--export-step``s, every weight (transforms, gains, priors) is the mean of
    those checkpoints' (checkpoint averaging), and the coding tables are those of the mean prior.
    """
    from .model import ModelConfig

    steps = args.export_step or [None]
    tf, model, _, step, manager, config, chosen = build(args, steps[0])
    if not chosen:
        raise SystemExit(f"no checkpoint in {args.root / args.run}")
    meta = {"step": int(step.numpy()), "run": args.run, "checkpoint": os.path.basename(chosen)}
    paths = [_chosen_checkpoint(manager, s) for s in steps] if len(steps) > 1 or args.export_also else []
    names = [f"{args.run}/ckpt-{s}" for s in steps]
    for run, run_steps in args.export_also or []:
        stored = args.root / run / "config.json"
        if not stored.exists() or ModelConfig.from_dict(json.loads(stored.read_text())) != config:
            raise SystemExit(f"run `{run}` is not of run `{args.run}`'s architecture (or does not exist)")
        other = tf.train.CheckpointManager(tf.train.Checkpoint(), str(args.root / run / "ckpt"), max_to_keep=None)
        paths += [_chosen_checkpoint(other, s) for s in run_steps]
        names += [f"{run}/ckpt-{s}" for s in run_steps]
    if paths:
        average_checkpoints(tf, model, paths)
        meta = {"step": max(steps), "run": args.run, "averaged_steps": steps,
                "checkpoints": [f"ckpt-{s}" for s in steps]}
        if args.export_also:
            meta["averaged"] = names
    path = write_weights(model, args.export / "wavenet.npz", meta)
    what = f"the mean of {', '.join(names)}" if args.export_also else (
        f"the mean of steps {', '.join(map(str, steps))}" if len(steps) > 1 else f"step {meta['step']}")
    print(f"exported {what} to {path}", flush=True)
    return path


def average_checkpoints(tf, model, paths: list[str]) -> None:
    """Set every variable of ``model`` to its mean over the checkpoints ``paths`` (float64 sums)."""
    reader = tf.train.Checkpoint(model=model)
    sums = None
    for path in paths:
        reader.restore(path).expect_partial()
        values = [v.numpy().astype(np.float64) for v in model.variables]
        sums = values if sums is None else [total + value for total, value in zip(sums, values)]
    for variable, total in zip(model.variables, sums):
        variable.assign((total / len(paths)).astype(variable.dtype.as_numpy_dtype))


def write_weights(model, path: Path, meta: dict | None = None) -> Path:
    """Save ``model`` for the codec: ``w/<name>`` weights, ``level<l>/cdf`` and
    ``level<l>/cdf_offset`` coding tables, and ``meta_json`` (config and provenance).
    Plain arrays only (``np.load(allow_pickle=False)`` reads it)."""
    arrays = {f"w/{k}": v for k, v in model.weights().items()}
    for level in range(model.config.levels):
        for key, value in model.coding_tables(level).items():
            arrays[f"level{level}/{key}"] = value
    arrays["meta_json"] = np.array(json.dumps({"config": model.config.to_dict(), **(meta or {})}))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:  # np.savez(path) would append ".npz" to other names
        np.savez(handle, **arrays)
    return path


def load_validation(folder: Path, hop: int) -> dict[str, np.ndarray]:
    """The validation clips of ``folder`` (16 kHz mono float32, trimmed to whole latent frames).

    Raises:
        SystemExit: no clip there (write them with ``python -m neuralav.plugins.wavenet.data``).
    """
    from .evaluate import AUDIO_EXTENSIONS, load

    paths = sorted(p for ext in AUDIO_EXTENSIONS for p in folder.glob(f"*.{ext}"))
    if not paths:
        raise SystemExit(f"no validation clips in {folder}: python -m neuralav.plugins.wavenet.data {folder}")
    clips = {p.name: load(str(p)) for p in paths}
    return {name: x[:len(x) // hop * hop] for name, x in clips.items() if len(x) >= hop}


def validate(model, clips: dict[str, np.ndarray], sample_rate: int) -> list[dict[str, float]]:
    """Mean real metrics (``evaluate.metrics``: SNR, LSD, MCD, PESQ-WB and STOI when their
    packages are installed) of every level on ``clips``, through the float model with rounded
    latents and the decoder's DC blocker (:class:`.fixed.DCBlocker`; PESQ-WB can fail on what
    the synthesis leaves below 20 Hz), and the rate bound (kbps) of its entropy model."""
    import tensorflow as tf

    from .evaluate import metrics
    from .fixed import DCBlocker

    blocker = DCBlocker()
    rows = []
    for level in range(model.config.levels):
        values: dict[str, list[float]] = {}
        for x in clips.values():
            x_hat, bits = model.forward(tf.constant(x[None, :, None]), level, training=False)
            y, _ = blocker(x_hat.numpy()[:, :, 0], blocker.zero_state(1))
            row = metrics(x, y[0])
            row["kbps"] = float(bits.numpy()[0]) / (len(x) / sample_rate) / 1000.0
            for key, value in row.items():
                if value is not None:
                    values.setdefault(key, []).append(value)
        rows.append({key: float(np.mean(v)) for key, v in values.items()})
    return rows


def level_schedule(weights: str | None, levels: int) -> list[int]:
    """The cycle of levels the steps train: ``"1,3,1"`` -> ``[1, 0, 1, 2, 1]``, spread as
    evenly as the weights allow (``[0, 1, 2]`` by default, one step each).

    Raises:
        SystemExit: not one positive integer per level.
    """
    if weights is None:
        return list(range(levels))
    try:
        counts = [int(w) for w in weights.split(",")]
    except ValueError:
        counts = []
    if len(counts) != levels or min(counts) < 0 or sum(counts) == 0:
        raise SystemExit(f"--level-weights needs {levels} non-negative integers (not all 0), got {weights!r}")
    # Largest remainder: at each slot, the level furthest behind its share goes next.
    total, done, cycle = sum(counts), [0] * levels, []
    for slot in range(1, total + 1):
        level = max(range(levels), key=lambda lv: counts[lv] * slot / total - done[lv])
        done[level] += 1
        cycle.append(level)
    return cycle


def fit_priors(model, crops: np.ndarray, steps: int, seconds: float, lr: float = 1e-2) -> None:
    """Fit every level's prior to the (gained) latents of ``crops`` (N, T, 1), the
    transforms fixed: Adam on the noisy-quantization rate. Prints the rate (kbps per crop
    of ``seconds``) before and after."""
    import tensorflow as tf

    for level in range(model.config.levels):
        latents = tf.concat([model.analysis(tf.constant(crops[i:i + 32]))[0] * model.gain(level)
                             for i in range(0, len(crops), 32)], axis=0)
        em = model.training_entropy_model(level)
        variables = model.priors[level].trainable_variables
        optimizer = tf.keras.optimizers.Adam(learning_rate=lr)

        @tf.function
        def fit_step():
            with tf.GradientTape() as tape:
                _, bits = em(latents, training=True)
                kbps = tf.reduce_mean(bits) / seconds / 1000.0
            optimizer.apply_gradients(zip(tape.gradient(kbps, variables), variables))
            return kbps

        first = float(fit_step())
        for i in range(steps - 1):
            if i == int(0.8 * steps):
                optimizer.learning_rate.assign(lr / 10)
            last = float(fit_step())
        print(f"prior of level {level} fitted to {len(crops)} crops: {first:.2f} -> {last:.2f} kbps", flush=True)


def train(args) -> None:
    tf, model, optimizer, step, manager, config, _ = build(args)
    from . import data

    targets = [float(t) for t in args.targets.split(",")]
    if len(targets) != config.levels:
        raise SystemExit(f"`--targets` needs {config.levels} values, got {targets}")
    length = int(args.seconds * config.sample_rate) // config.hop * config.hop
    seconds = length / config.sample_rate
    # Seed the sampler with the step too, so a resumed run does not replay the same crops.
    try:
        arrays = data.prepare(args.data_cache, args.dataset)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(str(e)) from None
    if not 0.0 <= args.speed_up_share <= 1.0 or args.speed_up_max < 1.0:
        raise SystemExit("--speed-up-share must be in [0, 1] and --speed-up-max at least 1")
    sampler = Sampler(arrays, length, args.music, args.seed * 1000003 + int(step.numpy()),
                      args.speed_up_share, args.speed_up_max)
    if args.validate_every:
        validation = load_validation(args.validation_data or data.DEFAULT_VALIDATION, config.hop)
    with open(args.root / args.run / "commands.log", "a") as log:  # provenance for the model card
        log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC step {int(step.numpy())}: "
                  f"{' '.join(sys.argv)}\n")

    from .perceptual import pesq_disturbance, pesq_mos, stoi_correlation

    def make_step(level: int):
        transforms = list(model.params.values())
        prior = list(model.priors[level].trainable_variables)

        @tf.function(input_signature=[tf.TensorSpec([None, length, 1], tf.float32)])
        def train_step(x):
            with tf.GradientTape(persistent=True) as tape:
                x_hat, bits = model.forward(x, level, training=True)
                kbps = tf.reduce_mean(bits) / seconds / 1000.0
                xs, xhs = x[:, :, 0], x_hat[:, :, 0]
                wave = tf.reduce_mean(tf.abs(xs - xhs)) / (tf.reduce_mean(tf.abs(xs)) + 1e-4)
                pesq_d = tf.reduce_mean(pesq_disturbance(xs, xhs))
                stoi_c = tf.reduce_mean(stoi_correlation(xs, xhs))
                dist = (stft_loss(xs, xhs) + 0.1 * wave
                        + args.pesq_weight * pesq_d + args.stoi_weight * (1.0 - stoi_c))
                loss = (dist + args.rate_weight * tf.nn.relu(kbps - targets[level])
                        + args.rate_below_weight * tf.nn.relu(targets[level] - kbps) + args.rate_floor * kbps)
            # The prior learns the rate alone (its maximum-likelihood objective): the rate
            # targets steer the transforms and gains, never the density model.
            grads, _ = tf.clip_by_global_norm(tape.gradient(loss, transforms), 5.0)
            prior_grads, _ = tf.clip_by_global_norm(tape.gradient(kbps, prior), 5.0)
            optimizer.apply_gradients(zip(grads + prior_grads, transforms + prior))
            noise = tf.reduce_sum((xs - xhs) ** 2, axis=1)
            snr = tf.reduce_mean(10.0 * tf.math.log(tf.reduce_sum(xs ** 2, axis=1) / (noise + 1e-9))
                                 / tf.math.log(10.0))
            return loss, dist, kbps, snr, pesq_mos(pesq_d), stoi_c
        return train_step

    steps = [make_step(level) for level in range(config.levels)]
    if args.init_weights is not None and int(step.numpy()) == 0:
        fit_priors(model, sampler.batch(args.prior_crops), args.prior_fit_steps, seconds)
    stop = {"now": False}
    previous_handler = signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    stats = np.zeros((config.levels, 7))  # count, loss, dist, kbps, snr, pesq~, stoi~
    last = time.time()
    print(f"training {args.run}: {sum(int(np.prod(v.shape)) for v in model.trainable_variables)} parameters, "
          f"targets {targets} kbps, crops {args.batch}x{seconds:.2f} s", flush=True)
    schedule = level_schedule(args.level_weights, config.levels)
    while int(step.numpy()) < args.steps and not stop["now"]:
        current = int(step.numpy())
        level = schedule[current % len(schedule)]
        ramp = min(1.0, (current + 1) / args.lr_warmup) if args.lr_warmup else 1.0
        optimizer.learning_rate.assign(args.lr * ramp * (0.1 if current >= args.lr_decay_step else 1.0))
        values = steps[level](tf.constant(sampler.batch(args.batch)))
        stats[level] += [1, *(float(v) for v in values)]
        step.assign_add(1)
        current += 1
        if current % args.log_every == 0:
            rate = args.log_every / (time.time() - last)
            last = time.time()
            for lv in range(config.levels):
                n, loss, dist, kbps, snr, mos, stoi = stats[lv]
                if n:
                    print(f"step {current} level {lv} loss {loss / n:.3f} dist {dist / n:.3f} "
                          f"kbps {kbps / n:.2f} snr {snr / n:.1f} dB pesq~ {mos / n:.2f} stoi~ {stoi / n:.3f} "
                          f"{rate:.2f} steps/s", flush=True)
            stats[:] = 0
        if current % args.save_every == 0:
            manager.save(checkpoint_number=current)
        if args.validate_every and current % args.validate_every == 0:
            for lv, row in enumerate(validate(model, validation, config.sample_rate)):
                print(f"validation step {current} level {lv} " + " ".join(
                    f"{key} {row[key]:.3f}" for key in ("kbps", "pesq_wb", "stoi", "snr", "lsd") if key in row),
                    flush=True)
    signal.signal(signal.SIGTERM, previous_handler)
    manager.save(checkpoint_number=int(step.numpy()))
    print(f"saved step {int(step.numpy())} to {manager.latest_checkpoint}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.export_step is not None and args.export is None:
        parser.error("--export-step needs --export (training always resumes from the newest checkpoint)")
    if args.export_also and args.export_step is None:
        parser.error("--export-also needs --export and --export-step (this run's steps in the mean)")
    if args.export is not None:
        export(args)
    else:
        train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
