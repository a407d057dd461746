"""The `vae` codec through the registry, with a tiny model: real range-coded bitstreams.

The plugin is also passed explicitly (``build_registry(plugins=[...])``), so the
tests do not depend on its installed entry point (``test_shipped_model.py`` does).
"""

from __future__ import annotations

import importlib.metadata
from fractions import Fraction

import av
import numpy as np
import pytest

from neuralav import registry
from neuralav.registry import FormatNotSupportedError, InvalidDataError, InvalidOptionError, PluginError

from ..imaging.frames import frame_of
from .conftest import photo

pytestmark = pytest.mark.usefixtures("use_tiny_weights")


def codec_pair(reg, quality=3):
    encoder = registry.create_encoder("vae", {"quality": quality}, registry=reg)
    return encoder, registry.create_decoder("vae", encoder.header, registry=reg)


def encoder_side_reconstruction(quality, image):
    """The encoder's own reconstruction: a whole quality of LEVEL_FILE_QUALITIES by its one-level
    file, any other by the variable-rate model (gain row = quality)."""
    from neuralav.plugins.vae.codec import VAECodec, load_model_file
    from neuralav.plugins.vae.quality import LEVEL_FILE_QUALITIES

    if quality in LEVEL_FILE_QUALITIES:
        return load_model_file(int(quality)).model.reconstruct(image, 0)
    return VAECodec.load_variable_rate().model.reconstruct(image, quality)


def test_the_plugin_registers_the_vae_descriptor(vae_registry):
    descriptor = vae_registry.get("vae")
    assert descriptor.fourcc == "NVAE" and descriptor.formats == ("rgb24",)
    assert [o.name for o in descriptor.options] == ["quality", "bpp", "preset"]
    assert descriptor.option("quality").type is float


def test_vae_is_only_an_entry_point_once_weights_ship():
    from neuralav.plugins.vae.quality import LEVELS, VARIABLE_RATE, WEIGHTS_DIR

    entry_points = importlib.metadata.entry_points(group="neuralav")
    if any(ep.value == "neuralav.plugins.vae" for ep in entry_points):
        for quality, level in LEVELS.items():
            assert (WEIGHTS_DIR / level.weights).is_file(), f"vae is registered but ships no q{quality}"
            assert level.sha256 is not None, f"vae q{quality} ships without its SHA-256 in quality.py"
        assert (WEIGHTS_DIR / VARIABLE_RATE.weights).is_file(), "vae is registered but ships no vr.npz"
        assert VARIABLE_RATE.sha256 is not None, "vae vr.npz ships without its SHA-256 in quality.py"


@pytest.mark.parametrize("width,height", [(53, 37), (1, 1), (16, 16), (17, 1), (130, 67)])
def test_decoding_reproduces_the_encoder_reconstruction_exactly(vae_registry, width, height):
    image = photo(width, height)
    encoder, decoder = codec_pair(vae_registry, 2)
    (packet,) = encoder.encode(frame_of(image))
    (frame,) = decoder.decode(packet)
    assert (frame.width, frame.height, frame.format.name) == (width, height, "rgb24")
    np.testing.assert_array_equal(frame.to_ndarray(), encoder_side_reconstruction(2, image))


@pytest.mark.parametrize("quality,payload_format,overhead", [(1, 1, 14), (1.5, 2, 15), (0, 2, 15), (4, 2, 15)])
def test_rate_is_the_packet_length_and_includes_every_header_byte(vae_registry, quality, payload_format,
                                                                   overhead):
    """A whole quality of LEVEL_FILE_QUALITIES (1, 2) is coded by its one-level file (format 1),
    any other by the variable-rate model (format 2)."""
    from neuralav.plugins.vae.codec import unpack_payload
    from neuralav.registry.api import parse_video_packet

    image = photo(64, 48)
    encoder, _ = codec_pair(vae_registry, quality)
    (packet,) = encoder.encode(frame_of(image))
    payload = parse_video_packet(bytes(packet)).payload
    coded_quality, _, side, string = unpack_payload(payload)
    assert payload[0] == payload_format and coded_quality == quality and len(side) > 0 and len(string) > 0
    assert len(payload) == len(side) + len(string) + overhead
    assert packet.size == len(bytes(packet)) > len(payload)


@pytest.mark.parametrize("fmt", ["yuv420p", "gray", "rgba", "bgr24", "yuv444p"])
def test_frames_come_back_in_the_input_pixel_format(vae_registry, fmt):
    encoder, decoder = codec_pair(vae_registry)
    (packet,) = encoder.encode(frame_of(photo(48, 32), fmt))
    (frame,) = decoder.decode(packet)
    assert (frame.format.name, frame.width, frame.height) == (fmt, 48, 32)


def test_frames_of_changing_sizes_in_one_stream(vae_registry):
    encoder, decoder = codec_pair(vae_registry)
    for width, height in [(40, 24), (24, 40), (100, 70)]:
        (packet,) = encoder.encode(frame_of(photo(width, height)))
        (frame,) = decoder.decode(packet)
        assert (frame.width, frame.height) == (width, height)


def test_pts_and_time_base_are_kept(vae_registry):
    encoder, decoder = codec_pair(vae_registry)
    (packet,) = encoder.encode(frame_of(photo(), pts=1234, time_base=Fraction(1, 90000)))
    assert packet.is_keyframe and (packet.pts, packet.time_base) == (1234, Fraction(1, 90000))
    (frame,) = decoder.decode(packet)
    assert (frame.pts, frame.time_base) == (1234, Fraction(1, 90000))


def test_quality_out_of_range_names_the_option(vae_registry):
    with pytest.raises(InvalidOptionError, match="quality"):
        registry.create_encoder("vae", {"quality": 7.5}, registry=vae_registry)


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda data: data[:-1], id="truncated by one byte"),
    pytest.param(lambda data: data[:20], id="truncated to 20 bytes"),
    pytest.param(lambda data: data[:-9] + bytes([data[-9] ^ 0x10]) + data[-8:], id="bit flip"),
    pytest.param(lambda data: data + b"\0", id="one byte appended"),
])
def test_damaged_packets_raise_invalid_data(vae_registry, mutate):
    encoder, decoder = codec_pair(vae_registry)
    (packet,) = encoder.encode(frame_of(photo()))
    with pytest.raises(InvalidDataError):
        decoder.decode(av.Packet(mutate(bytes(packet))))


@pytest.mark.parametrize("damage", [
    pytest.param(lambda side, string: (side, string + bytes(range(7, 250, 3))), id="latent with trailing garbage"),
    pytest.param(lambda side, string: (side + bytes(range(7, 250, 3)), string), id="side with trailing garbage"),
])
def test_strings_the_range_decoders_reject_are_invalid_data_even_with_a_valid_crc(damage):
    from neuralav.plugins.vae.codec import load_model_file

    loaded = load_model_file(3)
    side, string = damage(*loaded.compress(photo(), 0)[:2])  # (side, latent string, scale indexes)
    with pytest.raises(InvalidDataError, match="range decoder"):
        loaded.decompress(side, string, 0, 53, 37)


def test_a_side_length_beyond_the_payload_is_refused():
    import struct
    import zlib

    from neuralav.plugins.vae.codec import unpack_payload

    body = struct.pack(">BB4sI", 1, 3, b"abcd", 999) + b"xyz"
    with pytest.raises(InvalidDataError, match="999-byte side string"):
        unpack_payload(body + struct.pack(">I", zlib.crc32(body)))


def test_each_packet_is_decoded_at_its_own_quality(vae_registry):
    encoder, _ = codec_pair(vae_registry, 1.25)
    _, decoder = codec_pair(vae_registry, 4)
    image = photo()
    (packet,) = encoder.encode(frame_of(image))
    (frame,) = decoder.decode(packet)
    np.testing.assert_array_equal(frame.to_ndarray(), encoder_side_reconstruction(1.25, image))


def test_a_packet_of_other_weights_is_refused(vae_registry, tmp_path, monkeypatch):
    from neuralav.plugins.vae.weights import export_weights

    from .conftest import make_tiny_variable_rate_model

    encoder, _ = codec_pair(vae_registry, 3.5)  # the variable-rate model
    (packet,) = encoder.encode(frame_of(photo()))
    export_weights(make_tiny_variable_rate_model(seed=4), tmp_path / "vr.npz")
    monkeypatch.setenv("NEURALAV_VAE_WEIGHTS_DIR", str(tmp_path))
    _, other_decoder = codec_pair(vae_registry, 3.5)
    with pytest.raises(InvalidDataError, match="model"):
        other_decoder.decode(packet)


def test_a_packet_of_another_codec_is_refused(vae_registry):
    zlib_encoder = registry.create_encoder("zlibv", registry=vae_registry)
    _, decoder = codec_pair(vae_registry)
    (packet,) = zlib_encoder.encode(frame_of(photo()))
    with pytest.raises(InvalidDataError):
        decoder.decode(packet)


def test_a_header_of_another_codec_is_refused(vae_registry):
    with pytest.raises(registry.HeaderMismatchError):
        registry.create_decoder("vae", registry.create_encoder("zlibv", registry=vae_registry).header,
                                registry=vae_registry)


def test_missing_weights_are_a_clear_plugin_error(vae_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURALAV_VAE_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(PluginError, match="q2.npz"):
        registry.create_encoder("vae", {"quality": 2}, registry=vae_registry)
    with pytest.raises(PluginError, match="vr.npz"):
        registry.create_encoder("vae", registry=vae_registry)  # default quality 3


def test_nan_in_a_float_frame_is_a_clear_error(vae_registry):
    image = np.full((16, 16, 3), 0.25, np.float32)
    image[0, 0, 0] = np.nan
    encoder, _ = codec_pair(vae_registry)
    with pytest.raises(InvalidDataError, match="NaN"):
        encoder.encode(av.VideoFrame.from_ndarray(image, format="gbrpf32le"))


def test_finite_float_frames_are_converted_and_coded(vae_registry):
    frame = av.VideoFrame.from_ndarray(np.full((16, 16, 3), 0.25, np.float32), format="gbrpf32le")
    encoder, decoder = codec_pair(vae_registry)
    (packet,) = encoder.encode(frame)
    (decoded,) = decoder.decode(packet)
    assert decoded.format.name == "gbrpf32le"


def test_an_empty_frame_is_refused(vae_registry):
    encoder, _ = codec_pair(vae_registry)
    with pytest.raises(FormatNotSupportedError):
        encoder.encode(av.VideoFrame(0, 0, "rgb24"))


def test_an_audio_frame_is_refused(vae_registry):
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 64), np.int16), format="s16", layout="mono")
    encoder, _ = codec_pair(vae_registry)
    with pytest.raises(FormatNotSupportedError):
        encoder.encode(frame)


def test_transforms_are_traced_once_for_every_frame_shape(vae_registry):
    from neuralav.plugins.vae.codec import VAECodec

    model = VAECodec.load_variable_rate().model
    encoder, decoder = codec_pair(vae_registry, 4.5)
    for offset in [(0, 0), (50, 50)]:
        for width, height in [(40, 24), (24, 40), (130, 67)]:
            (packet,) = encoder.encode(frame_of(photo(width, height, offset)))
            decoder.decode(packet)
    for function in (model.analyze_gained, model.compress_latent, model.decompress_side, model.synthesize):
        assert function.experimental_get_tracing_count() == 1, function


@pytest.mark.parametrize("quality", [1, 4])
def test_packets_of_the_one_level_models_still_decode(vae_registry, quality):
    """A format-1 packet (written by a q{N}.npz model) decodes with that file, whoever's header."""
    from neuralav.plugins.vae.codec import load_model_file, pack_payload
    from neuralav.registry.api import parse_video_packet

    image = photo()
    encoder, decoder = codec_pair(vae_registry, 3)
    (packet,) = encoder.encode(frame_of(image))
    new_payload = parse_video_packet(bytes(packet)).payload
    loaded = load_model_file(quality)
    side, string, _ = loaded.compress(image, 0)
    old = av.Packet(bytes(packet)[:-len(new_payload)] + pack_payload(quality, loaded.model_id, side, string))
    (frame,) = decoder.decode(old)
    np.testing.assert_array_equal(frame.to_ndarray(), loaded.model.reconstruct(image, 0))


def test_fractional_qualities_lie_between_their_neighbours(vae_registry):
    image = photo(96, 64)
    sizes = []
    for quality in (1.25, 3.5, 5.75):
        encoder, _ = codec_pair(vae_registry, quality)
        (packet,) = encoder.encode(frame_of(image))
        sizes.append(packet.size)
    assert sizes[0] < sizes[1] < sizes[2]
