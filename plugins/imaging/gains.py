"""Gain units of the variable-rate image models (``vae``, ``cae``'s variable-rate model).

After Z. Cui et al., "Asymmetric Gained Deep Image Compression with Continuous
Rate Adaptation", CVPR 2021: one row of per-channel gains per quality level. The
latent is multiplied by ``exp(log_gain[l])`` before quantization and by
``exp(log_inverse_gain[l])`` before the synthesis; between two rows both are
interpolated linearly in log. Shapes: rows are L x M (levels x latent channels).

Plain functions over the models' own variables, so a model's checkpoints and
weights files keep their variable names.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["batch_levels", "check_lmbdas", "initial_log_gains", "interpolated", "rows_for"]


def check_lmbdas(lmbdas: Sequence[float]) -> tuple[float, ...]:
    """`lmbdas` as a tuple of floats.

    Raises:
        ValueError: empty, not positive, or not ascending.
    """
    lmbdas = tuple(float(v) for v in lmbdas)
    if not lmbdas or any(v <= 0 for v in lmbdas) or list(lmbdas) != sorted(lmbdas):
        raise ValueError(f"`lmbdas` must be positive and ascending, not {lmbdas}")
    return lmbdas


def initial_log_gains(lmbdas: Sequence[float], channels: int) -> np.ndarray:
    """L x M float32 initial log gains: the MSE-optimal quantization step is ~ 1/sqrt(λ), so
    row *l* starts at ``0.5 · log(λ_l / λ_c)`` (λ_c the geometric mean; the inverse gains
    start at the negation)."""
    center = float(np.exp(np.mean(np.log(lmbdas))))
    return np.array([[0.5 * np.log(v / center)] * channels for v in lmbdas], np.float32)


def batch_levels(cursor, batch, num_levels: int, training: bool):
    """int32 [batch]: the level each crop of a batch trains at.

    Crop *i* of a training batch takes level ``(c + i) mod num_levels``, where `cursor`
    (an int64 ``tf.Variable``, checkpointed with the model) counts the crops of earlier
    training batches and is advanced: every level is trained equally often whatever the
    batch size, and a resumed run continues the cycle. Outside training crop *i* is at
    level ``i mod num_levels``.
    """
    import tensorflow as tf

    start = cursor.assign_add(batch) - batch if training else tf.constant(0, tf.int64)
    return tf.cast((start + tf.range(batch)) % num_levels, tf.int32)


def interpolated(log_gain: np.ndarray, log_inverse_gain: np.ndarray,
                 position: float) -> tuple[np.ndarray, np.ndarray]:
    """(log gain, log inverse gain), float32 [M], at a real `position` among the L rows.

    Row *l* is level *l*; between rows both are interpolated linearly in log
    (``g = g_l^(1-t) · g_(l+1)^t``), in numpy float32, so every machine derives the same
    vectors for a decoded quality.

    Raises:
        ValueError: `position` is outside ``[0, L - 1]``.
    """
    num_levels = len(log_gain)
    position = float(position)
    if not 0.0 <= position <= num_levels - 1:
        raise ValueError(f"gain position {position} is outside 0 .. {num_levels - 1}")
    row = min(int(np.floor(position)), num_levels - 1)
    t = np.float32(position - row)
    rows = [np.asarray(log_gain, np.float32), np.asarray(log_inverse_gain, np.float32)]
    if t == 0:
        return rows[0][row].copy(), rows[1][row].copy()
    return tuple((np.float32(1) - t) * r[row] + t * r[row + 1] for r in rows)


def rows_for(lmbdas: Sequence[float], file_lmbdas: Sequence[float], log_gain: np.ndarray,
             log_inverse_gain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log gain, log inverse gain) rows, L x M float32, for a model of `lmbdas` started from a
    file's rows at `file_lmbdas`: each row is the file's row of the nearest λ (in log), moved
    by ``±0.5·log(λ / λ_file)`` (the MSE-optimal step ~ 1/sqrt(λ))."""
    lmbdas, file_lmbdas = np.asarray(lmbdas, np.float64), np.asarray(file_lmbdas, np.float64)
    nearest = np.argmin(np.abs(np.log(lmbdas[:, None] / file_lmbdas[None, :])), axis=1)
    shift = 0.5 * np.log(lmbdas / file_lmbdas[nearest])[:, None]
    return ((np.asarray(log_gain)[nearest] + shift).astype(np.float32),
            (np.asarray(log_inverse_gain)[nearest] - shift).astype(np.float32))
