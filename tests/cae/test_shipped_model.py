"""The shipped `cae` weights, end to end on real camera footage (loads all four levels)."""

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
    monkeypatch.delenv("NEURALAV_CAE_WEIGHTS_DIR", raising=False)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def test_every_level_loads_with_its_recorded_hash_and_codes_a_photo(camera_frame, tmp_path):
    rates, qualities = [], []
    for quality in (1, 2, 3, 4):
        encoder = registry.create_encoder("cae", {"quality": quality})
        decoder = registry.create_decoder("cae", encoder.header)
        (packet,) = encoder.encode(av.VideoFrame.from_ndarray(camera_frame, format="rgb24"))
        (frame,) = decoder.decode(packet)
        rates.append(8 * packet.size / camera_frame.shape[0] / camera_frame.shape[1])
        qualities.append(psnr(frame.to_ndarray(), camera_frame))
        (tmp_path / f"q{quality}.header").write_bytes(encoder.header)
        (tmp_path / f"q{quality}.packet").write_bytes(bytes(packet))
        np.save(tmp_path / f"q{quality}.npy", frame.to_ndarray())
    # Higher levels spend more bits and give a better picture; all are usable photos.
    assert rates == sorted(rates) and qualities == sorted(qualities), (rates, qualities)
    assert 0.05 < rates[0] and rates[-1] < 2.0
    assert qualities[0] > 24.0

    # Another process, another thread configuration, the same pixels for every level.
    script = textwrap.dedent(f"""
        import av, numpy as np, sys
        from neuralav import registry
        for q in (1, 2, 3, 4):
            d = registry.create_decoder("cae", open(f"{tmp_path}/q{{q}}.header", "rb").read())
            (frame,) = d.decode(av.Packet(open(f"{tmp_path}/q{{q}}.packet", "rb").read()))
            if not np.array_equal(frame.to_ndarray(), np.load(f"{tmp_path}/q{{q}}.npy")):
                sys.exit(f"quality {{q}} decoded differently")
    """)
    env = {"TF_NUM_INTRAOP_THREADS": "1", "TF_ENABLE_ONEDNN_OPTS": "0", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
