"""`neuralav bench video`: whole clips through libx264/libx265 and a registry codec, real streams."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuralav.container import cli
from neuralav.container.bench import video
from neuralav.container.bench.errors import NoMediaError

SAMPLE = Path(__file__).resolve().parents[2] / "container" / "samples" / "sample.mkv"
"""The bundled 2 s CIF clip (H.264 + Opus): real camera footage that ships with the repository."""


@pytest.fixture(scope="module")
def quick_result() -> dict:
    codecs = video.standard_video_codecs() + video.registry_video_codecs(["zlibv"])
    config = video.VideoBenchConfig(clips=[SAMPLE], codecs=codecs, frames=8, quick=True, with_msssim=False)
    return video.run_video(config)


def _points(result: dict, codec: str) -> dict:
    return {p["setting"]: p for p in result["points"] if p["codec"] == codec}


def test_inter_prediction_makes_x264_smaller_than_x264_intra_at_every_crf(quick_result):
    inter, intra = _points(quick_result, "x264"), _points(quick_result, "x264-intra")
    assert inter.keys() == intra.keys() and len(inter) == 4
    for crf in inter:
        assert inter[crf]["bpp"] < intra[crf]["bpp"], crf
        assert inter[crf]["frames"] == 8


def test_rate_is_the_real_stream_size_over_every_pixel_of_the_clip(quick_result):
    clip = quick_result["dataset"]["clips"][0]
    assert (clip["width"], clip["height"], clip["frames"]) == (352, 288, 8)
    for point in quick_result["points"]:
        assert point["bpp"] == pytest.approx(8 * point["bytes"] / (352 * 288 * 8))
        assert point["kbps"] == pytest.approx(8 * point["bytes"] / (8 / clip["frame_rate"]) / 1000)


def test_lossless_registry_codec_is_measured_as_lossless(quick_result):
    (point,) = _points(quick_result, "zlibv").values()
    assert point["psnr"] == float("inf")
    assert point["encode_fps"] > 0 and point["decode_fps"] > 0


def test_bd_rates_per_clip_and_mean_against_both_anchors(quick_result):
    bd = quick_result["bd_rate"]
    assert bd["anchors"] == ["x264", "x264-intra"]
    intra_vs_inter = bd["mean"]["x264-intra"]["x264"]["psnr"]
    assert intra_vs_inter == bd["per_clip"]["sample.mkv"]["x264-intra"]["x264"]["psnr"]
    assert intra_vs_inter > 50  # intra-only needs far more bits on camera footage
    assert bd["mean"]["x264"]["x264-intra"]["psnr"] < 0


def test_table_lists_every_point_and_the_bd_rates(quick_result):
    table = video.format_video_table(quick_result)
    assert "sample.mkv: 352x288, 8 frames at 25 fps" in table
    assert sum(line.startswith("x264-intra ") for line in table.splitlines()) == 4 + 1 + 1  # points, BD, speed


def test_cli_writes_table_json_and_plot(tmp_path, capsys):
    code = cli.main(["bench", "video", str(SAMPLE), "--quick", "--frames", "4", "--standard", "x264,x264-intra",
                     "--no-neural", "--no-msssim", "--no-progress", "-o", str(tmp_path)])
    assert code == 0
    result = json.loads((tmp_path / "video.json").read_text())
    assert result["schema"] == video.VIDEO_SCHEMA
    assert {c["name"] for c in result["codecs"]} == {"x264", "x264-intra"}
    assert (tmp_path / "video.png").stat().st_size > 10_000
    assert "BD-rate" in capsys.readouterr().out


def test_missing_clip_is_one_clear_error(tmp_path, capsys):
    code = cli.main(["bench", "video", str(tmp_path / "nope.mp4"), "--no-neural", "--no-progress",
                     "-o", str(tmp_path)])
    assert code != 0
    assert "nope.mp4" in capsys.readouterr().err
    with pytest.raises(NoMediaError, match="nope.mp4"):
        video.load_clip(tmp_path / "nope.mp4", 4)



def test_neural_intra_codecs_are_anchors_of_the_inter_codec_of_their_family():
    """`nvc` (inter, vae keyframes) is compared with `vae` (intra): the issue's own-family BD-rate."""
    codecs = video.standard_video_codecs()[:1] + video.registry_video_codecs(["vae", "nvc", "zlibv"])
    assert video._intra_anchors(codecs) == ["vae"]  # nvc is inter; zlibv is not neural

    def curve(codec, rates, psnrs):
        return [{"codec": codec, "clip": "c", "bpp": r, "psnr": q, "msssim_db": None} for r, q in zip(rates, psnrs)]

    points = curve("vae", [0.2, 0.3, 0.45, 0.6], [29, 31, 32, 33]) + curve("nvc", [0.1, 0.15, 0.225, 0.3],
                                                                             [29, 31, 32, 33])
    bd = video._bd_per_clip(points, ["c"], ["x264", "vae"])
    assert bd["mean"]["nvc"]["vae"]["psnr"] == pytest.approx(-50.0)
