"""A neural audio track's Matroska Channels agrees with its WAVEFORMATEX (issue 26.5).

Before, every neural audio track was written with Channels = 2 (the carrier template's
stereo), so a mono `wavenet` track made `mkvmerge -J` report 2 channels, and every mkvmerge
remux warned and exited 1.
"""

from __future__ import annotations

import json

import pytest

from neuralav.container.cli import main

from . import media
from .conftest import run_tool


def channels_and_remux(path, tmp_path):
    """(mkvmerge -J's channels of each audio track, the remux's exit status and output)."""
    report = json.loads(run_tool("mkvmerge", "-J", str(path)).stdout)
    assert report["errors"] == [] and report["warnings"] == []
    channels = [t["properties"]["audio_channels"] for t in report["tracks"] if t["type"] == "audio"]
    remux = run_tool("mkvmerge", "-o", str(tmp_path / f"remux-{path.name}"), str(path))
    return channels, remux.returncode, remux.stdout


@pytest.fixture
def mkvmerge(tools):
    if not tools["mkvmerge"]:
        pytest.skip("mkvtoolnix not installed")


@pytest.mark.parametrize("channels", [1, 2])
def test_neural_audio_is_written_with_its_own_channel_count(mkvmerge, tmp_path, channels):
    source, out = tmp_path / "in.wav", tmp_path / "out.mkv"
    media.make_wav(source, samples=8000, channels=channels)
    assert main(["transcode", "-i", str(source), "-c:a", "zliba", str(out)]) == 0
    counted, status, log = channels_and_remux(out, tmp_path)
    assert (counted, status) == ([channels], 0)
    assert "Warning" not in log
    info = run_tool("mkvinfo", str(out)).stdout
    assert f"Channels: {channels}" in info and "format tag: 0x4e41" in info
    # A copy of the neural track keeps it.
    copied = tmp_path / "copied.mkv"
    assert main(["transcode", "-i", str(out), "-c", "copy", str(copied)]) == 0
    assert channels_and_remux(copied, tmp_path)[:2] == ([channels], 0)


def test_a_mono_wavenet_track_is_mono_to_mkvmerge(mkvmerge, tmp_path):
    source, out = tmp_path / "speech.wav", tmp_path / "speech.mkv"
    media.make_wav(source, samples=8000, rate=16000, channels=1)
    assert main(["transcode", "-i", str(source), "-c:a", "wavenet", "-q:a", "1", str(out)]) == 0
    counted, status, log = channels_and_remux(out, tmp_path)
    assert (counted, status) == ([1], 0)
    assert "Warning" not in log
