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
* a convolution is one float64 matrix product of those integers per tap. Worst-case bounds are
  carried forward from the clips through every layer when the network is built, and every
  accumulator is checked to stay below ``2**53`` for any input, where float64 is exact: the
  result does not depend on summation order, BLAS blocking, thread count or the CPU. It is
  brought to the grid by a power-of-two scale and round-half-to-even (both exact);
* residual and skip sums add integers (exact); the depth-to-time reshape moves them;
* the nonlinearities (gated ``tanh(a) sigmoid(b)``, ELU) are computed in float32 by the
  compiled kernels of :mod:`.fixed_kernels`, from the steps of :func:`exp_nonpositive`, which
  uses only correctly rounded ``+ - * /``, ``rint`` and ``ldexp``, then rounded to the grid.
  So they too give the same bits on any IEEE-754 machine, whatever the array layout.

So the output is a function of ``y_hat`` and the weights file alone, by construction (the
one load-time ``exp`` of the gains uses :func:`exp_nonpositive` too). Streaming: each
convolution keeps its last ``context`` integer inputs as state, so running a stream in
pieces gives exactly the samples of running it whole, whatever the pieces.

The decoder (:mod:`.codec`) uses it. Speed: one product per tap on views (no im2col copy),
the nonlinearities compiled (:mod:`.fixed_kernels`), and where there are two cores the tail
of the network split in two halves computed at once, the second from zero state after a
warm-up of its receptive field (exact, see :meth:`FixedSynthesis.__call__`). BLAS is held to
one thread per product. Design and guarantee: ``plugins/wavenet/README.md``; its distance
from the float synthesis and its speed, as measured: ``weights/MODEL_CARD.md``.

"""

from __future__ import annotations

import concurrent.futures
import os
import threading
from typing import Sequence

import numpy as np

from . import fixed_kernels
from .fixed_kernels import FLOAT32_POLY, FRACTION_BITS, LN2

__all__ = ["FixedSynthesis", "DCBlocker", "DC_SHIFTS", "OUTPUT_BITS", "exp_nonpositive", "FRACTION_BITS", "WEIGHT_BITS", "STAGE_LIMIT",
           "LATENT_LIMIT", "CHUNK_FRAMES", "EXACT_LIMIT"]

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
"""Latent frames per pass through the tail (keeps the arrays in cache; any value gives the
same samples)."""

_TAYLOR = (1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0)


def exp_nonpositive(u: np.ndarray) -> np.ndarray:
    """``exp(u)`` for ``u <= 0`` from IEEE-754 basic operations only, in ``u``'s float dtype.

    ``u = k ln 2 + r``, ``exp(r) = p(r)**8`` with ``p(r)`` a polynomial for ``exp(r / 8)``
    (float64: degree-5 Taylor; float32: economized cubic, :data:`FLOAT32_POLY`), then
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
    k = m * dtype(-1.0 / LN2)
    np.rint(k, out=k)
    r = k * dtype(-LN2)
    r -= m  # -m - k ln 2, |r| <= ln 2 / 2
    if dtype is np.float32:
        p = r * FLOAT32_POLY[0]
        p += FLOAT32_POLY[1]
        for c in FLOAT32_POLY[2:]:
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
        steps, cin, d = x.shape[1], self.cin, self.dilation
        if not self.context:
            acc = x @ self.weights
            new_state = None
        else:
            # Tap j reads rows j d .. j d + T of [state, x]: one product per tap on a view
            # (no im2col copy). Every partial sum is a multiple of the output scale below
            # 2**53 of it, so adding the taps' products is exact in any order.
            padded = np.concatenate([state, x], axis=1)
            if self.cout == 1:  # a matrix-vector product per tap would be memory-bound
                per_tap = padded @ self.weights[:, 0].reshape(self.kernel, cin).T
                acc = per_tap[:, :steps, :1].copy()
                for j in range(1, self.kernel):
                    acc += per_tap[:, j * d:j * d + steps, j:j + 1]
            else:
                acc = padded[:, :steps] @ self.weights[:cin]
                for j in range(1, self.kernel):
                    acc += padded[:, j * d:j * d + steps] @ self.weights[j * cin:(j + 1) * cin]
            new_state = padded[:, steps:].copy()
        acc += self.bias
        if self.round:
            np.rint(acc, out=acc)
        return acc, new_state


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
        stage_convs = [[g for g, _ in blocks] + [up] for blocks, up, _, _ in self._stages]
        self._convs = [self._inputs[0]] + [c for convs in stage_convs for c in convs] + [self._out]
        self._head_states = sum(1 for c in [self._inputs[0]] + stage_convs[0] if c.context)
        """How many of the state arrays belong to the head (input layer and first stage)."""
        self._tail_convs = [c for convs in stage_convs[1:] for c in convs] + [self._out]
        self._tail_hop = int(np.prod([stride for _, _, stride, _ in self._stages[1:]]))
        """Output samples per sample of the tail's input."""
        self.tail_field = _tail_field(self._stages[1:], self._out)
        """The tail's receptive field in its input samples: an output sample depends on the
        tail input at its own time and at most this many samples before (none later)."""

    def zero_state(self, channels: int) -> list[np.ndarray]:
        """The state at the start of a stream: zeros, as at the left edge of a signal."""
        return [np.zeros((channels, c.context, c.cin)) for c in self._convs if c.context]

    def __call__(self, y_hat: np.ndarray, level: int, state: Sequence[np.ndarray]):
        """Range-decoded latent (channels, frames, M) integers of model ``level`` -> float32
        samples (channels, frames * hop), about [-1, 1], and the new state.

        Runs over groups of at most ``GROUP_FRAMES`` latent frames, one after another. In each,
        the head (input layer and first stage, 15% of the time) runs on the whole group;
        then the tail (the other stages and the output layer) runs on its two halves at once,
        the second on a worker thread from zero state, started ``tail_field`` samples early.
        The tail is a stack of causal convolutions and pointwise steps, with no feedback, so
        every output sample after that warm-up is exactly the one of running the stream in
        one piece, and so is the state it ends with (see :func:`_tail_field`).
        """
        y_hat = np.clip(np.asarray(y_hat, np.float64), -LATENT_LIMIT, LATENT_LIMIT)
        head_state, tail_state = list(state[:self._head_states]), list(state[self._head_states:])
        pieces = []
        for start in range(0, max(y_hat.shape[1], 1), GROUP_FRAMES):
            h, head_state = self._head(y_hat[:, start:start + GROUP_FRAMES], level, head_state)
            x, tail_state = self._split_tail(h, tail_state)
            pieces.append(x)
        return np.concatenate(pieces, axis=1), head_state + tail_state

    def _head(self, y_hat: np.ndarray, level: int, state: Sequence[np.ndarray]):
        """Latent frames -> the first stage's upsampled output (grid integers), and the new state."""
        run = LayerRunner(state)
        h = run(self._inputs[level], y_hat)
        blocks, up, stride, cout = self._stages[0]
        h, skip = self._blocks(h, None, blocks, run)
        return self._upsample(h + skip, up, stride, cout, run), run.new_state

    def _split_tail(self, h: np.ndarray, state: Sequence[np.ndarray]):
        """The tail on ``h`` (B, T, C): its two halves on two threads where ``T`` allows it."""
        steps, field = h.shape[1], self.tail_field
        if not PIPELINE or steps < SPLIT_FIELDS * field:
            return self._tail(h, state)
        split = (steps + field) // 2  # both halves the same length, the second's warm-up included
        warm_up = self._tail_zero_state(h.shape[0])
        # A copy: the halves overlap by the warm-up, and the stages clip their input in place.
        second = second_thread().submit(self._tail, h[:, split - field:].copy(), warm_up)
        first, _ = self._tail(h[:, :split], state)
        x, new_state = second.result()
        return np.concatenate([first, x[:, field * self._tail_hop:]], axis=1), new_state

    def _tail_zero_state(self, channels: int) -> list[np.ndarray]:
        return [np.zeros((channels, c.context, c.cin)) for c in self._tail_convs if c.context]

    def _tail(self, h: np.ndarray, state: Sequence[np.ndarray]):
        """The tail on ``h`` in chunks of ``CHUNK_FRAMES`` latent frames (keeps the arrays in
        cache) -> float32 samples (channels, T * tail hop), and the new state."""
        chunk = CHUNK_FRAMES * self._stages[0][2]
        pieces = []
        for start in range(0, max(h.shape[1], 1), chunk):
            run = LayerRunner(state)
            x = h[:, start:start + chunk]
            for blocks, up, stride, cout in self._stages[1:]:
                x, skip = self._blocks(x, None, blocks, run)
                x = self._upsample(x + skip, up, stride, cout, run)
            x = run(self._out, fixed_kernels.elu(np.clip(x, -_GRID_LIMIT, _GRID_LIMIT, out=x)))
            pieces.append(x[..., 0].astype(np.float32))
            state = run.new_state
        return np.concatenate(pieces, axis=1), list(state)

    @staticmethod
    def _blocks(h: np.ndarray, skip: np.ndarray | None, blocks, run) -> tuple[np.ndarray, np.ndarray | None]:
        """Gated residual blocks: ``h`` (its stage's input when ``skip`` is ``None``, clipped
        to ``STAGE_LIMIT``) and the skip sum so far -> both after ``blocks``."""
        if skip is None:
            h = np.clip(h, -_GRID_LIMIT, _GRID_LIMIT, out=h)
        for gate, mix in blocks:
            r = run(mix, fixed_kernels.gate(run(gate, h)))
            half = r.shape[-1] // 2
            h = h + r[..., :half]
            skip = r[..., half:] if skip is None else skip + r[..., half:]
        return h, skip

    @staticmethod
    def _upsample(v: np.ndarray, up: _FixedConv, stride: int, cout: int, run) -> np.ndarray:
        """ELU, the up-projection, and depth to time: (B, T, C) -> (B, T stride, cout)."""
        h = run(up, fixed_kernels.elu(v))
        return h.reshape(h.shape[0], h.shape[1] * stride, cout)


_GRID_LIMIT = STAGE_LIMIT * 2.0 ** FRACTION_BITS
"""``STAGE_LIMIT`` in grid integers."""


class LayerRunner:
    """Runs layers in order, feeding each stateful one its state and collecting the new ones."""

    def __init__(self, state: Sequence[np.ndarray]) -> None:
        self._state = iter(state)
        self.new_state: list[np.ndarray] = []

    def __call__(self, layer: _FixedConv, h: np.ndarray) -> np.ndarray:
        if not layer.context:
            return layer(h, None)[0]
        r, s = layer(h, next(self._state))
        self.new_state.append(s)
        return r


DC_SHIFTS = (7, 6)
"""The DC blocker's two one-pole stages, pole ``1 - 2**-shift`` each: -3 dB at 16000 / 2**7 /
2 pi = 20 Hz and at 40 Hz (time constants 8 and 4 ms). Together (the filters' transfer
functions): -9.9 dB at 20 Hz, -5.9 dB at 30 Hz, -2.7 dB at 50 Hz, -1.1 dB at 80 Hz, -0.7 dB at
100 Hz, -0.1 dB at 200 Hz, +0.1 dB from 1 kHz up. Why two stages and these cut-offs (what the
synthesis leaves below them makes PESQ-WB fail on whole clips): ``weights/MODEL_CARD.md``,
"The DC blocker and PESQ"."""
OUTPUT_BITS = 24
"""The DC blocker works on the synthesis's float32 samples rounded to a 2**-24 grid (one
float32 ulp at full scale, -144 dBFS)."""


class DCBlocker:
    """The decoder's last step: a two-stage high-pass that takes out the slowly varying DC
    offset and the rumble the synthesis leaves (the offsets measured with each release's
    weights: ``weights/MODEL_CARD.md`` and ``CHANGELOG.md``).

    One stage per entry of :data:`DC_SHIFTS`, in integer arithmetic on the ``2**-OUTPUT_BITS``
    grid (:func:`.fixed_kernels.dc_block`), so, like :class:`FixedSynthesis`, the same bits on
    every machine and for any split of a stream. Samples: (channels, T) float32 at 16 kHz;
    state: (channels, 2 * stages) int64, each stage's last input and output.
    """

    def zero_state(self, channels: int) -> np.ndarray:
        """The state at the start of a stream (as if silence came before)."""
        return np.zeros((channels, 2 * len(DC_SHIFTS)), np.int64)

    def __call__(self, samples: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(channels, T) float32 -> the same shape high-passed, and the new state."""
        grid = np.rint(np.ldexp(np.asarray(samples, np.float64), OUTPUT_BITS)).astype(np.int64)
        states = []
        for index, shift in enumerate(DC_SHIFTS):
            grid, stage_state = fixed_kernels.dc_block(grid, state[:, 2 * index:2 * index + 2], shift)
            states.append(stage_state)
        return np.ldexp(grid.astype(np.float64), -OUTPUT_BITS).astype(np.float32), np.concatenate(states, axis=1)


def _tail_field(stages, out: _FixedConv) -> int:
    """Receptive field of the layers after the first stage, in samples of their input.

    Started from any state at input sample 0, a signal at ``u`` samples per input sample is
    exact from sample ``E u`` on: a convolution with ``context`` samples of state moves that to
    ``E u + context`` (so ``E`` grows by ``ceil(context / u)``, rounded up to stay safe),
    depth-to-time upsampling by ``s`` keeps ``E`` (at ``u s`` samples per input sample), and
    pointwise steps (nonlinearities, clips, residual and skip sums) keep it.
    """
    field, rate = 0, 1
    for blocks, up, stride, _ in stages:
        for gate, _ in blocks:
            field += -(-gate.context // rate)
        field += -(-up.context // rate)
        rate *= stride
    return field + -(-out.context // rate)


GROUP_FRAMES = 250
"""Latent frames the head runs on at once (bounds the memory of one call; any value gives the
same samples)."""
SPLIT_FIELDS = 4
"""The tail is split in two when its input is at least this many receptive fields long (each
half, the second's warm-up included, is then at most 5/8 of the whole)."""
PIPELINE = (os.cpu_count() or 1) > 1
"""Run the two halves of the tail on two threads (only where there are two cores)."""
_WORKER: list[concurrent.futures.ThreadPoolExecutor] = []
_WORKER_LOCK = threading.Lock()


def second_thread() -> concurrent.futures.ThreadPoolExecutor:
    """The one extra thread (per process) that runs the second half of a call: of the
    synthesis's tail here, of the analysis's head in :mod:`.analysis`."""
    with _WORKER_LOCK:
        if not _WORKER:
            _WORKER.append(concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="wavenet-second-half"))
        return _WORKER[0]


def _forget_worker_in_child() -> None:
    """A forked child has none of its parent's threads: start its own worker when needed."""
    global _WORKER_LOCK
    _WORKER.clear()
    _WORKER_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_worker_in_child)
