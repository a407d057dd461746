"""The shipped `vae` weights, end to end on real camera footage (loads all four levels).

The codec comes from the installed package's ``neuralav`` entry point, as a user gets it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import av
import numpy as np
import pytest

from neuralav import registry

pytest.importorskip("tensorflow_compression")


@pytest.fixture(autouse=True)
def shipped_weights(monkeypatch):
    monkeypatch.delenv("NEURALAV_VAE_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("NEURALAV_CAE_WEIGHTS_DIR", raising=False)


@pytest.fixture(scope="module")
def camera_frame():
    """Frame 10 of the bundled sample clip (foreman, 352x288), HxWx3 uint8."""
    from neuralav.container.samples import SAMPLE

    with av.open(str(SAMPLE)) as source:
        for index, frame in enumerate(source.decode(video=0)):
            if index == 10:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError("the sample clip has fewer than 11 frames")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def code(codec: str, quality: int, image: np.ndarray):
    """(bpp, PSNR dB, header, packet bytes, decoded picture) of one frame through the registry."""
    encoder = registry.create_encoder(codec, {"quality": quality})
    decoder = registry.create_decoder(codec, encoder.header)
    (packet,) = encoder.encode(av.VideoFrame.from_ndarray(image, format="rgb24"))
    (frame,) = decoder.decode(packet)
    picture = frame.to_ndarray(format="rgb24")
    bpp = 8 * packet.size / image.shape[0] / image.shape[1]
    return bpp, psnr(picture, image), encoder.header, bytes(packet), picture


def test_vae_is_registered_by_the_installed_package():
    assert "vae" in registry.default_registry().names()


def test_every_level_loads_with_its_recorded_hash_and_codes_a_photo(camera_frame, tmp_path):
    rates, qualities = [], []
    for quality in (1, 2, 3, 4):
        bpp, db, header, packet, picture = code("vae", quality, camera_frame)
        rates.append(bpp)
        qualities.append(db)
        (tmp_path / f"q{quality}.header").write_bytes(header)
        (tmp_path / f"q{quality}.packet").write_bytes(packet)
        np.save(tmp_path / f"q{quality}.npy", picture)
    # Higher levels spend more bits and give a better picture; all are usable photos.
    assert rates == sorted(rates) and qualities == sorted(qualities), (rates, qualities)
    assert 0.05 < rates[0] and rates[-1] < 2.0
    assert qualities[0] > 24.0

    # Another process, another thread configuration, the same pixels for every level.
    script = textwrap.dedent(f"""
        import av, numpy as np, sys
        from neuralav import registry
        for q in (1, 2, 3, 4):
            d = registry.create_decoder("vae", open(f"{tmp_path}/q{{q}}.header", "rb").read())
            (frame,) = d.decode(av.Packet(open(f"{tmp_path}/q{{q}}.packet", "rb").read()))
            if not np.array_equal(frame.to_ndarray(format="rgb24"), np.load(f"{tmp_path}/q{{q}}.npy")):
                sys.exit(f"quality {{q}} decoded differently")
    """)
    env = {"TF_NUM_INTRAOP_THREADS": "1", "TF_ENABLE_ONEDNN_OPTS": "0", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
