"""Factorized-prior convolutional autoencoder (the `cae` codec's model).

After J. Ballé, V. Laparra, E. P. Simoncelli, "End-to-end Optimized Image
Compression", ICLR 2017, and the factorized-prior baseline of J. Ballé et al.,
"Variational image compression with a scale hyperprior", ICLR 2018; structured
like tensorflow-compression's ``models/bls2017.py``; the transforms are
:mod:`neuralav.plugins.imaging.transforms`.

Shapes and units: images are NHWC (or HWC for single images), RGB, uint8 0–255
at the API boundary and float 0–255 inside the loss; the latent ``y`` is
N x H/16 x W/16 x M; rates are in bits or bits per pixel (bpp).

TensorFlow is imported here, so import this module lazily (never from the
package ``__init__``).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from neuralav.plugins.imaging.transforms import (PAD_MULTIPLE, AnalysisTransform, SynthesisTransform,
                                                  named_weights, pad_to_multiple, prior_tables)
from neuralav.plugins.imaging.weights import FORMATS

from .config import ArchConfig

__all__ = ["ArchConfig", "CAEModel", "PAD_MULTIPLE", "WEIGHTS_FORMAT", "prior_tables"]

MSSSIM_TRAIN_POWER_FACTORS = (0.0448, 0.2856, 0.3001, 0.2363)
"""First 4 of the 5 standard MS-SSIM scale weights: 128-px training crops fit 4 scales."""

WEIGHTS_FORMAT = FORMATS["cae"]
"""Value of the ``format`` entry of an exported ``.npz`` weights file."""


class CAEModel(tf.keras.Model):
    """Factorized-prior autoencoder with a range-coded latent.

    Training uses :meth:`call` (noisy latent, differentiable rate). For coding,
    call :meth:`make_coder` once after training or after loading weights: it
    fixes the range-coding tables; :meth:`compress` and :meth:`decompress` then
    produce and consume real range-coded strings.

    Args:
        config: Architecture.
        lmbda: Rate–distortion trade-off λ of the loss ``bpp + λ·MSE`` (MSE on
            the 0–255 scale), or of ``bpp + λ·(1 − MS-SSIM)`` when
            ``distortion == "ms-ssim"``.
        distortion: ``"mse"`` or ``"ms-ssim"``.
    """

    def __init__(self, config: ArchConfig = ArchConfig(), lmbda: float = 0.01,
                 distortion: str = "mse") -> None:
        super().__init__(name="cae")
        if distortion not in ("mse", "ms-ssim"):
            raise ValueError(f"`distortion` must be 'mse' or 'ms-ssim', not {distortion!r}")
        self.config = config
        self.lmbda = float(lmbda)
        self.distortion = distortion
        self.analysis_transform = AnalysisTransform(config)
        self.synthesis_transform = SynthesisTransform(config)
        self.prior = tfc.NoisyDeepFactorized(batch_shape=(config.latent_channels,))
        self.coder: tfc.ContinuousBatchedEntropyModel | None = None
        # Creates the variables by running the transforms once, eagerly, on a 64x64 image:
        # Keras's symbolic ``build`` would autograph-convert every layer first (seconds).
        self.synthesis_transform(self.analysis_transform(tf.zeros((1, 64, 64, 3))))

    # ------------------------------------------------------------------ training

    def call(self, x: tf.Tensor, training: bool = True):
        """Rate–distortion loss of a batch.

        Args:
            x: N x H x W x 3 images, uint8 or float 0–255; H, W multiples of 16.
            training: Additive uniform noise (True) or rounding (False).

        Returns:
            (loss, bpp, mse, msssim): scalars; bpp is the estimated rate in bits
            per pixel, mse on the 0–255 scale, msssim in [0, 1] (0 when the
            distortion is MSE: it is only computed for the MS-SSIM loss).
        """
        entropy_model = tfc.ContinuousBatchedEntropyModel(
            self.prior, coding_rank=3, compression=False)
        x = tf.cast(x, tf.float32)
        y = self.analysis_transform(x)
        y_hat, bits = entropy_model(y, training=training)
        x_hat = self.synthesis_transform(y_hat)
        num_pixels = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), bits.dtype)
        bpp = tf.reduce_sum(bits) / num_pixels
        mse = tf.reduce_mean(tf.math.squared_difference(x, x_hat))
        if self.distortion == "mse":
            msssim = tf.constant(0.0)  # not computed: saves ~10% of a training step
            loss = bpp + self.lmbda * mse
        else:
            msssim = tf.reduce_mean(tf.image.ssim_multiscale(
                x, tf.clip_by_value(x_hat, 0.0, 255.0), 255.0,
                power_factors=MSSSIM_TRAIN_POWER_FACTORS))
            loss = bpp + self.lmbda * (1.0 - msssim)
        return loss, bpp, mse, msssim

    # ------------------------------------------------------------------ coding

    def make_coder(self, tables: Mapping[str, np.ndarray] | None = None) -> None:
        """Fixes the range-coding tables (after training, or from exported ones).

        Args:
            tables: ``cdf`` (int32), ``cdf_offset`` (int32) and
                ``quantization_offset`` (float32, shape [M]) as exported by
                :meth:`coder_tables`; if None they are computed from the prior.
        """
        if tables is None:
            tables = prior_tables(self.prior)
        self.coder = tfc.ContinuousBatchedEntropyModel(
            prior_shape=(self.config.latent_channels,), coding_rank=3, compression=True,
            cdf=tf.constant(tables["cdf"], tf.int32),
            cdf_offset=tf.constant(tables["cdf_offset"], tf.int32),
            quantization_offset=tf.constant(tables["quantization_offset"], tf.float32))

    def coder_tables(self) -> dict[str, np.ndarray]:
        """The range-coding tables of :meth:`make_coder` as numpy arrays."""
        coder = self._require_coder()
        offset = coder.quantization_offset
        if offset is None:
            offset = tf.zeros((self.config.latent_channels,), tf.float32)
        return {
            "cdf": coder.cdf.numpy().astype(np.int32),
            "cdf_offset": coder.cdf_offset.numpy().astype(np.int32),
            "quantization_offset": np.asarray(offset, np.float32),
        }

    def _require_coder(self) -> tfc.ContinuousBatchedEntropyModel:
        if self.coder is None:
            raise RuntimeError("call `make_coder()` (or load weights) before coding")
        return self.coder

    @tf.function(input_signature=[tf.TensorSpec(shape=(None, None, 3), dtype=tf.uint8)])
    def compress(self, image: tf.Tensor):
        """Codes one image.

        Args:
            image: H x W x 3 uint8 RGB (any H, W >= 1).

        Returns:
            (string, latent_shape): a scalar tf.string of range-coded bytes and
            int32 [2] = (H_pad/16, W_pad/16), the latent's spatial shape.
        """
        coder = self._require_coder()
        x = tf.cast(image[None], tf.float32)
        x = pad_to_multiple(x)
        y = self.analysis_transform(x)
        string = coder.compress(y)
        return string[0], tf.shape(y)[1:3]

    @tf.function(input_signature=[
        tf.TensorSpec(shape=(), dtype=tf.string),
        tf.TensorSpec(shape=(2,), dtype=tf.int32),
        tf.TensorSpec(shape=(2,), dtype=tf.int32),
    ])
    def decompress(self, string: tf.Tensor, latent_shape: tf.Tensor,
                   image_shape: tf.Tensor) -> tf.Tensor:
        """Inverse of :meth:`compress`.

        Args:
            string: Scalar tf.string from :meth:`compress`.
            latent_shape: int32 [2], as returned by :meth:`compress`.
            image_shape: int32 [2] = (H, W) of the original image.

        Returns:
            H x W x 3 uint8 RGB reconstruction.
        """
        coder = self._require_coder()
        y_hat = coder.decompress(string[None], latent_shape)
        x_hat = self.synthesis_transform(y_hat)
        x_hat = x_hat[0, :image_shape[0], :image_shape[1], :]
        return tf.saturate_cast(tf.round(x_hat), tf.uint8)

    @tf.function(input_signature=[tf.TensorSpec(shape=(None, None, 3), dtype=tf.uint8)])
    def reconstruct(self, image: tf.Tensor) -> tf.Tensor:
        """The encoder-side reconstruction, without range coding.

        Equals ``decompress(*compress(image), image.shape[:2])`` bit for bit
        (the range coder is lossless on the quantized latent).

        Args:
            image: H x W x 3 uint8 RGB.

        Returns:
            H x W x 3 uint8 RGB.
        """
        coder = self._require_coder()
        x = pad_to_multiple(tf.cast(image[None], tf.float32))
        y_hat = coder.quantize(self.analysis_transform(x))
        x_hat = self.synthesis_transform(y_hat)[0, :tf.shape(image)[0], :tf.shape(image)[1], :]
        return tf.saturate_cast(tf.round(x_hat), tf.uint8)

    # ------------------------------------------------------------------ weights

    def named_weights(self) -> dict[str, tf.Variable]:
        """Every weight under a stable name (independent of Keras name uniquing)."""
        named = named_weights((self.analysis_transform, self.synthesis_transform), {"prior": self.prior})
        if len(named) != len(self.trainable_variables):
            raise RuntimeError(f"{len(self.trainable_variables)} weights but {len(named)} unique names")
        return named
