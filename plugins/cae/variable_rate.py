"""The `cae` variable-rate model: one factorized-prior autoencoder for every quality.

The transforms of :mod:`.model` with gain units (:mod:`neuralav.plugins.imaging.gains`,
Cui et al. 2021): the latent ``y0 = g_a(x)`` is multiplied by a per-channel gain
``g`` before rounding, ``ŷ = round(y0 · g)``, and the synthesis sees ``ŷ · g'``.
One learned deep factorized density ``p0`` per channel models ``y0`` itself,
independently of the rate, so the probability of a coded symbol *k* at gain *g*
is ``F0((k + ½) / g) − F0((k − ½) / g)`` (``F0`` the cumulative of ``p0``): a
quantizer of step ``1/g`` on ``y0``. Training uses the same expression at
``y0 · g + u``, u ~ U(−½, ½).

Coding needs integer tables the encoder and every decoder share bit for bit, and
those are computed from ``p0`` in floating point, so they are built once, at export,
for a grid of gains: every :data:`TABLES_PER_QUALITY`-th of a quality unit across the
model's rows, and stored in the weights file. A quality is coded at the nearest grid
point (:meth:`VariableRateCAE.grid_index`).

Shapes and units: images NHWC (HWC for one image) RGB uint8 0–255 at the API, float
0–255 in the loss (``bpp + λ·MSE``); the latent is 1 x H/16 x W/16 x M; rates in bits
per pixel. TensorFlow is imported here: import this module lazily.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from neuralav.plugins.imaging.gains import batch_levels, check_lmbdas, initial_log_gains, interpolated
from neuralav.plugins.imaging.transforms import (PAD_MULTIPLE, AnalysisTransform, SynthesisTransform,
                                                  named_weights, pad_to_multiple)
from neuralav.plugins.imaging.weights import FORMATS

from .config import ArchConfig

__all__ = ["TABLES_PER_QUALITY", "VariableRateCAE", "WEIGHTS_FORMAT"]

WEIGHTS_FORMAT = FORMATS["cae-vr"]
"""Value of the ``format`` entry of a variable-rate ``cae`` weights file."""

TABLES_PER_QUALITY = 8
"""Coding tables per unit of quality (one gain row): qualities are coded in steps of 1/8."""

TAIL_MASS = 2.0 ** -8
"""Probability mass outside each channel's table, coded by the range coder's overflow escape."""

RANGE_CODER_PRECISION = 12
"""Bits of the quantized cumulative tables (tfc's default)."""

LIKELIHOOD_BOUND = 1e-9
"""Smallest probability of a symbol in the training rate (keeps its log finite)."""


class VariableRateCAE(tf.keras.Model):
    """Factorized-prior autoencoder with one gain row per λ and a rate-independent prior.

    Training uses :meth:`call`. For coding, :meth:`make_coder` fixes the tables (built
    from the prior, or the exported ones); :meth:`compress` and :meth:`decompress`
    then produce and consume real range-coded strings at a grid index.

    Args:
        config: Architecture (N, M of :class:`.config.ArchConfig`).
        lmbdas: λ of each gain row (loss ``bpp + λ·MSE``, MSE of 0–255 RGB), ascending.
    """

    def __init__(self, config: ArchConfig = ArchConfig(), lmbdas: Sequence[float] = (0.01,)) -> None:
        super().__init__(name="cae_vr")
        self.config = config
        self.lmbdas = check_lmbdas(lmbdas)
        self.analysis_transform = AnalysisTransform(config)
        self.synthesis_transform = SynthesisTransform(config)
        self.prior = tfc.DeepFactorized(batch_shape=(config.latent_channels,))
        init = initial_log_gains(self.lmbdas, config.latent_channels)
        self.log_gain = tf.Variable(init, name="log_gain")
        self.log_inverse_gain = tf.Variable(-init, name="log_inverse_gain")
        self.level_cursor = tf.Variable(0, dtype=tf.int64, trainable=False, name="level_cursor")
        self.tables: dict[str, np.ndarray] | None = None
        self._coders: dict[int, tfc.ContinuousBatchedEntropyModel] = {}
        # Creates the variables eagerly on a 64x64 image (Keras's symbolic build is slow).
        self.synthesis_transform(self.analysis_transform(tf.zeros((1, 64, 64, 3))))

    @property
    def num_levels(self) -> int:
        """Number of gain rows."""
        return len(self.lmbdas)

    @property
    def quality_step(self) -> float:
        """Distance between grid points in gain positions (qualities): 1/:data:`TABLES_PER_QUALITY`."""
        return 1.0 / TABLES_PER_QUALITY

    @property
    def num_grid_points(self) -> int:
        """Number of coding tables: one per 1/:data:`TABLES_PER_QUALITY` of a row, ends included."""
        return (self.num_levels - 1) * TABLES_PER_QUALITY + 1

    # ------------------------------------------------------------------ training

    def likelihood(self, y: tf.Tensor, log_gain: tf.Tensor) -> tf.Tensor:
        """Probability of each element of a gained latent `y` (..., M): the mass of ``p0`` on
        ``[(y − ½) / g, (y + ½) / g]``, with ``g = exp(log_gain)`` broadcast against `y`."""
        inverse = tf.exp(-log_gain)
        # tfc's DeepFactorized exposes its cumulative only as logits (pinned tfc 2.14.1).
        upper = self.prior._logits_cumulative((y + 0.5) * inverse)  # noqa: SLF001
        lower = self.prior._logits_cumulative((y - 0.5) * inverse)  # noqa: SLF001
        # Difference of sigmoids taken on the side where it does not cancel.
        sign = tf.stop_gradient(-tf.sign(upper + lower))
        return tf.abs(tf.sigmoid(sign * upper) - tf.sigmoid(sign * lower))

    def call(self, x: tf.Tensor, training: bool = True):
        """Rate–distortion loss of a batch; its crops take the gain rows in turn
        (:func:`~neuralav.plugins.imaging.gains.batch_levels`).

        Args:
            x: N x H x W x 3 images, uint8 or float 0–255; H, W multiples of 16.
            training: Additive uniform noise (True) or rounding (False).

        Returns:
            (loss, bpp, mse, msssim): scalars averaged over the batch; bpp the estimated
            rate in bits per pixel, mse on the 0–255 scale; msssim is 0 (not computed).
        """
        x = tf.cast(x, tf.float32)
        levels = batch_levels(self.level_cursor, tf.shape(x, out_type=tf.int64)[0], self.num_levels, training)
        log_gain = tf.gather(self.log_gain, levels)[:, None, None, :]
        inverse_gain = tf.exp(tf.gather(self.log_inverse_gain, levels))[:, None, None, :]
        y = self.analysis_transform(x) * tf.exp(log_gain)
        if training:
            y_tilde = y + tf.random.uniform(tf.shape(y), -0.5, 0.5)
        else:
            y_tilde = tf.round(y)
        probability = tfc.lower_bound(self.likelihood(y_tilde, log_gain), LIKELIHOOD_BOUND)
        bits = -tf.reduce_sum(tf.math.log(probability), axis=(1, 2, 3)) / np.log(2.0)
        x_hat = self.synthesis_transform(y_tilde * inverse_gain)
        bpp = bits / tf.cast(tf.reduce_prod(tf.shape(x)[1:-1]), tf.float32)
        mse = tf.reduce_mean(tf.math.squared_difference(x, x_hat), axis=(1, 2, 3))
        lmbda = tf.gather(tf.constant(self.lmbdas, tf.float32), levels)
        loss = tf.reduce_mean(bpp + lmbda * mse)
        return loss, tf.reduce_mean(bpp), tf.reduce_mean(mse), tf.constant(0.0)

    # ------------------------------------------------------------------ coding tables

    def gain_vectors(self, position: float) -> tuple[np.ndarray, np.ndarray]:
        """(log gain, log inverse gain), float32 [M], at a real `position` among the rows."""
        return interpolated(self.log_gain.numpy(), self.log_inverse_gain.numpy(), position)

    def grid_index(self, position: float) -> int:
        """The grid point (table) nearest a real gain `position` in ``[0, num_levels − 1]``.

        Raises:
            ValueError: `position` is outside the rows.
        """
        if not 0.0 <= float(position) <= self.num_levels - 1:
            raise ValueError(f"gain position {position} is outside 0 .. {self.num_levels - 1}")
        return int(round(float(position) * TABLES_PER_QUALITY))

    def grid_gains(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`gain_vectors` at grid point `index` (position ``index / TABLES_PER_QUALITY``)."""
        if not 0 <= index < self.num_grid_points:
            raise ValueError(f"grid point {index} is outside 0 .. {self.num_grid_points - 1}")
        return self.gain_vectors(index / TABLES_PER_QUALITY)

    def build_tables(self) -> dict[str, np.ndarray]:
        """The range-coding tables of every grid point, from the prior.

        Returns:
            ``cdf``: int32, every grid point's flat tfc table (values 0..2^12 and a ``-12``
            before each channel) one after another;
            ``cdf_start``: int64 [P + 1], where grid point *p*'s table starts and ends in it;
            ``cdf_offset``: int32 [P, M], the smallest symbol of each channel's table.
        """
        lower, upper = self._base_tails()
        flats, offsets = [], []
        for index in range(self.num_grid_points):
            log_gain = self.grid_gains(index)[0]
            gain = np.exp(log_gain.astype(np.float64))
            minima = np.floor(lower * gain).astype(np.int32)
            maxima = np.ceil(upper * gain).astype(np.int32)
            flats.append(self._quantized_cdfs(log_gain, minima, maxima))
            offsets.append(minima)
        starts = np.cumsum([0] + [len(f) for f in flats]).astype(np.int64)
        return {"cdf": np.concatenate(flats).astype(np.int32), "cdf_start": starts,
                "cdf_offset": np.stack(offsets).astype(np.int32)}

    def _base_tails(self) -> tuple[np.ndarray, np.ndarray]:
        """float64 [M]: where ``F0`` reaches ``TAIL_MASS / 2`` and ``1 − TAIL_MASS / 2``."""
        @tf.function(autograph=False)
        def tails():
            return self.prior._lower_tail(TAIL_MASS), self.prior._upper_tail(TAIL_MASS)  # noqa: SLF001

        lower, upper = tails()
        return lower.numpy().astype(np.float64), upper.numpy().astype(np.float64)

    def _quantized_cdfs(self, log_gain: np.ndarray, minima: np.ndarray, maxima: np.ndarray) -> np.ndarray:
        """One grid point's flat table: per channel ``[-precision, cdf...]``, as tfc lays it out."""
        lengths = maxima - minima + 1
        samples = minima[None, :] + np.arange(int(lengths.max()))[:, None]  # K x M symbols
        pmf = self.likelihood(tf.constant(samples, tf.float32), tf.constant(log_gain)).numpy()
        pieces = []
        for channel, length in enumerate(lengths):
            p = pmf[:length, channel].astype(np.float32)
            overflow = np.maximum(1.0 - p.sum(), 0.0).astype(np.float32)
            cdf = tfc.ops.gen_ops.pmf_to_quantized_cdf(np.append(p, overflow), precision=RANGE_CODER_PRECISION)
            pieces += [np.array([-RANGE_CODER_PRECISION], np.int32), cdf.numpy()]
        return np.concatenate(pieces)

    def make_coder(self, tables: Mapping[str, np.ndarray] | None = None) -> None:
        """Fixes the coding tables: the exported ones (:meth:`build_tables`'s arrays), or
        built from the prior now."""
        tables = dict(self.build_tables() if tables is None else tables)
        tables["cdf"] = np.asarray(tables["cdf"]).astype(np.int32)
        if len(tables["cdf_start"]) != self.num_grid_points + 1 or \
                tuple(tables["cdf_offset"].shape) != (self.num_grid_points, self.config.latent_channels):
            raise ValueError(f"coding tables for {len(tables['cdf_start']) - 1} grid points of "
                             f"{tables['cdf_offset'].shape[-1]} channels; the model has "
                             f"{self.num_grid_points} of {self.config.latent_channels}")
        self.tables = tables
        self._coders = {}

    def coder_tables(self) -> dict[str, np.ndarray]:
        """The tables of :meth:`make_coder`, as exported: ``cdf`` as int16 (12-bit values and
        the ``-12`` markers fit), which halves the file."""
        tables = dict(self._require_tables())
        tables["cdf"] = tables["cdf"].astype(np.int16)
        return tables

    def grid_cdf(self, index: int) -> np.ndarray:
        """Grid point `index`'s flat int32 table (tfc layout)."""
        tables = self._require_tables()
        return tables["cdf"][tables["cdf_start"][index]:tables["cdf_start"][index + 1]]

    def coder(self, index: int) -> tfc.ContinuousBatchedEntropyModel:
        """The range coder of grid point `index` (made once)."""
        tables = self._require_tables()
        if index not in self._coders:
            channels = self.config.latent_channels
            self._coders[index] = tfc.ContinuousBatchedEntropyModel(
                prior_shape=(channels,), coding_rank=3, compression=True,
                range_coder_precision=RANGE_CODER_PRECISION, tail_mass=TAIL_MASS,
                cdf=tf.constant(self.grid_cdf(index), tf.int32),
                cdf_offset=tf.constant(tables["cdf_offset"][index], tf.int32),
                quantization_offset=tf.zeros((channels,), tf.float32))
        return self._coders[index]

    def _require_tables(self) -> dict[str, np.ndarray]:
        if self.tables is None:
            raise RuntimeError("call `make_coder()` (or load weights) before coding")
        return self.tables

    # ------------------------------------------------------------------ coding

    @tf.function(input_signature=[tf.TensorSpec((None, None, 3), tf.uint8), tf.TensorSpec((None,), tf.float32)])
    def analyze(self, image: tf.Tensor, log_gain: tf.Tensor) -> tf.Tensor:
        """H x W x 3 uint8 -> the gained latent 1 x h x w x M float32 (edge-padded to 16)."""
        x = pad_to_multiple(tf.cast(image[None], tf.float32), PAD_MULTIPLE)
        return self.analysis_transform(x) * tf.exp(log_gain)

    @tf.function(input_signature=[tf.TensorSpec((1, None, None, None), tf.float32),
                                  tf.TensorSpec((None,), tf.float32), tf.TensorSpec((2,), tf.int32)])
    def synthesize(self, y_hat: tf.Tensor, log_inverse_gain: tf.Tensor, image_shape: tf.Tensor) -> tf.Tensor:
        """Quantized latent 1 x h x w x M -> the H x W x 3 uint8 picture."""
        x_hat = self.synthesis_transform(y_hat * tf.exp(log_inverse_gain))
        return tf.saturate_cast(tf.round(x_hat[0, :image_shape[0], :image_shape[1], :]), tf.uint8)

    def compress(self, image: np.ndarray, index: int) -> tuple[bytes, tuple[int, int]]:
        """Codes one H x W x 3 uint8 image at grid point `index`: (string, (h, w) of the latent)."""
        y = self.analyze(image, self.grid_gains(index)[0])
        string = self.coder(index).compress(y)[0]
        return string.numpy(), tuple(int(v) for v in y.shape[1:3])

    def decompress(self, string: bytes, latent_shape: tuple[int, int], index: int,
                   width: int, height: int) -> np.ndarray:
        """Inverse of :meth:`compress`: the H x W x 3 uint8 picture.

        Raises:
            tf.errors.InvalidArgumentError: the range decoder rejects the string.
        """
        y_hat = self.coder(index).decompress(tf.constant([string]), tf.constant(latent_shape, tf.int32))
        return self.synthesize(y_hat, self.grid_gains(index)[1], np.array([height, width], np.int32)).numpy()

    def reconstruct(self, image: np.ndarray, index: int) -> np.ndarray:
        """Encoder-side picture at grid point `index`, without range coding (decoding
        reproduces it bit for bit)."""
        log_gain, log_inverse_gain = self.grid_gains(index)
        y_hat = tf.round(self.analyze(image, log_gain))
        return self.synthesize(y_hat, log_inverse_gain, np.array(image.shape[:2], np.int32)).numpy()

    # ------------------------------------------------------------------ weights

    def named_weights(self) -> dict[str, tf.Variable]:
        """Every trainable weight under a stable name (the transforms' names match ``cae``'s
        one-level files and ``vae``'s, so either can start this model)."""
        named = named_weights((self.analysis_transform, self.synthesis_transform), {"prior": self.prior})
        named["gain/log_gain"] = self.log_gain
        named["gain/log_inverse_gain"] = self.log_inverse_gain
        if len(named) != len(self.trainable_variables):
            raise RuntimeError(f"{len(self.trainable_variables)} weights but {len(named)} unique names")
        return named
