"""Every shipped image model's bitstream and decoded pixels, pinned by hash.

A refactoring of the image-codec runtime must change neither: these hashes were
measured with the shipped weights before it, on a picture generated here (so a
clone without the shared media runs them). 50 x 70 is not a multiple of 16 (nor,
for ``vae``'s hyper-latent, of 64), so edge padding and cropping are covered too.
"""

from __future__ import annotations

import hashlib
import struct

import av
import numpy as np
import pytest

from neuralav import registry

pytest.importorskip("tensorflow_compression")

EXPECTED = {
    # (codec, quality): (SHA-256 of the packet, SHA-256 of the decoded rgb24 pixels)
    # cae's variable-rate model vr.npz (payload format 2), through the registry:
    ("cae-vr", 0): ("2eb3b7503af3f595072a0f980c6ec615b6df3afd38099609c4178abcd7a5b516",
                    "35f93029e18b71dc64f655b8007ce2350ec568a08302139a2da48027d6fbd800"),
    ("cae-vr", 2.5): ("2fdcde6daaedc6e5851117242aa346de99cc87061e17a71c2cfbf7614f719c5a",
                      "84a8ee9613e18ba44058ef799a998e93693c411b9bf54bfd83d1aa4bba6d05aa"),
    ("cae-vr", 5.125): ("c85c4c48d595df773be93691a061dcaa2cd7d53b3aa3e751dd82c57339b480ad",
                        "f38270b1bf15db09ea83373a9a294d9e84ce787edc8e411a2667bb85f7ca316a"),
    ("cae-vr", 7): ("7ad7d88ded1c7883cd42efe26b090d1c10e7e7f85f82b43a8a3e1212b212747c",
                    "45f8ba24244628cded15b14a252a60a425042b9279619e31c8aa43ef11256edf"),
    # cae's one-level files q1..q4.npz (payload format 1; quality 1 still codes with q1.npz):
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


PREFIX = struct.pack(">BHH", 5, 70, 50) + b"rgb24" + struct.pack(">B", 5) + b"rgb24"
"""The registry's video packet prefix of a 70 x 50 rgb24 frame (before the codec payload)."""


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


def test_the_shipped_cae_variable_rate_model_codes_and_decodes_to_its_pinned_hashes():
    image = pinned_picture()
    got = {("cae-vr", quality): code("cae", quality, image) for quality in (0, 2.5, 5.125, 7)}
    assert got == {key: value for key, value in EXPECTED.items() if key[0] == "cae-vr"}


def test_the_cae_level_files_code_and_decode_to_their_pinned_hashes():
    """Their packets, as their encoder writes them, and what today's decoder makes of them."""
    from neuralav.plugins.cae.codec import load_level, pack_payload

    image = pinned_picture()
    decoder = registry.create_decoder("cae", registry.create_encoder("cae").header)
    got = {}
    for quality in (1, 2, 3, 4):
        loaded = load_level(quality)
        string, shape = loaded.compress(image)
        packet = PREFIX + pack_payload(quality, loaded.model_id, tuple(int(v) for v in shape.numpy()),
                                       string.numpy())
        (frame,) = decoder.decode(av.Packet(packet))
        got["cae", quality] = (sha256(packet), sha256(np.ascontiguousarray(frame.to_ndarray()).tobytes()))
    assert got == {key: value for key, value in EXPECTED.items() if key[0] == "cae"}


def test_the_former_vae_level_files_code_and_decode_to_their_pinned_hashes():
    """Their packets, as their encoder wrote them, and what today's decoder makes of them."""
    from neuralav.plugins.vae.codec import load_model_file, pack_payload

    image = pinned_picture()
    decoder = registry.create_decoder("vae", registry.create_encoder("vae").header)
    got = {}
    for quality in (1, 2, 3, 4):
        loaded = load_model_file(quality)
        side, string, _ = loaded.compress(image, 0)
        packet = PREFIX + pack_payload(quality, loaded.model_id, side, string)
        (frame,) = decoder.decode(av.Packet(packet))
        got["vae", quality] = (sha256(packet), sha256(np.ascontiguousarray(frame.to_ndarray()).tobytes()))
    assert got == {key: value for key, value in EXPECTED.items() if key[0] == "vae"}
