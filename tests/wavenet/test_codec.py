"""The ``wavenet`` codec's stream behaviour, with a tiny untrained model (no shipped weights needed).

The model is built from ``model.CONFIGS["tiny"]`` and exported with ``train.write_weights``
to a temporary file that ``NEURALAV_WAVENET_WEIGHTS`` points the codec at.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

pytest.importorskip("tensorflow_compression")

from neuralav import registry  # noqa: E402
from neuralav.plugins import wavenet  # noqa: E402
from neuralav.registry import InvalidDataError  # noqa: E402


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    from neuralav.plugins.wavenet.model import CONFIGS, WavenetModel
    from neuralav.plugins.wavenet.train import write_weights

    from neuralav.plugins.wavenet.model import GAIN_SCALE

    model = WavenetModel(CONFIGS["tiny"], seed=0)
    # Untrained latents are small and would all round to zero (and decode to silence):
    # amplify them so that the tests see real symbols and real output.
    gains = np.log([[8.0], [16.0], [32.0]]) * np.ones(model.log_gains.shape) / GAIN_SCALE
    model.log_gains.assign(gains.astype(np.float32))
    model.log_inverse_gains.assign(-gains.astype(np.float32))
    return write_weights(model, tmp_path_factory.mktemp("wavenet") / "tiny.npz")


@pytest.fixture
def reg(tiny_weights, monkeypatch):
    monkeypatch.setenv("NEURALAV_WAVENET_WEIGHTS", str(tiny_weights))
    return registry.build_registry([wavenet], autoload=False)


def speech_like(n: int, rate: int, channels: int, seed: int = 0) -> np.ndarray:
    """Harmonic tones under a syllable-rate envelope, plus a little noise: (channels, n) float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t)
    out = []
    for c in range(channels):
        f0 = 140.0 * (1 + 0.3 * c)
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
        out.append(0.15 * envelope * tone + 0.01 * rng.standard_normal(n))
    return np.asarray(out, np.float32)


def frames_of(samples: np.ndarray, rate: int, layout: str, fmt: str = "flt", size: int = 1024):
    """Cut (channels, n) samples into PyAV frames with pts in samples."""
    for start in range(0, samples.shape[1], size):
        piece = samples[:, start:start + size]
        if av.AudioFormat(fmt).packed.name == "s16":
            piece = (piece * 32767).astype(np.int16)
        array = piece if av.AudioFormat(fmt).is_planar else piece.T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(array), format=fmt, layout=layout)
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        yield frame


def encode_all(reg, samples, rate, layout, fmt="flt", quality=2):
    encoder = registry.create_encoder("wavenet", {"quality": quality}, registry=reg)
    packets = []
    for frame in frames_of(samples, rate, layout, fmt):
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    return encoder, packets


def decode_all(reg, header, packets):
    decoder = registry.create_decoder("wavenet", header, registry=reg)
    frames = []
    for packet in packets:
        frames += decoder.decode(packet)
    frames += decoder.decode(None)
    return frames


def joined(frames) -> np.ndarray:
    arrays = []
    for frame in frames:
        array = frame.to_ndarray()
        if not frame.format.is_planar:
            array = array.reshape(-1, len(frame.layout.channels)).T
        arrays.append(array)
    return np.concatenate(arrays, axis=1)


def test_descriptor_lists_levels_without_importing_tensorflow():
    import subprocess
    import sys

    code = ("import sys, neuralav.plugins.wavenet as w; d = w.WAVENET; "
            "assert d.option('quality').min == 1 and d.option('quality').max == 3; "
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("rate,layout,fmt,seconds", [(16000, "mono", "flt", 2.37), (44100, "stereo", "s16", 1.6),
                                                     (48000, "mono", "fltp", 0.05)])
def test_round_trip_keeps_length_layout_format_and_pts(reg, rate, layout, fmt, seconds):
    channels = len(av.AudioLayout(layout).channels)
    n = int(seconds * rate)
    encoder, packets = encode_all(reg, speech_like(n, rate, channels), rate, layout, fmt)
    assert sum(p.duration for p in packets) == n
    assert [p.pts for p in packets] == list(np.cumsum([0] + [p.duration for p in packets[:-1]]))
    frames = decode_all(reg, encoder.header, packets)
    assert sum(f.samples for f in frames) == n
    assert {(f.sample_rate, f.layout.name, f.format.name) for f in frames} == {(rate, layout, fmt)}
    assert [f.pts for f in frames] == list(np.cumsum([0] + [f.samples for f in frames[:-1]]))
    assert all(f.time_base == Fraction(1, rate) for f in frames)


def test_packets_are_at_most_100_ms_and_keyframes_at_most_2_s_apart(reg):
    rate = 16000
    encoder, packets = encode_all(reg, speech_like(5 * rate + 77, rate, 1), rate, "mono")
    assert max(p.duration for p in packets) <= rate // 10
    keyframe_pts = [p.pts for p in packets if p.is_keyframe] + [packets[-1].pts + packets[-1].duration]
    assert keyframe_pts[0] == 0
    assert max(np.diff(keyframe_pts)) <= 2 * rate


def test_packet_by_packet_decode_matches_whole_stream_decode_bit_for_bit(reg):
    """The decoder (groups of DECODE_GROUP packets, state carried over) gives exactly the samples of one
    fixed-point synthesis call over the whole stream's range-decoded integers."""
    from neuralav.plugins.wavenet.codec import load_bundle, unpack_payload

    rate = 16000
    encoder, packets = encode_all(reg, speech_like(3 * rate + 500, rate, 1), rate, "mono")
    streamed = joined(decode_all(reg, encoder.header, packets))[0]
    bundle = load_bundle(2)
    latents = []
    for packet in packets:
        frames, strings, _ = unpack_payload(bytes(packet), level=encoder.level, channels=1, hop=bundle.hop)
        latents.append(bundle.decompress[encoder.level](np.array(strings, dtype=object), frames).numpy())
    y_hat = np.concatenate(latents, axis=1)
    assert np.count_nonzero(y_hat) > 0 and np.array_equal(y_hat, np.round(y_hat))  # real symbols, integers
    whole, _ = bundle.synthesize(y_hat, encoder.level, bundle.zero_state("synthesis", 1))
    whole = whole[0, :len(streamed)]
    assert len(streamed) == 3 * rate + 500 and np.sum(whole ** 2) > 0
    np.testing.assert_array_equal(streamed, whole)


def test_stereo_round_trips_as_two_independently_coded_channels(reg):
    rate = 16000
    samples = speech_like(rate, rate, 2)
    samples[1] *= 0.25
    encoder, packets = encode_all(reg, samples, rate, "stereo")
    out = joined(decode_all(reg, encoder.header, packets))
    assert out.shape == (2, rate)
    for channel in (0, 1):  # each channel decodes as if it had been coded alone
        mono_encoder, mono_packets = encode_all(reg, samples[channel:channel + 1], rate, "mono")
        mono = joined(decode_all(reg, mono_encoder.header, mono_packets))
        np.testing.assert_array_equal(out[channel], mono[0])
    assert not np.array_equal(out[0], out[1])


def test_decoder_restarts_at_any_packet_after_a_seek(reg):
    rate = 16000
    encoder, packets = encode_all(reg, speech_like(3 * rate, rate, 1), rate, "mono")
    later = [p for p in packets if p.pts >= rate]
    assert later[0].is_keyframe
    frames = decode_all(reg, encoder.header, later)
    assert frames[0].pts == later[0].pts
    assert sum(f.samples for f in frames) == 3 * rate - later[0].pts


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "append"])
def test_corrupt_packets_raise_invalid_data(reg, damage):
    rate = 16000
    encoder, packets = encode_all(reg, speech_like(rate // 2, rate, 1), rate, "mono")
    data = bytearray(bytes(packets[1]))
    if damage == "flip":
        data[len(data) // 2] ^= 0x10
    elif damage == "truncate":
        data = data[:-3]
    elif damage == "empty":
        data = bytearray()
    else:
        data += b"\0"
    decoder = registry.create_decoder("wavenet", encoder.header, registry=reg)
    decoder.decode(packets[0])
    bad = av.Packet(bytes(data))
    bad.pts, bad.time_base = packets[1].pts, packets[1].time_base
    with pytest.raises(InvalidDataError):
        decoder.decode(bad)


def test_packets_carry_four_bytes_of_framing_and_a_crc16_over_all_of_them():
    import binascii

    from neuralav.plugins.wavenet.codec import PAYLOAD_FORMAT, pack_payload, unpack_payload

    payload = pack_payload(1, 10, [b"range-coded"], None)
    assert len(payload) == len(b"range-coded") + 4  # 2 header bytes + 2 CRC bytes (0.32 kbps at 100 ms)
    assert payload[0] == (PAYLOAD_FORMAT << 4) | 1 == 0x21
    assert payload[-2:] == (binascii.crc_hqx(payload[:-2], 0xFFFF) ^ 0xFFFF).to_bytes(2, "big")  # CRC-16/GENIBUS
    assert binascii.crc_hqx(b"123456789", 0xFFFF) ^ 0xFFFF == 0xD64E  # GENIBUS's published check value
    assert unpack_payload(payload, level=1, channels=1, hop=160) == (10, [b"range-coded"], None)
    for position in range(len(payload)):  # every single-byte error is caught
        damaged = bytearray(payload)
        damaged[position] ^= 0x5A
        with pytest.raises(InvalidDataError):
            unpack_payload(bytes(damaged), level=1, channels=1, hop=160)


def test_a_packet_of_payload_format_1_names_its_format():
    import struct
    import zlib

    from neuralav.plugins.wavenet.codec import unpack_payload

    body = bytes([(1 << 4) | 1, 10]) + b"range-coded"
    old = body + struct.pack(">I", zlib.crc32(body))  # the first releases' layout
    with pytest.raises(InvalidDataError, match="payload format 1; this decoder reads 2"):
        unpack_payload(old, level=1, channels=1, hop=160)


def test_packet_of_another_level_is_refused(reg):
    rate = 16000
    _, packets = encode_all(reg, speech_like(rate // 2, rate, 1), rate, "mono", quality=1)
    encoder3, _ = encode_all(reg, speech_like(rate // 2, rate, 1), rate, "mono", quality=3)
    decoder = registry.create_decoder("wavenet", encoder3.header, registry=reg)
    with pytest.raises(InvalidDataError, match="level 0"):
        decoder.decode(packets[0])


def test_bad_quality_names_the_valid_range(reg):
    with pytest.raises(registry.InvalidOptionError, match="from 1 to 3"):
        registry.create_encoder("wavenet", {"quality": 7}, registry=reg)


def test_installed_entry_point_registers_this_descriptor():
    names = [codec.name for codec in registry.list_codecs(registry=registry.build_registry())]
    if "wavenet" not in names:
        pytest.skip("the `wavenet` entry point is not in the installed metadata yet (pyproject.toml)")
    descriptor = registry.get_codec("wavenet", registry=registry.build_registry())
    assert descriptor.encoder == wavenet.WAVENET.encoder and descriptor.fourcc == "NWAV"


def test_header_names_the_model_and_a_foreign_model_is_refused(reg, tiny_weights, tmp_path, monkeypatch):
    encoder = registry.create_encoder("wavenet", {"quality": 2}, registry=reg, sample_rate=16000,
                                      layout="mono", format="flt")
    header = encoder.header
    other = tmp_path / "other.npz"
    with np.load(tiny_weights, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["w/dec/out_b"] = arrays["w/dec/out_b"] + 1.0
    with open(other, "wb") as handle:
        np.savez(handle, **arrays)
    monkeypatch.setenv("NEURALAV_WAVENET_WEIGHTS", str(other))
    with pytest.raises(InvalidDataError, match="model"):
        registry.create_decoder("wavenet", header, registry=reg)


def test_millisecond_timestamps_from_matroska_do_not_reset_the_decoder(reg):
    rate = 44100
    encoder, packets = encode_all(reg, speech_like(rate, rate, 1), rate, "mono")
    reference = joined(decode_all(reg, encoder.header, packets))
    for packet in packets:  # what a Matroska demuxer gives back: ms pts (rounded), no duration
        packet.pts = int((packet.pts + 12345) * 1000 // rate)
        packet.time_base = Fraction(1, 1000)
        packet.duration = 0
    again = joined(decode_all(reg, encoder.header, packets))
    np.testing.assert_array_equal(again, reference)


def test_packets_carry_the_range_coded_latent_of_the_analysis_transform(reg):
    """Each packet's string is tfc's range coding of round(analysis(x) * gain): decoding it with
    a fresh entropy model built from the weights' tables gives back exactly those integers."""
    import tensorflow as tf
    import tensorflow_compression as tfc

    from neuralav.plugins.wavenet.codec import FRAMES_PER_PACKET, load_bundle, unpack_payload

    rate = 16000
    x = speech_like(rate, rate, 1)
    encoder, packets = encode_all(reg, x, rate, "mono")
    bundle = load_bundle(2)
    level = encoder.level
    with np.load(bundle.path, allow_pickle=False) as archive:
        cdf, offset = archive[f"level{level}/cdf"], archive[f"level{level}/cdf_offset"]
    em = tfc.ContinuousBatchedEntropyModel(
        prior_shape=[bundle.config.latent_channels], coding_rank=2, compression=True, stateless=True,
        offset_heuristic=False, cdf=tf.constant(cdf), cdf_offset=tf.constant(offset))
    y, _ = bundle.analyze(x[:, :, None], bundle.zero_state("analysis", 1))
    expected = np.round((tf.constant(y) * bundle.model.gain(level)).numpy()[0])
    decoded = []
    for packet in packets:
        frames, (string,), _ = unpack_payload(bytes(packet), level=level, channels=1, hop=bundle.hop)
        assert frames == FRAMES_PER_PACKET and len(string) > 0
        decoded.append(em.decompress(tf.constant([string]), [frames]).numpy()[0])
    decoded = np.concatenate(decoded)
    assert np.count_nonzero(expected) > 0  # real symbols, not an all-zero latent
    np.testing.assert_array_equal(decoded, expected)


def test_one_decoder_follows_a_seek_mid_stream(reg):
    """Packets 0-12, then a jump to packet 25: the audio before the jump comes out whole, and
    the audio after it is stamped from the keyframe it restarted at."""
    rate = 16000
    encoder, packets = encode_all(reg, speech_like(4 * rate, rate, 1), rate, "mono")
    decoder = registry.create_decoder("wavenet", encoder.header, registry=reg)
    frames = []
    for packet in packets[:13] + packets[25:]:
        frames += decoder.decode(packet)
    frames += decoder.decode(None)
    jump = packets[25].pts
    before = [f for f in frames if f.pts < jump]
    after = [f for f in frames if f.pts >= jump]
    assert sum(f.samples for f in before) == packets[13].pts
    assert after[0].pts == jump and sum(f.samples for f in after) == 4 * rate - jump
    fresh = joined(decode_all(reg, encoder.header, packets[25:]))
    np.testing.assert_array_equal(joined(after), fresh)  # restarted from zero state


def test_decoder_returns_audio_once_per_group_of_packets(reg):
    from neuralav.plugins.wavenet.codec import DECODE_GROUP

    rate = 16000
    encoder, packets = encode_all(reg, speech_like(3 * rate, rate, 1), rate, "mono")
    decoder = registry.create_decoder("wavenet", encoder.header, registry=reg)
    counts = [sum(f.samples for f in decoder.decode(p)) for p in packets[:2 * DECODE_GROUP]]
    group = DECODE_GROUP * rate // 10
    assert counts == ([0] * (DECODE_GROUP - 1) + [group]) * 2


def test_synthesis_holds_blas_to_one_thread_and_restores_it(reg, monkeypatch):
    from threadpoolctl import ThreadpoolController

    from neuralav.plugins.wavenet.codec import load_bundle

    bundle = load_bundle(2)
    controller = ThreadpoolController()
    before = [lib["num_threads"] for lib in controller.select(user_api="blas").info()]
    inside = []
    original = bundle.fixed_synthesis

    def spy(*args):
        inside.append([lib["num_threads"] for lib in ThreadpoolController().select(user_api="blas").info()])
        return original(*args)

    state = bundle.zero_state("synthesis", 1)
    monkeypatch.setattr(bundle, "fixed_synthesis", spy)
    x, _ = bundle.synthesize(np.zeros((1, 10, bundle.config.latent_channels)), 0, state)
    assert x.shape == (1, 10 * bundle.hop)
    assert inside and all(count == 1 for count in inside[0]), inside
    assert [lib["num_threads"] for lib in controller.select(user_api="blas").info()] == before


def test_synthesis_from_several_threads_leaves_the_blas_setting_as_it_was(reg):
    """Overlapping one-thread limits must not restore each other's value (they are serialized)."""
    import threading

    from threadpoolctl import ThreadpoolController

    from neuralav.plugins.wavenet.codec import load_bundle

    bundle = load_bundle(2)
    controller = ThreadpoolController()
    before = [lib["num_threads"] for lib in controller.select(user_api="blas").info()]
    y_hat = np.round(np.random.default_rng(0).normal(0, 3, (1, 30, bundle.config.latent_channels)))
    expected, _ = bundle.synthesize(y_hat, 1, bundle.zero_state("synthesis", 1))
    results = []

    def work():
        for _ in range(5):
            results.append(bundle.synthesize(y_hat, 1, bundle.zero_state("synthesis", 1))[0])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20 and all(np.array_equal(r, expected) for r in results)
    assert [lib["num_threads"] for lib in controller.select(user_api="blas").info()] == before


@pytest.mark.parametrize("fmt", ["fltp", "s16p"])
def test_planar_7_1_round_trips_as_eight_channels(reg, fmt):
    """PyAV 18 cannot map planar frames of 8 channels to numpy; the codec must not crash on them."""
    from neuralav.registry.samples import array_to_frame

    rate, n = 48000, 5000
    samples = speech_like(n, rate, 8)
    if fmt == "s16p":
        samples = (samples * 32767).astype(np.int16)
    frame = array_to_frame(samples, fmt, "7.1", rate)
    frame.pts, frame.time_base = 0, Fraction(1, rate)
    encoder = registry.create_encoder("wavenet", {"quality": 1}, registry=reg)
    packets = encoder.encode(frame) + encoder.encode(None)
    frames = decode_all(reg, encoder.header, packets)
    assert sum(f.samples for f in frames) == n
    assert {(f.format.name, f.layout.name, f.sample_rate) for f in frames} == {(fmt, "7.1", rate)}


def test_each_channel_of_7_1_decodes_as_that_channel_coded_alone(reg):
    """Channels stay in their places: at the coded rate (no resampler), channel c of a 7.1
    stream decodes to exactly what channel c coded as mono decodes to."""
    from neuralav.registry.samples import array_to_frame, frame_to_array

    rate, n = 16000, 4000
    samples = np.concatenate([speech_like(n, rate, 1, seed=c) * (0.2 + 0.1 * c) for c in range(8)])
    frame = array_to_frame(samples, "fltp", "7.1", rate)
    encoder = registry.create_encoder("wavenet", {"quality": 1}, registry=reg)
    packets = encoder.encode(frame) + encoder.encode(None)
    out = np.concatenate([frame_to_array(f) for f in decode_all(reg, encoder.header, packets)], axis=1)
    for channel in (0, 3, 7):
        mono_encoder, mono_packets = encode_all(reg, samples[channel:channel + 1], rate, "mono", "fltp", quality=1)
        alone = joined(decode_all(reg, mono_encoder.header, mono_packets))
        np.testing.assert_array_equal(out[channel], alone[0])


def test_more_channels_than_a_packet_can_hold_are_refused_by_name(reg):
    from neuralav.registry import CodecHeader, FormatNotSupportedError

    frame = av.AudioFrame.from_ndarray(np.zeros((1, 160 * 16), np.float32), format="flt", layout="hexadecagonal")
    frame.sample_rate = 16000
    encoder = registry.create_encoder("wavenet", registry=reg)
    with pytest.raises(FormatNotSupportedError, match="1 to 8 channels, not 16"):
        encoder.encode(frame)
    good, _ = encode_all(reg, speech_like(1600, 16000, 1), 16000, "mono")
    header = CodecHeader.from_bytes(good.header)
    header = CodecHeader(header.codec, header.version, header.media_type,
                         {**header.fields, "layout": "hexadecagonal"})
    with pytest.raises(InvalidDataError, match="claims 16 channels"):
        registry.create_decoder("wavenet", header.to_bytes(), registry=reg)


@pytest.mark.parametrize("rate,n", [(44100, 1), (44100, 61), (8000, 21), (48000, 66), (16000, 1)])
def test_inputs_shorter_than_the_resamplers_delay_still_decode_to_their_length(reg, rate, n):
    """libswresample returns nothing for the first few dozen samples; the encoder pads the rest."""
    encoder, packets = encode_all(reg, speech_like(n, rate, 1), rate, "mono")
    assert len(packets) == 1 and packets[0].duration == n
    assert sum(f.samples for f in decode_all(reg, encoder.header, packets)) == n


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_the_final_packet_is_no_longer_than_100_ms_either(reg, rate):
    encoder, packets = encode_all(reg, speech_like(rate + 1, rate, 1), rate, "mono")
    assert sum(p.duration for p in packets) == rate + 1
    assert max(p.duration for p in packets) <= rate // 10


def test_a_refused_frame_mid_stream_leaves_a_stream_that_decodes_to_what_was_accepted(reg):
    rate = 16000
    encoder = registry.create_encoder("wavenet", registry=reg)
    good = list(frames_of(speech_like(3 * 1024, rate, 1), rate, "mono"))
    bad = speech_like(1024, rate, 1)
    bad[0, 10] = np.nan
    (bad_frame,) = frames_of(bad, rate, "mono")
    packets = encoder.encode(good[0]) + encoder.encode(good[1])
    with pytest.raises(InvalidDataError, match="NaN"):
        encoder.encode(bad_frame)
    packets += encoder.encode(good[2]) + encoder.encode(None)
    assert sum(p.duration for p in packets) == 3 * 1024
    assert sum(f.samples for f in decode_all(reg, encoder.header, packets)) == 3 * 1024


def test_a_packet_of_zero_latent_frames_is_refused(reg):
    from neuralav.plugins.wavenet.codec import pack_payload

    encoder, packets = encode_all(reg, speech_like(1600, 16000, 1), 16000, "mono")
    decoder = registry.create_decoder("wavenet", encoder.header, registry=reg)
    with pytest.raises(InvalidDataError, match="0 latent frames"):
        decoder.decode(av.Packet(pack_payload(1, 0, [b""], None)))
