"""Helpers of the shipped-model tests (``tests/{cae,vae}/test_shipped_model.py``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import av
import numpy as np

from neuralav import registry


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB) of two uint8 images."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def code_levels(codec: str, image: np.ndarray, folder: Path, qualities=(1, 2, 3, 4)):
    """Codes `image` (HxWx3 uint8) at each quality through the default registry.

    Writes ``q{N}.header``, ``q{N}.packet`` and the decoded picture ``q{N}.npy`` into
    `folder` (for :func:`assert_another_process_decodes_the_same`).

    Returns:
        (bits per pixel of each packet, PSNR dB of each decoded picture).
    """
    rates, qualities_db = [], []
    for quality in qualities:
        encoder = registry.create_encoder(codec, {"quality": quality})
        decoder = registry.create_decoder(codec, encoder.header)
        (packet,) = encoder.encode(av.VideoFrame.from_ndarray(image, format="rgb24"))
        (frame,) = decoder.decode(packet)
        picture = frame.to_ndarray(format="rgb24")
        rates.append(8 * packet.size / image.shape[0] / image.shape[1])
        qualities_db.append(psnr(picture, image))
        (folder / f"q{quality}.header").write_bytes(encoder.header)
        (folder / f"q{quality}.packet").write_bytes(bytes(packet))
        np.save(folder / f"q{quality}.npy", picture)
    return rates, qualities_db


def assert_another_process_decodes_the_same(codec: str, folder: Path, qualities=(1, 2, 3, 4)) -> None:
    """Another process, with one TensorFlow thread and oneDNN off, decodes every level's
    packet of :func:`code_levels` to the same pixels."""
    script = textwrap.dedent(f"""
        import av, numpy as np, sys
        from neuralav import registry
        for q in {tuple(qualities)!r}:
            d = registry.create_decoder({codec!r}, open(f"{folder}/q{{q}}.header", "rb").read())
            (frame,) = d.decode(av.Packet(open(f"{folder}/q{{q}}.packet", "rb").read()))
            if not np.array_equal(frame.to_ndarray(format="rgb24"), np.load(f"{folder}/q{{q}}.npy")):
                sys.exit(f"quality {{q}} decoded differently")
    """)
    env = {"TF_NUM_INTRAOP_THREADS": "1", "TF_ENABLE_ONEDNN_OPTS": "0", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]


def check_levels_code_a_photo(codec: str, image: np.ndarray, folder: Path, qualities=(1, 2, 3, 4),
                              max_bpp: float = 2.0) -> None:
    """Every shipped model of an image codec (at `qualities`) loads with its recorded hash and
    codes ``image``: more bits and a better picture at each quality up, a usable photo at the
    lowest, at most `max_bpp` at the highest, and the same pixels decoded in another process
    with other thread settings."""
    rates, psnrs = code_levels(codec, image, folder, qualities)
    assert rates == sorted(rates) and psnrs == sorted(psnrs), (rates, psnrs)
    assert 0.05 < rates[0] and rates[-1] < max_bpp
    assert psnrs[0] > 24.0
    assert_another_process_decodes_the_same(codec, folder, qualities)
