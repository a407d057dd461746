"""Fixed-point hyper-synthesis: scale indices that encoder and decoder derive bit for bit.

A hyperprior codec desynchronizes if the decoder's scale index of one latent
element differs from the encoder's by one: the range decoder then reads the
rest of the string with the wrong table. After Ballé, Johnston & Minnen,
"Integer Networks for Data Compression with Latent-Variable Models" (ICLR 2019),
the ``vae`` codec computes the indices with an integer network, the same code
at encode and decode time, with no float operation whose result could depend on
the machine, the thread count or the math library:

- the trained float hyper-synthesis (3 layers, see :class:`..model.HyperSynthesisTransform`)
  is converted once, at export, to integers: each layer's kernel becomes
  ``round(W · 2**kernel_bits)`` (a power-of-two scale per layer, so that
  ``|W_q| < 2**15``) and its bias ``round(b · 2**(input_bits + kernel_bits))``;
  the shipped weights file stores these integers and the decoder never
  recomputes them;
- the input is the decoded hyper-latent ``ẑ`` (integers; the hyperprior is
  coded without quantization offset);
- each layer is a transposed convolution (the SignalConv2D ``corr=False``
  semantics: ``out[s·i + a − (k−1)//2] += x[i] · W[a]``, zero padding); hidden
  layers end with an integer ReLU, a rounding right shift to
  :data:`ACTIVATION_BITS` fractional bits and a clip to ``[0, ACTIVATION_MAX]``;
- the last layer's accumulator is rounded (right shift) to an integer index and
  clipped to ``[0, num_scales − 1]``; a mean-scale network (Minnen, Ballé &
  Toderici, NeurIPS 2018) has as many further output channels, the Gaussian
  means, rounded to :data:`MEAN_BITS` fractional bits and clipped to
  ``±MEAN_MAX``: a mean is a dyadic rational that float32 holds exactly, so
  ``round(y − μ) + μ`` decodes to the same value everywhere.

Exactness: the products and sums are evaluated with numpy ``float64`` matrix
products (BLAS) because they are fast, but every operand is an integer and every
partial sum is bounded by ``taps · Cin · 2**15 · ACTIVATION_MAX < 2**53``
(checked when a network is built), so every intermediate value is an integer
that float64 represents exactly: the result does not depend on the order of
the additions, on blocking or on threads. Biases, ReLU, shifts and clips are
int64 operations. Only the hyper-synthesis needs this: the main synthesis
(float) changes the picture, never how the bitstream is parsed.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

__all__ = ["ACTIVATION_BITS", "ACTIVATION_MAX", "KERNEL_MAX", "MEAN_BITS", "MEAN_MAX", "IntegerLayer",
           "IntegerHyperSynthesis", "transposed_conv"]

ACTIVATION_BITS = 12
"""Fractional bits of the hidden activations (a value v is held as round(v · 2**12))."""

ACTIVATION_MAX = (1 << 24) - 1
"""Largest hidden activation (integer), i.e. 4096 in float units."""

KERNEL_MAX = (1 << 15) - 1
"""Largest magnitude of an integer kernel entry."""

INPUT_MAX = ACTIVATION_MAX
"""Hyper-latent values are clipped to ``[-INPUT_MAX, INPUT_MAX]`` (never reached in practice)."""

MEAN_BITS = 8
"""Fractional bits of a Gaussian mean (latent units; one quantization bin is 1)."""

MEAN_MAX = (1 << 20) - 1
"""Largest mean magnitude (integer), i.e. 4096 latent units: far beyond any latent."""

_EXACT_LIMIT = float(1 << 53)


def transposed_conv(x: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """``SignalConv2D(corr=False, strides_up=stride, padding="same_zeros")`` without bias.

    Args:
        x: H x W x Cin (float64; integers for the exact path).
        kernel: kh x kw x Cin x Cout, odd kh, kw.
        stride: Upsampling factor (1 or 2).

    Returns:
        (stride·H) x (stride·W) x Cout float64.
    """
    height, width, cin = x.shape
    kh, kw, kcin, cout = kernel.shape
    if kcin != cin:
        raise ValueError(f"kernel takes {kcin} channels, input has {cin}")
    out = np.zeros((stride * height + kh, stride * width + kw, cout), np.float64)
    flat = np.ascontiguousarray(x, np.float64).reshape(height * width, cin)
    for a in range(kh):
        for b in range(kw):
            tap = (flat @ kernel[a, b]).reshape(height, width, cout)
            out[a:a + stride * height:stride, b:b + stride * width:stride] += tap
    oh, ow = (kh - 1) // 2, (kw - 1) // 2
    return out[oh:oh + stride * height, ow:ow + stride * width]


@dataclasses.dataclass(frozen=True)
class IntegerLayer:
    """One fixed-point layer.

    Attributes:
        kernel: kh x kw x Cin x Cout int64, ``|kernel| <= KERNEL_MAX``.
        bias: Cout int64, at scale ``2**(input_bits + kernel_bits)``.
        stride: Upsampling factor.
        kernel_bits: Fractional bits of the kernel.
        input_bits: Fractional bits of the layer's input.
        output_bits: Fractional bits of the output (0 for the index layer).
        relu: Hidden layer (ReLU + clip to ACTIVATION_MAX) or index layer.
    """

    kernel: np.ndarray
    bias: np.ndarray
    stride: int
    kernel_bits: int
    input_bits: int
    output_bits: int
    relu: bool

    @property
    def shift(self) -> int:
        """Right shift from the accumulator scale to the output scale (bits)."""
        return self.input_bits + self.kernel_bits - self.output_bits

    def check(self, input_max: int) -> None:
        """Raises ValueError unless the layer's arithmetic is exact for inputs up to `input_max`."""
        if self.kernel.dtype != np.int64 or self.bias.dtype != np.int64:
            raise ValueError("integer layer arrays must be int64")
        if np.abs(self.kernel).max(initial=0) > KERNEL_MAX:
            raise ValueError(f"kernel entries exceed {KERNEL_MAX}")
        if self.shift < 1:
            raise ValueError(f"right shift {self.shift} < 1: kernel too large for fixed point")
        kh, kw, cin, _ = self.kernel.shape
        bound = float(kh * kw * cin) * KERNEL_MAX * input_max
        if bound >= _EXACT_LIMIT or np.abs(self.bias).max(initial=0) >= 1 << 62:
            raise ValueError(f"accumulator bound {bound:.3g} is not exact in float64")

    def accumulate(self, x: np.ndarray) -> np.ndarray:
        """Integer H x W x Cin -> the (stride·H) x (stride·W) x Cout int64 accumulator (conv + bias),
        at ``2**(input_bits + kernel_bits)``."""
        acc = transposed_conv(x, self.kernel.astype(np.float64), self.stride)
        return acc.astype(np.int64) + self.bias  # exact: integers below 2**53

    def __call__(self, x: np.ndarray, num_scales: int) -> np.ndarray:
        """Integer H x W x Cin -> (stride·H) x (stride·W) x Cout int64."""
        acc = self.accumulate(x)
        if self.relu:
            return np.minimum(_round_shift(np.maximum(acc, 0), self.shift), ACTIVATION_MAX)
        return np.clip(_round_shift(acc, self.shift), 0, num_scales - 1)


def _round_shift(acc: np.ndarray, shift: int) -> np.ndarray:
    """``acc / 2**shift`` rounded half up, in int64 (`shift` >= 1)."""
    return (acc + (np.int64(1) << np.int64(shift - 1))) >> np.int64(shift)


class IntegerHyperSynthesis:
    """The hyper-synthesis as integer layers: ẑ (integers) -> scale indices (and means).

    Args:
        layers: Hidden layers then the output layer, whose first channels are the
            scale indices and whose last `mean_channels` channels the means.
        num_scales: Indices are clipped to ``[0, num_scales - 1]``.
        mean_channels: 0 (a scale hyperprior) or M (a mean-scale hyperprior).
    """

    def __init__(self, layers: Sequence[IntegerLayer], num_scales: int, mean_channels: int = 0) -> None:
        self.layers = tuple(layers)
        self.num_scales = int(num_scales)
        self.mean_channels = int(mean_channels)
        if not self.layers or self.layers[-1].relu or not all(l.relu for l in self.layers[:-1]):
            raise ValueError("expected ReLU layers followed by one index layer")
        out_channels = self.layers[-1].kernel.shape[-1]
        if self.mean_channels and out_channels != 2 * self.mean_channels:
            raise ValueError(f"{self.mean_channels} mean channels need {2 * self.mean_channels} "
                             f"output channels, not {out_channels}")
        if self.mean_channels and self.layers[-1].shift - MEAN_BITS < 1:
            raise ValueError("output kernel too large for the means' fixed point")
        input_max = INPUT_MAX
        for layer in self.layers:
            layer.check(input_max)
            input_max = ACTIVATION_MAX

    @classmethod
    def from_float(cls, weights: Sequence[tuple[np.ndarray, np.ndarray, int]],
                   num_scales: int, mean_channels: int = 0) -> "IntegerHyperSynthesis":
        """Quantizes trained float layers.

        Args:
            weights: ``(kernel kh x kw x Cin x Cout, bias Cout, stride)`` per layer,
                in order; every layer but the last is followed by a ReLU.
            num_scales: Number of scale indices.
            mean_channels: Output channels that are means (the last ones), 0 for none.

        Raises:
            ValueError: a kernel too large for the fixed-point format.
        """
        layers = []
        input_bits = 0  # ẑ is integer
        for i, (kernel, bias, stride) in enumerate(weights):
            last = i == len(weights) - 1
            peak = float(np.abs(kernel).max())
            kernel_bits = 30 if peak == 0 else min(30, int(np.floor(np.log2(KERNEL_MAX / peak))))
            output_bits = 0 if last else ACTIVATION_BITS
            kernel_q = np.clip(np.round(np.asarray(kernel, np.float64) * 2.0 ** kernel_bits),
                               -KERNEL_MAX, KERNEL_MAX).astype(np.int64)
            bias_q = np.round(np.asarray(bias, np.float64) * 2.0 ** (input_bits + kernel_bits))
            layers.append(IntegerLayer(kernel_q, bias_q.astype(np.int64), int(stride), kernel_bits,
                                       input_bits, output_bits, relu=not last))
            input_bits = output_bits
        return cls(layers, num_scales, mean_channels)

    def __call__(self, z_hat: np.ndarray, latent_shape: tuple[int, int]) -> np.ndarray:
        """Scale indices of a latent (:meth:`scales_and_means` without the means)."""
        return self.scales_and_means(z_hat, latent_shape)[0]

    def scales_and_means(self, z_hat: np.ndarray,
                         latent_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
        """Scale indices and Gaussian means of a latent.

        Args:
            z_hat: zh x zw x C integer hyper-latent (any integer or integral float dtype).
            latent_shape: (h, w) of the latent ``y``; the network's output
                (4·zh x 4·zw) is cropped to it (top-left).

        Returns:
            (h x w x M int32 indices in ``[0, num_scales - 1]``, h x w x M float32 means
            in latent units, multiples of ``2**-MEAN_BITS``, or None without mean channels).
        """
        x = np.clip(np.asarray(z_hat, np.int64), -INPUT_MAX, INPUT_MAX)
        for layer in self.layers[:-1]:
            x = layer(x, self.num_scales)
        h, w = latent_shape
        last = self.layers[-1]
        if last.stride * x.shape[0] < h or last.stride * x.shape[1] < w:
            raise ValueError(f"hyper-latent of {z_hat.shape[:2]} is too small for a {h}x{w} latent")
        acc = last.accumulate(x)[:h, :w]
        channels = acc.shape[-1] - self.mean_channels
        indexes = np.clip(_round_shift(acc[..., :channels], last.shift), 0, self.num_scales - 1)
        indexes = np.ascontiguousarray(indexes, np.int32)
        if not self.mean_channels:
            return indexes, None
        means = np.clip(_round_shift(acc[..., channels:], last.shift - MEAN_BITS), -MEAN_MAX, MEAN_MAX)
        return indexes, np.ascontiguousarray(means.astype(np.float32) / np.float32(1 << MEAN_BITS))

    def to_arrays(self, prefix: str = "int_hyper") -> dict[str, np.ndarray]:
        """The network as named arrays (for the weights file)."""
        arrays = {f"{prefix}/num_layers": np.array(len(self.layers), np.int64),
                  f"{prefix}/num_scales": np.array(self.num_scales, np.int64)}
        if self.mean_channels:  # files of scale-only networks stay as they were
            arrays[f"{prefix}/mean_channels"] = np.array(self.mean_channels, np.int64)
        for i, layer in enumerate(self.layers):
            arrays[f"{prefix}/{i}/kernel"] = layer.kernel.astype(np.int16)  # |k| <= KERNEL_MAX = 2**15 - 1
            arrays[f"{prefix}/{i}/bias"] = layer.bias
            arrays[f"{prefix}/{i}/params"] = np.array(
                [layer.stride, layer.kernel_bits, layer.input_bits, layer.output_bits, int(layer.relu)],
                np.int64)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str = "int_hyper") -> "IntegerHyperSynthesis":
        """Inverse of :meth:`to_arrays`.

        Raises:
            KeyError: an array is missing. ValueError: the arrays are inconsistent.
        """
        layers = []
        for i in range(int(arrays[f"{prefix}/num_layers"])):
            stride, kernel_bits, input_bits, output_bits, relu = (
                int(v) for v in arrays[f"{prefix}/{i}/params"])
            layers.append(IntegerLayer(
                np.asarray(arrays[f"{prefix}/{i}/kernel"], np.int64),
                np.asarray(arrays[f"{prefix}/{i}/bias"], np.int64),
                stride, kernel_bits, input_bits, output_bits, bool(relu)))
        mean_channels = int(arrays.get(f"{prefix}/mean_channels", 0))
        return cls(layers, int(arrays[f"{prefix}/num_scales"]), mean_channels)
