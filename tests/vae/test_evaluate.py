"""The evaluation command on real photo crops (MS-SSIM needs >= 176 px) with the tiny model."""

from __future__ import annotations

import json

from .conftest import photo


def test_evaluate_measures_every_level_and_writes_json(tmp_path, tiny_weights_dir, capsys):
    from PIL import Image

    from neuralav.plugins.vae.evaluate import main

    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(photo(192, 176, (100, 100))).save(images / "a.png")
    Image.fromarray(photo(180, 200, (300, 500))).save(images / "b.ppm")
    assert main(["--data", str(images), "--weights",
                 *(str(tiny_weights_dir / f"q{q}.npz") for q in (1, 2, 3, 4)),
                 "--json", str(tmp_path / "out.json")]) == 0
    out = capsys.readouterr().out
    assert "2 images" in out and out.count("\n| ") >= 5  # header + 4 levels
    result = json.loads((tmp_path / "out.json").read_text())
    levels = result["levels"]
    assert [lv["level"] for lv in levels] == [1, 2, 3, 4]
    for lv in levels:
        assert [row["image"] for row in lv["images"]] == ["a.png", "b.ppm"]
        # rate counts both strings and the payload header
        assert all(row["bytes"] > row["side_bytes"] + 14 for row in lv["images"])
        assert lv["bpp"] > 0 and 0 < lv["msssim"] <= 1
    assert [lv["bpp"] for lv in levels] == sorted(lv["bpp"] for lv in levels)
