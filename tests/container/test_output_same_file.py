"""An output that is the same file as an input is refused, however it is spelled (issue 27.1).

Before, `neuralav transcode -y -i self.mkv ... self.mkv` exited 0 and replaced the input.
ffmpeg refuses ("Output ... same as Input #0 - exiting").
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neuralav.container.atomic import refuse_input_as_output
from neuralav.container.cli import main
from neuralav.container.errors import OutputPathError

from . import media

NEURALAV = Path(sys.executable).with_name("neuralav")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def own(clip, tmp_path):
    """A private copy of the clip (the test may destroy it if the check fails)."""
    path = tmp_path / "self.mkv"
    path.write_bytes(clip.read_bytes())
    return path


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(NEURALAV), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize("command", [
    ["transcode", "-y", "-i", "self.mkv", "-t", "0.3", "-map", "0:v", "-c", "copy", "self.mkv"],
    ["transcode", "-y", "-i", "self.mkv", "-t", "0.3", "-map", "0:v", "-c", "copy", "./self.mkv"],
    ["decode", "-y", "self.mkv", "self.mkv"],
])
def test_the_cli_refuses_to_write_over_its_input(own, command):
    before = digest(own)
    result = run_cli(*command, cwd=own.parent)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "is the same file as input #0 `self.mkv`" in result.stderr
    assert digest(own) == before
    assert sorted(p.name for p in own.parent.iterdir()) == ["self.mkv"]


@pytest.mark.parametrize("spelling", ["absolute", "dotted", "hard link", "symlink to the input",
                                      "input is a symlink to the output"])
def test_every_spelling_of_the_same_file_is_refused(own, spelling, capsys):
    before = digest(own)
    source, output = str(own), str(own)
    if spelling == "dotted":
        output = str(own.parent / "." / ".." / own.parent.name / "self.mkv")
    elif spelling == "hard link":
        os.link(own, own.parent / "linked.mkv")
        output = str(own.parent / "linked.mkv")
    elif spelling == "symlink to the input":
        (own.parent / "alias.mkv").symlink_to(own)
        output = str(own.parent / "alias.mkv")
    elif spelling == "input is a symlink to the output":
        (own.parent / "alias.mkv").symlink_to(own)
        source = str(own.parent / "alias.mkv")
    assert main(["transcode", "-y", "-i", source, "-map", "0:v", "-c", "copy", output]) == 1
    assert "is the same file as input #0" in capsys.readouterr().err
    assert digest(own) == before


def test_the_same_file_as_the_second_input_is_refused_and_named(own, clip, tmp_path, capsys):
    assert main(["decode", "-y", str(own), str(own)]) == 1
    assert main(["transcode", "-y", "-i", str(clip), "-i", str(own), "-map", "0:v", "-c", "copy", str(own)]) == 1
    assert f"is the same file as input #1 `{own}`" in capsys.readouterr().err


def test_a_different_file_or_a_new_output_is_not_refused(own, tmp_path):
    other = tmp_path / "other.mkv"
    refuse_input_as_output([own], other)  # does not exist yet
    other.write_bytes(own.read_bytes())  # same bytes, another inode
    refuse_input_as_output([own, "-"], other)
    assert main(["transcode", "-y", "-i", str(own), "-map", "0:v", "-c", "copy", str(other)]) == 0
    assert media.packets(other, 0) == media.packets(own, 0)
    with pytest.raises(OutputPathError):
        refuse_input_as_output([other], other)
