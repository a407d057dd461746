"""The shipped `vae` weights, end to end on real camera footage (loads all four levels).

The codec comes from the installed package's ``neuralav`` entry point, as a user gets it.
"""

from __future__ import annotations

import pytest

from neuralav import registry

from ..shipped import check_levels_code_a_photo

pytest.importorskip("tensorflow_compression")


@pytest.fixture(autouse=True)
def shipped_weights(monkeypatch):
    monkeypatch.delenv("NEURALAV_VAE_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("NEURALAV_CAE_WEIGHTS_DIR", raising=False)


def test_vae_is_registered_by_the_installed_package():
    assert "vae" in registry.default_registry().names()


def test_every_level_loads_with_its_recorded_hash_and_codes_a_photo(camera_frame, tmp_path):
    check_levels_code_a_photo("vae", camera_frame, tmp_path)
