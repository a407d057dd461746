"""Fixed-point ``wavenet`` synthesis: bit-identical decoding on every thread count, kernel library and batching.

The float synthesis of :mod:`.model` (TensorFlow, float32) rounds differently with other
kernels: oneDNN on or off, and with Eigen's kernels the packet batching, change the last
bits of most samples. This module runs the same network on integers instead, the way
``plugins/vae/integer.py`` runs vae's hyper-synthesis:

* every activation between layers is an integer ``n`` standing for ``n / 2**FRACTION_BITS``;
  the latent is clipped to +-``LATENT_LIMIT`` and every stage's input to +-``STAGE_LIMIT``;
* every kernel is an integer array with a power-of-two scale per output channel (at most
  ``2**WEIGHT_BITS`` in magnitude), every bias an integer at the accumulator's scale; the
  first layer's kernel absorbs the level's inverse gain, so it reads the range-decoded
  integers ``y_hat`` directly (one kernel per level);
* a convolution is one float64 matrix product of those integers. Worst-case bounds are
  carried forward from the clips through every layer when the network is built, and every
  accumulator is checked to stay below ``2**53`` for any input, where float64 is exact: the
  result does not depend on summation order, BLAS blocking, thread count or the CPU. It is
  brought to the grid by a power-of-two scale and round-half-to-even (both exact);
* residual and skip sums add integers (exact); the depth-to-time reshape moves them;
* the nonlinearities (gated ``tanh(a) sigmoid(b)``, ELU) are computed in float32 from
  :func:`exp_nonpositive`, which uses only correctly rounded ``+ - * /``, ``rint`` and
  ``ldexp``, then rounded to the grid. So they too give the same bits on any IEEE-754
  machine, whatever the array layout.

So the output is a function of ``y_hat`` and the weights file alone, by construction (the
one load-time ``exp`` of the gains uses :func:`exp_nonpositive` too). Streaming: each
convolution keeps its last ``context`` integer inputs as state, so running a stream in
pieces gives exactly the samples of running it whole, whatever the pieces.

Status: the decoder (:mod:`.codec`) uses it. Measured 85.6 dB SNR from the float synthesis
on held-out speech (codec quality unchanged at print precision); encode + decode about 24x
real time (wall and CPU) with one BLAS thread (``evaluate.py --threads 1``; the codec holds
BLAS to one thread while it synthesizes). Design and guarantee: ``plugins/wavenet/README.md``.

"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["FixedSynthesis", "exp_nonpositive", "FRACTION_BITS", "WEIGHT_BITS", "STAGE_LIMIT",
           "LATENT_LIMIT", "CHUNK_FRAMES", "EXACT_LIMIT"]

FRACTION_BITS = 18
"""Fractional bits of every activation between layers (grid 2**-18, about 3.8e-6)."""
STAGE_LIMIT = 2048.0
"""The input of every synthesis stage and of the last layer is clipped to +-this (real units;
the held-out speech peaks near 22 there). With the latent clip it bounds every accumulator."""
LATENT_LIMIT = 2.0 ** 15
"""Range-decoded latent integers are clipped to +-this (the shipped priors code |y| < 100)."""
WEIGHT_BITS = 15
"""Kernel integers are at most 2**15 in magnitude (power-of-two scale per output channel)."""
EXACT_LIMIT = 2.0 ** 53
"""float64 represents every integer of smaller magnitude exactly."""
CHUNK_FRAMES = 25
"""Latent frames per pass through the network (keeps the arrays in cache; any value gives
the same samples)."""

_LN2 = 0.6931471805599453
_TAYLOR = (1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0)
_FLOAT32_POLY = (np.float32(2.0 ** -9 / 6), np.float32(2.0 ** -7 * (1.0 + (_LN2 / 16) ** 2 / 12)),
                 np.float32(0.125), np.float32(1.0))
"""float32 ``exp(r / 8)`` for ``|r| <= ln 2 / 2``, in powers of ``r``: the cubic Taylor polynomial
with the quartic term economized (Chebyshev, ``s**4 ~ h**2 s**2`` on ``|s| <= h = ln 2 / 16``),
relative error 2e-8, under half a float32 ulp."""


def exp_nonpositive(u: np.ndarray) -> np.ndarray:
    """``exp(u)`` for ``u <= 0`` from IEEE-754 basic operations only, in ``u``'s float dtype.

    ``u = k ln 2 + r``, ``exp(r) = p(r)**8`` with ``p(r)`` a polynomial for ``exp(r / 8)``
    (float64: degree-5 Taylor; float32: economized cubic, :data:`_FLOAT32_POLY`), then
    ``ldexp(., k)``. Every step is a correctly rounded ``+ - *``, ``rint`` or ``ldexp``, so the
    result is the same bits on every IEEE-754 machine, in any array layout and any split
    across threads (unlike a libm or SIMD ``exp``). Relative error: below 1e-10 in float64; in
    float32 below 1.1e-6 for ``u >= -1`` and 3.1e-6 down to -60 (measured; the rounding of the
    argument reduction and of ``p``, times 8 by the squarings), absolute below 7e-7.
    Below ``u = -60`` it returns ``exp(-60)`` (a normal number in both dtypes).
    """
    return _exp_minus(np.negative(u))


def _exp_minus(m: np.ndarray) -> np.ndarray:
    """``exp(-m)`` for ``m >= 0`` (:func:`exp_nonpositive` without the negation); may reuse ``m``."""
    dtype = m.dtype.type
    m = np.minimum(m, dtype(60.0), out=m)
    k = m * dtype(-1.0 / _LN2)
    np.rint(k, out=k)
    r = k * dtype(-_LN2)
    r -= m  # -m - k ln 2, |r| <= ln 2 / 2
    if dtype is np.float32:
        p = r * _FLOAT32_POLY[0]
        p += _FLOAT32_POLY[1]
        for c in _FLOAT32_POLY[2:]:
            p *= r
            p += c
    else:
        r *= dtype(0.125)
        p = r * dtype(_TAYLOR[0])
        for c in _TAYLOR[1:]:
            p += dtype(c)
            p *= r
        p += dtype(1.0)
    p *= p
    p *= p
    p *= p
    return np.ldexp(p, k.astype(np.int32), out=p)


def _exp(u: np.ndarray) -> np.ndarray:
    """``exp(u)`` for any sign, from :func:`exp_nonpositive` (``1 / exp(-u)`` above 0)."""
    u = np.asarray(u, np.float64)
    small = exp_nonpositive(-np.abs(u))  # float64
    return np.where(u > 0, 1.0 / small, small)


class _FixedConv:
    """A causal stride-1 1-D convolution on integers, with its left context as state.

    The kernel integers (at most ``2**WEIGHT_BITS``, power-of-two scale per output channel)
    and the bias integers are stored multiplied by the output scale (a power of two), with
    the bias as one more kernel row fed by a constant 1: one float64 matrix product then
    gives ``(integer accumulator + bias) * scale`` exactly.

    Args:
        kernel: (k, cin, cout) float weights.
        bias: (cout,) float bias.
        dilation: Dilation of the taps.
        input_bits: Fractional bits of the input integers (``FRACTION_BITS``, or 0 for the
            range-decoded latent).
        input_bound: Largest input magnitude (real units) the layer can receive.
        name: For error messages.
        output_scale: (cout,) powers of two, or ``None``. ``None``: outputs are rounded to
            integers at ``FRACTION_BITS``. Otherwise outputs are the exact real values of the
            accumulator times ``output_scale`` (for a nonlinearity or the last layer).

    Raises:
        ValueError: the worst-case accumulator would not be exact in float64.
    """

    def __init__(self, kernel: np.ndarray, bias: np.ndarray, dilation: int, input_bits: int,
                 input_bound: float, name: str, output_scale: np.ndarray | None = None) -> None:
        kernel = np.asarray(kernel, np.float64)
        k, cin, cout = kernel.shape
        peak = np.max(np.abs(kernel), axis=(0, 1))
        peak = np.where(peak > 0, peak, 1.0)
        # Per output channel: the largest s with max |w| * 2**s <= 2**WEIGHT_BITS. frexp is
        # exact (peak = m 2**e, 0.5 <= m < 1), unlike a libm log2 near a power of two.
        mantissa, exponent = np.frexp(peak)
        shift = WEIGHT_BITS - (exponent - (mantissa == 0.5)).astype(np.int64)
        integers = np.rint(np.ldexp(kernel, shift)).reshape(k * cin, cout)
        bias_integers = np.rint(np.ldexp(np.asarray(bias, np.float64), shift + input_bits))
        self.round = output_scale is None
        if self.round:  # accumulator (input_bits + shift fractional bits) -> FRACTION_BITS
            scale = np.ldexp(1.0, FRACTION_BITS - input_bits - shift)
        else:
            scale = np.ldexp(np.asarray(output_scale, np.float64), -input_bits - shift)
        self.weights = integers * scale  # exact: powers of two
        self.bias = bias_integers * scale
        self.kernel, self.cin, self.cout, self.dilation = k, cin, cout, dilation
        self.context = (k - 1) * dilation
        # Worst case over all inputs of magnitude <= input_bound: |accumulator| in integer units.
        accumulator = (np.abs(integers).sum(axis=0) * np.ldexp(float(input_bound), input_bits)
                       + np.abs(bias_integers))
        if not np.max(accumulator) < EXACT_LIMIT:
            raise ValueError(f"fixed-point conv `{name}`: worst-case accumulator {np.max(accumulator):.4g} "
                             f"is not below 2**53")
        real = np.abs(kernel).sum(axis=(0, 1)) * input_bound + np.abs(np.asarray(bias, np.float64))
        self.output_bound = float(np.max(real * (np.abs(output_scale) if output_scale is not None else 1.0))
                                  + 2.0 ** -FRACTION_BITS)
        """Largest output magnitude (real units, rounding and weight quantization included)."""
        self.output_bound *= 1.0 + 2.0 ** -WEIGHT_BITS

    def __call__(self, x: np.ndarray, state: np.ndarray | None):
        """x (B, T, cin) integers -> (B, T, cout), and the new state (B, context, cin)."""
        batch, steps, cin = x.shape
        context, d = self.context, self.dilation
        if self.kernel == 1:
            acc = x @ self.weights
        else:
            # The im2col matrix straight from state and x: tap j reads rows j d .. j d + T of
            # [state, x], i.e. state[j d:] and then x[:T - (context - j d)].
            columns = np.empty((batch, steps, self.kernel * cin))
            for j in range(self.kernel):
                head = min(context - j * d, steps)
                block = columns[:, :, j * cin:(j + 1) * cin]
                block[:, :head] = state[:, j * d:j * d + head]
                block[:, head:] = x[:, :steps - head]
            acc = columns @ self.weights
        new_state = None
        if context:
            new_state = x[:, steps - context:].copy() if steps >= context else np.concatenate(
                [state[:, steps:], x], axis=1)
        acc += self.bias  # every partial sum is a multiple of the scale below 2**53 of it: exact in any order
        if self.round:
            np.rint(acc, out=acc)
        return acc, new_state


_GRID = np.float32(2.0 ** FRACTION_BITS)


def _elu(x: np.ndarray) -> np.ndarray:
    """ELU of grid integers (float64), on the grid: ``x`` above 0, ``round((exp(x) - 1) 2**F)`` below.

    The curve is computed in float32 (its error, about 1e-7, is far under the grid step 3.8e-6);
    the float64 -> float32 conversion of ``x / 2**F`` is correctly rounded.
    """
    magnitude = x * -2.0 ** -FRACTION_BITS  # exact: a power of two
    curve = _exp_minus(np.maximum(magnitude, 0.0, out=magnitude).astype(np.float32))
    curve -= np.float32(1.0)
    curve *= _GRID
    np.rint(curve, out=curve)  # |curve| <= 2**18: exact in float32
    return np.where(x > 0, x, curve)


def _gate(v: np.ndarray) -> np.ndarray:
    """``tanh(a) sigmoid(b)`` on the grid (float32 integers), as the float model's gated activation.

    ``v`` (B, T, 2C) float64 holds ``2a`` in its first half and ``b`` in its second (exact
    values); in float32, ``tanh(a) = sign(a) (1 - e) / (1 + e)`` with ``e = exp(-2|a|)``, and
    ``sigmoid(b)`` is ``1 / (1 + e)`` for ``b >= 0`` and ``e / (1 + e)`` below, with
    ``e = exp(-|b|)``.
    """
    v = v.astype(np.float32)
    half = v.shape[-1] // 2
    e = _exp_minus(np.abs(v))
    denominator = e + np.float32(1.0)
    ea, eb = e[..., :half], e[..., half:]
    z = np.where(v[..., half:] >= 0, _GRID, eb * _GRID)  # 2**F sigmoid(b) (1 + e_b), exact
    z *= np.float32(1.0) - ea
    np.copysign(z, v[..., :half], out=z)
    denominator[..., :half] *= denominator[..., half:]
    z /= denominator[..., :half]
    return np.rint(z, out=z)  # |z| <= 2**18: exact in float32


class FixedSynthesis:
    """The synthesis transform of a :class:`~.model.WavenetModel` (all levels), in fixed point.

    Args:
        weights: ``WavenetModel.weights()``-style arrays (the ``.npz`` names without ``w/``).
        config: The model's :class:`~.model.ModelConfig`.

    Raises:
        ValueError: a layer's worst-case accumulator would not be exact in float64.
    """

    def __init__(self, weights: dict[str, np.ndarray], config) -> None:
        from .model import GAIN_SCALE

        self.config = config
        # Worst-case magnitudes flow forward from |y_hat| <= LATENT_LIMIT (interval bounds),
        # so every layer's exactness is checked for any bitstream, with no clipping inside.
        w_in = np.asarray(weights["dec/in_w"], np.float64)
        self._inputs = [_FixedConv(w_in * _exp(GAIN_SCALE * g)[None, :, None], weights["dec/in_b"], 1, 0,
                                   LATENT_LIMIT, "dec/in")
                        for g in np.asarray(weights["log_inverse_gains"], np.float64)]
        self._stages = []
        for j, i in enumerate(reversed(range(len(config.strides)))):
            channels = config.channels[i + 1]
            gate_scale = np.concatenate([np.full(channels, 2.0), np.ones(channels)])  # 2a | b
            blocks, skip, bound = [], 0.0, STAGE_LIMIT
            for k, dilation in enumerate(config.dilations):
                name = f"dec/s{j}/b{k}"
                gate = _FixedConv(weights[name + "/gate_w"], weights[name + "/gate_b"], dilation, FRACTION_BITS,
                                  bound, name + "/gate", gate_scale)
                mix = _FixedConv(weights[name + "/mix_w"], weights[name + "/mix_b"], 1, FRACTION_BITS, 1.0,
                                 name + "/mix")  # |tanh sigmoid| <= 1
                bound += mix.output_bound
                skip += mix.output_bound
                blocks.append((gate, mix))
            up = _FixedConv(weights[f"dec/s{j}/up_w"], weights[f"dec/s{j}/up_b"], 1, FRACTION_BITS,
                            bound + skip, f"dec/s{j}/up")  # ELU: |elu(v)| <= max(|v|, 1)
            self._stages.append((blocks, up, config.strides[i], config.channels[i]))
        self._out = _FixedConv(weights["dec/out_w"], weights["dec/out_b"], 1, FRACTION_BITS, STAGE_LIMIT, "dec/out",
                               np.ones(1))
        self._convs = [self._inputs[0]] + [c for blocks, up, _, _ in self._stages
                                            for c in [g for g, _ in blocks] + [up]] + [self._out]

    def zero_state(self, channels: int) -> list[np.ndarray]:
        """The state at the start of a stream: zeros, as at the left edge of a signal."""
        return [np.zeros((channels, c.context, c.cin)) for c in self._convs if c.context]

    def __call__(self, y_hat: np.ndarray, level: int, state: Sequence[np.ndarray]):
        """Range-decoded latent (channels, frames, M) integers of model ``level`` -> float32
        samples (channels, frames * hop), about [-1, 1], and the new state."""
        y_hat = np.clip(np.asarray(y_hat, np.float64), -LATENT_LIMIT, LATENT_LIMIT)
        pieces = []
        for start in range(0, max(y_hat.shape[1], 1), CHUNK_FRAMES):
            x, state = self._run(y_hat[:, start:start + CHUNK_FRAMES], level, state)
            pieces.append(x)
        return np.concatenate(pieces, axis=1), state

    def _run(self, y_hat: np.ndarray, level: int, state: Sequence[np.ndarray]):
        states = iter(state)
        out: list[np.ndarray] = []

        def run(layer: _FixedConv, h: np.ndarray) -> np.ndarray:
            r, s = layer(h, next(states) if layer.context else None)
            if layer.context:
                out.append(s)
            return r

        limit = STAGE_LIMIT * 2.0 ** FRACTION_BITS
        h = run(self._inputs[level], y_hat)
        for blocks, up, stride, cout in self._stages:
            np.clip(h, -limit, limit, out=h)
            skip = None
            for gate, mix in blocks:
                r = run(mix, _gate(run(gate, h)))
                half = r.shape[-1] // 2
                h = h + r[..., :half]
                if skip is None:
                    skip = r[..., half:]
                else:
                    skip += r[..., half:]
            skip += h
            h = run(up, _elu(skip))
            h = h.reshape(h.shape[0], h.shape[1] * stride, cout)
        x = run(self._out, _elu(np.clip(h, -limit, limit, out=h)))
        return x[..., 0].astype(np.float32), out
