"""`neuralav probe` with several files, and tracks it cannot size (issue 26, small things)."""

from __future__ import annotations

import json

from neuralav import container
from neuralav.container import ebml
from neuralav.container.cli import main

from .conftest import run_tool
from .test_input_layout import _void_flood
from .test_writer_reader import write_mixed


def test_probe_takes_several_files_and_describes_each(clip, tmp_path, capsys):
    second = tmp_path / "second.mkv"
    write_mixed(second)
    assert main(["probe", str(clip), str(second)]) == 0
    text = capsys.readouterr().out
    assert text.index(f"{clip}: matroska") < text.index(f"{second}: matroska")
    assert "#1 video: zlibv [neural v1" in text
    assert main(["probe", "--json", str(clip), str(second)]) == 0
    infos = json.loads(capsys.readouterr().out)
    assert [info["path"] for info in infos] == [str(clip), str(second)]
    assert [len(info["tracks"]) for info in infos] == [2, 4]


def test_probe_of_several_files_reports_the_unreadable_one_and_exits_1(clip, tmp_path, capsys):
    missing = tmp_path / "missing.mkv"
    assert main(["probe", str(missing), str(clip)]) == 1
    captured = capsys.readouterr()
    assert f"{clip}: matroska" in captured.out
    assert captured.err.strip() == f"neuralav probe: error: input `{missing}` does not exist"


def test_tracks_nobody_can_size_print_question_marks_not_none(tmp_path, capsys):
    source = tmp_path / "mixed.mkv"
    write_mixed(source)
    assert run_tool("mkvpropedit", str(source), "--tags", "all:").returncode == 0  # no tags name the codecs
    bare = _void_flood(source, tmp_path / "bare.mkv", 4 * ebml.MAX_TOP_LEVEL_ELEMENTS, seek_head=False)
    with container.open(bare) as f:  # the Tracks element is out of reach, and FFmpeg has no decoder
        assert [(t.codec, t.width, t.sample_rate) for t in f.streams][1:3] == [("unknown", 0, 0), ("unknown", 0, 0)]
    assert main(["probe", str(bare)]) == 0
    text = capsys.readouterr().out
    assert "None" not in text
    assert "#1 video: unknown, ?x?" in text and "#2 audio: unknown, ? Hz, ? ch" in text
