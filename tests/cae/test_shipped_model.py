"""The shipped `cae` weights, end to end on real camera footage: the variable-rate model over its
range and the one-level file that still codes quality 1."""

from __future__ import annotations

import pytest

from ..shipped import check_levels_code_a_photo

pytest.importorskip("tensorflow_compression")


@pytest.fixture(autouse=True)
def shipped_weights(monkeypatch):
    monkeypatch.delenv("NEURALAV_CAE_WEIGHTS_DIR", raising=False)


def test_every_model_loads_with_its_recorded_hash_and_codes_a_photo(camera_frame, tmp_path):
    check_levels_code_a_photo("cae", camera_frame, tmp_path, qualities=(0, 1, 3.625, 7), max_bpp=3.0)
