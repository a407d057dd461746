"""`neuralav bench audio`: the command end to end on real speech, Opus and the zliba example codec."""

import json

import numpy as np
import pytest
from PIL import Image

from neuralav.container.bench.audio_codecs import OpusCodec, align, registry_audio_codecs
from neuralav.container.bench.errors import BenchError
from neuralav.container.cli import main


@pytest.fixture(scope="module")
def audio_run(speech_folder, tmp_path_factory):
    output = tmp_path_factory.mktemp("bench-audio")
    status = main(["bench", "audio", str(speech_folder), "--quick", "--max-seconds", "3", "--codec", "zliba",
                   "--opus-kbps", "6,8,12,16", "--repeats", "2", "-o", str(output), "--no-progress"])
    return status, output, json.loads((output / "audio.json").read_text())


def test_command_writes_table_json_and_a_valid_png(audio_run):
    status, output, _ = audio_run
    assert status == 0
    assert {p.name for p in output.iterdir()} == {"audio.txt", "audio.json", "audio.png"}
    assert (output / "audio.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(output / "audio.png") as picture:
        picture.verify()
    assert "PESQ-WB" in (output / "audio.txt").read_text()


def test_json_schema_and_points(audio_run):
    _, _, result = audio_run
    assert result["schema"] == "neuralav-bench-audio/1"
    assert [c["name"] for c in result["codecs"]] == ["opus", "zliba"]
    assert result["dataset"]["rate"] == 16000 and result["dataset"]["clips"][0]["seconds"] == pytest.approx(3.0)
    settings = {(p["codec"], p["setting"]) for p in result["points"]}
    assert settings == {("opus", 6.0), ("opus", 8.0), ("opus", 12.0), ("opus", 16.0), ("zliba", None)}
    for point in result["points"]:
        assert point["kbps"] == pytest.approx(8 * point["bytes"] / point["seconds"] / 1000)
        assert point["encode_rtf"] == pytest.approx(point["encode_s"] / point["seconds"])


def test_lossless_codec_is_exact_and_opus_meets_its_bitrate(audio_run):
    _, _, result = audio_run
    for point in result["points"]:
        if point["codec"] == "zliba":
            assert point["lossless"] and point["snr_db"] is None and point["lag_samples"] == 0
            assert point["lsd_db"] == 0.0 and point["pesq_wb"] > 4.5 and point["stoi"] == pytest.approx(1.0)
        else:
            assert point["kbps"] == pytest.approx(point["setting"], rel=0.25)
            assert 1.0 <= point["pesq_wb"] <= 4.64 and 0.5 < point["stoi"] < 1.0
    curve = result["curves"]["opus"]
    assert [p["pesq_wb"] for p in curve] == sorted(p["pesq_wb"] for p in curve)  # more bits, better


def test_bd_rate_against_opus_and_speed(audio_run):
    _, _, result = audio_run
    assert result["bd_rate"]["results"]["opus"]["opus"]["pesq_wb"] == pytest.approx(0.0, abs=1e-9)
    assert result["opus_matched_kbps"] == []  # zliba is lossless: no Opus rate to match
    speed = result["speed"]["codecs"]
    assert set(speed) == {"opus", "zliba"}
    assert all(s["encode_rtf"]["n"] == 2 and s["decode_rtf"]["median"] > 0 for s in speed.values())


def test_opus_round_trip_is_aligned_and_lossy(speech_folder):
    from neuralav.container.bench.audio import load_clip

    clip = load_clip(sorted(speech_folder.glob("*.ogg"))[0], 16000, max_seconds=2.0)
    stream = OpusCodec([12]).open(12, 16000)
    decoded = stream.decode(stream.encode(clip))
    reference, degraded, lag = align(clip, decoded, 1600)
    assert 0 <= lag < 400 and reference.size == degraded.size > 0.95 * clip.size
    assert np.corrcoef(reference, degraded)[0, 1] > 0.8


def test_align_finds_a_known_delay():
    signal = np.random.default_rng(4).standard_normal(4000).astype(np.float32)
    delayed = np.concatenate([np.zeros(37, np.float32), signal])
    reference, degraded, lag = align(signal, delayed, 200)
    assert lag == 37
    np.testing.assert_array_equal(reference, degraded)


def test_bad_audio_arguments_are_refused(speech_folder, tmp_path, capsys):
    with pytest.raises(BenchError, match="not 44100 Hz"):
        OpusCodec([12]).open(12, 44100)
    with pytest.raises(BenchError, match="`zlibv` is not an audio codec"):
        registry_audio_codecs(["zlibv"])
    assert main(["bench", "audio", str(speech_folder), "--opus-kbps", "6,x", "-o", str(tmp_path)]) == 1
    assert "`--opus-kbps` = '6,x'" in capsys.readouterr().err
