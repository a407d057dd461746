"""Entropy coding of motion: vector differences range-coded with learned, conditional priors.

The field of block vectors (:mod:`.motion`) is turned into differences from each block's
median predictor (dy, dx, in 1/4 pel). The two components are far from independent: where
the vertical difference is zero, the horizontal one nearly always is too (the block kept
its predicted vector). So ``dy`` is coded with one density and ``dx`` with one of three,
chosen by ``|dy|`` (0, 1–2, 3 or more: :func:`dx_tables`), which the decoder knows once
``dy`` is decoded: most of what coding the pair jointly would save, at the cost of two
range-decoder calls (measured in ``weights/MODEL_CARD.md``).

Each of the four densities is a ``tfc.NoisyDeepFactorized`` fitted by maximum likelihood to
the differences the encoder's search produces on training video (:func:`fit_tables`); their
range-coding tables are stored in the weights file. Values beyond a table's range are
escaped by tfc's range coder (Elias-gamma overflow), so any field codes. One string holds
all ``dy`` then all ``dx`` (raster order), decoded in two calls.

TensorFlow is imported here: import lazily.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from neuralav.plugins.imaging.transforms import prior_tables

__all__ = ["NUM_TABLES", "VectorCoder", "default_tables", "dx_tables", "fit_tables"]

NUM_TABLES = 4
"""Table 0 codes ``dy``; tables 1–3 code ``dx`` given ``|dy|`` (:func:`dx_tables`)."""

_DY_CLASS_EDGES = (1, 3)
"""``|dy|`` below 1, below 3, and the rest select tables 1, 2, 3 for ``dx``."""


def dx_tables(dy: np.ndarray) -> np.ndarray:
    """Table index (1–3) of each ``dx`` given its ``dy`` (any integer array)."""
    return 1 + np.digitize(np.abs(np.asarray(dy)), _DY_CLASS_EDGES).astype(np.int32)


def _tables(prior) -> dict[str, np.ndarray]:
    tables = prior_tables(prior, offset_heuristic=False)
    return {"cdf": tables["cdf"].numpy().astype(np.int32), "cdf_offset": tables["cdf_offset"].numpy().astype(np.int32)}


def default_tables() -> dict[str, np.ndarray]:
    """Tables of fixed logistic densities (scale 4 quarter-pels), for models without fitted ones."""
    return _tables(tfc.NoisyLogistic(loc=tf.zeros(NUM_TABLES), scale=tf.fill((NUM_TABLES,), 4.0)))


def _values_and_tables(differences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """N x 2 (dy, dx) -> (2N values: every dy then every dx, the table of each)."""
    differences = np.asarray(differences).reshape(-1, 2)
    dy, dx = differences[:, 0], differences[:, 1]
    values = np.concatenate([dy, dx]).astype(np.int32)
    tables = np.concatenate([np.zeros(len(dy), np.int32), dx_tables(dy)])
    return values, tables


def _fit_density(values: np.ndarray, steps: int, seed: int):
    """A ``NoisyDeepFactorized`` fitted by maximum likelihood to integer `values` (none: as initialised)."""
    tf.keras.utils.set_random_seed(seed)
    prior = tfc.NoisyDeepFactorized(batch_shape=(1,))
    if len(values) == 0:
        return prior
    points = tf.constant(np.asarray(values, np.float32)[:, None])
    optimizer = tf.keras.optimizers.Adam(1e-2)
    optimizer.build(prior.trainable_variables)  # its slots exist before the graph loop uses them

    @tf.function
    def fit():
        for _ in tf.range(steps):  # one graph for every step: no Python call per step
            with tf.GradientTape() as tape:
                bits = -tf.reduce_mean(tf.math.log(prior.prob(points) + 1e-9)) / np.log(2.0)
            grads = tape.gradient(bits, prior.trainable_variables)
            optimizer.apply_gradients(zip(grads, prior.trainable_variables))

    fit()
    return prior


def fit_tables(differences: np.ndarray, steps: int = 1500, seed: int = 1) -> dict[str, np.ndarray]:
    """Fits the four densities to vector differences and returns their coding tables.

    Args:
        differences: N x 2 integer differences (dy, dx), 1/4 pel.
        steps: Adam steps (full batch) per density.
        seed: Initialisation seed (density *t* uses ``seed + t``).

    Returns:
        ``cdf`` (:data:`NUM_TABLES` tables in tfc's flat layout), ``cdf_offset`` (int32).
    """
    values, tables = _values_and_tables(differences)
    parts = [_tables(_fit_density(values[tables == t], steps, seed + t)) for t in range(NUM_TABLES)]
    return {"cdf": np.concatenate([part["cdf"] for part in parts]),
            "cdf_offset": np.concatenate([part["cdf_offset"] for part in parts])}


class VectorCoder:
    """Range coder of vector-difference fields with fixed tables.

    Args:
        tables: ``cdf`` (:data:`NUM_TABLES` rows), ``cdf_offset`` int32 (from
            :func:`fit_tables` or :func:`default_tables`).

    Raises:
        ValueError: the tables do not have :data:`NUM_TABLES` rows.
    """

    def __init__(self, tables: dict[str, np.ndarray]) -> None:
        self.tables = {k: np.asarray(v, np.int32) for k, v in tables.items()}
        # tfc's flat table layout: each table starts with a negative entry (−precision).
        count = int(np.sum(self.tables["cdf"] < 0))
        if count != NUM_TABLES or self.tables["cdf_offset"].shape != (NUM_TABLES,):
            raise ValueError(f"motion tables have {count} rows; this decoder codes vectors with {NUM_TABLES}")
        self._cdf = tf.constant(self.tables["cdf"])
        self._cdf_offset = tf.constant(self.tables["cdf_offset"])

    @tf.function(input_signature=[tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None,), tf.int32)])
    def _compress(self, values, tables):
        handle = tfc.create_range_encoder([], self._cdf)
        handle = tfc.entropy_encode_index(handle, tables, values - tf.gather(self._cdf_offset, tables))
        return tfc.entropy_encode_finalize(handle)

    def encode(self, differences: np.ndarray) -> bytes:
        """hb x wb x 2 integer differences -> range-coded bytes."""
        values, tables = _values_and_tables(differences)
        return self._compress(values, tables).numpy()

    def decode(self, string: bytes, blocks: tuple[int, int]) -> np.ndarray:
        """Inverse of :meth:`encode`: hb x wb x 2 int64.

        Raises:
            tf.errors.InvalidArgumentError: the range decoder rejects the string.
        """
        count = int(blocks[0]) * int(blocks[1])
        handle = tfc.create_range_decoder(tf.constant(string), self._cdf)
        dy_tables = np.zeros(count, np.int32)
        handle, dy = tfc.entropy_decode_index(handle, dy_tables, [count], tf.int32)
        dy = dy.numpy() + self.tables["cdf_offset"][dy_tables]
        dx_table = dx_tables(dy)
        handle, dx = tfc.entropy_decode_index(handle, dx_table, [count], tf.int32)
        dx = dx.numpy() + self.tables["cdf_offset"][dx_table]
        if not bool(tfc.entropy_decode_finalize(handle)):
            raise tf.errors.InvalidArgumentError(None, None, "motion string does not end where its last vector does")
        return np.stack([dy, dx], axis=-1).reshape(int(blocks[0]), int(blocks[1]), 2).astype(np.int64)
