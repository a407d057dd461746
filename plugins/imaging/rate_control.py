"""Rate control of the variable-rate image codecs: the quality whose coded size meets a target.

A picture's coded size grows with the quality (about ×1.4 per unit for ``vae``),
smoothly but not exactly monotonically. :func:`search_quality` brackets the target
and narrows the bracket by secant steps on log(size), each trial a real encode
(the caller's ``size_at``), so the size it settles on is a real payload's.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .payload import QUALITY_STEP, snap_quality

__all__ = ["DEFAULT_TOLERANCE", "MAX_TRIALS", "search_quality"]

DEFAULT_TOLERANCE = 0.01
"""Relative size error (1 %) at which the search stops early."""

MAX_TRIALS = 12
"""Most encodes one search makes."""

_INITIAL_SLOPE = 0.35
"""Assumed d ln(size) / d quality before two trials measure it (``vae``: levels 1..4 grow ×1.41)."""


def search_quality(size_at: Callable[[float], tuple[int, Any]], target: float, low: float, high: float,
                   start: float, tolerance: float = DEFAULT_TOLERANCE,
                   max_trials: int = MAX_TRIALS) -> tuple[float, int, Any]:
    """The quality in ``[low, high]`` (a multiple of 1/256) whose coded size is closest to `target`.

    Args:
        size_at: ``quality -> (size in bytes, the coded result)``: one real encode.
        target: Wanted size in bytes (> 0).
        low, high: Quality range of the model.
        start: First quality tried (the previous picture's choice, or a default).
        tolerance: Stop once a trial is within this relative error of `target`.
        max_trials: Most calls of `size_at`.

    Returns:
        (quality, size, result) of the trial whose size is closest to `target` in
        log ratio. At the ends of the range this is ``low`` (or ``high``) when even it
        is too large (too small).
    """
    if not target > 0:
        raise ValueError(f"target size must be positive, not {target}")
    trials: dict[float, tuple[int, Any]] = {}

    def trial(quality: float) -> float:
        quality = min(high, max(low, snap_quality(quality)))
        if quality not in trials:
            trials[quality] = size_at(quality)
        return quality

    def error(quality: float) -> float:
        return math.log(max(trials[quality][0], 1) / target)

    below: float | None = None  # highest quality tried whose size is under the target
    above: float | None = None  # lowest quality tried whose size is over it
    previous: float | None = None
    quality, slope = trial(start), _INITIAL_SLOPE
    while True:
        e = error(quality)
        if abs(e) <= math.log1p(tolerance) or len(trials) >= max_trials:
            break
        if e < 0:
            below = quality if below is None or quality > below else below
        else:
            above = quality if above is None or quality < above else above
        if below is not None and above is not None:
            if above - below <= QUALITY_STEP:
                break
            ends = (below, above)  # regula falsi inside the bracket
        else:
            ends = (previous, quality) if previous is not None else None  # secant through the last two
        if ends is not None:
            span = (error(ends[1]) - error(ends[0])) / (ends[1] - ends[0])
            if span > 0:
                slope = span
        guess = snap_quality(quality - e / slope)
        if below is not None and above is not None:
            if not below < guess < above:
                guess = snap_quality((below + above) / 2)
                if guess in (below, above):
                    break
        elif (quality <= low and e > 0) or (quality >= high and e < 0):
            break  # the target is beyond the model's range
        previous, quality = quality, trial(guess)
        if quality in (below, above) or quality == previous:
            break
    best = min(trials, key=lambda q: abs(error(q)))
    size, result = trials[best]
    return best, size, result
