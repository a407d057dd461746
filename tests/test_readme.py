"""The README's examples work on a clone as written: paths inside the repository, output as shown."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def _code_blocks() -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", README, re.MULTILINE | re.DOTALL)


def test_examples_name_no_path_outside_the_clone():
    outside = [line for block in _code_blocks() for line in block.splitlines() if "../" in line]
    assert outside == []


def test_the_bundled_sample_is_named_by_its_path_in_the_repository():
    for match in re.finditer(r"\S*sample\.mkv", README):
        assert match[0].lstrip("`").startswith("container/samples/sample.mkv"), match[0]
    assert (REPO / "container" / "samples" / "sample.mkv").is_file()


@pytest.mark.slow
def test_the_probe_example_prints_what_the_readme_shows(tmp_path):
    """Runs the README's cae transcode of the sample clip and its `neuralav probe`."""
    from neuralav.container.cli import main

    console = next(block for block in _code_blocks() if "$ neuralav probe clip.mkv" in block).splitlines()
    transcode = next(line for line in console if line.startswith("$ neuralav transcode") and "-c:v cae" in line
                     and line.rstrip().endswith(" clip.mkv"))
    probe = console.index(next(line for line in console if line.startswith("$ neuralav probe clip.mkv")))
    shown = []
    for line in console[probe + 1:]:
        if line.startswith("$"):
            break
        shown.append(line)
    args = shlex.split(transcode[1:], comments=True)[1:]
    args = [str(REPO / a) if a == "container/samples/sample.mkv" else a for a in args]
    args[-1] = str(tmp_path / "clip.mkv")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(args) == 0
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(["probe", str(tmp_path / "clip.mkv")]) == 0
    assert printed.getvalue().replace(str(tmp_path / "clip.mkv"), "clip.mkv").splitlines() == shown
