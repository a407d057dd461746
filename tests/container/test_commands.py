"""`neuralav probe` and `neuralav demo` (the README's first command, with the shipped `cae` model)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import av
import pytest

from neuralav import container
from neuralav.container.cli import main
from neuralav.container.pipeline import StreamChoice, transcode
from neuralav.container.samples import SAMPLE

from . import media
from .conftest import run_tool


def test_probe_json_describes_neural_and_standard_tracks(clip, tmp_path, capsys):
    out = tmp_path / "n.mkv"
    transcode([clip], out, maps=["0:v", "0:a", "0:v"], codecs=[StreamChoice("", "copy"), StreamChoice("2", "zlibv")],
              codec_options=[StreamChoice("2", "level=4")])
    assert main(["probe", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"].startswith("matroska") and 0.39 <= info["duration"] <= 0.45
    h264, opus, neural = info["tracks"]
    assert (h264["codec"], h264["width"], h264["height"], h264["default"]) == ("h264", 96, 64, True)
    assert (opus["codec"], opus["sample_rate"], opus["default"]) == ("opus", 48000, True)
    assert neural["codec"] == "zlibv" and neural["default"] is False
    assert neural["neural"] == {"codec": "zlibv", "version": 1, "fields": {"level": 4, "predictor": "gradient"},
                                "fourcc": "ZLBV", "plugin": "neuralav-zlib", "installed": True}
    assert (neural["width"], neural["height"], neural["packets"]) == (96, 64, 10)
    assert neural["bit_rate"] == int(neural["bytes"] * 8 / neural["duration"])
    assert main(["probe", str(out)]) == 0
    text = capsys.readouterr().out
    assert "#2 video: zlibv [neural v1, level=4, predictor=gradient], 96x64, 25 fps" in text


def test_bundled_sample_is_small_real_video_and_speech():
    assert SAMPLE.is_file() and SAMPLE.stat().st_size < 1_000_000
    with container.open(SAMPLE) as f:
        assert [(t.type, t.codec) for t in f.streams] == [("video", "h264"), ("audio", "opus")]
        assert (f.streams[0].width, f.streams[0].height) == (352, 288)
    assert len(media.decode_video(SAMPLE)) == 50
    assert (SAMPLE.parent / "README.md").read_text().count("CC-BY-4.0") >= 1


def _neuralav_script() -> str:
    script = Path(sys.executable).parent / "neuralav"
    return str(script) if script.exists() else shutil.which("neuralav")


@pytest.mark.slow
def test_demo_writes_a_real_mkv_with_the_shipped_cae_model_and_prints_its_probe(tmp_path, tools):
    result = subprocess.run([_neuralav_script(), "demo", "-y", "--output", str(tmp_path / "demo-out")],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "video: cae [neural v1, quality=" in result.stdout
    mkv, mp4 = tmp_path / "demo-out" / "neural.mkv", tmp_path / "demo-out" / "decoded.mp4"
    with container.open(mkv) as f:
        codecs = [t.codec for t in f.streams]
        assert codecs[:3] == ["h264", "opus", "cae"]
        cae = f.streams[2]
        frames = list(f.decode(cae))
    assert len(frames) == 50 and frames[-1].pts == 1960 and (frames[0].width, frames[0].height) == (352, 288)
    # Every cae packet decodes back to the picture: the shipped model is close to the source.
    source = media.decode_video(SAMPLE)
    error = ((frames[10].to_ndarray(format="rgb24").astype(float) - source[10][1]) ** 2).mean()
    assert 10 * __import__("math").log10(255 ** 2 / error) > 25
    assert len(media.decode_video(mp4)) == 50
    with av.open(str(mp4)) as f:
        assert f.streams.video[0].codec_context.name == "h264"
    if "wavenet" in codecs:
        assert "audio with `wavenet`" in result.stdout
    else:
        assert "audio is only copied" in result.stdout
    if tools["ffprobe"]:
        assert run_tool("ffprobe", "-v", "error", str(mkv)).returncode == 0
    if tools["mkvinfo"]:
        assert run_tool("mkvinfo", str(mkv)).returncode == 0
    # Running it again without -y refuses to replace the outputs.
    again = subprocess.run([_neuralav_script(), "demo", "--output", str(tmp_path / "demo-out")],
                           capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert again.returncode == 1 and "already exists (use -y" in again.stderr


def test_make_sample_regenerates_the_clip_from_the_shared_media(shared_data, tmp_path):
    from neuralav.container.samples.make_sample import make_sample

    out = tmp_path / "sample.mkv"
    make_sample(shared_data, out)
    assert out.stat().st_size < 1_000_000
    assert len(media.decode_video(out)) == 50
    with av.open(str(out)) as f:
        assert sum(frame.samples for frame in f.decode(audio=0)) == 96000  # 2.0 s of Opus at 48 kHz


def test_dash_g_is_the_keyframe_interval_codec_option_per_stream():
    """``-g N`` as ffmpeg's: the same as ``-opt:v g=N`` (bare: the video streams), with stream
    specifiers, in command-line order."""
    from neuralav.container import cli

    args = cli.build_parser().parse_args(["transcode", "-i", "in.mkv", "-g", "4", "-opt:v", "quality=2",
                                          "-g:v:1", "12", "out.mkv"])
    assert args.codec_options == [StreamChoice("v", "g=4"), StreamChoice("v", "quality=2"),
                                  StreamChoice("v:1", "g=12")]


def test_dash_preset_is_the_preset_codec_option_per_stream():
    from neuralav.container import cli

    args = cli.build_parser().parse_args(["transcode", "-i", "in.mkv", "-preset", "slow", "-preset:v:1", "fast",
                                          "out.mkv"])
    assert args.codec_options == [StreamChoice("v", "preset=slow"), StreamChoice("v:1", "preset=fast")]
