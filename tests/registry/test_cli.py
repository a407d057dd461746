"""`neuralav codecs` and `--version`, called as a function and as the installed script."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from neuralav.container.cli import main


def test_codecs_table_lists_example_plugin_with_flags_fourcc_and_provider(capsys):
    assert main(["codecs"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Codecs:\n D..... = Decoding supported")
    line = next(row for row in out.splitlines() if " zlibv " in row)
    assert line.split()[:3] == ["DEVI.S", "zlibv", "ZLBV"]
    assert "[neuralav-zlib 1.0.0]" in line
    assert any(row.split()[:2] == ["DEA..S", "zliba"] for row in out.splitlines())


def test_codec_help_shows_options_with_types_ranges_and_defaults(capsys):
    assert main(["codecs", "zlibv"]) == 0
    out = capsys.readouterr().out
    assert "Codec zlibv [zlib with gradient prediction" in out
    assert "Supported pixel formats: rgb24 rgba gray yuv420p yuv444p" in out
    assert "-level        <int>  zlib compression level (from 0 to 9) (default 6)" in out
    assert "(one of none, up, gradient) (default gradient)" in out


def test_codecs_json_is_machine_readable(capsys):
    assert main(["codecs", "zliba", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "zliba" and data["type"] == "audio" and data["fourcc"] == "ZLBA"
    assert data["options"] == [{"name": "level", "type": "int", "default": 6, "min": 0, "max": 9,
                                "choices": None, "help": "zlib compression level", "nominal_rates": None}]


def test_unknown_codec_prints_one_line_error_and_exits_1(capsys):
    assert main(["codecs", "h265neural"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        err.strip()] and "unknown codec `h265neural` (available:" in err and "zlibv" in err


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == "neuralav 0.1.0"


def test_installed_console_script_lists_codecs():
    script = Path(sys.executable).parent / "neuralav"
    if not script.exists():
        script = shutil.which("neuralav")
    assert script, "the neuralav console script is not installed"
    result = subprocess.run([script, "codecs"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert " zlibv " in result.stdout
