"""Fixtures for the benchmark tests: small real pictures and a real speech clip, all shipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def small_photos(tmp_path_factory) -> Path:
    """A folder with two real camera pictures (frames 10 and 40 of the bundled sample clip,
    352x288), downscaled to 240x180 and 201x171.

    The second has odd sides (padding in the 4:2:0 video codecs) and both exceed
    the 161-pixel minimum of 5-scale MS-SSIM.
    """
    from tests.conftest import sample_frame

    folder = tmp_path_factory.mktemp("photos")
    for index, size in ((10, (240, 180)), (40, (201, 171))):
        picture = Image.fromarray(sample_frame(index))
        picture.resize(size, Image.LANCZOS).save(folder / f"foreman-{index:03d}.png")
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
    """A folder with one real speech clip (LibriSpeech, 16 kHz Ogg, shipped in ``tests/data``)."""
    from tests.conftest import SPEECH_CLIP

    return SPEECH_CLIP.parent
