"""The stale-temporary cleanup never opens what is not a regular file (issue 27.7).

Anyone who may write the output folder can put a FIFO, a symlink or a folder under a
temporary's name (``.out.mkv.<pid>-<8 hex>.part.mkv``). Before, a FIFO there made every
later transcode to that target hang in the cleanup, a symlink was followed (a symlink to a
FIFO elsewhere hung it too) and a folder gave an IsADirectoryError traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from . import media

NEURALAV = Path(sys.executable).with_name("neuralav")


@pytest.fixture
def dead_pid():
    """The pid of a process that has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def temporary_name(target: Path, pid: int) -> Path:
    return target.with_name(f".{target.name}.{pid}-deadbeef.part{target.suffix}")


def remove_stale(target: Path) -> list[str]:
    """``atomic.remove_stale`` in a child with a deadline (a hang fails the test); the names removed."""
    code = ("import sys; from pathlib import Path; from neuralav.container import atomic; "
            "print(*(p.name for p in atomic.remove_stale(Path(sys.argv[1]))), sep='\\n')")
    result = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def transcode(clip: Path, target: Path) -> subprocess.CompletedProcess:
    """The real CLI, with a deadline: a hang fails the test instead of stalling it."""
    return subprocess.run([str(NEURALAV), "transcode", "-y", "-i", str(clip), "-c", "copy", str(target)],
                          capture_output=True, text=True, timeout=60)


def test_a_fifo_under_a_temporary_name_is_left_alone_and_the_output_written(clip, tmp_path, dead_pid):
    target = tmp_path / "out.mkv"
    fifo = temporary_name(target, dead_pid)
    os.mkfifo(fifo)
    result = transcode(clip, target)
    assert (result.returncode, result.stderr) == (0, "")
    assert media.packets(target, 0) == media.packets(clip, 0)
    assert fifo.exists() and not fifo.is_file()


def test_a_symlink_under_a_temporary_name_is_not_followed(clip, tmp_path, dead_pid):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.mkfifo(elsewhere / "fifo")
    precious = elsewhere / "precious.mkv"
    precious.write_bytes(b"precious")
    os.utime(precious, (0, 0))  # old enough to look stale
    target = tmp_path / "out.mkv"
    to_fifo, to_file = temporary_name(target, dead_pid), temporary_name(target, dead_pid + 1)
    to_fifo.symlink_to(elsewhere / "fifo")
    to_file.symlink_to(precious)
    assert transcode(clip, target).returncode == 0
    assert to_fifo.is_symlink() and to_file.is_symlink() and precious.read_bytes() == b"precious"
    assert remove_stale(target) == []


def test_a_folder_under_a_temporary_name_is_left_alone(clip, tmp_path, dead_pid):
    target = tmp_path / "out.mkv"
    folder = temporary_name(target, dead_pid)
    folder.mkdir()
    os.utime(folder, (0, 0))
    result = transcode(clip, target)
    assert (result.returncode, result.stderr) == (0, "")
    assert folder.is_dir()


def test_a_stale_regular_temporary_is_still_removed(tmp_path, dead_pid):
    target = tmp_path / "out.mkv"
    stale = temporary_name(target, dead_pid)
    stale.write_bytes(b"half a file")
    os.mkfifo(temporary_name(target, dead_pid + 1))
    assert remove_stale(target) == [stale.name]
    assert not stale.exists()
