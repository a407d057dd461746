"""The `cae` trainer's command line on a tiny model: train, resume, export, initialise."""

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


def test_train_resume_and_export(tmp_path, photos):
    from neuralav.plugins.cae.weights import load_model

    assert train.main(["--run", "r", "--steps", "3", *tiny(tmp_path, photos)]) == 0
    assert train.main(["--run", "r", "--steps", "5", "--export", str(tmp_path / "q.npz"),
                       *tiny(tmp_path, photos)]) == 0
    sessions = json.loads((tmp_path / "runs" / "r" / "run.json").read_text())["sessions"]
    assert [s["start_step"] for s in sessions] == [0, 3]
    assert sessions[-1]["end_step"] == 5
    model = load_model(tmp_path / "q.npz")
    assert model.config.num_filters == 8


def test_init_from_exported_weights_and_a_missing_file(tmp_path, photos, capsys):
    assert train.main(["--run", "a", "--steps", "2", "--export", str(tmp_path / "a.npz"),
                       *tiny(tmp_path, photos)]) == 0
    assert train.main(["--run", "b", "--steps", "2", "--warmup-steps", "2",
                       "--init-from", str(tmp_path / "a.npz"), *tiny(tmp_path, photos)]) == 0
    assert train.main(["--run", "c", "--steps", "2", "--init-from", str(tmp_path / "none.npz"),
                       *tiny(tmp_path, photos)]) == 2
    assert "none.npz" in capsys.readouterr().err


def test_resuming_with_another_architecture_is_refused(tmp_path, photos, capsys):
    assert train.main(["--run", "r", "--steps", "1", *tiny(tmp_path, photos)]) == 0
    args = tiny(tmp_path, photos)
    args[args.index("--num-filters") + 1] = "16"
    assert train.main(["--run", "r", "--steps", "2", *args]) == 2
    assert "num_filters" in capsys.readouterr().err


def test_freeze_steps_is_refused_for_a_codec_without_a_part_to_hold(tmp_path, capsys):
    assert train.main(["--run", "f", "--train-root", str(tmp_path), "--freeze-steps", "5"]) == 2
    assert "--freeze-steps: cae has no part to hold fixed" in capsys.readouterr().err
    assert train.main(["--run", "f", "--train-root", str(tmp_path), "--freeze-steps", "-1"]) == 2
    assert "--freeze-steps must be >= 0" in capsys.readouterr().err


def test_warmup_ramps_from_the_start_and_again_when_frozen_variables_are_released():
    import tensorflow as tf

    from neuralav.plugins.imaging.training import warmup_schedule

    constant = tf.keras.optimizers.schedules.PiecewiseConstantDecay([10_000], [1.0, 0.1])
    plain = warmup_schedule(4, constant)
    restarted = warmup_schedule(4, constant, restart_at=100)
    lr = lambda schedule, step: float(schedule(tf.constant(step, tf.int64)))  # noqa: E731
    assert [lr(plain, s) for s in (0, 1, 3, 50, 100, 101)] == [0.25, 0.5, 1.0, 1.0, 1.0, 1.0]
    assert [lr(restarted, s) for s in (0, 3, 99, 100, 101, 103, 104)] == [0.25, 1.0, 1.0, 0.25, 0.5, 1.0, 1.0]
