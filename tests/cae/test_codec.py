"""The `cae` codec with a tiny untrained model: real range-coded bitstreams through the registry.

A tiny model (N=8, M=8) is exported to a temporary folder for every level and the
codec is pointed at it with ``NEURALAV_CAE_WEIGHTS_DIR``, so these tests exercise the
real export format, loader, payload, range coder and registry plumbing in seconds.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from fractions import Fraction

import av
import numpy as np
import pytest

from neuralav import registry
from neuralav.registry import FormatNotSupportedError, InvalidDataError, InvalidOptionError

from ..imaging.frames import frame_of, payload_of, with_payload
from .conftest import make_tiny_variable_rate_model

pytest.importorskip("tensorflow_compression")


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """q1..q4 .npz files of one tiny random model (the same weights for every level), and a
    tiny variable-rate model ``vr.npz``."""
    import shutil

    import tensorflow as tf

    from neuralav.plugins.cae.config import ArchConfig
    from neuralav.plugins.cae.model import CAEModel
    from neuralav.plugins.cae.quality import LEVELS, VARIABLE_RATE
    from neuralav.plugins.cae.weights import export_weights

    folder = tmp_path_factory.mktemp("cae-weights")
    tf.keras.utils.set_random_seed(3)
    first, *others = LEVELS.values()
    export_weights(CAEModel(ArchConfig.tiny(), lmbda=first.lmbda), folder / first.weights)
    for level in others:
        shutil.copy(folder / first.weights, folder / level.weights)
    export_weights(make_tiny_variable_rate_model(), folder / VARIABLE_RATE.weights)
    return folder


@pytest.fixture(autouse=True)
def use_tiny_weights(tiny_weights, monkeypatch):
    monkeypatch.setenv("NEURALAV_CAE_WEIGHTS_DIR", str(tiny_weights))


def photo(source, width=53, height=37, offset=(100, 150)):
    """A real camera crop (HxWx3 uint8) of the bundled clip's frame."""
    y, x = offset
    crop = source[y:y + height, x:x + width]
    assert crop.shape == (height, width, 3), "crop outside the 352x288 frame"
    return np.ascontiguousarray(crop)


def encoder_side_reconstruction(quality, image):
    """The picture the encoder reconstructs at `quality`: with the one-level file where it
    still codes the quality, else with the variable-rate model at its grid point."""
    from neuralav.plugins.cae.codec import CAECodec, load_level
    from neuralav.plugins.cae.quality import LEVEL_FILE_QUALITIES

    if quality in LEVEL_FILE_QUALITIES:
        return load_level(quality).model.reconstruct(image).numpy()
    model = CAECodec.load_variable_rate().model
    return model.reconstruct(image, model.grid_index(quality))


@pytest.mark.parametrize("width,height", [(53, 37), (1, 1), (16, 16), (17, 1), (130, 67)])
def test_decoding_reproduces_the_encoder_reconstruction_exactly(camera_frame, width, height):
    image = photo(camera_frame, width, height)
    encoder = registry.create_encoder("cae", {"quality": 2})
    decoder = registry.create_decoder("cae", encoder.header)
    (packet,) = encoder.encode(frame_of(image))
    (frame,) = decoder.decode(packet)
    assert (frame.width, frame.height, frame.format.name) == (width, height, "rgb24")
    np.testing.assert_array_equal(frame.to_ndarray(), encoder_side_reconstruction(2, image))


def test_a_separate_process_decodes_the_same_pixels(camera_frame, tmp_path, tiny_weights):
    image = photo(camera_frame, 96, 80)
    encoder = registry.create_encoder("cae", {"quality": 3})
    (packet,) = encoder.encode(frame_of(image))
    (tmp_path / "header.bin").write_bytes(encoder.header)
    (tmp_path / "packet.bin").write_bytes(bytes(packet))
    script = textwrap.dedent(f"""
        import av, numpy as np
        from neuralav import registry
        decoder = registry.create_decoder("cae", open({str(tmp_path / 'header.bin')!r}, "rb").read())
        (frame,) = decoder.decode(av.Packet(open({str(tmp_path / 'packet.bin')!r}, "rb").read()))
        np.save({str(tmp_path / 'decoded.npy')!r}, frame.to_ndarray())
    """)
    env = {"NEURALAV_CAE_WEIGHTS_DIR": str(tiny_weights), "TF_NUM_INTRAOP_THREADS": "1",
           "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=300)
    np.testing.assert_array_equal(np.load(tmp_path / "decoded.npy"), encoder_side_reconstruction(3, image))


def test_rate_is_the_packet_length_and_includes_every_header_byte(camera_frame):
    from neuralav.plugins.cae.codec import unpack_payload
    from neuralav.registry.api import parse_video_packet

    image = photo(camera_frame, 64, 48)
    (packet,) = registry.create_encoder("cae", {"quality": 1}).encode(frame_of(image))
    info = parse_video_packet(bytes(packet))
    quality, _, latent_shape, string = unpack_payload(info.payload)
    assert (quality, latent_shape) == (1, (3, 4))
    assert len(string) > 0
    assert packet.size == len(bytes(packet)) > len(string)


@pytest.mark.parametrize("fmt", ["yuv420p", "gray", "rgba", "bgr24", "yuv444p"])
def test_frames_come_back_in_the_input_pixel_format(camera_frame, fmt):
    image = photo(camera_frame, 48, 32)
    encoder = registry.create_encoder("cae")
    decoder = registry.create_decoder("cae", encoder.header)
    (packet,) = encoder.encode(frame_of(image, fmt))
    (frame,) = decoder.decode(packet)
    assert (frame.format.name, frame.width, frame.height) == (fmt, 48, 32)


def test_pts_and_time_base_are_kept(camera_frame):
    encoder = registry.create_encoder("cae")
    decoder = registry.create_decoder("cae", encoder.header)
    (packet,) = encoder.encode(frame_of(photo(camera_frame), pts=1234, time_base=Fraction(1, 90000)))
    assert packet.is_keyframe and (packet.pts, packet.time_base) == (1234, Fraction(1, 90000))
    (frame,) = decoder.decode(packet)
    assert (frame.pts, frame.time_base) == (1234, Fraction(1, 90000))


def test_quality_out_of_range_names_the_valid_levels():
    with pytest.raises(InvalidOptionError, match="quality"):
        registry.create_encoder("cae", {"quality": 9})


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda data: data[:-1], id="truncated by one byte"),
    pytest.param(lambda data: data[:20], id="truncated to 20 bytes"),
    pytest.param(lambda data: data[:-9] + bytes([data[-9] ^ 0x10]) + data[-8:], id="bit flip"),
])
def test_damaged_packets_raise_invalid_data(camera_frame, mutate):
    encoder = registry.create_encoder("cae")
    decoder = registry.create_decoder("cae", encoder.header)
    (packet,) = encoder.encode(frame_of(photo(camera_frame)))
    with pytest.raises(InvalidDataError):
        decoder.decode(av.Packet(mutate(bytes(packet))))


def test_each_packet_is_decoded_with_the_model_it_names(camera_frame):
    """A decoder follows each payload's quality (rate control changes it per picture): a
    quality-1 packet decodes the same through a decoder made for quality 4."""
    encoder = registry.create_encoder("cae", {"quality": 1})
    (packet,) = encoder.encode(frame_of(photo(camera_frame)))
    own = registry.create_decoder("cae", encoder.header)
    other = registry.create_decoder("cae", registry.create_encoder("cae", {"quality": 4}).header)
    (expected,), (got,) = own.decode(packet), other.decode(packet)
    assert np.array_equal(got.to_ndarray(), expected.to_ndarray())


def test_a_packet_naming_a_level_that_does_not_exist_is_refused(camera_frame):
    from neuralav.plugins.cae.codec import FRAMING

    encoder = registry.create_encoder("cae", {"quality": 1})
    (packet,) = encoder.encode(frame_of(photo(camera_frame)))
    decoder = registry.create_decoder("cae", encoder.header)
    quality, model_id, fields, body = FRAMING.unpack(payload_of(packet))
    forged = FRAMING.pack(9, model_id, fields, body)
    with pytest.raises(InvalidDataError, match="quality 9"):
        decoder.decode(with_payload(packet, forged))


def test_a_packet_of_another_codec_is_refused(camera_frame):
    zlib_encoder = registry.create_encoder("zlibv")
    decoder = registry.create_decoder("cae", registry.create_encoder("cae").header)
    (packet,) = zlib_encoder.encode(frame_of(photo(camera_frame)))
    with pytest.raises(InvalidDataError):
        decoder.decode(packet)


def test_a_header_of_another_codec_is_refused():
    with pytest.raises(registry.HeaderMismatchError):
        registry.create_decoder("cae", registry.create_encoder("zlibv").header)


def test_nan_in_a_float_frame_is_a_clear_error():
    image = np.full((16, 16, 3), 0.25, np.float32)
    image[0, 0, 0] = np.nan
    with pytest.raises(InvalidDataError, match="NaN"):
        registry.create_encoder("cae").encode(av.VideoFrame.from_ndarray(image, format="gbrpf32le"))


def test_finite_float_frames_are_converted_and_coded():
    image = np.full((16, 16, 3), 0.25, np.float32)
    frame = av.VideoFrame.from_ndarray(image, format="gbrpf32le")
    encoder = registry.create_encoder("cae")
    (packet,) = encoder.encode(frame)
    (decoded,) = registry.create_decoder("cae", encoder.header).decode(packet)
    assert decoded.format.name == "gbrpf32le"


def test_an_audio_frame_is_refused():
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 64), np.int16), format="s16", layout="mono")
    with pytest.raises(FormatNotSupportedError):
        registry.create_encoder("cae").encode(frame)


def test_transforms_are_traced_once_per_frame_shape(camera_frame):
    """Input signatures with unknown H, W (and, for the variable-rate model, the gains as a
    tensor): one concrete function each, whatever the shapes and qualities."""
    from neuralav.plugins.cae.codec import CAECodec, load_level

    level = load_level(1).model
    variable = CAECodec.load_variable_rate().model
    for quality in (1, 4, 5.5):
        encoder = registry.create_encoder("cae", {"quality": quality})
        decoder = registry.create_decoder("cae", encoder.header)
        for offset in [(0, 0), (50, 50), (100, 10)]:
            for width, height in [(40, 24), (24, 40)]:
                (packet,) = encoder.encode(frame_of(photo(camera_frame, width, height, offset)))
                decoder.decode(packet)
    assert level.compress.experimental_get_tracing_count() == 1
    assert level.decompress.experimental_get_tracing_count() == 1
    assert variable.analyze.experimental_get_tracing_count() == 1
    assert variable.synthesize.experimental_get_tracing_count() == 1


# ---------------------------------------------------------------- the variable-rate model


def test_a_real_quality_is_coded_by_the_variable_rate_model_at_the_nearest_eighth(camera_frame):
    from neuralav.plugins.cae.codec import CAECodec
    from neuralav.plugins.imaging.payload import VARIABLE_RATE_FORMAT

    image = photo(camera_frame)
    encoder = registry.create_encoder("cae", {"quality": 5.3})
    (packet,) = encoder.encode(frame_of(image))
    payload = payload_of(packet)
    assert payload[0] == VARIABLE_RATE_FORMAT
    assert CAECodec.framing.unpack(payload)[0] == 5.25
    (frame,) = registry.create_decoder("cae", encoder.header).decode(packet)
    model = CAECodec.load_variable_rate().model
    assert np.array_equal(frame.to_ndarray(), model.reconstruct(image, 42))


def test_whole_qualities_of_the_level_files_keep_their_payloads():
    from neuralav.plugins.cae.quality import LEVEL_FILE_QUALITIES
    from neuralav.plugins.imaging.payload import PAYLOAD_FORMAT, VARIABLE_RATE_FORMAT

    image = np.random.default_rng(0).integers(0, 256, (32, 48, 3), np.uint8)
    for quality in (0, 1, 2, 3, 4, 5, 6, 7, 2.5):
        (packet,) = registry.create_encoder("cae", {"quality": quality}).encode(frame_of(image))
        expected = PAYLOAD_FORMAT if quality in LEVEL_FILE_QUALITIES else VARIABLE_RATE_FORMAT
        assert payload_of(packet)[0] == expected, quality


def test_variable_rate_packets_grow_with_quality_and_decode_through_any_decoder(camera_frame):
    image = photo(camera_frame, 96, 64)
    decoder = registry.create_decoder("cae", registry.create_encoder("cae", {"quality": 1}).header)
    sizes = []
    for quality in (0, 2.5, 4.75, 7):
        encoder = registry.create_encoder("cae", {"quality": quality})
        (packet,) = encoder.encode(frame_of(image))
        sizes.append(len(payload_of(packet)))
        (expected,) = registry.create_decoder("cae", encoder.header).decode(packet)
        (got,) = decoder.decode(packet)
        assert np.array_equal(got.to_ndarray(), expected.to_ndarray())
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


@pytest.mark.parametrize("quality, message", [(5.3, "not a multiple of 0.125"), (7.5, "valid: 0 to 7")])
def test_a_variable_rate_packet_off_the_grid_or_range_is_refused(camera_frame, quality, message):
    from neuralav.plugins.cae.codec import FRAMING
    from neuralav.plugins.imaging.payload import snap_quality

    encoder = registry.create_encoder("cae", {"quality": 5})
    (packet,) = encoder.encode(frame_of(photo(camera_frame)))
    _, model_id, fields, body = FRAMING.unpack(payload_of(packet))
    forged = FRAMING.pack_variable(snap_quality(quality), model_id, fields, body)
    with pytest.raises(InvalidDataError, match=message):
        registry.create_decoder("cae", encoder.header).decode(with_payload(packet, forged))


def test_a_short_variable_rate_string_is_refused_before_decoding(camera_frame):
    from neuralav.plugins.cae.codec import FRAMING

    encoder = registry.create_encoder("cae", {"quality": 6})
    (packet,) = encoder.encode(frame_of(photo(camera_frame)))
    quality, model_id, fields, body = FRAMING.unpack(payload_of(packet))
    forged = FRAMING.pack_variable(quality, model_id, fields, body[:2])
    with pytest.raises(InvalidDataError, match="cannot hold"):
        registry.create_decoder("cae", encoder.header).decode(with_payload(packet, forged))
