"""The `cae` evaluation command on real photo crops, with tiny one-level and variable-rate files."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("tensorflow_compression")

from ..vae.conftest import photo  # noqa: E402
from .conftest import make_tiny_variable_rate_model  # noqa: E402


def test_evaluate_measures_a_level_file_and_every_row_of_a_variable_rate_file(tmp_path, capsys):
    import tensorflow as tf
    from PIL import Image

    from neuralav.plugins.cae.config import ArchConfig
    from neuralav.plugins.cae.evaluate import main
    from neuralav.plugins.cae.model import CAEModel
    from neuralav.plugins.cae.weights import export_weights

    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(photo(192, 176, (100, 100))).save(images / "a.png")
    tf.keras.utils.set_random_seed(2)
    export_weights(CAEModel(ArchConfig.tiny()), tmp_path / "q3.npz")
    export_weights(make_tiny_variable_rate_model(), tmp_path / "vr.npz")
    assert main(["--data", str(images), "--weights", str(tmp_path / "q3.npz"), str(tmp_path / "vr.npz"),
                 "--json", str(tmp_path / "out.json")]) == 0
    out = capsys.readouterr().out
    assert "vr.npz:7" in out and "q3.npz" in out
    levels = json.loads((tmp_path / "out.json").read_text())["levels"]
    assert len(levels) == 1 + 8
    rows = levels[1:]
    assert [lv["row"] for lv in rows] == list(range(8))
    assert [lv["lmbda"] for lv in rows] == sorted(lv["lmbda"] for lv in rows)
    assert [lv["bpp"] for lv in rows] == sorted(lv["bpp"] for lv in rows)
    assert all(lv["bpp"] > 0 and 0 < lv["msssim"] <= 1 for lv in levels)
