"""Nominal rates are typed option data (issue 32.3): ``-b`` reads them, never help text."""

from __future__ import annotations

import dataclasses

import pytest

from neuralav import registry
from neuralav.container.commands.codecs import format_help
from neuralav.container.outputs import _quality_for_bitrate
from neuralav.plugins.wavenet.levels import LEVELS
from neuralav.registry import InvalidOptionError, NominalRates, Option, RateUnit


def _with_quality(descriptor, **changes):
    quality = dataclasses.replace(descriptor.option("quality"), **changes)
    return dataclasses.replace(descriptor, options=(quality,))


def test_wavenet_states_its_level_rates_per_channel_from_its_levels_table():
    rates = registry.get_codec("wavenet").option("quality").nominal_rates
    assert rates.unit is RateUnit.BITS_PER_SECOND and rates.per_channel
    assert dict(rates.rates) == {quality: level.kbps * 1000 for quality, level in LEVELS.items()}


def test_bitrate_picks_a_wavenet_level_from_the_fields_whatever_the_help_says():
    wavenet = _with_quality(registry.get_codec("wavenet"), help="bitrate level")  # no numbers to parse
    assert [_quality_for_bitrate(wavenet, bits) for bits in (1000, 4300, 5700, 9000, 64000)] == [1, 2, 2, 3, 3]
    assert [_quality_for_bitrate(wavenet, 11400, channels) for channels in (1, 2)] == [3, 2]  # stereo: 2 x 5.71k
    assert _quality_for_bitrate(wavenet, 11000, 1) == 3 and _quality_for_bitrate(wavenet, 22000, 2) == 3


def test_rates_written_only_in_help_text_are_not_rates():
    wavenet = _with_quality(registry.get_codec("wavenet"), help="bitrate level: 1 ~3 kbps, 2 ~6 kbps (mono)",
                            nominal_rates=None)
    with pytest.raises(InvalidOptionError, match=r"codec `wavenet` does not take a bitrate \(-b\): its levels "
                                                 r"state no rate; use -q \(quality: from 1 to 3\)"):
        _quality_for_bitrate(wavenet, 6000)


def test_rates_per_pixel_need_the_frame_size_and_rate():
    cae = _with_quality(registry.get_codec("cae"), nominal_rates=NominalRates(
        ((1, 0.2), (2, 0.4), (3, 0.8)), unit=RateUnit.BITS_PER_PIXEL, source="Kodak"))
    with pytest.raises(InvalidOptionError, match=r"bits per pixel \(1 ~0.2 bpp, 2 ~0.4 bpp, 3 ~0.8 bpp \(Kodak\)\)"):
        _quality_for_bitrate(cae, 2_000_000)
    cif_25 = 352 * 288 * 25  # pixels per second
    assert [_quality_for_bitrate(cae, round(bpp * cif_25), pixels_per_second=cif_25)
            for bpp in (0.1, 0.35, 0.7, 2.0)] == [1, 2, 3, 3]


def test_nominal_rates_are_checked_when_the_option_is_declared():
    with pytest.raises(InvalidOptionError, match="out of range"):
        Option("quality", int, 1, "level", min=1, max=2, nominal_rates=NominalRates(((1, 1e3), (3, 9e3))))
    with pytest.raises(ValueError, match="positive"):
        NominalRates(((1, 0.0),))
    with pytest.raises(TypeError, match="NominalRates"):
        Option("quality", int, 1, "level", nominal_rates={1: 1000.0})


def test_codec_help_shows_the_rates_from_the_fields():
    text = format_help(registry.get_codec("wavenet"))
    assert "nominal rates: 1 ~2.83 kbps, 2 ~5.71 kbps, 3 ~11 kbps per channel (16 kHz speech" in text
