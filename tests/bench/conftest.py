"""Fixtures for the benchmark tests: small real photos and a short real speech clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def small_photos(tmp_path_factory) -> Path:
    """A folder with two real photos from ``shared/data/photos``, downscaled to 240x180 and 201x171.

    The second has odd sides (padding in the 4:2:0 video codecs) and both exceed
    the 161-pixel minimum of 5-scale MS-SSIM.
    """
    from tests.conftest import SHARED_DATA

    photos = sorted((SHARED_DATA / "photos").glob("*.png"))[:2]
    if len(photos) < 2:
        pytest.skip(f"shared photos not found in {SHARED_DATA / 'photos'}")
    folder = tmp_path_factory.mktemp("photos")
    for path, size in zip(photos, ((240, 180), (201, 171))):
        with Image.open(path) as picture:
            picture.convert("RGB").resize(size, Image.LANCZOS).save(folder / path.name)
    (folder / "notes.txt").write_text("not an image: ignored\n")
    return folder


@pytest.fixture(scope="session")
def photo(small_photos) -> np.ndarray:
    """The first small photo as an HxWx3 uint8 array."""
    path = sorted(small_photos.glob("*.png"))[0]
    with Image.open(path) as picture:
        return np.asarray(picture.convert("RGB"))


@pytest.fixture(scope="session")
def speech_folder() -> Path:
    """The shared speech folder (three LibriSpeech utterances, 16 kHz Ogg)."""
    from tests.conftest import SHARED_DATA

    folder = SHARED_DATA / "speech"
    if not any(folder.glob("*.ogg")):
        pytest.skip(f"shared speech not found in {folder}")
    return folder
