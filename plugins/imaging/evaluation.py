"""Evaluation helpers shared by the image codecs' ``evaluate`` commands.

PSNR, the Pillow JPEG curve, interpolation at equal rate and the Bjøntegaard
delta rate live in :mod:`neuralav.plugins.cae.evaluate`; this module holds the
two pieces that ``vae`` needs too and ``cae`` keeps private today.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "load_folder", "msssim"]

IMAGE_SUFFIXES = (".png", ".ppm", ".bmp")
"""Lossless image files read by :func:`load_folder`."""


def load_folder(folder: Path) -> list[tuple[str, np.ndarray]]:
    """(file name, H x W x 3 uint8 RGB) of every PNG/PPM/BMP image in `folder`, sorted by name.

    Raises:
        FileNotFoundError: no such image in `folder`.
    """
    from PIL import Image

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no PNG/PPM/BMP image in {folder}")
    return [(p.name, np.asarray(Image.open(p).convert("RGB"))) for p in files]


def msssim(a: np.ndarray, b: np.ndarray) -> float:
    """MS-SSIM (5 scales, peak 255) of two H x W x 3 uint8 images, in [0, 1]."""
    import tensorflow as tf

    return float(tf.image.ssim_multiscale(tf.constant(a[None], tf.float32),
                                          tf.constant(b[None], tf.float32), 255.0)[0])


def set_threads(threads: int) -> None:
    """Sets TensorFlow's intra- and inter-op threads (0 keeps TensorFlow's default)."""
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def cached_curve(data: Path, images: list, cache: Path | None, compute) -> list[dict]:
    """An anchor curve (e.g. JPEG) of `images` from folder `data`, cached in JSON file `cache`.

    The cache is used when it names the same folder and image count; else
    ``compute(images)`` runs and, if `cache` is given, its result is written there.
    """
    import json

    saved = json.loads(cache.read_text()) if cache and cache.exists() else None
    if saved is not None and saved.get("data") == str(data) and saved.get("num_images") == len(images):
        return saved["jpeg"]
    curve = compute(images)
    if cache:
        cache.write_text(json.dumps({"data": str(data), "num_images": len(images), "jpeg": curve}, indent=1))
    return curve
