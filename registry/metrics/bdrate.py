"""Bjøntegaard delta rate (BD-rate) between two rate–quality curves.

Variant: the original one of G. Bjøntegaard, "Calculation of average PSNR
differences between RD-curves" (VCEG-M33, 2001), as in most published tables:

1. For each curve, fit a cubic polynomial (least squares, ``numpy.polyfit``) of
   the natural log of the rate as a function of the quality (PSNR in dB, or
   MS-SSIM in dB). With exactly 4 points this interpolates them.
2. Integrate both polynomials over the *overlapping* quality range
   ``[max(min q₁, min q₂), min(max q₁, max q₂)]``.
3. BD-rate = ``exp(mean difference of log-rates) - 1``, in percent: the average
   rate change of the test curve against the anchor at equal quality
   (negative: the test codec needs fewer bits).

Rates may be in any unit (bpp, kbps) as long as both curves use the same one.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from .errors import MetricError

__all__ = ["MIN_POINTS", "METHOD", "bd_rate", "bd_rates"]

MIN_POINTS = 4
"""Points a curve needs for the cubic fit."""

METHOD = ("Bjøntegaard (VCEG-M33): cubic least-squares fit of ln(rate) vs quality per curve, "
          "integrated over the overlapping quality range")
"""One-line description written into reports."""


def _clean(rates: Sequence[float], qualities: Sequence[float], which: str) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(float(r), float(q)) for r, q in zip(rates, qualities, strict=True)
             if r is not None and q is not None and math.isfinite(float(q))]
    if any(r <= 0 or not math.isfinite(r) for r, _ in pairs):
        raise MetricError(f"{which} curve has a rate that is not a positive finite number: {rates}")
    if len({q for _, q in pairs}) < MIN_POINTS:
        raise MetricError(f"{which} curve has {len(pairs)} usable points with distinct quality; "
                         f"BD-rate needs at least {MIN_POINTS}")
    r, q = np.array(pairs).T
    return np.log(r), q


def bd_rate(anchor_rates: Sequence[float], anchor_quality: Sequence[float],
            test_rates: Sequence[float], test_quality: Sequence[float]) -> float | None:
    """BD-rate of the test curve against the anchor curve, in percent.

    Args:
        anchor_rates: Rates of the anchor's points (e.g. bpp), positive.
        anchor_quality: Qualities of the anchor's points (e.g. PSNR in dB).
        test_rates: Rates of the tested codec's points, same unit.
        test_quality: Qualities of the tested codec's points, same unit.

    Points whose quality is ``None`` or infinite (lossless) are dropped.

    Returns:
        The BD-rate in percent, or ``None`` if the quality ranges do not overlap.

    Raises:
        MetricError: a curve has fewer than :data:`MIN_POINTS` usable points, or a
            rate that is not positive.
    """
    log_a, q_a = _clean(anchor_rates, anchor_quality, "anchor")
    log_t, q_t = _clean(test_rates, test_quality, "test")
    low, high = max(q_a.min(), q_t.min()), min(q_a.max(), q_t.max())
    if not high > low:
        return None
    fit_a = np.polyint(np.polyfit(q_a, log_a, 3))
    fit_t = np.polyint(np.polyfit(q_t, log_t, 3))
    area_a = np.polyval(fit_a, high) - np.polyval(fit_a, low)
    area_t = np.polyval(fit_t, high) - np.polyval(fit_t, low)
    mean_difference = (area_t - area_a) / (high - low)
    return float((math.exp(mean_difference) - 1.0) * 100.0)


def bd_rates(curves: Mapping[str, Sequence[Mapping]], anchors: Sequence[str], rate_key: str,
             quality_keys: Mapping[str, str]) -> dict[str, dict[str, dict[str, float | None]]]:
    """BD-rate (%) of every codec's curve against each anchor present in ``curves``.

    Args:
        curves: ``{codec: [curve point, ...]}``; a point is a mapping with the rate
            and quality keys.
        anchors: Codec names to compare against (those absent are ignored).
        rate_key: Key of the rate in a point (``bpp``, ``kbps``).
        quality_keys: ``{result name: key of the quality in a point}``, e.g.
            ``{"psnr": "psnr", "msssim": "msssim_db"}``.

    Returns:
        ``{codec: {anchor: {result name: BD-rate % or None}}}``; ``None`` when a
        curve has too few lossy points or the quality ranges do not overlap.
    """
    def finite(value):
        return value if value is not None and math.isfinite(value) else None

    results: dict[str, dict[str, dict[str, float | None]]] = {}
    for codec, curve in curves.items():
        for anchor in anchors:
            if anchor not in curves:
                continue
            entry: dict[str, float | None] = {}
            for metric, key in quality_keys.items():
                try:
                    entry[metric] = bd_rate([c[rate_key] for c in curves[anchor]],
                                            [finite(c[key]) for c in curves[anchor]],
                                            [c[rate_key] for c in curve], [finite(c[key]) for c in curve])
                except MetricError:
                    entry[metric] = None
            results.setdefault(codec, {})[anchor] = entry
    return results
