"""The compiled nonlinearities (``plugins/wavenet/fixed_kernels.py``) give the bits of their
vectorized formulas, in any layout.

The reference functions below are the numpy formulas the kernels replaced (they defined the
shipped decoder's output, whose hash ``test_shipped_model`` pins): IEEE basic operations on
whole arrays, each correctly rounded, so equality here means the fused one-pass kernels keep
every rounding step (no fused multiply-add, no reassociation).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from neuralav.plugins.wavenet import fixed, fixed_kernels  # noqa: E402
from neuralav.plugins.wavenet.fixed_kernels import FRACTION_BITS  # noqa: E402

GRID = np.float32(2.0 ** FRACTION_BITS)


def reference_exp_minus(m: np.ndarray) -> np.ndarray:
    return fixed.exp_nonpositive(-m.astype(np.float32))


def reference_gate(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float32)
    half = v.shape[-1] // 2
    e = reference_exp_minus(np.abs(v))
    denominator = e + np.float32(1.0)
    ea, eb = e[..., :half], e[..., half:]
    z = np.where(v[..., half:] >= 0, GRID, eb * GRID)
    z *= np.float32(1.0) - ea
    np.copysign(z, v[..., :half], out=z)
    denominator[..., :half] *= denominator[..., half:]
    z /= denominator[..., :half]
    return np.rint(z)


def reference_elu(x: np.ndarray) -> np.ndarray:
    magnitude = np.maximum(x * -2.0 ** -FRACTION_BITS, 0.0)
    curve = reference_exp_minus(magnitude.astype(np.float32)) - np.float32(1.0)
    return np.where(x > 0, x, np.rint(curve * GRID))


def _accumulators(shape, seed=0) -> np.ndarray:
    """Grid integers spanning the gate's whole range: tiny, moderate, saturating, and huge."""
    rng = np.random.default_rng(seed)
    v = np.rint(rng.standard_normal(shape) * rng.choice([1e-3, 0.3, 3.0, 30.0, 3000.0], shape) * GRID)
    v.reshape(-1)[:6] = [0.0, -0.0, 1.0, -1.0, 2.0 ** 40, -(2.0 ** 40)]
    return v


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_exp_matches_the_vectorized_float32_exp():
    m = np.concatenate([np.linspace(0.0, 1.0, 20001), np.linspace(1.0, 90.0, 20001)]).astype(np.float32)
    assert _same_bits(fixed_kernels.exp_minus(m), reference_exp_minus(m))


def test_gate_gives_the_bits_of_the_vectorized_formula():
    v = _accumulators((3, 257, 64))
    got = fixed_kernels.gate(v)
    assert got.shape == (3, 257, 32)
    assert _same_bits(got, reference_gate(v))  # signed zeros included


def test_gate_does_not_depend_on_the_layout_of_its_input():
    v = _accumulators((2, 100, 64), seed=1)
    whole = fixed_kernels.gate(v)
    assert _same_bits(fixed_kernels.gate(v[:, 37:]), whole[:, 37:])
    strided = np.asfortranarray(v)
    assert _same_bits(fixed_kernels.gate(strided), whole)


def test_elu_gives_the_bits_of_the_vectorized_formula_on_strided_input():
    wide = _accumulators((2, 300, 40), seed=2)
    x = wide[..., 8:]  # not contiguous, as the skip sum the decoder passes
    assert _same_bits(fixed_kernels.elu(x), reference_elu(x))


def reference_dc_block(n: np.ndarray, state: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """The DC blocker in Python integers, one sample at a time (round half up = floor(v + 1/2))."""
    out = np.empty_like(n)
    state = state.copy()
    for c in range(n.shape[0]):
        previous_in, previous_out = int(state[c, 0]), int(state[c, 1])
        for t in range(n.shape[1]):
            value = int(n[c, t])
            previous_out = value - previous_in + previous_out - (previous_out + 2 ** (shift - 1)) // 2 ** shift
            previous_in = value
            out[c, t] = previous_out
        state[c] = previous_in, previous_out
    return out, state


def test_dc_block_matches_its_integer_formula_and_any_split_of_a_stream():
    rng = np.random.default_rng(5)
    n = rng.integers(-2 ** 40, 2 ** 40, size=(2, 3000))
    start = rng.integers(-2 ** 30, 2 ** 30, size=(2, 2))
    whole, whole_state = fixed_kernels.dc_block(n, start, fixed.DC_SHIFTS[0])
    expected, expected_state = reference_dc_block(n, start, fixed.DC_SHIFTS[0])
    np.testing.assert_array_equal(whole, expected)
    np.testing.assert_array_equal(whole_state, expected_state)
    state, parts = start, []
    for lo, hi in ((0, 1), (1, 700), (700, 701), (701, 3000)):
        part, state = fixed_kernels.dc_block(n[:, lo:hi], state, fixed.DC_SHIFTS[0])
        parts.append(part)
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
    np.testing.assert_array_equal(state, whole_state)


@pytest.mark.parametrize("hz,expected_db", [(30, -5.94), (100, -0.72), (200, -0.11), (1000, 0.09)])
def test_dc_blocker_removes_an_offset_and_passes_speech_frequencies(hz, expected_db):
    """A 0.01 offset (-40 dBFS) is gone after 0.5 s; tones come out at the level of the two
    stages' transfer function (poles 1 - 2**-7 and 1 - 2**-6) within 0.05 dB."""
    t = np.arange(32000) / 16000
    tone = 0.3 * np.sin(2 * np.pi * hz * t)
    blocker = fixed.DCBlocker()
    y, _ = blocker((tone + 0.01).astype(np.float32)[None], blocker.zero_state(1))
    settled = y[0, 8000:]
    assert abs(settled.mean()) < 1e-4
    gain_db = 20 * np.log10(settled.std() / tone[8000:].std())
    assert abs(gain_db - expected_db) < 0.05, gain_db


def test_dc_blocker_stages_run_in_pieces_as_whole():
    rng = np.random.default_rng(9)
    x = (0.1 * rng.standard_normal((2, 5000)) + 0.02).astype(np.float32)
    blocker = fixed.DCBlocker()
    whole, whole_state = blocker(x, blocker.zero_state(2))
    state, parts = blocker.zero_state(2), []
    for lo, hi in ((0, 3), (3, 1600), (1600, 5000)):
        part, state = blocker(x[:, lo:hi], state)
        parts.append(part)
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
    np.testing.assert_array_equal(state, whole_state)
    assert whole_state.shape == (2, 2 * len(fixed.DC_SHIFTS))
