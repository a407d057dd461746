"""Image codec adapters: real round trips through Pillow, PyAV and the registry."""

import av
import numpy as np
import pytest

from neuralav.container.bench.errors import BenchError
from neuralav.container.bench.image_codecs import (
    RegistryImageCodec, registry_image_codecs, standard_image_codecs)
from neuralav.registry.metrics import psnr
from neuralav.registry import UnknownCodecError

STANDARD = {codec.name: codec for codec in standard_image_codecs()}


def test_jpeg_webp_avif_hevc_h264_are_available_anchors_first():
    assert list(STANDARD)[:2] == ["jpeg", "webp"]
    assert {"avif", "hevc", "h264"} <= set(STANDARD), "Pillow AVIF / PyAV libx265, libx264 expected here"


@pytest.mark.parametrize("name", sorted(STANDARD))
def test_standard_codec_round_trip_spends_more_bits_for_more_quality(name, photo):
    codec = STANDARD[name]
    height, width = photo.shape[:2]
    low, high = codec.quick_settings[0], codec.quick_settings[-1]
    results = []
    for setting in (low, high):
        coded = codec.encode(photo, setting)
        decoded = codec.decode(coded, setting, width, height)
        assert decoded.shape == photo.shape and decoded.dtype == np.uint8
        results.append((sum(map(len, coded)), psnr(photo, decoded)))
    (small_bytes, small_psnr), (large_bytes, large_psnr) = sorted(results)  # crf: higher = fewer bits
    assert small_bytes < large_bytes and small_psnr < large_psnr
    assert 20 < small_psnr and large_psnr < 60


@pytest.mark.parametrize("name", ["hevc", "h264"])
def test_video_codecs_code_odd_sized_images_and_keep_their_size(name, photo):
    odd = np.ascontiguousarray(photo[:171, :201])
    codec = STANDARD[name]
    coded = codec.encode(odd, codec.quick_settings[-1])
    assert codec.decode(coded, codec.quick_settings[-1], 201, 171).shape == (171, 201, 3)


def test_h264_packets_are_a_real_stream_ffmpeg_decodes(photo):
    coded = STANDARD["h264"].encode(photo, 28)
    context = av.CodecContext.create("h264", "r")
    frames = [f for data in coded for f in context.decode(av.Packet(data))] + context.decode(None)
    assert len(frames) == 1 and (frames[0].width, frames[0].height) == (photo.shape[1], photo.shape[0])


def test_registry_codec_by_name_codes_through_av_frames_and_packets(photo):
    (codec,) = registry_image_codecs(["zlibv"])
    assert isinstance(codec, RegistryImageCodec)
    assert codec.family == "registry" and codec.settings == (None,)  # zlibv has no quality option
    coded = codec.encode(photo, None)
    assert len(coded) == 1
    decoded = codec.decode(coded, None, photo.shape[1], photo.shape[0])
    np.testing.assert_array_equal(decoded, photo)  # lossless example codec


def test_default_registry_selection_is_neural_video_codecs_only():
    names = [c.name for c in registry_image_codecs()]
    assert "zlibv" not in names and "zliba" not in names
    assert all(c.family == "neural" for c in registry_image_codecs())


def test_bad_registry_codec_names_are_refused_with_the_reason():
    with pytest.raises(BenchError, match="`zliba` is not a video codec"):
        registry_image_codecs(["zliba"])
    with pytest.raises(UnknownCodecError, match="nosuch"):
        registry_image_codecs(["nosuch"])


def test_non_rgb_input_is_refused(photo):
    with pytest.raises(BenchError, match="HxWx3 uint8"):
        STANDARD["jpeg"].encode(photo.astype(np.float32), 50)
