"""Factorized-prior convolutional autoencoder (the `cae` codec's model).

After J. Ballé, V. Laparra, E. P. Simoncelli, "End-to-end Optimized Image
Compression", ICLR 2017, and the factorized-prior baseline of J. Ballé et al.,
"Variational image compression with a scale hyperprior", ICLR 2018; structured
like tensorflow-compression's ``models/bls2017.py``.

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

from .config import ArchConfig

__all__ = ["ArchConfig", "CAEModel", "PAD_MULTIPLE", "WEIGHTS_FORMAT", "prior_tables"]

PAD_MULTIPLE = 16
"""Images are edge-padded to a multiple of this many pixels (4 stride-2 layers)."""

MSSSIM_TRAIN_POWER_FACTORS = (0.0448, 0.2856, 0.3001, 0.2363)
"""First 4 of the 5 standard MS-SSIM scale weights: 128-px training crops fit 4 scales."""

WEIGHTS_FORMAT = "neuralav-cae-weights-v1"
"""Value of the ``format`` entry of an exported ``.npz`` weights file."""


class AnalysisTransform(tf.keras.Sequential):
    """x (N,H,W,3 float 0–255) -> y (N,H/16,W/16,M): 4 stride-2 5x5 convs, GDN between.

    ``tfc.SignalConv2D`` layers as in tfc's ``models/bmshj2018.py``: their kernels
    are parameterized in the Fourier domain (RDFT). A first version with plain
    Keras ``Conv2D`` learned far more slowly here (see ``weights/MODEL_CARD.md``),
    though a training step costs about twice as much with ``SignalConv2D``.
    """

    def __init__(self, config: ArchConfig) -> None:
        super().__init__(name="analysis")
        self.add(tf.keras.layers.Lambda(lambda x: x / 255.0, name="scale"))
        for i in range(3):
            self.add(tfc.SignalConv2D(
                config.num_filters, (5, 5), name=f"layer_{i}", corr=True, strides_down=2,
                padding="same_zeros", use_bias=True, activation=tfc.GDN(name=f"gdn_{i}")))
        self.add(tfc.SignalConv2D(
            config.latent_channels, (5, 5), name="layer_3", corr=True, strides_down=2,
            padding="same_zeros", use_bias=False, activation=None))


class SynthesisTransform(tf.keras.Sequential):
    """y_hat (N,h,w,M) -> x_hat (N,16h,16w,3 float, ~0–255): mirror with IGDN."""

    def __init__(self, config: ArchConfig) -> None:
        super().__init__(name="synthesis")
        for i in range(3):
            self.add(tfc.SignalConv2D(
                config.num_filters, (5, 5), name=f"layer_{i}", corr=False, strides_up=2,
                padding="same_zeros", use_bias=True,
                activation=tfc.GDN(name=f"igdn_{i}", inverse=True)))
        self.add(tfc.SignalConv2D(
            3, (5, 5), name="layer_3", corr=False, strides_up=2,
            padding="same_zeros", use_bias=True, activation=None))
        self.add(tf.keras.layers.Lambda(lambda x: x * 255.0, name="unscale"))


def pad_to_multiple(x: tf.Tensor, multiple: int = PAD_MULTIPLE) -> tf.Tensor:
    """Edge-pads (replicates the last row/column) NHWC `x` so H and W divide `multiple`.

    Works for any H, W >= 1 (unlike reflect padding, which needs pad < size).
    """
    shape = tf.shape(x)
    height, width = shape[1], shape[2]
    padded_h = (height + multiple - 1) // multiple * multiple
    padded_w = (width + multiple - 1) // multiple * multiple
    rows = tf.minimum(tf.range(padded_h), height - 1)
    cols = tf.minimum(tf.range(padded_w), width - 1)
    x = tf.gather(x, rows, axis=1)
    return tf.gather(x, cols, axis=2)


def prior_tables(prior, offset_heuristic: bool = True) -> dict[str, tf.Tensor]:
    """``cdf``, ``cdf_offset`` (int32) and ``quantization_offset`` (float32, None without
    the offset heuristic) of a learned factorized prior, for range coding.

    Built in a graph: tfc estimates the prior's tails (and median) by iterative
    searches that take seconds when run eagerly.
    """
    @tf.function(autograph=False)
    def build():
        coder = tfc.ContinuousBatchedEntropyModel(prior, coding_rank=3, compression=True,
                                                  stateless=True, offset_heuristic=offset_heuristic)
        return coder.cdf, coder.cdf_offset, coder.quantization_offset

    cdf, cdf_offset, offset = build()
    return {"cdf": cdf, "cdf_offset": cdf_offset, "quantization_offset": offset}


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
        named: dict[str, tf.Variable] = {}
        for transform in (self.analysis_transform, self.synthesis_transform):
            for layer in transform.layers:
                for weight in layer.weights:
                    parts = weight.name.split(":")[0].split("/")
                    # keep the activation's (GDN) name: layer_0/gdn_0/reparam_beta
                    inner = [p for p in parts if p.startswith(("gdn_", "igdn_"))][-1:]
                    named["/".join([transform.name, layer.name, *inner, parts[-1]])] = weight
        for i, variable in enumerate(self.prior.trainable_variables):
            named[f"prior/{i:02d}"] = variable
        if len(named) != len(self.trainable_variables):
            raise RuntimeError(f"{len(self.trainable_variables)} weights but {len(named)} unique names")
        return named
