"""The residual synthesis with integer weights and activations: the same pixels on every machine.

A P-frame's decoded pixels become the reference of the next one, so a decoder that
rounds one pixel differently from the encoder drifts for the rest of the group of
pictures. Float convolutions give results that depend on the summation order (oneDNN
or Eigen kernels, the thread count, the CPU's vector width). This synthesis avoids
that without leaving TensorFlow's fast float convolutions:

- every layer's input is an integer (the first layer's, ``ŷ·g'`` quantized to
  ``[-127, 127]`` by an elementwise multiply and round; hidden activations, after a
  ReLU, quantized to ``[0, 255]``), every kernel entry an integer in ``[-127, 127]``;
- so each convolution sum is an integer, and it is checked at export that no partial
  sum can reach 2**24 (:func:`phase_bound` of the integer kernel times the largest
  input; a layer whose kernel would exceed it gets a coarser kernel step): float32
  represents every partial sum exactly, in any order;
- bias and rescaling (to the next layer's integer activation, or to pixel units for the
  last layer) are int64 fixed-point operations: multiply, add, rounding right shift.

Training (:class:`QuantizedSynthesis`) simulates exactly this quantization with
straight-through rounding; the activation steps are learned (Esser et al., "Learned
Step Size Quantization", ICLR 2020), the kernel step of each layer is its largest
magnitude / 127. :func:`export_integer` turns the trained layer into
:class:`IntegerSynthesis`, which the codec runs.

Shapes: latents N x h x w x M; output residual N x 16h x 16w x 3 in pixel units
(an integer in ``[-255, 255]`` from the integer network).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import tensorflow as tf

__all__ = ["QuantizedSynthesis", "IntegerSynthesis", "IntegerLayer", "export_integer",
           "INPUT_MAX", "ACTIVATION_MAX", "KERNEL_MAX", "EXACT_LIMIT", "phase_bound"]

INPUT_MAX = 127
"""The first layer's input (``ŷ·g'`` / its step) is clipped to ``[-INPUT_MAX, INPUT_MAX]``."""

ACTIVATION_MAX = 255
"""Hidden activations are integers in ``[0, ACTIVATION_MAX]``."""

KERNEL_MAX = 127
"""Kernel entries are integers in ``[-KERNEL_MAX, KERNEL_MAX]``."""

EXACT_LIMIT = 1 << 24
"""float32 holds every integer below this exactly."""

OUTPUT_SCALE = 255.0
"""The last layer's output is multiplied by this (pixel units), as the image synthesis does."""

_SHIFT = 30
"""Fractional bits of the fixed-point rescaling multipliers."""


def _ste_round(x: tf.Tensor) -> tf.Tensor:
    """round(x) forward, identity backward."""
    return x + tf.stop_gradient(tf.round(x) - x)


class QuantizedSynthesis(tf.keras.layers.Layer):
    """Training form: ŷ·g' (N,h,w,M) -> residual (N,16h,16w,3), pixel units.

    Four 5x5 transposed convolutions of stride 2 (``filters``, ``filters``,
    ``filters``, 3 channels), ReLU between, with simulated integer quantization of
    kernels and activations.
    """

    KERNEL = 5
    STRIDE = 2

    def __init__(self, filters: int, latent_channels: int, name: str = "synthesis") -> None:
        super().__init__(name=name)
        self.filters = filters
        self.latent_channels = latent_channels
        channels = [latent_channels, filters, filters, filters, 3]
        self.kernels, self.biases = [], []
        for i, (cin, cout) in enumerate(zip(channels[:-1], channels[1:])):
            # conv2d_transpose kernels are kh x kw x Cout x Cin.
            self.kernels.append(self.add_weight(f"layer_{i}/kernel", (self.KERNEL, self.KERNEL, cout, cin),
                                                initializer=tf.keras.initializers.GlorotUniform()))
            self.biases.append(self.add_weight(f"layer_{i}/bias", (cout,), initializer="zeros"))
        # log of each quantized input's step: the latent input, then 3 hidden activations.
        start = [np.log(0.5)] + [np.log(4.0 / ACTIVATION_MAX)] * 3
        self.log_steps = self.add_weight("log_steps", (4,), initializer=tf.constant_initializer(start))

    def steps(self) -> tf.Tensor:
        """Steps of the 4 quantized inputs (latent, then hidden activations)."""
        return tf.exp(self.log_steps)

    def call(self, latent: tf.Tensor) -> tf.Tensor:
        steps = tf.exp(self.log_steps)
        x = steps[0] * _ste_round(tf.clip_by_value(latent / steps[0], -INPUT_MAX, INPUT_MAX))
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            kernel_step = tf.stop_gradient(tf.reduce_max(tf.abs(kernel)) / KERNEL_MAX + 1e-12)
            kernel_q = kernel_step * _ste_round(kernel / kernel_step)
            shape = tf.shape(x)
            out_shape = tf.stack([shape[0], self.STRIDE * shape[1], self.STRIDE * shape[2], tf.shape(kernel)[2]])
            x = tf.nn.conv2d_transpose(x, kernel_q, out_shape, self.STRIDE, padding="SAME") + bias
            if i < 3:
                step = steps[i + 1]
                x = step * _ste_round(tf.clip_by_value(tf.nn.relu(x) / step, 0.0, ACTIVATION_MAX))
        return x * OUTPUT_SCALE


@dataclasses.dataclass(frozen=True)
class IntegerLayer:
    """One integer layer: ``out = (acc · multiplier + offset + 2**(shift-1)) >> shift``.

    Attributes:
        kernel: 5 x 5 x Cout x Cin float32 holding integers in [-KERNEL_MAX, KERNEL_MAX].
        multiplier: Cout int64, the rescaling at ``2**shift``.
        offset: Cout int64, the bias at the same scale.
        shift: Right shift (bits).
        hidden: ReLU and clip to [0, ACTIVATION_MAX] (hidden) or clip to [-255, 255] (last).
        input_max: Largest magnitude of the layer's integer input.
    """

    kernel: np.ndarray
    multiplier: np.ndarray
    offset: np.ndarray
    shift: int
    hidden: bool
    input_max: int

    def check(self) -> None:
        """Raises ValueError unless every partial sum of the convolution is below 2**24
        (:func:`phase_bound` times the largest input)."""
        if np.any(self.kernel != np.round(self.kernel)) or np.abs(self.kernel).max(initial=0) > KERNEL_MAX:
            raise ValueError("integer synthesis kernels must hold integers in [-127, 127]")
        bound = phase_bound(self.kernel) * self.input_max
        if bound >= EXACT_LIMIT:
            raise ValueError(f"a convolution sum can reach {bound:.0f} >= 2**24: not exact in float32")
        if np.abs(self.multiplier).max(initial=0) >= 1 << 32 or np.abs(self.offset).max(initial=0) >= 1 << 58:
            raise ValueError("fixed-point rescaling out of range")


class IntegerSynthesis:
    """The exported synthesis: integer latent ŷ (1,h,w,M) -> integer residual (1,16h,16w,3).

    Args:
        input_scale: L x M float32: level *l*'s ``g'_l / step_0``; the first layer's
            input is ``clip(round(ŷ · input_scale[l]), -127, 127)`` (one IEEE multiply
            and a round per element: the same on every machine).
        layers: The four layers.
    """

    def __init__(self, input_scale: np.ndarray, layers: Sequence[IntegerLayer]) -> None:
        self.input_scale = np.asarray(input_scale, np.float32)
        self.layers = tuple(layers)
        for layer in self.layers:
            layer.check()
        self._kernels = [tf.constant(layer.kernel, tf.float32) for layer in self.layers]
        self._multipliers = [tf.constant(layer.multiplier, tf.int64) for layer in self.layers]
        self._offsets = [tf.constant(layer.offset + (1 << (layer.shift - 1)), tf.int64) for layer in self.layers]

    @tf.function(input_signature=[tf.TensorSpec((1, None, None, None), tf.float32),
                                  tf.TensorSpec((None,), tf.float32)])
    def _run(self, y_hat: tf.Tensor, scale: tf.Tensor) -> tf.Tensor:
        x = tf.clip_by_value(tf.round(y_hat * scale), -INPUT_MAX, INPUT_MAX)
        for layer, kernel, multiplier, offset in zip(self.layers, self._kernels, self._multipliers, self._offsets):
            shape = tf.shape(x)
            out_shape = tf.stack([1, 2 * shape[1], 2 * shape[2], tf.shape(kernel)[2]])
            acc = tf.nn.conv2d_transpose(x, kernel, out_shape, 2, padding="SAME")  # exact integers
            value = tf.bitwise.right_shift(tf.cast(acc, tf.int64) * multiplier + offset,
                                           tf.constant(layer.shift, tf.int64))
            if layer.hidden:
                x = tf.cast(tf.clip_by_value(value, 0, ACTIVATION_MAX), tf.float32)
            else:
                x = tf.clip_by_value(value, -255, 255)
        return tf.cast(x, tf.int32)

    def __call__(self, y_hat: tf.Tensor | np.ndarray, level: int) -> np.ndarray:
        """Integer latent (1 x h x w x M, integral floats) -> 16h x 16w x 3 int32 residual."""
        scale = tf.constant(self.input_scale[level])
        return self._run(tf.convert_to_tensor(y_hat, tf.float32), scale).numpy()[0]

    def to_arrays(self, prefix: str = "int_synthesis") -> dict[str, np.ndarray]:
        """The network as named arrays (for the weights file)."""
        arrays = {f"{prefix}/input_scale": self.input_scale,
                  f"{prefix}/num_layers": np.array(len(self.layers), np.int64)}
        for i, layer in enumerate(self.layers):
            arrays[f"{prefix}/{i}/kernel"] = layer.kernel.astype(np.int8)
            arrays[f"{prefix}/{i}/multiplier"] = layer.multiplier
            arrays[f"{prefix}/{i}/offset"] = layer.offset
            arrays[f"{prefix}/{i}/params"] = np.array([layer.shift, int(layer.hidden), layer.input_max], np.int64)
        return arrays

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "int_synthesis") -> "IntegerSynthesis":
        """Inverse of :meth:`to_arrays`.

        Raises:
            KeyError: an array is missing. ValueError: the arrays are inconsistent.
        """
        layers = []
        for i in range(int(arrays[f"{prefix}/num_layers"])):
            shift, hidden, input_max = (int(v) for v in arrays[f"{prefix}/{i}/params"])
            layers.append(IntegerLayer(np.asarray(arrays[f"{prefix}/{i}/kernel"], np.float32),
                                       np.asarray(arrays[f"{prefix}/{i}/multiplier"], np.int64),
                                       np.asarray(arrays[f"{prefix}/{i}/offset"], np.int64),
                                       shift, bool(hidden), input_max))
        return cls(np.asarray(arrays[f"{prefix}/input_scale"], np.float32), layers)


def phase_bound(kernel: np.ndarray) -> float:
    """Largest sum of kernel magnitudes that reaches one output of a stride-2 transposed conv.

    Output ``o`` takes input ``i`` through tap ``k`` where ``o = 2i + k − pad``: the taps
    reaching one output share the parity of ``k`` along each axis (at most 3 x 3 of 5 x 5).
    Any partial sum an implementation forms for that output adds a subset of those
    products (or zeros), so it is bounded by this value times the largest input.

    Args:
        kernel: kh x kw x Cout x Cin.

    Returns:
        Max over output channels and the four tap-parity classes of the sum of ``|kernel|``.
    """
    magnitudes = np.abs(np.asarray(kernel, np.float64))
    return max(float(magnitudes[py::2, px::2].sum(axis=(0, 1, 3)).max(initial=0))
               for py in (0, 1) for px in (0, 1))


def _fixed_point(values: np.ndarray) -> tuple[np.ndarray, int]:
    """(round(values · 2**shift) int64, shift) with the largest magnitude below 2**31."""
    peak = float(np.abs(values).max(initial=0))
    shift = _SHIFT if peak == 0 else min(_SHIFT + 16, max(1, int(np.floor(np.log2((2 ** 31 - 1) / peak)))))
    return np.round(values * 2.0 ** shift).astype(np.int64), shift


def export_integer(synthesis: QuantizedSynthesis, inverse_gains: np.ndarray) -> IntegerSynthesis:
    """Converts a trained :class:`QuantizedSynthesis` to its integer form.

    Args:
        synthesis: The trained layer.
        inverse_gains: L x M inverse gains ``g'`` (the latent is ``ŷ · g'_l`` before it).

    Raises:
        ValueError: a layer's sums could exceed 2**24 (not exact in float32).
    """
    steps = synthesis.steps().numpy().astype(np.float64)
    input_scale = (np.asarray(inverse_gains, np.float64) / steps[0]).astype(np.float32)
    layers = []
    for i, (kernel, bias) in enumerate(zip(synthesis.kernels, synthesis.biases)):
        kernel = kernel.numpy().astype(np.float64)
        kernel_step = float(np.abs(kernel).max()) / KERNEL_MAX + 1e-12
        kernel_int = np.clip(np.round(kernel / kernel_step), -KERNEL_MAX, KERNEL_MAX)
        input_max = INPUT_MAX if i == 0 else ACTIVATION_MAX
        while phase_bound(kernel_int) * input_max >= EXACT_LIMIT:  # coarser kernel steps until exact
            kernel_step *= 1.125
            kernel_int = np.clip(np.round(kernel / kernel_step), -KERNEL_MAX, KERNEL_MAX)
        accumulator_step = steps[i] * kernel_step  # value of one accumulator unit
        hidden = i < len(synthesis.kernels) - 1
        out_step = steps[i + 1] if hidden else 1.0 / OUTPUT_SCALE
        ratio = accumulator_step / out_step
        multiplier, shift = _fixed_point(np.full(kernel.shape[2], ratio))
        offset = np.round(bias.numpy().astype(np.float64) / out_step * 2.0 ** shift).astype(np.int64)
        layers.append(IntegerLayer(kernel_int.astype(np.float32), multiplier, offset, shift, hidden, input_max))
    return IntegerSynthesis(input_scale, layers)
