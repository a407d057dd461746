"""The shipped `vae` weights, end to end on real camera footage (loads all four levels).

The codec comes from the installed package's ``neuralav`` entry point, as a user gets it.
"""

from __future__ import annotations

import pytest

from neuralav import registry

from ..shipped import assert_another_process_decodes_the_same, code_levels

pytest.importorskip("tensorflow_compression")


@pytest.fixture(autouse=True)
def shipped_weights(monkeypatch):
    monkeypatch.delenv("NEURALAV_VAE_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("NEURALAV_CAE_WEIGHTS_DIR", raising=False)


def test_vae_is_registered_by_the_installed_package():
    assert "vae" in registry.default_registry().names()


def test_every_level_loads_with_its_recorded_hash_and_codes_a_photo(camera_frame, tmp_path):
    rates, qualities = code_levels("vae", camera_frame, tmp_path)
    # Higher levels spend more bits and give a better picture; all are usable photos.
    assert rates == sorted(rates) and qualities == sorted(qualities), (rates, qualities)
    assert 0.05 < rates[0] and rates[-1] < 2.0
    assert qualities[0] > 24.0
    # Another process, another thread configuration, the same pixels for every level.
    assert_another_process_decodes_the_same("vae", tmp_path)
