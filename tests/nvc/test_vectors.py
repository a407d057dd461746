"""Motion-vector entropy coding: conditional tables, real range-coded strings."""

from __future__ import annotations

import numpy as np
import pytest

from neuralav.plugins.nvc import vectors


def _skewed_differences(rng, count):
    """Differences like the search's: mostly (0, 0); dx spreads out only where dy is nonzero."""
    dy = np.where(rng.random(count) < 0.8, 0, rng.integers(-12, 13, count))
    dx = np.where(dy == 0, np.where(rng.random(count) < 0.95, 0, rng.integers(-2, 3, count)),
                  rng.integers(-12, 13, count))
    return np.stack([dy, dx], axis=-1)


@pytest.fixture(scope="module")
def fitted():
    return vectors.fit_tables(_skewed_differences(np.random.default_rng(1), 20000), steps=300)


@pytest.mark.parametrize("tables", ["default", "fitted"])
def test_any_field_round_trips_escapes_included(tables, fitted):
    coder = vectors.VectorCoder(vectors.default_tables() if tables == "default" else fitted)
    rng = np.random.default_rng(2)
    field = _skewed_differences(rng, 18 * 22).reshape(18, 22, 2)
    field[3, 4] = (-900, 1200)  # far beyond every table: escaped
    field[0, 0] = (0, -700)
    decoded = coder.decode(coder.encode(field), (18, 22))
    assert decoded.dtype == np.int64 and np.array_equal(decoded, field)


def test_dx_is_coded_given_dy(fitted):
    """In the data, dx is almost always 0 where dy is 0 and uniform where |dy| is large. Coded
    given dy, dx = 0 is nearly free after dy = 0 and costs as much as dx = 5 after dy = 5
    (independent marginals would charge dx = 5 several bits more than dx = 0 everywhere)."""
    coder = vectors.VectorCoder(fitted)
    field = np.zeros((20, 20, 2), np.int64)
    assert len(coder.encode(field)) < 100  # 400 vectors of (0, 0); default tables take ~300 bytes
    field[..., 0] = 5
    dx_zero = len(coder.encode(field))
    field[..., 1] = 5
    dx_five = len(coder.encode(field))
    assert abs(dx_five - dx_zero) < 0.1 * dx_zero, (dx_zero, dx_five)
    assert vectors.dx_tables(np.array([0, 1, -2, 3, -40])).tolist() == [1, 2, 2, 3, 3]


def test_fitted_tables_code_the_data_they_fit_smaller_than_independent_defaults(fitted):
    field = _skewed_differences(np.random.default_rng(3), 40 * 40).reshape(40, 40, 2)
    fitted_bytes = len(vectors.VectorCoder(fitted).encode(field))
    default_bytes = len(vectors.VectorCoder(vectors.default_tables()).encode(field))
    assert fitted_bytes < 0.7 * default_bytes, (fitted_bytes, default_bytes)


def test_tables_of_another_layout_are_refused():
    import tensorflow as tf
    import tensorflow_compression as tfc

    two = vectors._tables(tfc.NoisyLogistic(loc=tf.zeros(2), scale=tf.fill((2,), 4.0)))  # the v1 layout
    with pytest.raises(ValueError, match="motion tables have 2 rows"):
        vectors.VectorCoder(two)
