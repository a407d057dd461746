"""The cae/vae training schedules take their data folders as arguments (no hardcoded paths)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


@pytest.mark.parametrize("codec", ["cae", "vae"])
def test_a_schedule_without_its_data_folders_prints_its_usage_and_starts_nothing(codec, tmp_path):
    result = subprocess.run(["bash", str(PLUGINS / codec / "train_schedule.sh")], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PY": "false",
                                 "TRAIN_ROOT": str(tmp_path / "runs")}, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("usage: ") and "PHOTOS_DIR" in result.stderr
    assert not (tmp_path / "runs").exists()
