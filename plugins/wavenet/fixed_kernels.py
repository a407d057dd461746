"""Compiled (numba) nonlinearities of the fixed-point synthesis: the gate and the ELU.

Each function reads the exact float64 accumulators of a convolution and writes grid integers
(``n`` for ``n / 2**FRACTION_BITS``), computing its curve in float32 from IEEE-754 basic
operations only, in the same order as the vectorized formulas they replace (see
``tests/wavenet/test_fixed_kernels.py``, which holds those formulas as the reference and checks
the bits agree). numba compiles them without ``fastmath``: LLVM then may neither contract a
product and a sum into a fused multiply-add nor reassociate, so every operation is correctly
rounded, and the result is the same bits on any IEEE-754 machine, vectorized or not, whatever
the array layout or thread. The curve is one compiled loop (instead of some twenty numpy
passes), written so that LLVM vectorizes it: float32 rows in, ``rint`` and the powers of two
in plain arithmetic and a bit cast. The speed-ups this gave, as timed: ``CHANGELOG.md``.

Compiled on first use (about a second; cached next to this file when that is writable).
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["gate", "elu", "exp_minus", "dc_block", "FRACTION_BITS", "FLOAT32_POLY", "LN2"]

FRACTION_BITS = 18
"""Fractional bits of every activation between layers (grid 2**-18, about 3.8e-6)."""
LN2 = 0.6931471805599453
FLOAT32_POLY = (np.float32(2.0 ** -9 / 6), np.float32(2.0 ** -7 * (1.0 + (LN2 / 16) ** 2 / 12)),
                np.float32(0.125), np.float32(1.0))
"""float32 ``exp(r / 8)`` for ``|r| <= ln 2 / 2``, in powers of ``r``: the cubic Taylor polynomial
with the quartic term economized (Chebyshev, ``s**4 ~ h**2 s**2`` on ``|s| <= h = ln 2 / 16``),
relative error 2e-8, under half a float32 ulp."""

_F32 = np.float32
_EXP_FLOOR = _F32(60.0)
_MINUS_INV_LN2 = _F32(-1.0 / LN2)
_MINUS_LN2 = _F32(-LN2)
_P0, _P1, _P2, _P3 = (_F32(c) for c in FLOAT32_POLY)
_ONE = _F32(1.0)
_ZERO = _F32(0.0)
_GRID = _F32(2.0 ** FRACTION_BITS)
_MINUS_STEP = -(2.0 ** -FRACTION_BITS)
_ROUNDER = _F32(1.5 * 2.0 ** 23)
"""Adding then subtracting it rounds a float32 of magnitude under 2**22 to an integer, half to
even (the default rounding of every operation), as ``rint`` does."""


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose IEEE-754 bits are the int32 ``bits`` (an LLVM bitcast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@numba.njit(inline="always")
def _rint(x):
    """``rint`` of a float32 of magnitude under 2**22, sign of zero included, in operations
    LLVM vectorizes (a call to ``rint`` would keep the loop scalar)."""
    return np.copysign((x + _ROUNDER) - _ROUNDER, x)


@numba.njit(inline="always")
def _exp_minus(m):
    """float32 ``exp(-m)``, ``m >= 0``: ``fixed.exp_nonpositive``'s float32 steps, one number.
    ``2**k`` is built from its exponent bits (exact, like a table of powers, but vectorizable)."""
    m = min(m, _EXP_FLOOR)
    k = _rint(m * _MINUS_INV_LN2)
    r = k * _MINUS_LN2
    r = r - m
    p = r * _P0
    p = p + _P1
    p = p * r
    p = p + _P2
    p = p * r
    p = p + _P3
    p = p * p
    p = p * p
    p = p * p
    return p * _float32_from_bits((np.int32(k) + np.int32(127)) << np.int32(23))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _exp_minus_array(m, out):
    for i in range(m.shape[0]):
        out[i] = _exp_minus(m[i])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _gate(v, out):
    # float32 in, float32 out, and the halves as row slices: the loop over channels then
    # vectorizes (a float64 input, or indexing ``half + c``, keeps it scalar, ~6x slower).
    half = v.shape[1] // 2
    for i in range(v.shape[0]):
        a_row, b_row, out_row = v[i, :half], v[i, half:], out[i]
        for c in range(half):
            a, b = a_row[c], b_row[c]
            ea = _exp_minus(abs(a))
            eb = _exp_minus(abs(b))
            z = _GRID if b >= _ZERO else eb * _GRID  # 2**F sigmoid(b) (1 + e_b), exact
            z = z * (_ONE - ea)
            z = np.copysign(z, a)
            out_row[c] = _rint(z / ((ea + _ONE) * (eb + _ONE)))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _elu(x, magnitude, out):
    for i in range(x.shape[0]):
        below = np.float64(_rint((_exp_minus(magnitude[i]) - _ONE) * _GRID))
        out[i] = x[i] if x[i] > 0.0 else below


def exp_minus(m: np.ndarray) -> np.ndarray:
    """float32 ``exp(-m)`` of a 1-D float32 array ``m >= 0``, as the kernels compute it."""
    m = np.ascontiguousarray(m, np.float32)
    out = np.empty_like(m)
    _exp_minus_array(m, out)
    return out


def gate(v: np.ndarray) -> np.ndarray:
    """``tanh(a) sigmoid(b)`` on the grid, as float32 integers.

    Args:
        v: (B, T, 2C) float64 accumulators holding ``2a`` in the first half of the last axis
            and ``b`` in the second (exact values).

    Returns:
        (B, T, C) float32 integers ``round(2**F tanh(a) sigmoid(b))``, with ``tanh(a) =
        sign(a) (1 - e) / (1 + e)``, ``e = exp(-2|a|)``, and ``sigmoid(b)`` ``1 / (1 + e)`` for
        ``b >= 0``, ``e / (1 + e)`` below, ``e = exp(-|b|)``.
    """
    batch, steps, width = v.shape
    out = np.empty((batch, steps, width // 2), np.float32)
    rows = np.asarray(v, np.float32).reshape(batch * steps, width)  # rounds as float32(a) would
    _gate(np.ascontiguousarray(rows), out.reshape(batch * steps, width // 2))
    return out


def elu(x: np.ndarray) -> np.ndarray:
    """ELU of (B, T, C) float64 grid integers, on the grid: ``x`` above 0,
    ``round((exp(x / 2**F) - 1) 2**F)`` below (the curve in float32, error about 1e-7, far
    under the grid step 3.8e-6)."""
    flat = np.ascontiguousarray(x, np.float64).reshape(-1)
    # max(-x 2**-F, 0) in float32: scaling by a power of two commutes with the rounding
    magnitude = flat.astype(np.float32)
    np.multiply(magnitude, _F32(_MINUS_STEP), out=magnitude)
    np.maximum(magnitude, _ZERO, out=magnitude)
    out = np.empty_like(flat)
    _elu(flat, magnitude, out)
    return out.reshape(x.shape)


@numba.njit(cache=True, nogil=True)
def _dc_block(n, state, shift, out):
    half = np.int64(1) << (shift - 1)
    for c in range(n.shape[0]):
        previous_in, previous_out = state[c, 0], state[c, 1]
        for t in range(n.shape[1]):
            value = n[c, t]
            previous_out = value - previous_in + previous_out - ((previous_out + half) >> shift)
            previous_in = value
            out[c, t] = previous_out
        state[c, 0], state[c, 1] = previous_in, previous_out


def dc_block(n: np.ndarray, state: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """One-pole DC-blocking high-pass on integers, ``y[t] = n[t] - n[t-1] + y[t-1] -
    round(y[t-1] / 2**shift)`` (pole ``1 - 2**-shift``; the rounding is half up, by shifts).

    Args:
        n: (C, T) int64 samples.
        state: (C, 2) int64, the last input and output per channel (zeros at a stream's start).
        shift: pole position (``2**-shift`` from 1), at least 1.

    Returns:
        (C, T) int64 filtered samples and the new (C, 2) state. Integer arithmetic only, so
        the same numbers everywhere, and running a stream in pieces equals running it whole.
    """
    n = np.ascontiguousarray(n, np.int64)
    state = np.array(state, np.int64, copy=True)
    out = np.empty_like(n)
    _dc_block(n, state, np.int64(shift), out)
    return out, state
