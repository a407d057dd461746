"""The `nvc` codec through the registry: keyframes, closed-loop P-frames, damage, limits."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from neuralav import registry
from neuralav.registry import InvalidDataError
from neuralav.registry.api import parse_video_packet

from .conftest import clip


def _frames(images):
    for i, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, 25)
        yield frame


def _encode(reg, images, **options):
    encoder = registry.create_encoder("nvc", {"quality": 3, **options}, registry=reg)
    packets, references = [], []
    for frame in _frames(images):
        (packet,) = encoder.encode(frame)
        packets.append(packet)
        references.append(np.array(encoder._reference))  # what the decoder must rebuild
    assert encoder.encode(None) == []
    return encoder.header, packets, references


@pytest.fixture
def images():
    return clip(7, start=10, crop=(80, 112))


def test_gop_structure_and_decoding_equal_to_the_encoders_references(nvc_registry, use_tiny_nvc, images):
    header, packets, references = _encode(nvc_registry, images, g=3)
    assert [p.is_keyframe for p in packets] == [True, False, False, True, False, False, True]
    decoder = registry.create_decoder("nvc", header, registry=nvc_registry)
    for packet, reference in zip(packets, references):
        (frame,) = decoder.decode(packet)
        decoded = frame.to_ndarray(format="rgb24")
        assert np.array_equal(decoded, reference)


def test_p_frames_code_a_real_residual(nvc_registry, use_tiny_nvc, images):
    """Non-vacuous: the P-frame's decoded residual changes the motion-compensated prediction."""
    from neuralav.plugins.nvc import motion
    from neuralav.plugins.nvc.codec import load_residual_model

    _, _, references = _encode(nvc_registry, images[:2], g=10)
    model = load_residual_model(3).model
    vectors = motion.search(images[1], references[0])
    prediction = motion.compensate(references[0], vectors)
    residual = images[1].astype(np.int32) - prediction
    _, _, decoded = model.compress(residual, 2)
    assert np.count_nonzero(decoded) > 100
    assert not np.array_equal(references[1], prediction)


def test_keyframes_are_vae_frames_one_level_up(nvc_registry, use_tiny_nvc, images):
    from neuralav.plugins.nvc.levels import KEYFRAME_QUALITIES

    assert KEYFRAME_QUALITIES[2] == 4
    from neuralav.plugins.vae.codec import load_model_file, pack_payload

    header, packets, _ = _encode(nvc_registry, images[:1])
    frame = next(_frames(images[:1]))
    keyframes = load_model_file(KEYFRAME_QUALITIES[2])  # the one-level vae file q4.npz
    side, string, _ = keyframes.compress(frame.to_ndarray(format="rgb24"), 0)
    payload = parse_video_packet(bytes(packets[0])).payload[5:]
    assert payload == pack_payload(4, keyframes.model_id, side, string)
    # ... which a vae decoder reads (payload format 1) as the same picture
    vae = registry.create_encoder("vae", {"quality": 4}, registry=nvc_registry)
    decoder = registry.create_decoder("vae", vae.header, registry=nvc_registry)
    picture = decoder.decode_image(payload, frame.width, frame.height, "rgb24")
    np.testing.assert_array_equal(picture, keyframes.model.reconstruct(frame.to_ndarray(format="rgb24"), 0))


def test_a_damaged_p_frame_is_an_error_and_decoding_resumes_at_the_next_keyframe(
        nvc_registry, use_tiny_nvc, images):
    header, packets, references = _encode(nvc_registry, images, g=3)
    decoder = registry.create_decoder("nvc", header, registry=nvc_registry)
    data = bytearray(bytes(packets[1]))
    data[-9] ^= 0x5A
    decoder.decode(packets[0])
    with pytest.raises(InvalidDataError, match="CRC"):
        decoder.decode(av.Packet(bytes(data)))
    with pytest.raises(InvalidDataError, match="reference"):
        decoder.decode(packets[2])
    (frame,) = decoder.decode(packets[3])
    assert np.array_equal(frame.to_ndarray(format="rgb24"), references[3])


def _reframed(packet, change) -> av.Packet:
    """`packet` (a P-frame) with its payload's fields and strings replaced by
    ``change(fields, strings) -> (fields, strings)``, the CRC resealed so the change reaches the parser."""
    import struct
    import zlib

    from neuralav.plugins.nvc.codec import P_FRAMING
    from neuralav.registry.inter import INTER_HEADER_SIZE

    raw = bytes(packet)
    info = parse_video_packet(raw)
    prefix = raw[:len(raw) - len(info.payload)]
    inter, payload = info.payload[:INTER_HEADER_SIZE], info.payload[INTER_HEADER_SIZE:]
    quality, model_id, fields, strings = P_FRAMING.unpack(payload)
    fields, strings = change(fields, strings)
    forged = P_FRAMING.pack(quality, model_id, fields, strings)
    assert zlib.crc32(forged[:-4]) == struct.unpack(">I", forged[-4:])[0]
    return av.Packet(prefix + inter + forged)


def test_strings_too_short_for_the_frame_are_refused_before_decoding(nvc_registry, use_tiny_nvc, images):
    """A P-frame whose side string was cut (CRC recomputed) cannot code the claimed size."""
    big = [np.tile(image, (4, 4, 1)) for image in images[:2]]  # 320 x 448
    header, packets, _ = _encode(nvc_registry, big, g=10)
    forged = _reframed(packets[1], lambda fields, strings: ((fields[0], fields[1], 2), strings[:fields[1] + 2]))
    decoder = registry.create_decoder("nvc", header, registry=nvc_registry)
    decoder.decode(packets[0])
    with pytest.raises(InvalidDataError, match="side string of 2 bytes cannot code a 448x320 frame"):
        decoder.decode(forged)


def test_a_motion_string_the_range_decoder_rejects_is_invalid_data(nvc_registry, use_tiny_nvc, images):
    header, packets, _ = _encode(nvc_registry, images[:2], g=10)
    forged = _reframed(packets[1], lambda fields, strings: ((fields[0], fields[1] + len(strings), fields[2]),
                                                            strings))
    decoder = registry.create_decoder("nvc", header, registry=nvc_registry)
    decoder.decode(packets[0])
    with pytest.raises(InvalidDataError, match="claims"):
        decoder.decode(forged)


@pytest.mark.parametrize("prediction, message", [(1, "long-term reference, which no frame since the keyframe"),
                                                 (7, "prediction 7")])
def test_a_p_frame_naming_a_reference_the_decoder_lacks_is_invalid_data(nvc_registry, use_tiny_nvc, images,
                                                                       prediction, message):
    header, packets, _ = _encode(nvc_registry, images[:2], g=10)
    forged = _reframed(packets[1], lambda fields, strings: ((prediction,) + fields[1:], strings))
    decoder = registry.create_decoder("nvc", header, registry=nvc_registry)
    decoder.decode(packets[0])
    with pytest.raises(InvalidDataError, match=message):
        decoder.decode(forged)


def _predictions(packets):
    """Each packet's prediction: 'K' keyframe, else the P-frame's prediction field."""
    from neuralav.plugins.nvc.codec import P_FRAMING
    from neuralav.registry.inter import INTER_HEADER_SIZE

    kinds = []
    for packet in packets:
        payload = parse_video_packet(bytes(packet)).payload[INTER_HEADER_SIZE:]
        kinds.append("K" if packet.is_keyframe else P_FRAMING.unpack(payload)[2][0])
    return kinds


@pytest.mark.slow
def test_the_shipped_model_codes_a_cut_intra_and_a_cut_back_from_the_long_term_reference(nvc_registry):
    """Mid-GOP, after a cut to a view no block vector predicts (the clip turned upside
    down) the frame is coded intra; at the cut back, the last frame before the first cut
    (the long-term reference) predicts it, far cheaper than intra; ordinary motion is
    predicted from the previous frame. None of them is a keyframe: seeking needs one."""
    from neuralav.plugins.nvc.codec import INTRA, LONG_TERM, PREVIOUS

    view_a = clip(6, start=10, crop=(144, 176))
    view_b = [np.ascontiguousarray(f[::-1, ::-1]) for f in clip(2, start=13, crop=(144, 176))]
    images = view_a[:3] + view_b + view_a[3:]
    header, packets, references = _encode(nvc_registry, images, g=16, quality=4)
    assert _predictions(packets) == ["K", PREVIOUS, PREVIOUS, INTRA, PREVIOUS, LONG_TERM, PREVIOUS, PREVIOUS]
    assert packets[5].size < packets[3].size / 3
    decoder = registry.create_decoder("nvc", header, registry=nvc_registry)
    for packet, reference in zip(packets, references):
        (frame,) = decoder.decode(packet)
        assert np.array_equal(frame.to_ndarray(format="rgb24"), reference)


def test_whole_hyper_positions_replicates_the_last_latent_row_and_column_to_multiples_of_4():
    import tensorflow as tf

    from neuralav.plugins.nvc.model import whole_hyper_positions

    magnitudes = tf.random.uniform((1, 18, 22, 3), seed=1)
    padded = whole_hyper_positions(magnitudes).numpy()
    assert padded.shape == (1, 20, 24, 3)
    assert np.array_equal(padded[:, :18, :22], magnitudes.numpy())
    assert np.array_equal(padded[:, 18:, :22], np.repeat(magnitudes.numpy()[:, -1:], 2, axis=1))
    assert np.array_equal(padded[:, :, 22:], np.repeat(padded[:, :, 21:22], 2, axis=2))
    whole = tf.ones((1, 8, 12, 3))
    assert whole_hyper_positions(whole).shape == whole.shape


@pytest.mark.slow
def test_the_shipped_residual_coder_spends_few_side_bits_on_a_frame_not_a_multiple_of_64():
    """CIF's latent grid (18 x 22) is not a multiple of the hyper-latent's stride 4. Over
    zero padding, the last row and column of z would cost most of the side string; the
    encoder replicates |y|'s edge instead, and the side string shrinks by more than half."""
    import tensorflow as tf

    from neuralav.plugins.nvc.codec import load_residual_model
    from neuralav.plugins.nvc.model import pad_residual

    model = load_residual_model(4).model
    previous, current = clip(2, start=20)
    residual = current.astype(np.int32) - previous
    side, _, _ = model.compress(residual, 3)
    y = model.analysis_transform(pad_residual(residual)[None]) * tf.exp(model.log_gain[3])
    over_zeros = model.side_coder.compress(model.hyper_analysis_transform(tf.abs(y)))[0].numpy()
    assert len(side) < 0.5 * len(over_zeros), (len(side), len(over_zeros))
