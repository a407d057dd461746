"""A shipped neural codec through the benchmark's registry adapter (loads TensorFlow and weights)."""

import pytest

from neuralav.container.bench.image_codecs import registry_image_codecs
from neuralav.registry.metrics import bits_per_pixel, psnr
from neuralav.registry import UnknownCodecError, get_codec

pytestmark = pytest.mark.slow


def test_every_installed_neural_video_codec_is_swept_over_its_quality_option():
    for codec in registry_image_codecs():
        option = get_codec(codec.name).option("quality")
        assert codec.family == "neural"
        assert codec.settings == tuple(range(int(option.min), int(option.max) + 1))


def test_cae_lowest_level_codes_a_photo_at_a_sane_rate_and_quality(photo):
    try:
        get_codec("cae")
    except UnknownCodecError:
        pytest.skip("the built-in cae codec is not installed")
    (codec,) = registry_image_codecs(["cae"])
    setting = codec.settings[0]
    coded = codec.encode(photo, setting)
    decoded = codec.decode(coded, setting, photo.shape[1], photo.shape[0])
    bpp = bits_per_pixel(sum(map(len, coded)), photo.shape[1], photo.shape[0])
    assert decoded.shape == photo.shape
    assert 0.02 < bpp < 2.0 and 18 < psnr(photo, decoded) < 45
