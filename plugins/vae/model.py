"""Scale-hyperprior variational autoencoder with gain units (the ``vae`` codec's model).

After J. Ballé, D. Minnen, S. Singh, S. J. Hwang, N. Johnston, "Variational
Image Compression with a Scale Hyperprior", ICLR 2018, structured like
tensorflow-compression's ``models/bmshj2018.py``; one model codes every quality
level through gain units (Z. Cui et al., "Asymmetric Gained Deep Image
Compression With Continuous Rate Adaptation", CVPR 2021): level *l* scales the
latent by a learned per-channel gain ``g_l`` before quantization and by a
learned inverse gain ``g'_l`` before the synthesis. The main transforms are
``cae``'s (:mod:`neuralav.plugins.imaging.transforms`).

Shapes and units: images NHWC RGB, uint8 0–255 at the API boundary, float 0–255
in the loss; ``y`` is N x H/16 x W/16 x M, ``z`` N x H/64 x W/64 x hyper_filters
(sizes rounded up); rates in bits or bits per pixel (bpp). ``y`` is coded with
``tfc.LocationScaleIndexedEntropyModel(tfc.NoisyNormal, ...)`` whose scale
indices (and, with ``ArchConfig.mean_scale``, means: D. Minnen, J. Ballé,
G. Toderici, "Joint Autoregressive and Hierarchical Priors for Learned Image
Compression", NeurIPS 2018, without the serial context model) come from the
hyper-synthesis (computed in fixed point for coding, see :mod:`.integer`), ``z``
with ``tfc.ContinuousBatchedEntropyModel`` over a ``tfc.NoisyDeepFactorized`` prior.

TensorFlow is imported here, so import this module lazily.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from neuralav.plugins.imaging.gains import batch_levels, check_lmbdas, initial_log_gains, interpolated
from neuralav.plugins.imaging.geometry import PAD_MULTIPLE
from neuralav.plugins.imaging.transforms import (AnalysisTransform, SynthesisTransform, named_weights,
                                                  pad_to_multiple, prior_tables)
from neuralav.plugins.imaging.weights import FORMATS

from .config import ArchConfig, latent_shapes
from .integer import IntegerHyperSynthesis

__all__ = ["ArchConfig", "CodedLatents", "VAEModel", "PAD_MULTIPLE", "WEIGHTS_FORMAT", "latent_shapes"]


WEIGHTS_FORMAT = FORMATS["vae"]
"""Value of the ``format`` entry of an exported ``.npz`` weights file."""


class HyperAnalysisTransform(tf.keras.Sequential):
    """|y| (N,h,w,M) -> z (N,h/4,w/4,C): 3x3 conv, two 5x5 stride-2 convs, ReLU between."""

    def __init__(self, config: ArchConfig) -> None:
        super().__init__(name="hyper_analysis")
        n = config.hyper_filters
        self.add(tfc.SignalConv2D(n, (3, 3), name="layer_0", corr=True, strides_down=1,
                                  padding="same_zeros", use_bias=True, activation=tf.nn.relu))
        self.add(tfc.SignalConv2D(n, (5, 5), name="layer_1", corr=True, strides_down=2,
                                  padding="same_zeros", use_bias=True, activation=tf.nn.relu))
        self.add(tfc.SignalConv2D(n, (5, 5), name="layer_2", corr=True, strides_down=2,
                                  padding="same_zeros", use_bias=False, activation=None))


class HyperSynthesisTransform(tf.keras.Sequential):
    """ẑ (N,zh,zw,C) -> scale indices (N,4zh,4zw,M), float, then with ``mean_scale`` M more
    channels: the means (latent units); see :mod:`.integer` for coding."""

    STRIDES = (2, 2, 1)
    INITIAL_SCALE = 4.0
    """Gaussian scale (latent units) every element of ``y`` starts with."""

    def __init__(self, config: ArchConfig) -> None:
        super().__init__(name="hyper_synthesis")
        n = config.hyper_filters
        # The last bias starts at the index of INITIAL_SCALE: from index 0 (scale
        # 0.11) a fresh hyperprior would price a trained latent at tens of bpp, and
        # those first gradients would wreck transforms taken from cae.
        start = np.log(self.INITIAL_SCALE / config.scale_min) / np.log(
            config.scale_max / config.scale_min) * (config.num_scales - 1)
        m = config.latent_channels
        last_bias = np.array([start] * m + [0.0] * (m if config.mean_scale else 0), np.float32)
        for i, (channels, size, stride) in enumerate([(n, 5, 2), (n, 5, 2), (len(last_bias), 3, 1)]):
            self.add(tfc.SignalConv2D(
                channels, (size, size), name=f"layer_{i}", corr=False, strides_up=stride,
                padding="same_zeros", use_bias=True, kernel_parameter="variable",
                bias_initializer=tf.keras.initializers.Constant(last_bias if i == 2 else 0.0),
                activation=tf.nn.relu if i < 2 else None))

    def float_weights(self) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """(kernel, bias, stride) of each layer, for :meth:`IntegerHyperSynthesis.from_float`."""
        return [(layer.kernel.numpy(), layer.bias.numpy(), stride)
                for layer, stride in zip(self.layers, self.STRIDES)]


class CodedLatents(NamedTuple):
    """One coded picture, as :meth:`VAEModel.code_latents` returns it."""

    side: bytes
    """Range-coded hyper-latent ``z``."""
    string: bytes
    """Range-coded latent ``y``."""
    indexes: np.ndarray
    """h x w x M int32 scale indices (integer hyper-synthesis)."""
    means: np.ndarray
    """h x w x M float32 means (latent units; zeros for a scale-only model)."""
    y: tf.Tensor
    """1 x h x w x M float32 latent before rounding (gain applied)."""


class VAEModel(tf.keras.Model):
    """Scale (or, with ``config.mean_scale``, mean-scale) hyperprior autoencoder, one set of gain
    units per quality level.

    Training uses :meth:`call`. For coding, call :meth:`make_coder` once after
    training or loading: it fixes the range-coding tables and the integer
    hyper-synthesis; :meth:`compress` / :meth:`decompress` then produce and
    consume real range-coded strings.

    Args:
        config: Architecture.
        lmbdas: λ of each level (loss ``bpp + λ·MSE``, MSE of 0–255 RGB),
            ascending; level *l* (0-based) uses gain row *l*.
    """

    def __init__(self, config: ArchConfig = ArchConfig(), lmbdas: Sequence[float] = (0.01,)) -> None:
        super().__init__(name="vae")
        lmbdas = check_lmbdas(lmbdas)
        self.config = config
        self.lmbdas = lmbdas
        self.analysis_transform = AnalysisTransform(config)
        self.synthesis_transform = SynthesisTransform(config)
        self.hyper_analysis_transform = HyperAnalysisTransform(config)
        self.hyper_synthesis_transform = HyperSynthesisTransform(config)
        self.hyperprior = tfc.NoisyDeepFactorized(batch_shape=(config.hyper_filters,))
        init = initial_log_gains(lmbdas, config.latent_channels)
        self.log_gain = tf.Variable(init, name="log_gain")
        self.log_inverse_gain = tf.Variable(-init, name="log_inverse_gain")
        # Which level the next training crop is trained at (checkpointed, so a resumed run
        # continues the cycle): every level is trained equally often whatever the batch size.
        self.level_cursor = tf.Variable(0, dtype=tf.int64, trainable=False, name="level_cursor")
        offset = np.log(config.scale_min)
        factor = (np.log(config.scale_max) - offset) / (config.num_scales - 1.0)
        self._scale_fn = lambda i: tf.math.exp(offset + factor * i)
        self.side_coder: tfc.ContinuousBatchedEntropyModel | None = None
        self.coder: tfc.LocationScaleIndexedEntropyModel | None = None
        self.integer_hyper: IntegerHyperSynthesis | None = None
        # Creates the transforms' variables by running them once, eagerly, on a 64x64
        # image: Keras's symbolic ``build`` would autograph-convert every layer (seconds).
        y = self.analysis_transform(tf.zeros((1, 64, 64, 3)))
        self.hyper_synthesis_transform(self.hyper_analysis_transform(y))
        self.synthesis_transform(y)

    def index_scales(self, indexes: tf.Tensor) -> tf.Tensor:
        """Gaussian scales (latent units) of real-valued scale indexes in ``[0, num_scales - 1]``:
        log-spaced from ``scale_min`` to ``scale_max``, as the entropy model's tables are."""
        return self._scale_fn(indexes)

    @property
    def num_levels(self) -> int:
        """Number of quality levels (gain rows)."""
        return len(self.lmbdas)

    def _main_entropy_model(self, compression: bool):
        return tfc.LocationScaleIndexedEntropyModel(
            tfc.NoisyNormal, self.config.num_scales, self._scale_fn, coding_rank=3,
            compression=compression)

    # ------------------------------------------------------------------ training

    def call(self, x: tf.Tensor, training: bool = True):
        """Rate–distortion loss of a batch; its crops take the next levels in turn.

        Crop *i* of the *k*-th training batch (``training=True``) is trained at level
        ``(c + i) mod num_levels``, where ``c`` counts the crops of earlier
        training batches; with ``training=False`` crop *i* is at level ``i mod num_levels``.

        Args:
            x: N x H x W x 3 images, uint8 or float 0–255; H, W multiples of 64.
            training: Additive uniform noise (True) or rounding (False).

        Returns:
            (loss, bpp, mse, side_bpp): scalars averaged over the batch; bpp is
            the estimated total rate (bits per pixel, ``y`` and ``z``), side_bpp
            the part of it spent on ``z``, mse on the 0–255 scale.
        """
        main = self._main_entropy_model(compression=False)
        side = tfc.ContinuousBatchedEntropyModel(self.hyperprior, coding_rank=3, offset_heuristic=False)
        x = tf.cast(x, tf.float32)
        levels = batch_levels(self.level_cursor, tf.shape(x, out_type=tf.int64)[0], self.num_levels, training)
        gain = tf.exp(tf.gather(self.log_gain, levels))[:, None, None, :]
        inverse_gain = tf.exp(tf.gather(self.log_inverse_gain, levels))[:, None, None, :]
        y = self.analysis_transform(x) * gain
        z = self.hyper_analysis_transform(tf.abs(y))
        z_tilde, side_bits = side(z, training=training)
        indexes, means = self.scales_and_means(
            self.hyper_synthesis_transform(z_tilde)[:, :tf.shape(y)[1], :tf.shape(y)[2], :])
        y_tilde, bits = main(y, indexes, loc=means, training=training)
        x_hat = self.synthesis_transform(y_tilde * inverse_gain)
        num_pixels = tf.cast(tf.reduce_prod(tf.shape(x)[1:-1]), bits.dtype)
        bpp = (bits + side_bits) / num_pixels  # per crop
        mse = tf.reduce_mean(tf.math.squared_difference(x, x_hat), axis=(1, 2, 3))
        lmbda = tf.gather(tf.constant(self.lmbdas, tf.float32), levels)
        loss = tf.reduce_mean(bpp + lmbda * mse)
        return loss, tf.reduce_mean(bpp), tf.reduce_mean(mse), tf.reduce_mean(side_bits / num_pixels)

    def scales_and_means(self, params: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor | None]:
        """(scale indexes, means or None) of the float hyper-synthesis' output (..., M or 2M)."""
        if not self.config.mean_scale:
            return params, None
        m = self.config.latent_channels
        return params[..., :m], params[..., m:]

    # ------------------------------------------------------------------ coding

    def make_coder(self, tables: Mapping[str, np.ndarray] | None = None,
                   integer_hyper: IntegerHyperSynthesis | None = None) -> None:
        """Fixes the range-coding tables and the integer hyper-synthesis.

        Args:
            tables: ``side_cdf``, ``side_cdf_offset``, ``cdf``, ``cdf_offset``
                (int32) as exported by :meth:`coder_tables`; if None they are
                computed from the priors.
            integer_hyper: The fixed-point hyper-synthesis; if None it is
                quantized from the float one.
        """
        main = self._main_entropy_model(compression=True)
        if tables is None:
            side = prior_tables(self.hyperprior, offset_heuristic=False)  # ẑ stays integer
            side_cdf, side_cdf_offset = side["cdf"], side["cdf_offset"]
        else:
            side_cdf = tf.constant(tables["side_cdf"], tf.int32)
            side_cdf_offset = tf.constant(tables["side_cdf_offset"], tf.int32)
            # The indexed model takes no tables as arguments; its (shape-less)
            # table variables are overwritten with the shipped ones.
            main._cdf.assign(tf.constant(tables["cdf"], tf.int32))  # noqa: SLF001
            main._cdf_offset.assign(tf.constant(tables["cdf_offset"], tf.int32))  # noqa: SLF001
        side = tfc.ContinuousBatchedEntropyModel(
            prior_shape=(self.config.hyper_filters,), coding_rank=3, compression=True,
            cdf=side_cdf, cdf_offset=side_cdf_offset,
            quantization_offset=tf.zeros((self.config.hyper_filters,), tf.float32))
        self.coder, self.side_coder = main, side
        mean_channels = self.config.latent_channels if self.config.mean_scale else 0
        self.integer_hyper = integer_hyper or IntegerHyperSynthesis.from_float(
            self.hyper_synthesis_transform.float_weights(), self.config.num_scales, mean_channels)
        if self.integer_hyper.mean_channels != mean_channels:
            raise ValueError(f"integer hyper-synthesis has {self.integer_hyper.mean_channels} mean channels; "
                             f"the model (mean_scale={self.config.mean_scale}) needs otherwise")

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
        if self.coder is None or self.side_coder is None or self.integer_hyper is None:
            raise RuntimeError("call `make_coder()` (or load weights) before coding")

    def gain_vectors(self, position: float) -> tuple[np.ndarray, np.ndarray]:
        """(log gain, log inverse gain), float32 [M], at a real `position` among the gain rows
        (:func:`~neuralav.plugins.imaging.gains.interpolated`).

        Raises:
            ValueError: `position` is outside ``[0, num_levels - 1]``.
        """
        return interpolated(self.log_gain.numpy(), self.log_inverse_gain.numpy(), position)

    @tf.function(input_signature=[tf.TensorSpec((None, None, 3), tf.uint8),
                                  tf.TensorSpec((), tf.int32)])
    def analyze(self, image: tf.Tensor, level: tf.Tensor):
        """:meth:`analyze_gained` at gain row `level` (0-based)."""
        return self.analyze_gained(image, self.log_gain[level])

    @tf.function(input_signature=[tf.TensorSpec((None, None, 3), tf.uint8),
                                  tf.TensorSpec((None,), tf.float32)])
    def analyze_gained(self, image: tf.Tensor, log_gain: tf.Tensor):
        """Encoder half before the integer network.

        Args:
            image: H x W x 3 uint8 RGB (any H, W >= 1).
            log_gain: float32 [M], the log gain (:meth:`gain_vectors`).

        Returns:
            (y, z_hat, side_string): y 1 x h x w x M float32 (gain applied),
            z_hat zh x zw x C int32 (the quantized hyper-latent) and the scalar
            tf.string coding it.
        """
        return self.code_side(self.analysis_transform(self.padded(image)) * tf.exp(log_gain))

    @tf.function(input_signature=[tf.TensorSpec((None, None, 3), tf.uint8)])
    def analyze_only(self, image: tf.Tensor) -> tf.Tensor:
        """The analysis transform's latent before any gain: 1 x h x w x M float32 (rate control
        scales it by each quality's gain without analysing the picture again)."""
        return self.analysis_transform(self.padded(image))

    @staticmethod
    def padded(image: tf.Tensor) -> tf.Tensor:
        """H x W x 3 uint8 -> 1 x H' x W' x 3 float32 0–255, edge-padded to multiples of 16."""
        return pad_to_multiple(tf.cast(image[None], tf.float32), PAD_MULTIPLE)

    @tf.function(input_signature=[tf.TensorSpec((1, None, None, None), tf.float32)])
    def code_side(self, y: tf.Tensor):
        """(y, z_hat, side string) of a gained latent y (1 x h x w x M): the hyper-analysis
        of ``|y|``, ``z`` quantized (zh x zw x C int32) and range-coded."""
        z = self.hyper_analysis_transform(tf.abs(y))
        return self.code_hyper_latent(y, z)

    def code_hyper_latent(self, y: tf.Tensor, z: tf.Tensor):
        """(y, z_hat zh x zw x C int32, side string) of a given hyper-latent z (1 x zh x zw x C)."""
        side_string = self.side_coder.compress(z)[0]
        z_hat = tf.cast(self.side_coder.quantize(z)[0], tf.int32)
        return y, z_hat, side_string

    @tf.function(input_signature=[tf.TensorSpec((1, None, None, None), tf.float32),
                                  tf.TensorSpec((None, None, None), tf.int32),
                                  tf.TensorSpec((None, None, None), tf.float32)])
    def compress_latent(self, y: tf.Tensor, indexes: tf.Tensor, means: tf.Tensor) -> tf.Tensor:
        """Range-codes ``round(y - means)`` (1 x h x w x M) with scale `indexes` (h x w x M int32)."""
        return self.coder.compress(y, tf.cast(indexes[None], tf.float32), loc=means[None])[0]

    @tf.function(input_signature=[tf.TensorSpec((), tf.string), tf.TensorSpec((2,), tf.int32)])
    def decompress_side(self, side_string: tf.Tensor, z_shape: tf.Tensor) -> tf.Tensor:
        """The side string -> z_hat (zh x zw x C int32)."""
        return tf.cast(tf.round(self.side_coder.decompress(side_string[None], z_shape)[0]), tf.int32)

    @tf.function(input_signature=[tf.TensorSpec((), tf.string),
                                  tf.TensorSpec((None, None, None), tf.int32),
                                  tf.TensorSpec((None, None, None), tf.float32),
                                  tf.TensorSpec((None,), tf.float32), tf.TensorSpec((2,), tf.int32)])
    def synthesize(self, string: tf.Tensor, indexes: tf.Tensor, means: tf.Tensor, log_inverse_gain: tf.Tensor,
                   image_shape: tf.Tensor) -> tf.Tensor:
        """Range-decodes ``ŷ`` with `indexes` and `means` and returns the H x W x 3 uint8 picture."""
        y_hat = self.coder.decompress(string[None], tf.cast(indexes[None], tf.float32), loc=means[None])
        return self._picture(y_hat, log_inverse_gain, image_shape)

    @tf.function(input_signature=[tf.TensorSpec((1, None, None, None), tf.float32),
                                  tf.TensorSpec((None, None, None), tf.float32),
                                  tf.TensorSpec((None,), tf.float32), tf.TensorSpec((2,), tf.int32)])
    def reconstruct_latent(self, y: tf.Tensor, means: tf.Tensor, log_inverse_gain: tf.Tensor,
                           image_shape: tf.Tensor) -> tf.Tensor:
        """The encoder-side picture of ``round(y - means) + means``, without range coding."""
        return self._picture(tf.round(y - means[None]) + means[None], log_inverse_gain, image_shape)

    def _picture(self, y_hat, log_inverse_gain, image_shape):
        x_hat = self.synthesis_transform(y_hat * tf.exp(log_inverse_gain))
        x_hat = x_hat[0, :image_shape[0], :image_shape[1], :]
        return tf.saturate_cast(tf.round(x_hat), tf.uint8)

    def compress(self, image: np.ndarray, level: float) -> tuple[bytes, bytes, np.ndarray]:
        """Codes one image at gain position `level` (a 0-based level, or a real value between
        two: :meth:`gain_vectors`).

        Args:
            image: H x W x 3 uint8 RGB.
            level: Gain position.

        Returns:
            (side string, latent string, indexes h x w x M int32).
        """
        coded = self.code_image(image, level)
        return coded.side, coded.string, coded.indexes

    def compress_and_reconstruct(self, image: np.ndarray, level: float) -> tuple[bytes, bytes, np.ndarray]:
        """:meth:`compress` and :meth:`reconstruct` from one analysis (an inter codec's keyframe
        needs both): (side string, latent string, H x W x 3 uint8 reconstruction)."""
        coded = self.code_image(image, level)
        picture = self.reconstruct_latent(coded.y, coded.means, self.gain_vectors(level)[1],
                                          np.array(image.shape[:2], np.int32))
        return coded.side, coded.string, picture.numpy()

    def code_image(self, image: np.ndarray, level: float) -> CodedLatents:
        """One image coded at gain position `level`."""
        self._require_coder()
        return self.code_latents(*self.analyze_gained(image, self.gain_vectors(level)[0]))

    def code_latents(self, y: tf.Tensor, z_hat: tf.Tensor, side_string: tf.Tensor) -> CodedLatents:
        """Analysed latents coded: the scale indexes (and means) of the integer hyper-synthesis,
        then ``round(y - means)`` range-coded with them."""
        indexes, means = self.hyper_parameters(z_hat.numpy(), tuple(y.shape[1:3]))
        string = self.compress_latent(y, indexes, means)
        return CodedLatents(side_string.numpy(), string.numpy(), indexes, means, y)

    def hyper_parameters(self, z_hat: np.ndarray, latent_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(scale indexes h x w x M int32, means h x w x M float32) from the integer hyper-synthesis;
        the means are zeros for a scale-only model, so one coding path serves both."""
        indexes, means = self.integer_hyper.scales_and_means(z_hat, latent_shape)
        return indexes, (np.zeros(indexes.shape, np.float32) if means is None else means)

    def decompress(self, side_string: bytes, string: bytes, level: float,
                   width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`compress`.

        Returns:
            (H x W x 3 uint8 RGB picture, the h x w x M int32 indexes it used).

        Raises:
            tf.errors.InvalidArgumentError: a range decoder rejects a string.
        """
        self._require_coder()
        y_shape, z_shape = latent_shapes(width, height)
        z_hat = self.decompress_side(side_string, np.array(z_shape, np.int32)).numpy()
        indexes, means = self.hyper_parameters(z_hat, y_shape)
        log_inverse_gain = self.gain_vectors(level)[1]
        picture = self.synthesize(string, indexes, means, log_inverse_gain, np.array([height, width], np.int32))
        return picture.numpy(), indexes

    def reconstruct(self, image: np.ndarray, level: float) -> np.ndarray:
        """Encoder-side reconstruction (H x W x 3 uint8); decoding reproduces it bit for bit."""
        self._require_coder()
        log_gain, log_inverse_gain = self.gain_vectors(level)
        y, z_hat, _ = self.analyze_gained(image, log_gain)
        _, means = self.hyper_parameters(z_hat.numpy(), tuple(y.shape[1:3]))
        return self.reconstruct_latent(y, means, log_inverse_gain, np.array(image.shape[:2], np.int32)).numpy()

    # ------------------------------------------------------------------ weights

    def named_weights(self) -> dict[str, tf.Variable]:
        """Every trainable weight under a stable name (independent of Keras name uniquing)."""
        named = named_weights((self.analysis_transform, self.synthesis_transform,
                               self.hyper_analysis_transform, self.hyper_synthesis_transform),
                              {"hyperprior": self.hyperprior})
        named["gain/log_gain"] = self.log_gain
        named["gain/log_inverse_gain"] = self.log_inverse_gain
        if len(named) != len(self.trainable_variables):
            raise RuntimeError(f"{len(self.trainable_variables)} weights but {len(named)} unique names")
        return named
