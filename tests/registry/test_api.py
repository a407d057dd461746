"""The codec API in real PyAV loops, with the example plugin's lossless codecs."""

from fractions import Fraction

import av
import numpy as np
import pytest

from neuralav import registry
from neuralav.registry import (
    FormatNotSupportedError, HeaderMismatchError, InvalidDataError, InvalidOptionError, PluginError,
    UnknownCodecError,
)

RNG = np.random.default_rng(1234)


def video_frame(fmt="rgb24", width=53, height=37, pts=0):
    image = RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    if fmt != "rgb24":
        frame = frame.reformat(format=fmt)
    frame.pts, frame.time_base = pts, Fraction(1, 30)
    return frame


@pytest.fixture
def h264_file(tmp_path):
    """A real 10-frame libx264 clip with a 1/90000-style time base, written by PyAV."""
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(10):
            frame = video_frame("yuv420p", 64, 48, pts=index)
            frame.time_base = Fraction(1, 25)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


def test_encoder_drops_into_a_pyav_decode_loop_and_keeps_pts(h264_file):
    encoder = registry.create_encoder("zlibv")
    decoder = registry.create_decoder("zlibv", encoder.header)
    seen = 0
    with av.open(str(h264_file)) as source:
        for frame in source.decode(video=0):
            (packet,) = encoder.encode(frame)
            assert isinstance(packet, av.Packet)
            assert (packet.pts, packet.dts, packet.time_base) == (frame.pts, frame.pts, frame.time_base)
            assert packet.is_keyframe
            (decoded,) = decoder.decode(packet)
            assert isinstance(decoded, av.VideoFrame)
            assert (decoded.pts, decoded.time_base, decoded.format.name) == (frame.pts, frame.time_base, "yuv420p")
            assert np.array_equal(decoded.to_ndarray(), frame.to_ndarray())
            seen += 1
    assert seen == 10
    assert encoder.encode(None) == [] and decoder.decode(None) == []


@pytest.mark.parametrize("fmt", ["rgb24", "rgba", "gray", "yuv420p", "bgr24", "bgra", "argb", "gbrp"])
def test_lossless_codec_round_trips_native_and_losslessly_convertible_formats(fmt):
    frame = video_frame(fmt, 52, 36)
    encoder = registry.create_encoder("zlibv", {"level": 1})
    (packet,) = encoder.encode(frame)
    (decoded,) = registry.create_decoder("zlibv", encoder.header).decode(packet)
    assert decoded.format.name == fmt
    assert np.array_equal(decoded.to_ndarray(), frame.to_ndarray())


def test_format_without_lossless_conversion_is_a_clear_error():
    encoder = registry.create_encoder("zlibv")
    for fmt in ("yuv422p", "yuvj420p"):  # yuvj420p -> yuv420p would rescale the range
        with pytest.raises(FormatNotSupportedError, match=rf"cannot code pixel format `{fmt}` without loss "
                                                          r"\(it accepts rgb24, rgba, gray, yuv420p, yuv444p\)"):
            encoder.encode(video_frame(fmt, 52, 36))


def test_audio_frame_given_to_a_video_encoder_is_refused():
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 10), np.int16), format="s16", layout="mono")
    with pytest.raises(FormatNotSupportedError, match="encodes av.VideoFrame, not AudioFrame"):
        registry.create_encoder("zlibv").encode(frame)


def test_frames_without_pts_get_consecutive_pts():
    encoder = registry.create_encoder("zlibv", time_base=Fraction(1, 24))
    packets = []
    for _ in range(3):
        frame = av.VideoFrame.from_ndarray(np.zeros((4, 4, 3), np.uint8), format="rgb24")
        packets += encoder.encode(frame)
    assert [p.pts for p in packets] == [0, 1, 2]
    assert {p.time_base for p in packets} == {Fraction(1, 24)}


def test_options_are_checked_when_the_encoder_is_built():
    with pytest.raises(InvalidOptionError, match=r"`level` = 12 is out of range: must be from 0 to 9"):
        registry.create_encoder("zlibv", {"level": 12})
    with pytest.raises(UnknownCodecError, match="available: .*zlibv"):
        registry.create_encoder("nosuchcodec")


def test_header_from_another_codec_or_version_is_refused():
    video_header = registry.create_encoder("zlibv").header
    with pytest.raises(HeaderMismatchError, match="header is for codec `zlibv`, not `zliba`"):
        registry.create_decoder("zliba", video_header)
    newer = registry.CodecHeader.from_bytes(video_header)
    newer = registry.CodecHeader(newer.codec, newer.version + 1, newer.media_type, newer.fields)
    with pytest.raises(HeaderMismatchError, match="version 2; this decoder reads version 1"):
        registry.create_decoder("zlibv", newer.to_bytes())
    with pytest.raises(InvalidDataError):
        registry.create_decoder("zlibv", b"garbage")


@pytest.mark.parametrize("mutate", [
    lambda b: b[:3],
    lambda b: b[:-5],
    lambda b: b[:1] + b"\xff\xff\xff\xff" + b[5:],      # 65535 x 65535 frame claimed
    lambda b: b[:1] + b"\x00\x00" + b[3:],                # zero width
    lambda b: b[:5] + b"xyz24" + b[10:],                  # unknown pixel format
    lambda b: b[:-40] + bytes(40),                         # corrupt zlib stream
])
def test_corrupt_packets_raise_invalid_data_not_garbage(mutate):
    encoder = registry.create_encoder("zlibv")
    (packet,) = encoder.encode(video_frame())
    decoder = registry.create_decoder("zlibv", encoder.header)
    with pytest.raises(InvalidDataError):
        decoder.decode(av.Packet(mutate(bytes(packet))))


def test_errors_inside_a_plugin_are_wrapped_with_its_name(monkeypatch):
    encoder = registry.create_encoder("zlibv")

    def explode(image, pix_fmt):
        raise ZeroDivisionError("bug in plugin")

    monkeypatch.setattr(encoder, "encode_image", explode)
    with pytest.raises(PluginError, match=r"codec `zlibv` \(neuralav-zlib\) failed to encode a frame: "
                                          r"ZeroDivisionError: bug in plugin"):
        encoder.encode(video_frame())


def audio_frame(samples, fmt, layout, rate, pts):
    frame = av.AudioFrame.from_ndarray(samples, format=fmt, layout=layout)
    frame.sample_rate, frame.pts, frame.time_base = rate, pts, Fraction(1, rate)
    return frame


@pytest.mark.parametrize("fmt, layout", [("s16p", "stereo"), ("s16", "mono"), ("fltp", "stereo"), ("s32", "5.1")])
def test_audio_round_trip_is_exact_with_sample_pts(fmt, layout):
    channels = len(av.AudioLayout(layout).channels)
    planar = av.AudioFormat(fmt).is_planar
    encoder = registry.create_encoder("zliba")
    decoder = None
    originals, decoded, pts = [], [], []
    for index, size in enumerate([480, 1024, 37]):
        if fmt.startswith("flt"):
            data = RNG.uniform(-1, 1, (channels, size)).astype(np.float32)
        else:
            data = RNG.integers(-2**14, 2**14, (channels, size)).astype(av.AudioFormat(fmt).packed.name == "s16"
                                                                         and np.int16 or np.int32)
        array = data if planar else data.T.reshape(1, -1)
        frame = audio_frame(array, fmt, layout, 48000, sum(f.shape[1] for f in originals))
        originals.append(data)
        for packet in encoder.encode(frame):
            decoder = decoder or registry.create_decoder("zliba", encoder.header)
            pts.append((packet.pts, packet.duration, packet.time_base))
            decoded += decoder.decode(packet)
    assert encoder.encode(None) == []
    assert pts == [(0, 480, Fraction(1, 48000)), (480, 1024, Fraction(1, 48000)), (1504, 37, Fraction(1, 48000))]
    assert [f.format.name for f in decoded] == [fmt] * 3
    assert [f.pts for f in decoded] == [0, 480, 1504]
    out = np.concatenate([f.to_ndarray() if planar else f.to_ndarray().reshape(-1, channels).T for f in decoded], 1)
    assert np.array_equal(out, np.concatenate(originals, axis=1))


def test_audio_header_needs_the_input_format_first():
    encoder = registry.create_encoder("zliba")
    with pytest.raises(registry.NeuralavError, match="needs the input sample rate and layout"):
        encoder.header
    encoder = registry.create_encoder("zliba", sample_rate=16000, layout="mono", format="s16")
    assert registry.CodecHeader.from_bytes(encoder.header).fields["sample_rate"] == 16000


def test_lossless_audio_codec_refuses_lossy_sample_formats():
    encoder = registry.create_encoder("zliba")
    frame = audio_frame(np.zeros((1, 10), np.float64), "dbl", "mono", 8000, 0)
    with pytest.raises(FormatNotSupportedError, match="cannot code sample format `dbl` without loss"):
        encoder.encode(frame)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_video_frames_with_non_finite_values_are_refused(bad):
    image = np.full((8, 8, 3), 0.5, np.float32)
    image[3, 4, 1] = bad
    frame = av.VideoFrame.from_ndarray(image, format="gbrpf32le")
    encoder = registry.create_encoder("zlibv")
    with pytest.raises(InvalidDataError, match="NaN or infinite"):
        encoder.encode(frame)


def test_float_audio_frames_with_nan_are_refused():
    samples = np.zeros((1, 480), np.float32)
    samples[0, 100] = np.nan
    frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
    frame.sample_rate = 48000
    encoder = registry.create_encoder("zliba")
    with pytest.raises(InvalidDataError, match="NaN or infinite"):
        encoder.encode(frame)


def test_a_packet_rebuilt_from_bytes_alone_decodes():
    encoder = registry.create_encoder("zlibv")
    (packet,) = encoder.encode(video_frame())
    (frame,) = registry.create_decoder("zlibv", encoder.header).decode(av.Packet(bytes(packet)))
    assert (frame.width, frame.height) == (53, 37)


def test_encoding_leaves_the_callers_frame_unchanged():
    frame = audio_frame(np.zeros((1, 480), np.int16), "s16", "mono", 48000, 4800)
    registry.create_encoder("zliba").encode(frame)
    assert (frame.pts, frame.time_base) == (4800, Fraction(1, 48000))
    (packet,) = registry.create_encoder("zliba").encode(frame)  # a second encoder sees the same pts
    assert packet.pts == 4800


def test_audio_pts_without_a_time_base_are_read_in_the_encoders_time_base():
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 480), np.int16), format="s16", layout="mono")
    frame.sample_rate, frame.pts = 48000, 12345
    assert frame.time_base is None
    (packet,) = registry.create_encoder("zliba", time_base=Fraction(1, 1000)).encode(frame)
    assert (packet.pts, packet.time_base) == (12345 * 48, Fraction(1, 48000))
    (packet,) = registry.create_encoder("zliba").encode(frame)  # default: samples
    assert packet.pts == 12345


def test_a_sample_format_change_mid_stream_is_a_clear_error():
    encoder = registry.create_encoder("zliba")
    encoder.encode(audio_frame(np.zeros((2, 48), np.int16), "s16p", "stereo", 48000, 0))
    with pytest.raises(FormatNotSupportedError, match="changed from `s16p` to `s16` samples mid-stream"):
        encoder.encode(audio_frame(np.zeros((1, 96), np.int16), "s16", "stereo", 48000, 48))


def test_frames_may_come_in_a_reordering_of_the_format_given_at_construction():
    encoder = registry.create_encoder("zliba", sample_rate=48000, layout="stereo", format="s16")
    for pts in (0, 48, 96):
        assert len(encoder.encode(audio_frame(np.zeros((2, 48), np.int16), "s16p", "stereo", 48000, pts))) == 1
    with pytest.raises(FormatNotSupportedError, match="set up for `s16`"):
        registry.create_encoder("zliba", sample_rate=48000, layout="stereo", format="s16").encode(
            audio_frame(np.zeros((2, 48), np.float32), "fltp", "stereo", 48000, 0))


def test_an_encoder_takes_no_frame_after_its_flush():
    encoder = registry.create_encoder("zliba")
    encoder.encode(audio_frame(np.zeros((1, 48), np.int16), "s16", "mono", 48000, 0))
    encoder.encode(None)
    with pytest.raises(registry.NeuralavError, match="was flushed"):
        encoder.encode(audio_frame(np.zeros((1, 48), np.int16), "s16", "mono", 48000, 48))


def test_a_refused_frame_is_not_counted_as_input():
    encoder = registry.create_encoder("zliba")
    encoder.encode(audio_frame(np.zeros((1, 480), np.float32), "flt", "mono", 48000, 0))
    bad = np.zeros((1, 480), np.float32)
    bad[0, 7] = np.nan
    with pytest.raises(InvalidDataError):
        encoder.encode(audio_frame(bad, "flt", "mono", 48000, 480))
    assert encoder.accepted_samples == 480


def test_decoders_name_what_they_were_given_instead_of_a_packet():
    encoder = registry.create_encoder("zliba")
    (packet,) = encoder.encode(audio_frame(np.zeros((1, 48), np.int16), "s16", "mono", 48000, 0))
    with pytest.raises(FormatNotSupportedError, match="decodes av.Packet, not bytes"):
        registry.create_decoder("zliba", encoder.header).decode(bytes(packet))


@pytest.mark.parametrize("fmt", ["s16p", "fltp"])
def test_planar_audio_of_8_channels_round_trips_exactly(fmt):
    """PyAV 18 crashes reading planar frames of 8+ channels; the base classes must not."""
    from neuralav.registry.samples import array_to_frame, frame_to_array

    dtype = np.int16 if fmt == "s16p" else np.float32
    samples = (RNG.uniform(-0.9, 0.9, (8, 700)) * (32767 if fmt == "s16p" else 1)).astype(dtype)
    frame = array_to_frame(samples, fmt, "7.1", 48000)
    encoder = registry.create_encoder("zliba")
    packets = encoder.encode(frame) + encoder.encode(None)
    decoder = registry.create_decoder("zliba", encoder.header)
    (decoded,) = [f for p in packets for f in decoder.decode(p)]
    assert (decoded.format.name, decoded.layout.name, decoded.samples) == (fmt, "7.1", 700)
    assert np.array_equal(frame_to_array(decoded), samples)
