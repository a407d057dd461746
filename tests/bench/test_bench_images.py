"""`neuralav bench images`: the command end to end on small real photos, and its outputs."""

import json

import pytest
from PIL import Image

from neuralav.container.bench.report import to_json_safe
from neuralav.container.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def images_run(small_photos, tmp_path_factory):
    """One quick run with the example plugin's zlibv, JPEG, WebP and H.264, MS-SSIM included."""
    output = tmp_path_factory.mktemp("bench")
    status = main(["bench", "images", str(small_photos), "--quick", "--codec", "zlibv",
                   "--standard", "jpeg,webp,h264", "--repeats", "2", "-o", str(output), "--no-progress"])
    return status, output


def test_command_writes_table_json_and_png(images_run):
    status, output = images_run
    assert status == 0
    assert {p.name for p in output.iterdir()} == {"images.txt", "images.json", "images.png"}


def test_plot_is_a_valid_png_of_readable_size(images_run):
    _, output = images_run
    data = (output / "images.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    with Image.open(output / "images.png") as picture:
        picture.verify()
    with Image.open(output / "images.png") as picture:
        assert picture.format == "PNG" and picture.width >= 1200 and picture.height >= 400


def test_json_schema_and_one_point_per_codec_setting_and_image(images_run, small_photos):
    _, output = images_run
    result = json.loads((output / "images.json").read_text())
    assert result["schema"] == "neuralav-bench-images/1"
    assert set(result) >= {"dataset", "metrics", "codecs", "skipped", "points", "curves", "bd_rate", "speed", "run"}
    names = [c["name"] for c in result["codecs"]]
    assert names == ["jpeg", "webp", "h264", "zlibv"]
    images = sorted(p.name for p in small_photos.glob("*.png"))
    assert [i["name"] for i in result["dataset"]["images"]] == images
    settings = {c["name"]: c["settings"] for c in result["codecs"]}
    quick = {"jpeg": [10, 30, 60, 90], "webp": [10, 30, 60, 90], "h264": [20, 28, 36, 44], "zlibv": [None]}
    expected = {(c, s, i) for c, ss in quick.items() for s in ss for i in images}
    assert {(p["codec"], p["setting"], p["image"]) for p in result["points"]} == expected
    assert settings["zlibv"] == [None]
    assert result["run"]["command"].startswith("neuralav bench")


def test_bpp_is_eight_times_the_real_bytes_over_pixels(images_run):
    _, output = images_run
    result = json.loads((output / "images.json").read_text())
    for point in result["points"]:
        assert point["bytes"] > 0
        assert point["bpp"] == pytest.approx(8 * point["bytes"] / (point["width"] * point["height"]))


def test_lossless_codec_is_marked_and_lossy_points_have_sane_metrics(images_run):
    _, output = images_run
    result = json.loads((output / "images.json").read_text())
    for point in result["points"]:
        if point["codec"] == "zlibv":
            assert point["lossless"] and point["psnr"] is None and point["msssim"] == pytest.approx(1.0, abs=1e-5)
        else:
            assert not point["lossless"] and 15 < point["psnr"] < 55 and 0.5 < point["msssim"] < 1.0
            assert point["encode_s"] > 0 and point["decode_s"] > 0


def test_bd_rates_against_jpeg_and_webp(images_run):
    _, output = images_run
    bd = json.loads((output / "images.json").read_text())["bd_rate"]
    assert bd["anchors"] == ["jpeg", "webp"] and "VCEG-M33" in bd["method"]
    assert bd["results"]["jpeg"]["jpeg"]["psnr"] == pytest.approx(0.0, abs=1e-9)
    assert bd["results"]["webp"]["webp"]["msssim"] == pytest.approx(0.0, abs=1e-9)
    assert bd["results"]["webp"]["jpeg"]["psnr"] < 0  # WebP beats JPEG on photos
    assert bd["results"]["zlibv"]["jpeg"] == {"psnr": None, "msssim": None}  # lossless: no curve


def test_speed_section_times_every_codec_in_the_same_run(images_run):
    _, output = images_run
    speed = json.loads((output / "images.json").read_text())["speed"]
    assert set(speed["codecs"]) == {"jpeg", "webp", "h264", "zlibv"}
    for entry in speed["codecs"].values():
        for key in ("encode_s", "decode_s"):
            stats = entry[key]
            assert stats["n"] == 2 and 0 < stats["min"] <= stats["median"] <= stats["max"]
        assert entry["sweep_peak_mib"] >= 0 and entry["encode_peak_mib"] >= 0


def test_table_is_printed_and_saved(images_run, capsys):
    _, output = images_run
    table = (output / "images.txt").read_text()
    assert table.startswith("$ neuralav bench")
    for heading in ("Rate-distortion", "BD-rate in %", "Speed per image"):
        assert heading in table
    assert any(line.split()[:3] == ["zlibv", "default", line.split()[2]] for line in table.splitlines()
               if line.startswith("zlibv"))


def test_video_fps_is_measured_on_a_real_clip(small_photos, tmp_path, capsys):
    from neuralav.container.samples import SAMPLE as video
    status = main(["bench", "images", str(small_photos), "--quick", "--standard", "jpeg,webp", "--no-neural",
                   "--no-msssim", "--video", str(video), "--video-frames", "3", "-o", str(tmp_path),
                   "--no-progress"])
    assert status == 0
    result = json.loads((tmp_path / "images.json").read_text())
    video_result = result["speed"]["video"]
    assert (video_result["frames"], video_result["width"], video_result["height"]) == (3, 352, 288)
    assert set(video_result["codecs"]) == {"jpeg", "webp"}
    assert all(v["encode_fps"] > 0 and v["decode_fps"] > 0 for v in video_result["codecs"].values())
    assert "Video: 3 frames" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["bench", "images", "/nonexistent/folder"], "image folder `/nonexistent/folder` does not exist"),
    (["bench", "images", "{photos}", "--standard", "jpeg,bpg"], "`--standard` names bpg, not available here"),
    (["bench", "images", "{photos}", "--codec", "zliba"], "`zliba` is not a video codec"),
    (["bench", "images", "{photos}", "--repeats", "0"], "`--repeats` = 0 must be positive"),
])
def test_errors_are_one_line_naming_the_bad_value(argv, message, small_photos, tmp_path, capsys):
    argv = [a.replace("{photos}", str(small_photos)) for a in argv] + ["-o", str(tmp_path / "out")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("neuralav bench: error: ") and message in err and err.count("\n") == 1


def test_empty_folder_is_an_error(tmp_path, capsys):
    assert main(["bench", "images", str(tmp_path), "-o", str(tmp_path / "out")]) == 1
    assert "no image" in capsys.readouterr().err


def test_json_never_holds_nan_or_infinity():
    assert to_json_safe({"a": float("inf"), "b": [float("nan"), 1.5], "c": (1, "x")}) == \
        {"a": None, "b": [None, 1.5], "c": [1, "x"]}


def test_progress_bars_cover_the_sweep_and_the_speed_section(small_photos):
    import functools
    import io

    from tqdm import tqdm

    from neuralav.container.bench.image_codecs import standard_image_codecs
    from neuralav.container.bench.images import ImageBenchConfig, run_images

    stream = io.StringIO()
    codecs = [c for c in standard_image_codecs() if c.name in ("jpeg", "webp")]
    config = ImageBenchConfig(folder=small_photos, codecs=codecs, quick=True, with_msssim=False, speed_images=1,
                              speed_repeats=1, progress=functools.partial(tqdm, file=stream, disable=False, ncols=80))
    run_images(config)
    text = stream.getvalue()
    assert "rate-distortion: 100%" in text and "16/16" in text  # 2 codecs x 4 settings x 2 images
    assert "speed: 100%" in text


def test_no_progress_bar_off_a_terminal(small_photos, tmp_path, capsys):
    assert main(["bench", "images", str(small_photos), "--quick", "--no-neural", "--no-msssim",
                 "--standard", "jpeg,webp", "--repeats", "1", "-o", str(tmp_path)]) == 0
    assert "%|" not in capsys.readouterr().err


def test_a_registry_codec_that_cannot_load_is_skipped_with_the_reason(small_photos):
    from neuralav.container.bench.image_codecs import RegistryImageCodec, standard_image_codecs
    from neuralav.container.bench.images import ImageBenchConfig, run_images
    from neuralav.registry import Capability, CodecDescriptor, MediaType, Option

    missing = CodecDescriptor(
        name="notinstalled", long_name="a codec no plugin registers", media_type=MediaType.VIDEO,
        capabilities=Capability.LOSSY | Capability.NEURAL, formats=("rgb24",),
        options=(Option("quality", int, 1, "level", min=1, max=2),), version=1, fourcc="NONE",
        encoder="nowhere:Encoder", decoder="nowhere:Decoder")
    jpeg = standard_image_codecs()[0]
    config = ImageBenchConfig(folder=small_photos, codecs=[jpeg, RegistryImageCodec(missing)], quick=True,
                              with_msssim=False, speed_images=1, speed_repeats=1)
    with pytest.warns(RuntimeWarning, match="skipping codec `notinstalled`"):
        result = run_images(config)
    assert [c["name"] for c in result["codecs"]] == ["jpeg"]
    (skipped,) = result["skipped"]
    assert skipped["codec"] == "notinstalled" and "unknown codec `notinstalled`" in skipped["reason"]
