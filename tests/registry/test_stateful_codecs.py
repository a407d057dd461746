"""The stateful (inter-frame) video contract, through the library API and a real inter codec.

``zlibp``, the example plugin's lossless inter codec (installed with pip for the session),
codes keyframes every ``g`` frames and P-frames as the difference from the previous frame.
"""

from __future__ import annotations

import json
import struct

import av
import numpy as np
import pytest

from neuralav import registry
from neuralav.registry import (Capability, CodecDescriptor, CodedFrame, InterVideoDecoder, InterVideoEncoder,
                               InvalidDataError, MediaType, Option, keyframe_interval_option)
from neuralav.registry.api import parse_video_packet


def chart(frames: int, size: str = "96x64") -> list[av.VideoFrame]:
    """FFmpeg's ``testsrc`` pattern (a static chart with a moving sweep and a counter), rgb24, 25 fps."""
    with av.open(f"testsrc=size={size}:rate=25:duration={frames / 25}", format="lavfi") as source:
        return list(source.decode(video=0))[:frames]


def encode_all(encoder, frames) -> list[av.Packet]:
    packets = [packet for frame in frames for packet in encoder.encode(frame)]
    return packets + encoder.encode(None)


def pixels(frames) -> list[np.ndarray]:
    return [frame.to_ndarray(format="rgb24") for frame in frames]


def test_a_whole_gop_round_trips_losslessly_with_keyframes_every_g_frames():
    frames = chart(30)
    encoder = registry.create_encoder("zlibp", {"g": 12})
    packets = encode_all(encoder, frames)
    assert [i for i, p in enumerate(packets) if p.is_keyframe] == [0, 12, 24]
    assert [p.pts for p in packets] == [f.pts for f in frames] == [p.dts for p in packets]
    decoder = registry.create_decoder("zlibp", encoder.header)
    decoded = [frame for packet in packets for frame in decoder.decode(packet)] + decoder.decode(None)
    assert len(decoded) == 30
    for original, result in zip(pixels(frames), pixels(decoded)):
        np.testing.assert_array_equal(result, original)
    assert [f.pts for f in decoded] == [f.pts for f in frames]


def test_p_frames_are_smaller_than_keyframes_on_a_mostly_static_clip():
    packets = encode_all(registry.create_encoder("zlibp", {"g": 12}), chart(12, "320x240"))
    keyframe, predicted = packets[0].size, max(p.size for p in packets[1:])
    # testsrc's chart stands still; only its sweep and counter change (a P-frame is about half).
    assert predicted < 0.6 * keyframe, (keyframe, [p.size for p in packets])


def test_g_1_makes_every_frame_a_keyframe_and_g_is_range_checked():
    packets = encode_all(registry.create_encoder("zlibp", {"g": 1}), chart(4))
    assert all(p.is_keyframe for p in packets)
    with pytest.raises(registry.InvalidOptionError, match="option `g` = 0 is out of range"):
        registry.create_encoder("zlibp", {"g": 0})


def test_a_frame_that_changes_size_gets_a_keyframe():
    frames = chart(6)
    small = chart(1, "48x32")[0]
    small.pts = 4
    frames[4] = small
    encoder = registry.create_encoder("zlibp", {"g": 12})
    packets = encode_all(encoder, frames)
    assert [p.is_keyframe for p in packets] == [True, False, False, False, True, True]
    decoder = registry.create_decoder("zlibp", encoder.header)
    decoded = [f for p in packets for f in decoder.decode(p)]
    assert [(f.width, f.height) for f in decoded][3:6] == [(96, 64), (48, 32), (96, 64)]


def decode_each(decoder, packets) -> list[np.ndarray | str]:
    """Each packet's image, or the error message it raised (``InvalidDataError`` only)."""
    results = []
    for packet in packets:
        try:
            (frame,) = decoder.decode(packet)
            results.append(frame.to_ndarray(format="rgb24"))
        except InvalidDataError as error:
            results.append(str(error))
    return results


def test_decoding_from_a_p_frame_fails_clearly_until_the_next_keyframe():
    frames = chart(16)
    encoder = registry.create_encoder("zlibp", {"g": 6})
    packets = encode_all(encoder, frames)
    results = decode_each(registry.create_decoder("zlibp", encoder.header), packets[3:])
    assert results[0] == ("`zlibp` P-frame 3 cannot be decoded: its reference (frame 2) was not decoded (decoding "
                          "starts at a keyframe; a seek, or a damaged or missing packet, broke the chain); frames "
                          "are lost until the next keyframe")
    assert all(isinstance(r, str) for r in results[:3])
    for original, result in zip(pixels(frames[6:]), results[3:]):
        np.testing.assert_array_equal(result, original)


def damaged(packet: av.Packet, data: bytes) -> av.Packet:
    copy = av.Packet(data)
    copy.pts, copy.dts, copy.time_base, copy.is_keyframe = packet.pts, packet.dts, packet.time_base, packet.is_keyframe
    return copy


def test_a_damaged_p_frame_breaks_the_chain_until_the_next_keyframe():
    frames = chart(14)
    encoder = registry.create_encoder("zlibp", {"g": 6})
    packets = encode_all(encoder, frames)
    packets[2] = damaged(packets[2], bytes(packets[2])[:-8])
    results = decode_each(registry.create_decoder("zlibp", encoder.header), packets)
    assert "corrupt zlib payload" in results[2] or "decodes to" in results[2]
    # Frames 3-5 are lost (never predicted from the wrong frame); decoding resumes at keyframe 6.
    assert [isinstance(r, str) for r in results] == [False, False] + [True] * 4 + [False] * 8
    assert "reference (frame 2) was not decoded" in results[3]
    for original, result in zip(pixels(frames[6:]), results[6:]):
        np.testing.assert_array_equal(result, original)


def test_a_missing_p_frame_is_found_by_its_number():
    frames = chart(8)
    encoder = registry.create_encoder("zlibp", {"g": 6})
    packets = encode_all(encoder, frames)
    results = decode_each(registry.create_decoder("zlibp", encoder.header), packets[:2] + packets[3:])
    assert results[2] == ("`zlibp` P-frame 3 follows frame 1: 1 packet is missing before it; frames are lost "
                          "until the next keyframe")
    assert [isinstance(r, str) for r in results] == [False, False, True, True, True, False, False]


def test_a_discontinuity_drops_the_reference():
    frames = chart(4)
    encoder = registry.create_encoder("zlibp")
    packets = encode_all(encoder, frames)
    decoder = registry.create_decoder("zlibp", encoder.header)
    decoder.decode(packets[0])
    decoder.decode(packets[1])
    decoder.discontinuity()
    with pytest.raises(InvalidDataError, match="P-frame 2 cannot be decoded"):
        decoder.decode(packets[2])


def test_a_foreign_frame_type_is_refused():
    encoder = registry.create_encoder("zlibp")
    (packet,) = encoder.encode(chart(1)[0])
    info = parse_video_packet(bytes(packet))
    prefix = bytes(packet)[:len(bytes(packet)) - len(info.payload)]
    bad = damaged(packet, prefix + struct.pack(">BI", 7, 0) + info.payload[5:])
    with pytest.raises(InvalidDataError, match="frame type 7"):
        registry.create_decoder("zlibp", encoder.header).decode(bad)


# ----------------------------------------------------------------------- a lossy codec: closed loop

LOSSY = CodecDescriptor(
    name="coarse", long_name="test: pixels rounded to multiples of 16, P-frames as differences",
    media_type=MediaType.VIDEO, capabilities=Capability.LOSSY | Capability.INTER, formats=("rgb24",),
    options=(keyframe_interval_option(default=5),), version=1, fourcc="TCRS")


class CoarseEncoder(InterVideoEncoder):
    def encode_frame(self, image, pix_fmt, reference):
        base = np.zeros_like(image) if reference is None else reference
        step = ((image.astype(np.int16) - base) // 16).astype(np.int8)
        return CodedFrame(step.tobytes(), (base + step.astype(np.int16) * 16).astype(np.uint8))


class CoarseDecoder(InterVideoDecoder):
    def decode_frame(self, payload, width, height, pix_fmt, reference):
        base = np.zeros((height, width, 3), np.uint8) if reference is None else reference
        step = np.frombuffer(payload, np.int8).reshape(height, width, 3)
        return (base + step.astype(np.int16) * 16).astype(np.uint8)


def test_a_lossy_codec_predicts_from_its_reconstruction_so_the_decoder_does_not_drift():
    frames = chart(10)
    encoder = CoarseEncoder(LOSSY, LOSSY.resolve_options())
    decoder = CoarseDecoder(LOSSY, encoder.header)
    for frame in frames:
        (packet,) = encoder.encode(frame)
        (decoded,) = decoder.decode(packet)
        np.testing.assert_array_equal(decoded.to_ndarray(), encoder._reference)
        error = np.abs(decoded.to_ndarray().astype(int) - frame.to_ndarray().astype(int))
        assert error.max() < 16  # open loop (predicting from the input) would let the error grow


def test_a_codec_may_code_a_frame_alone_and_the_keyframe_count_restarts_there():
    class SceneCut(CoarseEncoder):
        """Codes a frame alone when it differs from its reference by more than a threshold."""

        def encode_frame(self, image, pix_fmt, reference):
            if reference is not None and np.abs(image.astype(int) - reference).mean() > 40:
                coded = super().encode_frame(image, pix_fmt, None)
                return CodedFrame(coded.payload, coded.reconstruction, keyframe=True)
            return super().encode_frame(image, pix_fmt, reference)

    frames = chart(9)
    frames[3:] = [av.VideoFrame.from_ndarray(255 - f.to_ndarray(), format="rgb24") for f in frames[3:]]  # a cut
    cut = frames[3]
    encoder = SceneCut(LOSSY, LOSSY.resolve_options({"g": 5}))
    packets = encode_all(encoder, frames)
    # Keyframes at 0, at the cut (3), then g = 5 frames after the cut (8), not at 5.
    assert [p.is_keyframe for p in packets] == [True, False, False, True, False, False, False, False, True]
    decoder = CoarseDecoder(LOSSY, encoder.header)
    decoder.decode(packets[0])
    decoder.discontinuity()  # as after a seek: decoding restarts at the scene-cut keyframe
    decoded = [decoder.decode(p)[0].to_ndarray() for p in packets[3:]]
    assert np.abs(decoded[0].astype(int) - cut.to_ndarray()).max() < 16


def test_a_reconstruction_of_the_wrong_shape_is_the_plugin_s_fault():
    class Bad(CoarseEncoder):
        def encode_frame(self, image, pix_fmt, reference):
            return CodedFrame(b"x", image[:1])

    with pytest.raises(registry.PluginError, match=r"codec `coarse` .* its reconstruction is uint8 \(1, 96, 3\); expected uint8 \(64, 96, 3\)"):
        Bad(LOSSY, LOSSY.resolve_options()).encode(chart(1)[0])


# ----------------------------------------------------------------------- descriptors and docs

def test_an_inter_codec_must_take_g_and_cannot_be_intra_only():
    fields = dict(name="x", long_name="x", media_type=MediaType.VIDEO, formats=("rgb24",), version=1, fourcc="XXXX")
    with pytest.raises(ValueError, match="needs an int option `g`"):
        CodecDescriptor(capabilities=Capability.INTER, options=(Option("level", int, 1, "l", min=0, max=9),),
                        **fields)
    with pytest.raises(ValueError, match="INTER and INTRA_ONLY exclude each other"):
        CodecDescriptor(capabilities=Capability.INTER | Capability.INTRA_ONLY,
                        options=(keyframe_interval_option(),), **fields)
    assert Capability.INTER in CodecDescriptor(capabilities=Capability.INTER, options=(keyframe_interval_option(),),
                                               **fields).capabilities


def test_neuralav_codecs_says_zlibp_is_stateful_and_shows_g(capsys):
    from neuralav.container.cli import main

    assert main(["codecs", "zlibp"]) == 0
    text = capsys.readouterr().out
    assert "General capabilities: lossless variable_size inter" in text
    assert "-g " in text and "keyframe interval in frames" in text and "(default 12)" in text
    assert main(["codecs", "--json"]) == 0
    listed = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert "inter" in listed["zlibp"]["capabilities"] and "inter" not in listed["zlibv"]["capabilities"]


def test_the_hookspec_docs_state_the_stateful_contract():
    from neuralav.registry import hookspecs, inter

    for name in ("Capability.INTER", "InterVideoEncoder", "InterVideoDecoder", "encode_frame", "decode_frame",
                 "reset()", "discontinuity()", "keyframe_interval_option()", "CodedFrame", "is_keyframe",
                 "dts == pts", "encode(None)"):
        assert name in hookspecs.__doc__, name
    for name in ("no reordering", "Closed loop", "InvalidDataError", "frame number", "``g``"):
        assert name in inter.__doc__, name
    for method in (InterVideoEncoder.encode_frame, InterVideoDecoder.decode_frame, InterVideoDecoder.reset,
                   registry.Decoder.discontinuity):
        assert method.__doc__ and len(method.__doc__) > 80, method


def test_a_frame_the_encoder_fails_on_leaves_the_chain_whole():
    """A frame that fails to encode (skipped under --ignore-errors) changes neither the reference nor
    the numbering: the packets made decode exactly, as a stream without that frame."""
    from neuralav_zlib.codecs import ZlibInterEncoder

    class Flaky(ZlibInterEncoder):
        calls = 0

        def encode_frame(self, image, pix_fmt, reference):
            Flaky.calls += 1
            if Flaky.calls == 4:
                raise InvalidDataError("refused frame 3")
            return super().encode_frame(image, pix_fmt, reference)

    descriptor = registry.get_codec("zlibp")
    encoder = Flaky(descriptor, descriptor.resolve_options({"g": 12}))
    frames, packets = chart(8), []
    for frame in frames:
        try:
            packets += encoder.encode(frame)
        except InvalidDataError:
            pass
    decoder = registry.create_decoder("zlibp", encoder.header)
    decoded = [frame for packet in packets for frame in decoder.decode(packet)]
    assert len(decoded) == 7
    for original, result in zip(pixels(frames[:3] + frames[4:]), pixels(decoded)):
        np.testing.assert_array_equal(result, original)
