"""A packet may not make an image decoder allocate more than its bytes can justify.

Issue 27.4: a 17 KB file whose packets claim 16384x2048 frames (their pictures are 96x64)
made the model synthesize 33.5-Mpixel frames (2.7 GB). A `cae` or `vae` packet's strings
must be long enough to range-code the latent that the claimed frame size implies; the
decoder refuses one that is too short before any model call. Real streams, even of the
most compressible picture (one flat colour), are never refused.
"""

from __future__ import annotations

import struct

import av
import numpy as np
import pytest

from neuralav import registry
from neuralav.registry import InvalidDataError

pytest.importorskip("tensorflow_compression")


@pytest.fixture(autouse=True)
def shipped_weights(monkeypatch):
    monkeypatch.delenv("NEURALAV_CAE_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("NEURALAV_VAE_WEIGHTS_DIR", raising=False)


def code(codec: str, image: np.ndarray, quality: int = 1):
    encoder = registry.create_encoder(codec, {"quality": quality})
    (packet,) = encoder.encode(av.VideoFrame.from_ndarray(image, format="rgb24"))
    return encoder.header, bytes(packet)


def claiming(codec: str, packet: bytes, width: int, height: int) -> bytes:
    """`packet` relabelled for a width x height frame: the registry prefix, and for `cae` the
    payload's latent-shape fields too (its CRC recomputed), so only the string length is left
    to give the claim away."""
    coded_length = packet[0]
    prefix_length = 5 + coded_length + 1 + packet[5 + coded_length]
    prefix = bytearray(packet[:prefix_length])
    prefix[1:5] = struct.pack(">HH", width, height)
    payload = packet[prefix_length:]
    if codec == "cae":
        from neuralav.plugins.cae.codec import latent_shape_of, pack_payload, unpack_payload

        quality, model_id, _, string = unpack_payload(payload)
        payload = pack_payload(quality, model_id, latent_shape_of(width, height), string)
    return bytes(prefix) + payload


@pytest.mark.parametrize("codec", ["cae", "vae"])
def test_a_small_packet_claiming_a_huge_frame_is_refused_before_the_model_runs(codec, monkeypatch):
    from neuralav.plugins.imaging.runtime import LoadedModel

    rng = np.random.default_rng(5)
    header, packet = code(codec, rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
    decoder = registry.create_decoder(codec, header)
    (frame,) = decoder.decode(av.Packet(packet))  # the packet as coded decodes
    assert (frame.width, frame.height) == (96, 64)

    def refuse(*args, **kwargs):
        raise AssertionError("the model ran on a packet whose bytes cannot hold its frame")

    monkeypatch.setattr(LoadedModel, "decompress", refuse)
    with pytest.raises(InvalidDataError, match=f"`{codec}` packet of .* cannot hold a 16384x2048 frame"):
        decoder.decode(av.Packet(claiming(codec, packet, 16384, 2048)))


@pytest.mark.parametrize("codec,quality", [("cae", 1), ("cae", 4), ("vae", 0), ("vae", 7)])
def test_the_most_compressible_picture_is_not_refused(codec, quality):
    flat = np.full((256, 320, 3), 128, np.uint8)
    header, packet = code(codec, flat, quality)
    (frame,) = registry.create_decoder(codec, header).decode(av.Packet(packet))
    assert frame.to_ndarray(format="rgb24").shape == flat.shape
