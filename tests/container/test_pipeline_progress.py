"""The progress bar follows the input consumed, audio-only transcodes (wavenet) included, and is
labelled with the command that runs (issue 26, small things)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from neuralav.container import pipeline
from neuralav.container.pipeline import StreamChoice, transcode

from . import media


class _Recording(pipeline.Progress):
    """A progress bar (off) that records where it was moved to."""

    positions: list[float] = []
    labels: list[str] = []

    def __init__(self, total, enabled=None, label="transcode"):
        super().__init__(total, enabled=False, label=label)
        type(self).labels.append(label)

    def advance(self, seconds, frames=0):
        super().advance(seconds, frames)
        type(self).positions.append(self.position)


@pytest.fixture
def recording(monkeypatch):
    _Recording.positions, _Recording.labels = [], []
    monkeypatch.setattr(pipeline, "Progress", _Recording)
    return _Recording


@pytest.mark.parametrize("codec", ["zliba", "wavenet"])
def test_an_audio_only_transcode_advances_with_the_input(tmp_path, recording, codec):
    media.make_wav(tmp_path / "in.wav", samples=16000, rate=16000)  # 1 s
    transcode([tmp_path / "in.wav"], tmp_path / "out.mka", codecs=[StreamChoice("a", codec)])
    positions = recording.positions
    assert len(set(positions)) >= 5, positions  # many steps, not one jump at the end
    assert positions == sorted(positions) and positions[-1] == pytest.approx(1.0, abs=0.01)
    assert recording.labels == ["transcode"]


def test_decode_labels_its_bar_decode(tmp_path):
    media.make_wav(tmp_path / "in.wav", samples=16000, rate=16000)
    transcode([tmp_path / "in.wav"], tmp_path / "n.mka", codecs=[StreamChoice("a", "zliba")])
    run = subprocess.run([sys.executable, "-m", "neuralav.container.cli", "decode", "--progress",
                          str(tmp_path / "n.mka"), str(tmp_path / "out.wav")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "decode:" in run.stderr and "transcode" not in run.stderr, run.stderr
    assert "100%" in run.stderr
