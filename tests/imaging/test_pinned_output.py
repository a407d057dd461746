"""Every shipped image model's bitstream and decoded pixels, pinned by hash.

A refactoring of the image-codec runtime must change neither: these hashes were
measured with the shipped weights before it, on a picture generated here (so a
clone without the shared media runs them). 50 x 70 is not a multiple of 16 (nor,
for ``vae``'s hyper-latent, of 64), so edge padding and cropping are covered too.
"""

from __future__ import annotations

import hashlib

import av
import numpy as np
import pytest

from neuralav import registry

pytest.importorskip("tensorflow_compression")

EXPECTED = {
    # (codec, quality): (SHA-256 of the packet, SHA-256 of the decoded rgb24 pixels)
    ("cae", 1): ("84db78899720a8d8ceaa8517db6d351e38404e6cc010ad533281ec34ef11479e",
                 "4fb2e3676446cac782e2ad7ec0996fe79fe2ff30483d85a221cea6adb8a029ee"),
    ("cae", 2): ("4590941b6e306bdfe74448128bec26e68c6b2374ed084acb7daf7aee31ae9124",
                 "e0f725118343b5d933d9f85415d239e468d335b97b14a51d8240db70e69a9a35"),
    ("cae", 3): ("17d5758d1a3f8a59d5aabb91e243453ae9bd7a07bdeaa07aa8e7021a906efaf0",
                 "1836245a2921c877c6a4f51a1453240bc01aed940056813a80d81ee9e875d777"),
    ("cae", 4): ("fd4c74308d675c90259bc6c7208743f901d204a9218da9f5cc4183e00b07f2ea",
                 "25b19212597e34ef17cd76e3af2969e715b06c7341a0815e9047d61707e0adf6"),
    # vae's former one-level files q1..q4.npz (payload format 1), still decoded:
    ("vae", 1): ("ba74d9636a4f1ff3539249b74e33b808c21c7128aa629ea624ebf315e7fdba18",
                 "c6600c3a4817a0649ae7a8bd8316ac95fa1f41802efa7c7211d6024203b6e2c6"),
    ("vae", 2): ("4b593db46d9e3622d8e672fcf15b646f65ad0fb6c5837fb09c10641175beb5b8",
                 "54d71cc91b5d4580d28da5a14abfe6f23f702cc64270397570dd562d5af87eb1"),
    ("vae", 3): ("796c56215d3224af66db9868b29973862b52faea03a642e402204a4a23d6a188",
                 "0b88ca648ba1a224fba4aec6ae787401d4b682a059d60394f80c23ed66cbe6e1"),
    ("vae", 4): ("1950960b1482d26ecf638786406a56b5aa19e67af04a86d91c1f776c43529dea",
                 "7b98a96e5ec0fbbf162ced8fcc8812314b41df367110f9169a087f2be24f78dd"),
}


@pytest.fixture(autouse=True)
def shipped_weights(monkeypatch):
    monkeypatch.delenv("NEURALAV_CAE_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("NEURALAV_VAE_WEIGHTS_DIR", raising=False)


def pinned_picture():
    """A 50 x 70 RGB picture from integer arithmetic only (same bytes on every machine):
    smooth ramps, a diagonal edge and a fine texture, so every level spends real bits."""
    y, x = np.mgrid[0:50, 0:70].astype(np.int64)
    red = (x * 255) // 69
    green = np.where(x + 2 * y > 80, 200, 40) + (y * 37 % 17)
    blue = ((x * x + 3 * x * y + y * y) // 11) % 256
    return np.stack([red, green, blue], axis=-1).clip(0, 255).astype(np.uint8)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code(codec: str, quality: int, image: np.ndarray) -> tuple[str, str]:
    encoder = registry.create_encoder(codec, {"quality": quality})
    decoder = registry.create_decoder(codec, encoder.header)
    (packet,) = encoder.encode(av.VideoFrame.from_ndarray(image, format="rgb24"))
    (frame,) = decoder.decode(packet)
    picture = frame.to_ndarray(format="rgb24")
    assert picture.shape == image.shape
    return sha256(bytes(packet)), sha256(np.ascontiguousarray(picture).tobytes())


def test_every_shipped_cae_level_codes_and_decodes_to_its_pinned_hashes():
    image = pinned_picture()
    got = {("cae", quality): code("cae", quality, image) for quality in (1, 2, 3, 4)}
    assert got == {key: value for key, value in EXPECTED.items() if key[0] == "cae"}


def test_the_former_vae_level_files_code_and_decode_to_their_pinned_hashes():
    """Their packets, as their encoder wrote them, and what today's decoder makes of them."""
    import struct

    from neuralav.plugins.vae.codec import load_model_file, pack_payload

    image = pinned_picture()
    prefix = struct.pack(">BHH", 5, 70, 50) + b"rgb24" + struct.pack(">B", 5) + b"rgb24"
    decoder = registry.create_decoder("vae", registry.create_encoder("vae").header)
    got = {}
    for quality in (1, 2, 3, 4):
        loaded = load_model_file(quality)
        side, string, _ = loaded.compress(image, 0)
        packet = prefix + pack_payload(quality, loaded.model_id, side, string)
        (frame,) = decoder.decode(av.Packet(packet))
        got["vae", quality] = (sha256(packet), sha256(np.ascontiguousarray(frame.to_ndarray()).tobytes()))
    assert got == {key: value for key, value in EXPECTED.items() if key[0] == "vae"}
