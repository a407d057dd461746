"""Training images for the image codecs: folders of photos held in memory, random crops.

Sources used for the shipped models are listed in each codec's ``weights/MODEL_CARD.md``.
Never point this at Kodak (evaluation only).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image

__all__ = ["IMAGE_SUFFIXES", "list_images", "load_images", "prepare_extra_photos", "CropSampler"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".webp")


def list_images(folders: Iterable[str | os.PathLike]) -> list[Path]:
    """Image files (by suffix) directly inside each folder, sorted by path."""
    files: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"training folder {folder} does not exist")
        files += sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if "kodak" in " ".join(str(f).lower() for f in files):
        raise ValueError("Kodak images are for evaluation only; remove them from the training folders")
    return files


def load_images(files: Sequence[Path], min_size: int, half_scale: bool = True) -> list[np.ndarray]:
    """Loads images as HxWx3 uint8 RGB arrays.

    Args:
        files: Image files.
        min_size: Images (or half-scale copies) with a side below this are skipped.
        half_scale: Also add a ×0.5 (Lanczos) copy of each image: more content
            per crop and fewer capture/JPEG artefacts.
    """
    images = []
    for path in files:
        with Image.open(path) as im:
            im = im.convert("RGB")
            versions = [im]
            if half_scale:
                versions.append(im.resize((im.width // 2, im.height // 2), Image.LANCZOS))
            for version in versions:
                if min(version.size) >= min_size:
                    images.append(np.asarray(version, dtype=np.uint8))
    if not images:
        raise ValueError(f"no training image of at least {min_size} px among {len(files)} files")
    return images


def prepare_extra_photos(sources: Iterable[str | os.PathLike], out_dir: str | os.PathLike) -> list[Path]:
    """Downscales photos ×2 (Lanczos) into `out_dir` as PNG, to hide JPEG artefacts.

    Used for Debian wallpaper photos (:data:`DEBIAN_WALLPAPER_GLOBS`). An output is
    named ``<folder>_<stem>.png``; Plasma's ``<Name>/contents/images/<size>.jpg``
    is named ``<Name>_<size>.png``. Existing outputs are kept.

    Returns:
        The written (or existing) PNG paths.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources:
        src = Path(src)
        folder = src.parents[2].name if src.parent.name == "images" else src.parent.name
        dst = out_dir / f"{folder}_{src.stem}.png"
        if not dst.exists():
            with Image.open(src) as im:
                im = im.convert("RGB")
                im.resize((im.width // 2, im.height // 2), Image.LANCZOS).save(dst)
        written.append(dst)
    return written


class CropSampler:
    """Deterministic random crops: batch `step` depends only on (seed, step).

    So a resumed run sees the same batches it would have seen without the
    interruption.

    Args:
        images: HxWx3 uint8 arrays, each at least `crop` px on both sides.
        crop: Crop side in pixels.
        batch: Crops per batch.
        seed: Base seed.
    """

    def __init__(self, images: Sequence[np.ndarray], crop: int, batch: int, seed: int) -> None:
        self.images = [im for im in images if min(im.shape[:2]) >= crop]
        if not self.images:
            raise ValueError(f"no image is at least {crop}x{crop}")
        self.crop, self.batch, self.seed = crop, batch, seed

    def __call__(self, step: int) -> np.ndarray:
        """Returns batch `step`: batch x crop x crop x 3 uint8, randomly flipped."""
        rng = np.random.default_rng([self.seed, step])
        out = np.empty((self.batch, self.crop, self.crop, 3), np.uint8)
        for i in range(self.batch):
            im = self.images[rng.integers(len(self.images))]
            y = rng.integers(im.shape[0] - self.crop + 1)
            x = rng.integers(im.shape[1] - self.crop + 1)
            patch = im[y:y + self.crop, x:x + self.crop]
            if rng.integers(2):
                patch = patch[:, ::-1]
            out[i] = patch
        return out


PLASMA_PHOTOS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf",
                 "Grey", "OneStandsOut", "Path", "summer_1am")
"""The photographs among Debian ``plasma-workspace-wallpapers`` (the others are drawings)."""

DEBIAN_WALLPAPER_GLOBS = (
    "/usr/share/backgrounds/mate/nature/*.jpg",  # Debian package mate-backgrounds (12 photos)
    "/usr/share/backgrounds/*.jpg",  # Debian package lomiri-wallpapers-16.04 (15 photos)
    *(f"/usr/share/wallpapers/{name}/contents/images/2560x1600.jpg" for name in PLASMA_PHOTOS),
)
"""Where ``apt-get install mate-backgrounds lomiri-wallpapers-16.04 plasma-workspace-wallpapers``
puts its photos (27 + 10)."""


def main(argv: list[str] | None = None) -> int:
    """``python -m neuralav.plugins.imaging.data OUT_DIR``: downscale the Debian wallpaper photos ×2."""
    import argparse
    import glob

    p = argparse.ArgumentParser(prog="python -m neuralav.plugins.imaging.data", description=main.__doc__)
    p.add_argument("out_dir", type=Path)
    args = p.parse_args(argv)
    sources = [f for pattern in DEBIAN_WALLPAPER_GLOBS for f in sorted(glob.glob(pattern))]
    if not sources:
        print("no wallpaper found: apt-get install -y mate-backgrounds lomiri-wallpapers-16.04 "
              "plasma-workspace-wallpapers")
        return 1
    for path in prepare_extra_photos(sources, args.out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
