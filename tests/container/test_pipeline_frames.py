"""The pipeline's audio cut (``container.frames.slice_frame``), moved out of the registry (issue 32.6)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from neuralav.container import packet_loop
from neuralav.container.frames import slice_frame
from neuralav.registry.samples import array_to_frame, frame_to_array


def test_slice_keeps_format_and_moves_pts_by_the_samples_cut():
    samples = (np.random.default_rng(5).integers(-32768, 32767, (8, 480))).astype(np.int16)
    frame = array_to_frame(samples, "s16p", "7.1", 48000)
    frame.pts, frame.time_base = 96000, Fraction(1, 48000)
    part = slice_frame(frame, 100, 250)
    assert (part.format.name, part.layout.name, part.samples) == ("s16p", "7.1", 150)
    assert (part.pts, part.time_base) == (96100, Fraction(1, 48000))
    assert np.array_equal(frame_to_array(part), samples[:, 100:250])


def test_the_pipeline_cuts_with_the_container_s_own_helper():
    # The registry (codec plugins' side) no longer provides the pipeline's audio cut.
    assert packet_loop.slice_frame.__module__ == "neuralav.container.frames"
