"""The test suite leaves the user's environment as it was and prints no noise of its own."""

from __future__ import annotations

import importlib.metadata
import sysconfig
import warnings
from pathlib import Path

import pytest


def test_the_example_plugin_is_found_on_a_temporary_path_not_installed_into_the_environment(
        example_plugin_installed):
    distribution = importlib.metadata.distribution("neuralav-zlib")
    assert distribution.entry_points.select(group="neuralav", name="zlib")
    location = Path(distribution.locate_file("")).resolve()
    environment = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    assert location not in environment, f"neuralav-zlib was installed into {location}"
    assert location == example_plugin_installed.resolve()


def test_seeded_keras_layers_build_without_a_deprecation_warning():
    tf = pytest.importorskip("tensorflow")
    with warnings.catch_warnings(record=True) as caught:
        tf.keras.utils.set_random_seed(3)
        tf.keras.layers.Dense(2).build((None, 3))
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == []


def test_shipped_test_media_is_small_and_every_file_is_credited():
    from tests.conftest import SPEECH_CLIP, TEST_DATA

    files = [p for p in TEST_DATA.rglob("*") if p.is_file() and p.name != "README.md"]
    assert SPEECH_CLIP in files
    assert sum(p.stat().st_size for p in files) < 300_000
    readme = (TEST_DATA / "README.md").read_text()
    for path in files:
        if not path.name.startswith("CREDITS-"):
            assert f"`{path.relative_to(TEST_DATA)}`" in readme, f"{path} has no source/licence row"
            assert path.parent.joinpath(f"CREDITS-{path.stem}.txt").is_file()
