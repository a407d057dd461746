"""The shipped `cae` weights, end to end on real camera footage (loads all four levels)."""

from __future__ import annotations

import pytest

from ..shipped import check_levels_code_a_photo

pytest.importorskip("tensorflow_compression")


@pytest.fixture(autouse=True)
def shipped_weights(monkeypatch):
    monkeypatch.delenv("NEURALAV_CAE_WEIGHTS_DIR", raising=False)


def test_every_level_loads_with_its_recorded_hash_and_codes_a_photo(camera_frame, tmp_path):
    check_levels_code_a_photo("cae", camera_frame, tmp_path)
