"""The encoder's ``wavenet`` analysis transform in numpy (float32), on two threads.

The same network as :meth:`.model.WavenetModel.analysis` (TensorFlow, the training side),
run without TensorFlow's per-operation cost: the encoder calls it once a second on a second
of audio, where TensorFlow spends more time dispatching its hundred-odd operations than
computing them. Results agree with TensorFlow's to float32 rounding (checked in
``tests/wavenet/test_analysis.py``); the encoder only needs that, since the decoder's output
is a function of the packets alone.

Work split: the head (input layer and every stage but the last, at 16 kHz down to 800 Hz:
four fifths of the multiply-adds) runs on the two halves of each call at once, the second
half on a worker thread from zero state, started ``head_field`` output samples early; then
the tail (last stage and output layer, at the latent frame rate) runs on the whole call. The
head is a stack of causal convolutions and pointwise steps with no feedback, so the second
half's output after its warm-up is that of running the signal in one piece (see
:func:`_head_field`).

Shapes: waveforms (channels, samples, 1) float32 at 16 kHz, latents (channels, frames, M)
float32 (before the gain), one state array per convolution with left context.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import fixed
from .fixed import LayerRunner, second_thread

__all__ = ["FloatAnalysis", "SPLIT_FIELDS"]

SPLIT_FIELDS = 4
"""The head is split in two when its output is at least this many receptive fields long (each
half, the second's warm-up included, is then at most 5/8 of the whole)."""


class _Conv:
    """A causal 1-D float32 convolution (stride 1, dilated, or strided with kernel ``2 stride``)
    with its left context as state: ``(kernel - 1) dilation - (stride - 1)`` input samples."""

    def __init__(self, kernel: np.ndarray, bias: np.ndarray, stride: int = 1, dilation: int = 1) -> None:
        kernel = np.asarray(kernel, np.float32)
        self.kernel, self.cin, self.cout = kernel.shape
        if stride > 1 and self.kernel != 2 * stride:
            raise ValueError(f"a strided conv needs kernel 2 x stride, got kernel {self.kernel}, stride {stride}")
        self.weights = kernel.reshape(self.kernel * self.cin, self.cout)
        self.bias = np.asarray(bias, np.float32)
        self.stride, self.dilation = stride, dilation
        self.context = (self.kernel - 1) * dilation - (stride - 1)

    def __call__(self, x: np.ndarray, state: np.ndarray | None):
        """x (B, T, cin) -> (B, T / stride, cout), and the new state (B, context, cin)."""
        batch, steps, cin = x.shape
        if self.context <= 0:
            return x @ self.weights + self.bias, None
        padded = np.concatenate([state, x], axis=1)
        new_state = padded[:, steps:].copy()
        w = self.weights
        if self.stride > 1:  # output j reads padded [j s, j s + 2 s): two products on blocks of s rows
            s = self.stride
            blocks = padded.reshape(batch, steps // s + 1, s * cin)
            acc = blocks[:, :-1] @ w[:s * cin]
            acc += blocks[:, 1:] @ w[s * cin:]
        elif cin == 1:  # the input layer: taps side by side, one product
            d = self.dilation
            taps = np.stack([padded[:, j * d:j * d + steps, 0] for j in range(self.kernel)], axis=-1)
            acc = taps @ w
        else:  # one product per tap, on views
            d = self.dilation
            acc = padded[:, :steps] @ w[:cin]
            for j in range(1, self.kernel):
                acc += padded[:, j * d:j * d + steps] @ w[j * cin:(j + 1) * cin]
        acc += self.bias
        return acc, new_state


class FloatAnalysis:
    """The analysis transform of a :class:`~.model.WavenetModel`, in numpy float32.

    Args:
        weights: ``WavenetModel.weights()``-style arrays.
        config: The model's :class:`~.model.ModelConfig`.
    """

    def __init__(self, weights: dict[str, np.ndarray], config) -> None:
        self.config = config
        self._input = _Conv(weights["enc/in_w"], weights["enc/in_b"])
        self._stages = []
        for i, stride in enumerate(config.strides):
            down = _Conv(weights[f"enc/s{i}/down_w"], weights[f"enc/s{i}/down_b"], stride=stride)
            blocks = [(_Conv(weights[f"enc/s{i}/b{k}/gate_w"], weights[f"enc/s{i}/b{k}/gate_b"], dilation=d),
                       _Conv(weights[f"enc/s{i}/b{k}/mix_w"], weights[f"enc/s{i}/b{k}/mix_b"]))
                      for k, d in enumerate(config.dilations)]
            self._stages.append((down, blocks))
        self._out = _Conv(weights["enc/out_w"], weights["enc/out_b"])
        self._head_convs = [self._input] + [c for down, blocks in self._stages[:-1]
                                            for c in [down] + [gate for gate, _ in blocks]]
        down, blocks = self._stages[-1]
        self._tail_convs = [down] + [gate for gate, _ in blocks] + [self._out]
        self._head_states = sum(1 for c in self._head_convs if c.context > 0)
        self.head_hop = int(np.prod(config.strides[:-1]))
        """Input samples per sample of the head's output."""
        self.head_field = _head_field(self._head_convs)
        """From any state, the head's output is exact from this output sample on."""

    def zero_state(self, channels: int) -> list[np.ndarray]:
        """The state at the start of a stream: zeros, as at the left edge of a signal."""
        return [np.zeros((channels, c.context, c.cin), np.float32)
                for c in self._head_convs + self._tail_convs if c.context > 0]

    def __call__(self, x: np.ndarray, state: Sequence[np.ndarray]):
        """Waveform (channels, T, 1), ``T`` a multiple of the hop -> latent (channels, T / hop, M)
        float32 before the gain, and the new state."""
        x = np.asarray(x, np.float32)
        if x.shape[1] % self.config.hop:
            raise ValueError(f"analysis input of {x.shape[1]} samples is not a multiple of the hop {self.config.hop}")
        head_state, tail_state = list(state[:self._head_states]), list(state[self._head_states:])
        h, head_state = self._split_head(x, head_state)
        y, tail_state = self._tail(h, tail_state)
        return y, head_state + tail_state

    def _split_head(self, x: np.ndarray, state: list[np.ndarray]):
        steps, field, hop = x.shape[1] // self.head_hop, self.head_field, self.head_hop
        if not fixed.PIPELINE or steps < SPLIT_FIELDS * field:
            return self._head(x, state)
        split = (steps + field) // 2  # in head output samples; both halves equally long
        warm_up = [np.zeros_like(s) for s in state]
        second = second_thread().submit(self._head, x[:, (split - field) * hop:], warm_up)
        first, _ = self._head(x[:, :split * hop], state)
        h, new_state = second.result()
        return np.concatenate([first, h[:, field:]], axis=1), new_state

    def _head(self, x: np.ndarray, state: Sequence[np.ndarray]):
        run = LayerRunner(state)
        h = run(self._input, x)
        for down, blocks in self._stages[:-1]:
            h = _blocks(run(down, h), blocks, run)
        return h, run.new_state

    def _tail(self, h: np.ndarray, state: Sequence[np.ndarray]):
        run = LayerRunner(state)
        down, blocks = self._stages[-1]
        h = _blocks(run(down, h), blocks, run)
        return run(self._out, h), run.new_state


def _blocks(h: np.ndarray, blocks, run) -> np.ndarray:
    """WaveNet blocks: ``z = tanh(a) sigmoid(b)`` of the dilated conv, a 1x1 conv to residual
    and skip halves; returns ``h + skip`` after the last block."""
    skip = None
    for gate, mix in blocks:
        g = run(gate, h)
        half = g.shape[-1] // 2
        z = np.tanh(g[..., :half])
        sigmoid = np.tanh(g[..., half:] * np.float32(0.5))  # sigmoid(b) = (1 + tanh(b / 2)) / 2, no overflow
        sigmoid += np.float32(1.0)
        sigmoid *= np.float32(0.5)
        z *= sigmoid
        r = mix(z, None)[0]
        h = h + r[..., :half]
        skip = r[..., half:] if skip is None else skip + r[..., half:]
    return h + skip


def _head_field(convs: Sequence[_Conv]) -> int:
    """First output sample of the head that is exact whatever the state it started from.

    Track ``E``, the first exact sample at the current rate (0 at the input): a stride-1 conv
    with ``context`` samples of state moves it to ``E + context``; a strided conv's output
    ``j`` reads inputs ``j s - s .. j s + s - 1``, so it is exact from ``ceil(E / s) + 1`` on;
    pointwise steps keep it.
    """
    exact = 0
    for conv in convs:
        if conv.stride > 1:
            exact = -(-exact // conv.stride) + 1
        else:
            exact += conv.context
    return exact
