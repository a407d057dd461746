"""The `cae` trainer's command line on tiny models: train, resume, export, initialise, refuse;
the variable-rate model from a `vae` file."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("tensorflow_compression")

from neuralav.plugins.cae import train  # noqa: E402


@pytest.fixture
def photos(tmp_path, camera_frame):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(camera_frame).save(folder / "foreman.png")
    return folder


def tiny(tmp_path, photos, *extra):
    return ["--train-root", str(tmp_path / "runs"), "--data", str(photos), "--num-filters", "8",
            "--latent-channels", "8", "--batch", "2", "--crop", "64", "--threads", "1", *extra]


def test_train_resume_export_initialise_and_refuse_another_architecture(tmp_path, photos, capsys):
    from neuralav.plugins.cae.weights import load_model

    assert train.main(["--run", "r", "--steps", "3", *tiny(tmp_path, photos)]) == 0
    assert train.main(["--run", "r", "--steps", "5", "--export", str(tmp_path / "q.npz"),
                       *tiny(tmp_path, photos)]) == 0
    sessions = json.loads((tmp_path / "runs" / "r" / "run.json").read_text())["sessions"]
    assert [s["start_step"] for s in sessions] == [0, 3]
    assert sessions[-1]["end_step"] == 5
    model = load_model(tmp_path / "q.npz")
    assert model.config.num_filters == 8

    args = tiny(tmp_path, photos)
    args[args.index("--num-filters") + 1] = "16"
    assert train.main(["--run", "r", "--steps", "6", *args]) == 2
    assert "num_filters" in capsys.readouterr().err

    assert train.main(["--run", "b", "--steps", "2", "--warmup-steps", "2",
                       "--init-from", str(tmp_path / "q.npz"), *tiny(tmp_path, photos)]) == 0
    assert "initialised from" in capsys.readouterr().out
    assert train.main(["--run", "c", "--steps", "2", "--init-from", str(tmp_path / "none.npz"),
                       *tiny(tmp_path, photos)]) == 2
    assert "none.npz" in capsys.readouterr().err


def test_freeze_steps_is_refused_for_a_codec_without_a_part_to_hold(tmp_path, capsys):
    from neuralav.plugins.nvc import train as nvc_train

    assert nvc_train.main(["--run", "f", "--train-root", str(tmp_path), "--freeze-steps", "5"]) == 2
    assert "--freeze-steps: nvc has no part to hold fixed" in capsys.readouterr().err
    assert train.main(["--run", "f", "--train-root", str(tmp_path), "--freeze-steps", "-1"]) == 2
    assert "--freeze-steps must be >= 0" in capsys.readouterr().err


LMBDAS = ["0.00125", "0.0025", "0.005", "0.01", "0.02", "0.04", "0.08", "0.16"]


def test_the_variable_rate_model_trains_from_a_vae_file_with_its_prior_first(tmp_path, photos):
    """``--lmbdas`` trains the variable-rate model; from a ``vae`` file it takes the main
    transforms and the gain rows, and ``--freeze-steps`` holds them while the prior learns."""
    import numpy as np

    from neuralav.plugins.cae.variable_rate import VariableRateCAE
    from neuralav.plugins.cae.weights import load_model
    from neuralav.plugins.vae.config import ArchConfig as VAEConfig
    from neuralav.plugins.vae.model import VAEModel
    from neuralav.plugins.vae.weights import export_weights as export_vae

    vae = VAEModel(VAEConfig.tiny(), [float(v) for v in LMBDAS])
    vae.log_gain.assign(vae.log_gain + 1.5)
    export_vae(vae, tmp_path / "vae.npz")
    out = tmp_path / "vr.npz"
    assert train.main(["--run", "v", "--steps", "3", "--freeze-steps", "2", "--lmbdas", *LMBDAS,
                       "--init-from", str(tmp_path / "vae.npz"), "--export", str(out),
                       *tiny(tmp_path, photos)]) == 0
    model = load_model(out)
    assert isinstance(model, VariableRateCAE) and model.lmbdas == tuple(float(v) for v in LMBDAS)
    ours, theirs = model.named_weights(), vae.named_weights()
    kernels = [name for name in ours if name.startswith("analysis/") and "kernel" in name]
    assert kernels and all(name in theirs for name in kernels)
    # held for 2 steps, trained for 1: moved, but only a little
    moved = [not np.array_equal(ours[n].numpy(), theirs[n].numpy()) for n in kernels]
    assert any(moved)
    assert np.allclose(model.log_gain.numpy(), vae.log_gain.numpy(), atol=0.01)


def test_warmup_ramps_from_the_start_and_again_when_frozen_variables_are_released():
    import tensorflow as tf

    from neuralav.plugins.imaging.training import warmup_schedule

    constant = tf.keras.optimizers.schedules.PiecewiseConstantDecay([10_000], [1.0, 0.1])
    plain = warmup_schedule(4, constant)
    restarted = warmup_schedule(4, constant, restart_at=100)
    lr = lambda schedule, step: float(schedule(tf.constant(step, tf.int64)))  # noqa: E731
    assert [lr(plain, s) for s in (0, 1, 3, 50, 100, 101)] == [0.25, 0.5, 1.0, 1.0, 1.0, 1.0]
    assert [lr(restarted, s) for s in (0, 3, 99, 100, 101, 103, 104)] == [0.25, 1.0, 1.0, 0.25, 0.5, 1.0, 1.0]
