"""The quality search of rate control, on size curves with known answers (no model)."""

from __future__ import annotations

import math

import pytest

from neuralav.plugins.imaging.payload import QUALITY_STEP
from neuralav.plugins.imaging.rate_control import search_quality


def curve(growth: float = 0.35, at_zero: float = 1000.0, wobble: float = 0.0):
    """A size function ``quality -> (bytes, quality)`` growing ×e^growth per unit, with an optional
    non-monotonic ripple, counting its calls."""
    calls = []

    def size_at(quality: float):
        calls.append(quality)
        size = at_zero * math.exp(growth * quality) * (1 + wobble * math.sin(40 * quality))
        return int(round(size)), quality

    return size_at, calls


@pytest.mark.parametrize("growth", [0.2, 0.35, 0.7])
@pytest.mark.parametrize("target", [1100.0, 2500.0, 4000.0])
@pytest.mark.parametrize("start", [0.0, 3.0, 7.0])
def test_the_size_lands_within_one_percent_in_few_trials(growth, target, start):
    size_at, calls = curve(growth)
    quality, size, result = search_quality(size_at, target, 0.0, 7.0, start)
    assert abs(size / target - 1) <= 0.01 and result == quality
    assert quality / QUALITY_STEP == int(quality / QUALITY_STEP) and len(calls) <= 6


def test_a_rippled_curve_still_lands_within_three_percent():
    size_at, calls = curve(wobble=0.02)
    for target in (1500.0, 2600.0, 7000.0):
        _, size, _ = search_quality(size_at, target, 0.0, 7.0, 3.0)
        assert abs(size / target - 1) <= 0.03


@pytest.mark.parametrize("target,expected", [(10.0, 0.0), (1e9, 7.0)])
def test_targets_beyond_the_range_give_its_end(target, expected):
    size_at, calls = curve()
    quality, _, _ = search_quality(size_at, target, 0.0, 7.0, 3.0)
    assert quality == expected and len(calls) <= 4


def test_every_trial_is_a_new_quality():
    size_at, calls = curve()
    search_quality(size_at, 2345.0, 0.0, 7.0, 1.0)
    assert len(calls) == len(set(calls))


def test_a_target_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        search_quality(curve()[0], 0.0, 0.0, 7.0, 3.0)
