"""The P-frame residual coder of ``nvc``: a scale-hyperprior autoencoder with an exact synthesis.

A P-frame is predicted by block motion compensation (:mod:`.motion`); this model codes
what the prediction misses, ``r = x − pred`` (pixel units, −255..255), as in DVC's
residual coder (Lu et al., "DVC: An End-to-end Deep Video Compression Framework",
CVPR 2019), and the decoder adds it back: ``x̂ = clip(pred + r̂, 0, 255)``.

- analysis: the image codecs' GDN transform (:class:`~neuralav.plugins.imaging.transforms.AnalysisTransform`),
  encoder only, float;
- latent ``y`` (H/16 x W/16 x M) and hyper-latent ``z`` exactly as ``vae`` codes them
  (:class:`~neuralav.plugins.vae.model.HyperAnalysisTransform`, the same hyper-synthesis,
  computed in fixed point for coding by :class:`~neuralav.plugins.vae.integer.IntegerHyperSynthesis`,
  ``tfc.LocationScaleIndexedEntropyModel`` over ``tfc.NoisyNormal`` for ``y``,
  ``tfc.ContinuousBatchedEntropyModel`` over ``tfc.NoisyDeepFactorized`` for ``z``);
- gain units per quality level (Cui et al., CVPR 2021), as ``vae``;
- synthesis with integer kernels and activations (:mod:`.exact`): the decoded residual,
  hence the next reference, is the same on every machine.

Training batches hold pairs: images ``2k`` (the prediction) and ``2k+1`` (the frame).
Shapes NHWC, uint8 0–255 at the boundary. TensorFlow is imported here: import lazily.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from neuralav.plugins.imaging.geometry import PAD_MULTIPLE
from neuralav.plugins.imaging.transforms import AnalysisTransform, named_weights, prior_tables
from neuralav.plugins.vae.config import ArchConfig
from neuralav.plugins.vae.integer import IntegerHyperSynthesis
from neuralav.plugins.vae.model import HyperAnalysisTransform, HyperSynthesisTransform

from .exact import IntegerSynthesis, QuantizedSynthesis, export_integer

__all__ = ["ResidualModel", "RESIDUAL_ARCH", "pad_residual", "whole_hyper_positions"]

RESIDUAL_ARCH = ArchConfig(num_filters=48, latent_channels=64, hyper_filters=48)
"""Architecture of the shipped residual coder (smaller than ``vae``'s: residuals are sparse,
and a P-frame must cost little more time than motion search)."""


def pad_residual(residual: np.ndarray) -> np.ndarray:
    """H x W x 3 residual -> edge-padded to multiples of 16 (the latent grid), float32."""
    h, w = residual.shape[:2]
    return np.pad(residual, ((0, -h % PAD_MULTIPLE), (0, -w % PAD_MULTIPLE), (0, 0)), mode="edge").astype(np.float32)


def whole_hyper_positions(magnitudes: tf.Tensor) -> tf.Tensor:
    """|y| (1 x h x w x M) edge-replicated to multiples of 4, the hyper-analysis's stride.

    Training crops are multiples of 64 pixels, so every ``z`` position the prior learned
    covers 4 x 4 latents. A picture whose latent grid is not a multiple of 4 (CIF: 18 x 22)
    gives a last row and column of ``z`` over zero padding, values the prior finds unlikely
    (on CIF, ~150 bits per such position against ~12 inside: most of the side string).
    Replicating the edge makes them look like the picture's own border. Encoder only: ``z``
    keeps its shape (sizes round up either way), the decoder crops the scales to ``y``'s grid
    as before, and ``y`` itself is unchanged.
    """
    rows = (-tf.shape(magnitudes)[1]) % 4
    magnitudes = tf.concat([magnitudes, tf.repeat(magnitudes[:, -1:], rows, axis=1)], axis=1)
    columns = (-tf.shape(magnitudes)[2]) % 4
    return tf.concat([magnitudes, tf.repeat(magnitudes[:, :, -1:], columns, axis=2)], axis=2)


class ResidualModel(tf.keras.Model):
    """Residual autoencoder, one gain row per quality level.

    Args:
        config: Architecture (``num_filters`` N, ``latent_channels`` M, hyper channels).
        lmbdas: λ of each level (loss ``bpp + λ·MSE``, MSE of the 0–255 RGB frame), ascending.
    """

    def __init__(self, config: ArchConfig = RESIDUAL_ARCH, lmbdas: Sequence[float] = (0.01,)) -> None:
        super().__init__(name="nvc_residual")
        lmbdas = tuple(float(v) for v in lmbdas)
        if not lmbdas or any(v <= 0 for v in lmbdas) or list(lmbdas) != sorted(lmbdas):
            raise ValueError(f"`lmbdas` must be positive and ascending, not {lmbdas}")
        self.config = config
        self.lmbdas = lmbdas
        self.analysis_transform = AnalysisTransform(config)
        self.synthesis_transform = QuantizedSynthesis(config.num_filters, config.latent_channels)
        self.hyper_analysis_transform = HyperAnalysisTransform(config)
        self.hyper_synthesis_transform = HyperSynthesisTransform(config)
        self.hyperprior = tfc.NoisyDeepFactorized(batch_shape=(config.hyper_filters,))
        center = float(np.exp(np.mean(np.log(lmbdas))))
        init = np.array([[0.5 * np.log(v / center)] * config.latent_channels for v in lmbdas], np.float32)
        self.log_gain = tf.Variable(init, name="log_gain")
        self.log_inverse_gain = tf.Variable(-init, name="log_inverse_gain")
        offset = np.log(config.scale_min)
        factor = (np.log(config.scale_max) - offset) / (config.num_scales - 1.0)
        self._scale_fn = lambda i: tf.math.exp(offset + factor * i)
        self.side_coder: tfc.ContinuousBatchedEntropyModel | None = None
        self.coder: tfc.LocationScaleIndexedEntropyModel | None = None
        self.integer_hyper: IntegerHyperSynthesis | None = None
        self.integer_synthesis: IntegerSynthesis | None = None
        y = self.analysis_transform(tf.zeros((1, 64, 64, 3)))
        self.hyper_synthesis_transform(self.hyper_analysis_transform(y))
        self.synthesis_transform(y)

    @property
    def num_levels(self) -> int:
        """Number of quality levels (gain rows)."""
        return len(self.lmbdas)

    def _main_entropy_model(self, compression: bool):
        return tfc.LocationScaleIndexedEntropyModel(
            tfc.NoisyNormal, self.config.num_scales, self._scale_fn, coding_rank=3, compression=compression)

    # ------------------------------------------------------------------ training

    def call(self, pairs: tf.Tensor, training: bool = True):
        """Rate–distortion loss of a batch of (prediction, frame) pairs.

        Args:
            pairs: 2K x H x W x 3 uint8: prediction ``2k``, frame ``2k+1``; pair *k* is
                trained at level ``k mod num_levels``. H, W multiples of 64.
            training: Additive uniform noise for the rate (True) or rounding (False).

        Returns:
            (loss, bpp, mse, side_bpp): batch means; bpp of ``y`` and ``z`` per pixel of
            the frame, mse of the 0–255 RGB frame.
        """
        main = self._main_entropy_model(compression=False)
        side = tfc.ContinuousBatchedEntropyModel(self.hyperprior, coding_rank=3, offset_heuristic=False)
        pairs = tf.cast(pairs, tf.float32)
        prediction, frame = pairs[0::2], pairs[1::2]
        residual = frame - prediction
        levels = tf.range(tf.shape(frame)[0]) % self.num_levels
        gain = tf.exp(tf.gather(self.log_gain, levels))[:, None, None, :]
        inverse_gain = tf.exp(tf.gather(self.log_inverse_gain, levels))[:, None, None, :]
        y = self.analysis_transform(residual) * gain
        z = self.hyper_analysis_transform(tf.abs(y))
        z_tilde, side_bits = side(z, training=training)
        indexes = self.hyper_synthesis_transform(z_tilde)[:, :tf.shape(y)[1], :tf.shape(y)[2], :]
        _, bits = main(y, indexes, training=training)
        # The synthesis sees rounded latents (straight-through), as the decoder will.
        y_hat = y + tf.stop_gradient(tf.round(y) - y)
        decoded = prediction + self.synthesis_transform(y_hat * inverse_gain)
        decoded = tf.clip_by_value(decoded, 0.0, 255.0)
        num_pixels = tf.cast(tf.reduce_prod(tf.shape(frame)[1:-1]), bits.dtype)
        bpp = (bits + side_bits) / num_pixels
        mse = tf.reduce_mean(tf.math.squared_difference(frame, decoded), axis=(1, 2, 3))
        lmbda = tf.gather(tf.constant(self.lmbdas, tf.float32), levels)
        loss = tf.reduce_mean(bpp + lmbda * mse)
        return loss, tf.reduce_mean(bpp), tf.reduce_mean(mse), tf.reduce_mean(side_bits / num_pixels)

    # ------------------------------------------------------------------ coding

    def make_coder(self, tables: Mapping[str, np.ndarray] | None = None,
                   integer_hyper: IntegerHyperSynthesis | None = None,
                   integer_synthesis: IntegerSynthesis | None = None) -> None:
        """Fixes the range-coding tables and the integer networks (hyper-synthesis, synthesis).

        Args:
            tables: ``side_cdf``, ``side_cdf_offset``, ``cdf``, ``cdf_offset`` (int32) as
                :meth:`coder_tables` exports them; None: computed from the priors.
            integer_hyper: The fixed-point hyper-synthesis; None: quantized from the float one.
            integer_synthesis: The integer synthesis; None: exported from the trained one.
        """
        main = self._main_entropy_model(compression=True)
        if tables is None:
            side = prior_tables(self.hyperprior, offset_heuristic=False)
            side_cdf, side_cdf_offset = side["cdf"], side["cdf_offset"]
        else:
            side_cdf = tf.constant(tables["side_cdf"], tf.int32)
            side_cdf_offset = tf.constant(tables["side_cdf_offset"], tf.int32)
            main._cdf.assign(tf.constant(tables["cdf"], tf.int32))  # noqa: SLF001
            main._cdf_offset.assign(tf.constant(tables["cdf_offset"], tf.int32))  # noqa: SLF001
        side = tfc.ContinuousBatchedEntropyModel(
            prior_shape=(self.config.hyper_filters,), coding_rank=3, compression=True,
            cdf=side_cdf, cdf_offset=side_cdf_offset,
            quantization_offset=tf.zeros((self.config.hyper_filters,), tf.float32))
        self.coder, self.side_coder = main, side
        self.integer_hyper = integer_hyper or IntegerHyperSynthesis.from_float(
            self.hyper_synthesis_transform.float_weights(), self.config.num_scales)
        self.integer_synthesis = integer_synthesis or export_integer(
            self.synthesis_transform, np.exp(self.log_inverse_gain.numpy()))

    def coder_tables(self) -> dict[str, np.ndarray]:
        """The range-coding tables of :meth:`make_coder` as int32 numpy arrays."""
        self._require_coder()
        return {
            "side_cdf": self.side_coder.cdf.numpy().astype(np.int32),
            "side_cdf_offset": self.side_coder.cdf_offset.numpy().astype(np.int32),
            "cdf": self.coder.cdf.numpy().astype(np.int32),
            "cdf_offset": self.coder.cdf_offset.numpy().astype(np.int32),
        }

    def _require_coder(self) -> None:
        if self.coder is None or self.integer_synthesis is None:
            raise RuntimeError("call `make_coder()` (or load weights) before coding")

    @tf.function(input_signature=[tf.TensorSpec((None, None, 3), tf.float32), tf.TensorSpec((), tf.int32)])
    def analyze(self, residual: tf.Tensor, level: tf.Tensor):
        """Residual (Hp x Wp x 3, multiples of 16) -> (y 1 x h x w x M, z_hat int32, side string)."""
        y = self.analysis_transform(residual[None]) * tf.exp(self.log_gain[level])
        z = self.hyper_analysis_transform(whole_hyper_positions(tf.abs(y)))
        side_string = self.side_coder.compress(z)[0]
        z_hat = tf.cast(self.side_coder.quantize(z)[0], tf.int32)
        return y, z_hat, side_string

    @tf.function(input_signature=[tf.TensorSpec((1, None, None, None), tf.float32),
                                  tf.TensorSpec((None, None, None), tf.int32)])
    def compress_latent(self, y: tf.Tensor, indexes: tf.Tensor) -> tf.Tensor:
        """Range-codes ``round(y)`` with scale `indexes` (h x w x M int32)."""
        return self.coder.compress(y, tf.cast(indexes[None], tf.float32))[0]

    @tf.function(input_signature=[tf.TensorSpec((), tf.string), tf.TensorSpec((2,), tf.int32)])
    def decompress_side(self, side_string: tf.Tensor, z_shape: tf.Tensor) -> tf.Tensor:
        """The side string -> z_hat (zh x zw x C int32)."""
        return tf.cast(tf.round(self.side_coder.decompress(side_string[None], z_shape)[0]), tf.int32)

    @tf.function(input_signature=[tf.TensorSpec((), tf.string), tf.TensorSpec((None, None, None), tf.int32)])
    def decompress_latent(self, string: tf.Tensor, indexes: tf.Tensor) -> tf.Tensor:
        """Range-decodes ``ŷ`` (1 x h x w x M float32 holding integers)."""
        return self.coder.decompress(string[None], tf.cast(indexes[None], tf.float32))

    def compress(self, residual: np.ndarray, level: int) -> tuple[bytes, bytes, np.ndarray]:
        """Codes one residual.

        Args:
            residual: H x W x 3 (frame − prediction, pixel units).
            level: 0-based level.

        Returns:
            (side string, latent string, the decoded residual H x W x 3 int32).
        """
        self._require_coder()
        h, w = residual.shape[:2]
        y, z_hat, side_string = self.analyze(pad_residual(residual), np.int32(level))
        indexes = self.integer_hyper(z_hat.numpy(), tuple(y.shape[1:3]))
        string = self.compress_latent(y, indexes)
        decoded = self.integer_synthesis(tf.round(y), level)[:h, :w]
        return side_string.numpy(), string.numpy(), decoded

    def decompress(self, side_string: bytes, string: bytes, level: int, width: int, height: int) -> np.ndarray:
        """Inverse of :meth:`compress`: the decoded residual, H x W x 3 int32.

        Raises:
            tf.errors.InvalidArgumentError: a range decoder rejects a string.
        """
        self._require_coder()
        from neuralav.plugins.vae.config import latent_shapes

        y_shape, z_shape = latent_shapes(width, height)
        z_hat = self.decompress_side(side_string, np.array(z_shape, np.int32)).numpy()
        indexes = self.integer_hyper(z_hat, y_shape)
        y_hat = self.decompress_latent(string, indexes)
        return self.integer_synthesis(y_hat, level)[:height, :width]

    # ------------------------------------------------------------------ weights

    def named_weights(self) -> dict[str, tf.Variable]:
        """Every trainable weight under a stable name."""
        named = named_weights((self.analysis_transform, self.hyper_analysis_transform,
                               self.hyper_synthesis_transform), {"hyperprior": self.hyperprior})
        for i, (kernel, bias) in enumerate(zip(self.synthesis_transform.kernels, self.synthesis_transform.biases)):
            named[f"synthesis/layer_{i}/kernel"] = kernel
            named[f"synthesis/layer_{i}/bias"] = bias
        named["synthesis/log_steps"] = self.synthesis_transform.log_steps
        named["gain/log_gain"] = self.log_gain
        named["gain/log_inverse_gain"] = self.log_inverse_gain
        if len(named) != len(self.trainable_variables):
            raise RuntimeError(f"{len(self.trainable_variables)} weights but {len(named)} unique names")
        return named
