"""The VAE trainer on the shared training loop: train, resume, export, refuse a changed model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from .conftest import photo

TINY = ["--num-filters", "8", "--latent-channels", "8", "--hyper-filters", "8",
        "--batch", "4", "--crop", "64", "--log-every", "2", "--no-half-scale"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Two real photo crops as PNG files (never Kodak)."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("photos")
    for i, offset in enumerate([(0, 0), (200, 300)]):
        Image.fromarray(photo(96, 80, offset)).save(folder / f"crop{i}.png")
    return folder


def train(capsys, *argv) -> tuple[int, str, str]:
    """Runs the trainer's ``main``; returns (exit status, stdout, stderr)."""
    from neuralav.plugins.vae.train import main

    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_train_resume_export_fine_tune_and_refuse_another_architecture(tmp_path, data_dir, capsys):
    from neuralav.plugins.vae.weights import load_model

    common = ["--run", "r", "--train-root", tmp_path, "--data", data_dir, *TINY]
    status, out, _ = train(capsys, *common, "--steps", "2")
    assert status == 0 and "step 2 loss" in out and "bpp" in out and "psnr" in out
    assert "checkpoint" in out

    status, out, _ = train(capsys, *common, "--steps", "4", "--export", tmp_path / "vae.npz")
    assert status == 0 and "resumed" in out and "at step 2" in out and "exported step 4" in out
    model = load_model(tmp_path / "vae.npz")
    assert model.num_levels == 4 and model.config.num_filters == 8
    side, string, _ = model.compress(photo(70, 50), 3)
    picture, _ = model.decompress(side, string, 3, 70, 50)
    assert picture.shape == (50, 70, 3)

    meta = json.loads((tmp_path / "r" / "run.json").read_text())
    assert meta["config"]["num_filters"] == 8 and len(meta["sessions"]) == 2
    assert meta["sessions"][1]["start_step"] == 2 and meta["sessions"][1]["end_step"] == 4

    status, out, _ = train(capsys, "--run", "r", "--train-root", tmp_path, "--export-only",
                        "--export", tmp_path / "again.npz")
    assert status == 0 and "exported step 4" in out  # architecture restored from run.json
    np.testing.assert_array_equal(load_model(tmp_path / "again.npz").log_gain.numpy(), model.log_gain.numpy())

    status, _, err = train(capsys, *common[:-len(TINY)], *TINY[:1], "16", *TINY[2:], "--steps", "6")
    assert status == 2 and "num_filters=8, not 16" in err

    # Fine-tuning: a new run starts from the exported weights. With --freeze-steps covering
    # the whole run, the main transforms and gains stay exactly put while the hyperprior trains.
    fine = ["--run", "fine", "--train-root", tmp_path, "--data", data_dir, *TINY,
            "--init-from", tmp_path / "vae.npz"]
    status, _, err = train(capsys, *fine, "--export-only", "--export", tmp_path / "fine.npz")
    assert status == 2 and "nothing to export" in err
    status, out, _ = train(capsys, *fine, "--steps", "2", "--lr", "1e-2", "--freeze-steps", "2",
                           "--export", tmp_path / "fine.npz")
    assert status == 0 and "initialised from" in out
    fine_model = load_model(tmp_path / "fine.npz")
    held = lambda m: [m.log_gain, m.log_inverse_gain, *m.analysis_transform.trainable_variables,  # noqa: E731
                      *m.synthesis_transform.trainable_variables]
    for before, after in zip(held(model), held(fine_model), strict=True):
        np.testing.assert_array_equal(after.numpy(), before.numpy())
    hyper = lambda m: m.hyper_synthesis_transform.trainable_variables  # noqa: E731
    assert any(not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(hyper(model), hyper(fine_model)))
