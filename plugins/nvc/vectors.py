"""Entropy coding of motion: vector differences range-coded with a learned factorized prior.

The field of block vectors (:mod:`.motion`) is turned into differences from each block's
median predictor, and the two components (dy, dx, in 1/4 pel) are range-coded with a
``tfc.ContinuousBatchedEntropyModel`` over a ``tfc.NoisyDeepFactorized`` density fitted by
maximum likelihood to the differences the encoder's search produces on training video
(:func:`fit_tables`). Values beyond the tables' range are escaped by tfc's range coder
(Elias-gamma overflow), so any field codes. The tables are stored in the weights file.

TensorFlow is imported here: import lazily.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from neuralav.plugins.imaging.transforms import prior_tables

__all__ = ["VectorCoder", "default_tables", "fit_tables"]


def _tables(prior) -> dict[str, np.ndarray]:
    tables = prior_tables(prior, offset_heuristic=False)
    return {"cdf": tables["cdf"].numpy().astype(np.int32), "cdf_offset": tables["cdf_offset"].numpy().astype(np.int32)}


def default_tables() -> dict[str, np.ndarray]:
    """Tables of a fixed logistic density (scale 4 quarter-pels), for models without fitted ones."""
    return _tables(tfc.NoisyLogistic(loc=tf.zeros(2), scale=tf.fill((2,), 4.0)))


def fit_tables(differences: np.ndarray, steps: int = 1500, seed: int = 1) -> dict[str, np.ndarray]:
    """Fits a factorized density to vector differences and returns its coding tables.

    Args:
        differences: N x 2 integer differences (dy, dx), 1/4 pel.
        steps: Adam steps (full batch).
        seed: Initialisation seed.

    Returns:
        ``cdf``, ``cdf_offset`` (int32).
    """
    tf.keras.utils.set_random_seed(seed)
    prior = tfc.NoisyDeepFactorized(batch_shape=(2,))
    values = tf.constant(np.asarray(differences, np.float32).reshape(-1, 2))
    optimizer = tf.keras.optimizers.Adam(1e-2)
    optimizer.build(prior.trainable_variables)  # its slots exist before the graph loop uses them

    @tf.function
    def fit():
        for _ in tf.range(steps):  # one graph for every step: no Python call per step
            with tf.GradientTape() as tape:
                bits = -tf.reduce_mean(tf.math.log(prior.prob(values) + 1e-9)) / np.log(2.0)
            grads = tape.gradient(bits, prior.trainable_variables)
            optimizer.apply_gradients(zip(grads, prior.trainable_variables))

    fit()
    return _tables(prior)


class VectorCoder:
    """Range coder of vector-difference fields with fixed tables.

    Args:
        tables: ``cdf``, ``cdf_offset`` int32 (from :func:`fit_tables` or :func:`default_tables`).
    """

    def __init__(self, tables: dict[str, np.ndarray]) -> None:
        self.tables = {k: np.asarray(v, np.int32) for k, v in tables.items()}
        self._model = tfc.ContinuousBatchedEntropyModel(
            prior_shape=(2,), coding_rank=3, compression=True,
            cdf=tf.constant(self.tables["cdf"]), cdf_offset=tf.constant(self.tables["cdf_offset"]),
            quantization_offset=tf.zeros((2,), tf.float32))

    @tf.function(input_signature=[tf.TensorSpec((None, None, 2), tf.float32)])
    def _compress(self, differences):
        return self._model.compress(differences[None])[0]

    @tf.function(input_signature=[tf.TensorSpec((), tf.string), tf.TensorSpec((2,), tf.int32)])
    def _decompress(self, string, shape):
        return self._model.decompress(string[None], shape)[0]

    def encode(self, differences: np.ndarray) -> bytes:
        """hb x wb x 2 integer differences -> range-coded bytes."""
        return self._compress(np.asarray(differences, np.float32)).numpy()

    def decode(self, string: bytes, blocks: tuple[int, int]) -> np.ndarray:
        """Inverse of :meth:`encode`: hb x wb x 2 int64.

        Raises:
            tf.errors.InvalidArgumentError: the range decoder rejects the string.
        """
        values = self._decompress(tf.constant(string), np.array(blocks, np.int32)).numpy()
        return np.round(values).astype(np.int64)
