"""Each codec's decoder fed damaged real packets: frames or a clean InvalidDataError, never a crash.

The packets are real (tiny models, real range coder, see ``conftest.py``): damaged
with :mod:`.mutate` (bit flips, truncation, extension, overwrites, splices),
re-sealed with a valid CRC so the damage reaches the payload parser, replaced
by a packet of another codec or quality, or crafted to claim huge sizes. A
:class:`~neuralav.registry.PluginError` is a failure here: it means an exception
the codec did not raise on purpose.
"""

from __future__ import annotations

import struct
import zlib

import av
import pytest
from hypothesis import given, settings, strategies as st

from neuralav import registry as reg
from neuralav.registry import InvalidDataError
from neuralav.registry.api import MAX_DIMENSION, MAX_PIXELS

from .conftest import packet_of
from .mutate import count_case, fix_crc, mutation, video_prefix_length, watchdog

pytestmark = pytest.mark.usefixtures("tiny_env")
FUZZ = settings.get_profile("neuralav-fuzz")
STREAMS = ["cae-q1", "cae-q2", "cae-vr", "vae-q1", "vae-q2", "vae-vr", "zlibv-rgb24", "zlibv-yuv420p",
           "wavenet-q1", "wavenet-q2", "zliba-s16", "zliba-flt"]
CRC_SEALED = {"cae": True, "vae": True, "wavenet": False}  # codec -> payload follows a video prefix


def decode_outcome(decoder, packets: list[av.Packet]) -> list[av.frame.Frame]:
    """Decode ``packets`` and flush; the frames, or the InvalidDataError re-raised as such."""
    frames = []
    for packet in packets:
        frames += decoder.decode(packet)
    return frames + decoder.decode(None)


def check_frames(stream, frames) -> None:
    for frame in frames:
        if stream.codec in ("cae", "vae", "zlibv"):
            assert isinstance(frame, av.VideoFrame) and frame.width >= 1 and frame.height >= 1
        else:
            assert isinstance(frame, av.AudioFrame) and frame.samples >= 1


def run_damaged(streams, fuzz_registry, name: str, index: int, damaged: bytes, target: str = "damaged") -> None:
    """Decode the stream's packets with packet ``index`` replaced by ``damaged``."""
    target = f"packets {target}: {name}"
    stream = streams[name]
    decoder = reg.create_decoder(stream.codec, stream.header, registry=fuzz_registry)
    packets = [packet_of(data, pts, stream.time_base) for data, pts in zip(stream.packets, stream.pts)]
    packets[index] = packet_of(damaged, stream.pts[index], stream.time_base)
    with watchdog(60, f"{name} packet {index} ({len(damaged)} bytes)"):
        try:
            frames = decode_outcome(decoder, packets)
        except InvalidDataError as error:
            count_case(target, type(error).__name__)
            return
    check_frames(stream, frames)
    count_case(target)


@st.composite
def damaged_packet(draw, streams, name: str):
    stream = streams[name]
    index = draw(st.integers(0, len(stream.packets) - 1))
    others = tuple(p for s in streams.values() for p in s.packets if s.name != name)
    data = draw(mutation(stream.packets[index], others))
    if stream.codec in CRC_SEALED and draw(st.booleans()):
        data = fix_crc(data, CRC_SEALED[stream.codec])
    return index, data


@pytest.mark.parametrize("name", STREAMS)
def test_damaged_packets_decode_or_raise_invalid_data(streams, fuzz_registry, name):
    @FUZZ
    @given(st.data())
    def fuzz(data):
        index, damaged = data.draw(damaged_packet(streams, name))
        run_damaged(streams, fuzz_registry, name, index, damaged)

    fuzz()


@pytest.mark.parametrize("name", STREAMS)
def test_every_packet_of_another_codec_or_quality_is_refused_or_decoded(streams, fuzz_registry, name):
    stream = streams[name]
    foreign = [p for s in streams.values() if s.name != name for p in s.packets]
    for packet in foreign:
        run_damaged(streams, fuzz_registry, name, 0, packet, "foreign")
    assert len(foreign) > 10


# ----------------------------------------------------------------- crafted size claims


def video_packet(width: int, height: int, payload: bytes, coded: bytes = b"rgb24", output: bytes = b"rgb24") -> bytes:
    """A registry video packet (prefix layout in ``registry/api.py``) around ``payload``."""
    return struct.pack(">BHH", len(coded), width, height) + coded + bytes([len(output)]) + output + payload


def cae_payload(stream, width: int, height: int) -> bytes:
    """The stream's first payload, re-labelled for a width x height frame with a valid CRC."""
    from neuralav.plugins.cae.codec import latent_shape_of, pack_payload, unpack_payload

    start = video_prefix_length(stream.packets[0])
    quality, model_id, _, string = unpack_payload(stream.packets[0][start:])
    return pack_payload(quality, model_id, latent_shape_of(width, height), string)


def vae_payload(stream) -> bytes:
    return stream.packets[0][video_prefix_length(stream.packets[0]):]


def zlibv_payload(width: int, height: int) -> bytes:
    return b"\x00" + zlib.compress(b"\x00" * 1024)


@pytest.fixture
def models_must_not_run(monkeypatch):
    """Makes any model call fail: a size claim must be refused before the model allocates."""
    from neuralav.plugins.cae.codec import LoadedLevel
    from neuralav.plugins.vae.codec import LoadedModel

    def refuse(*args, **kwargs):
        raise AssertionError("the model ran on a packet that claims a huge frame")

    monkeypatch.setattr(LoadedLevel, "decompress", refuse)
    monkeypatch.setattr(LoadedModel, "decompress", refuse)


@pytest.mark.parametrize("codec", ["cae", "vae", "zlibv"])
def test_a_packet_claiming_a_huge_frame_is_refused_before_decoding(streams, fuzz_registry, models_must_not_run,
                                                                   codec):
    stream = streams[f"{codec}-q1" if codec != "zlibv" else "zlibv-rgb24"]
    decoder = reg.create_decoder(codec, stream.header, registry=fuzz_registry)

    # A plausible size is legitimate decoding work, not this test's business.
    huge = st.tuples(st.integers(1, 65535), st.integers(1, 65535)).filter(
        lambda size: size[0] * size[1] > MAX_PIXELS or max(size) > MAX_DIMENSION)

    @FUZZ
    @given(huge)
    def fuzz(size):
        width, height = size
        count_case(f"packets huge-frame-claim: {codec}", "InvalidDataError")
        payload = {"cae": lambda: cae_payload(stream, width, height), "vae": lambda: vae_payload(stream),
                   "zlibv": lambda: zlibv_payload(width, height)}[codec]()
        with watchdog(10, f"{codec} {width}x{height}"):
            with pytest.raises(InvalidDataError, match=f"{width}x{height}"):
                decoder.decode(packet_of(video_packet(width, height, payload)))

    fuzz()


def test_a_cae_packet_claiming_16384_by_16384_is_refused(streams, fuzz_registry, models_must_not_run):
    # Regression: each side within MAX_DIMENSION, latent shape and CRC consistent: the model
    # used to run on a 268-Mpixel frame (tens of GB).
    stream = streams["cae-q1"]
    decoder = reg.create_decoder("cae", stream.header, registry=fuzz_registry)
    packet = video_packet(16384, 16384, cae_payload(stream, 16384, 16384))
    with pytest.raises(InvalidDataError, match="16384x16384 frame"):
        decoder.decode(packet_of(packet))


def test_the_encoder_refuses_a_frame_the_decoder_would_refuse(fuzz_registry):
    from neuralav.registry import FormatNotSupportedError

    encoder = reg.create_encoder("zlibv", {}, registry=fuzz_registry)
    side = int(MAX_PIXELS ** 0.5) + 1
    frame = av.VideoFrame(side, side, "gray")
    with pytest.raises(FormatNotSupportedError, match=f"{side}x{side}"):
        encoder.encode(frame)


def wavenet_final_packet(stream, input_samples: int) -> bytes:
    """The stream's final packet, claiming ``input_samples`` at the input rate, re-sealed."""
    last = bytearray(stream.packets[-1])
    assert last[1] & 16, "the stream's last packet is not marked final"
    last[4:8] = struct.pack(">I", input_samples)
    return fix_crc(bytes(last), video=False)


@pytest.mark.parametrize("name", ["wavenet-q1", "wavenet-q2"])
def test_a_wavenet_final_packet_claiming_billions_of_samples_is_refused(streams, fuzz_registry, name):
    # Regression: the decoder padded its output to the claimed count (16 GB for 0xFFFFFFFF).
    stream = streams[name]
    decoder = reg.create_decoder("wavenet", stream.header, registry=fuzz_registry)
    with watchdog(30, "wavenet huge final packet"):
        with pytest.raises(InvalidDataError, match="4294967295"):
            decode_outcome(decoder, [packet_of(p, pts, stream.time_base) for p, pts in
                                     zip(stream.packets[:-1] + [wavenet_final_packet(stream, 0xFFFFFFFF)],
                                         stream.pts)])


@pytest.mark.parametrize("name", ["wavenet-q1", "wavenet-q2"])
def test_a_wavenet_final_packet_with_any_sample_claim_decodes_or_is_refused(streams, fuzz_registry, name):
    stream = streams[name]

    @FUZZ
    @given(st.integers(0, 0xFFFFFFFF))
    def fuzz(claim):
        run_damaged(streams, fuzz_registry, name, len(stream.packets) - 1, wavenet_final_packet(stream, claim),
                    "final-sample-claim")

    fuzz()


def test_a_zliba_packet_claiming_billions_of_samples_is_refused(streams, fuzz_registry):
    stream = streams["zliba-s16"]
    decoder = reg.create_decoder("zliba", stream.header, registry=fuzz_registry)
    packet = struct.pack(">I", 0xFFFFFFFF) + stream.packets[0][4:]
    with pytest.raises(InvalidDataError, match="limit"):
        decoder.decode(packet_of(packet))


# ----------------------------------------------------------------- output pixel formats


def relabelled(packet: bytes, output: str) -> bytes:
    """``packet`` with the output pixel format of its prefix replaced by ``output``."""
    position = 5 + packet[0]
    payload = packet[position + 1 + packet[position]:]
    return packet[:position] + bytes([len(output)]) + output.encode("ascii") + payload


@pytest.mark.parametrize("name", ["zlibv-rgb24", "cae-q1"])
def test_a_packet_asking_for_any_output_pixel_format_decodes_or_is_refused(streams, fuzz_registry, name):
    import av.video.format

    stream = streams[name]

    @FUZZ
    @given(st.sampled_from(sorted(av.video.format.names)))
    def fuzz(output):
        run_damaged(streams, fuzz_registry, name, 0, relabelled(stream.packets[0], output), "output-pixel-format")

    fuzz()


@pytest.mark.parametrize("output", ["cuda", "bayer_bggr16be"])
def test_an_output_pixel_format_nothing_converts_to_is_invalid_data(streams, fuzz_registry, output):
    # Found: frame.reformat raised av.ArgumentError / av.OSError out of VideoDecoder.decode.
    stream = streams["zlibv-rgb24"]
    decoder = reg.create_decoder("zlibv", stream.header, registry=fuzz_registry)
    with pytest.raises(InvalidDataError, match=f"output pixel format `{output}`"):
        decoder.decode(packet_of(relabelled(stream.packets[0], output)))
