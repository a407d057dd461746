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
