"""Fixtures for the container tests: real clips and the installed example plugin's codecs."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from . import media


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """10 frames of H.264 96x64 at 25 fps (GOP 5, B-frames) + 0.4 s of Opus, in Matroska."""
    return media.make_clip(tmp_path_factory.mktemp("clip") / "clip.mkv", frames=10)


@pytest.fixture
def tools():
    """Which independent readers are installed: {'ffprobe': path|None, 'mkvinfo': ..., 'mkvmerge': ...}."""
    return {name: shutil.which(name) for name in ("ffprobe", "mkvinfo", "mkvmerge", "ffmpeg")}


def run_tool(*args: str) -> subprocess.CompletedProcess:
    """Run an external reader, returning its completed process (text output)."""
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120)
