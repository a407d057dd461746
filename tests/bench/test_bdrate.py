"""BD-rate: zero against itself, +100% at twice the rate, None without overlap."""

import numpy as np
import pytest

from neuralav.container.bench.image_codecs import standard_image_codecs
from neuralav.registry.metrics import MetricError, bd_rate, bd_rates, bits_per_pixel, psnr


@pytest.fixture(scope="module")
def jpeg_curve(photo):
    """A real JPEG rate-PSNR curve (bpp, dB) measured on one photo."""
    jpeg = standard_image_codecs()[0]
    assert jpeg.name == "jpeg"
    rates, qualities = [], []
    for quality in (10, 30, 50, 70, 90):
        coded = jpeg.encode(photo, quality)
        decoded = jpeg.decode(coded, quality, photo.shape[1], photo.shape[0])
        rates.append(bits_per_pixel(len(coded[0]), photo.shape[1], photo.shape[0]))
        qualities.append(psnr(photo, decoded))
    return rates, qualities


def test_a_codec_against_itself_is_zero(jpeg_curve):
    rates, qualities = jpeg_curve
    assert bd_rate(rates, qualities, rates, qualities) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("factor, expected", [(2.0, 100.0), (0.5, -50.0), (1.25, 25.0)])
def test_scaling_every_rate_gives_that_rate_change(jpeg_curve, factor, expected):
    rates, qualities = jpeg_curve
    scaled = [r * factor for r in rates]
    assert bd_rate(rates, qualities, scaled, qualities) == pytest.approx(expected, abs=1e-6)


def test_better_quality_at_equal_rate_is_negative(jpeg_curve):
    rates, qualities = jpeg_curve
    assert bd_rate(rates, qualities, rates, [q + 1.0 for q in qualities]) < -5


def test_only_the_overlapping_quality_range_counts():
    anchor_q = np.array([30.0, 32.0, 34.0, 36.0])
    anchor_r = np.exp((anchor_q - 30) / 4)
    # Twice the anchor's rate at equal quality, over a range reaching far beyond the anchor's.
    test_q = np.array([33.0, 34.0, 35.0, 36.0, 40.0, 44.0])
    test_r = 2 * np.exp((test_q - 30) / 4)
    assert bd_rate(anchor_r, anchor_q, test_r, test_q) == pytest.approx(100.0, abs=1e-6)


def test_disjoint_quality_ranges_give_none():
    assert bd_rate([1, 2, 3, 4], [30, 31, 32, 33], [1, 2, 3, 4], [40, 41, 42, 43]) is None


def test_too_few_points_or_bad_rates_are_refused():
    with pytest.raises(MetricError, match="at least 4"):
        bd_rate([1, 2, 3], [30, 31, 32], [1, 2, 3, 4], [30, 31, 32, 33])
    with pytest.raises(MetricError, match="positive"):
        bd_rate([0, 2, 3, 4], [30, 31, 32, 33], [1, 2, 3, 4], [30, 31, 32, 33])


def test_lossless_points_are_ignored():
    rates, quality = [1, 2, 3, 4, 50], [30, 31, 32, 33, float("inf")]
    assert bd_rate(rates, quality, [2, 4, 6, 8], [30, 31, 32, 33]) == pytest.approx(100.0, abs=1e-6)


def test_bd_rates_table_compares_every_codec_with_each_present_anchor(jpeg_curve):
    rates, qualities = jpeg_curve
    curves = {
        "jpeg": [{"bpp": r, "psnr": q} for r, q in zip(rates, qualities)],
        "double": [{"bpp": 2 * r, "psnr": q} for r, q in zip(rates, qualities)],
        "lossless": [{"bpp": 9.0, "psnr": float("inf")}],
    }
    table = bd_rates(curves, ("jpeg", "webp"), "bpp", {"psnr": "psnr"})
    assert table["double"]["jpeg"]["psnr"] == pytest.approx(100.0, abs=1e-6)
    assert table["jpeg"]["jpeg"]["psnr"] == pytest.approx(0.0, abs=1e-9)
    assert table["lossless"]["jpeg"]["psnr"] is None
    assert all("webp" not in entry for entry in table.values())
