"""The fixed-point hyper-synthesis: SignalConv2D semantics, exactness, quantization, storage."""

from __future__ import annotations

import numpy as np
import pytest

from neuralav.plugins.vae.integer import (ACTIVATION_MAX, INPUT_MAX, KERNEL_MAX, IntegerHyperSynthesis,
                                          IntegerLayer, transposed_conv)

from .conftest import make_tiny_model, photo


@pytest.mark.parametrize("size,stride", [(5, 2), (3, 1)])
def test_transposed_conv_matches_signalconv2d(size, stride):
    import tensorflow_compression as tfc

    layer = tfc.SignalConv2D(4, (size, size), corr=False, strides_up=stride, padding="same_zeros",
                             use_bias=False, kernel_parameter="variable")
    x = np.random.default_rng(0).normal(size=(1, 5, 7, 3)).astype(np.float32)
    expected = layer(x).numpy()[0]
    actual = transposed_conv(x[0].astype(np.float64), layer.kernel.numpy().astype(np.float64), stride)
    assert actual.shape == expected.shape == (5 * stride, 7 * stride, 4)
    np.testing.assert_allclose(actual, expected, atol=1e-4)


def _int_reference(x: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """The same transposed convolution in pure int64 arithmetic (no float, no BLAS)."""
    height, width, _ = x.shape
    kh, kw, _, cout = kernel.shape
    out = np.zeros((stride * height + kh, stride * width + kw, cout), np.int64)
    for a in range(kh):
        for b in range(kw):
            tap = np.einsum("hwc,cd->hwd", x.astype(np.int64), kernel[a, b].astype(np.int64))
            out[a:a + stride * height:stride, b:b + stride * width:stride] += tap
    return out[(kh - 1) // 2:(kh - 1) // 2 + stride * height, (kw - 1) // 2:(kw - 1) // 2 + stride * width]


def test_float64_products_of_bounded_integers_are_exact_at_the_worst_case():
    rng = np.random.default_rng(1)
    cin = 64
    # Extreme values: every product is near KERNEL_MAX * ACTIVATION_MAX and they do not cancel.
    x = rng.integers(ACTIVATION_MAX - 1000, ACTIVATION_MAX + 1, (6, 5, cin))
    kernel = rng.integers(KERNEL_MAX - 1000, KERNEL_MAX + 1, (5, 5, cin, 3))
    kernel[..., 1] *= -1
    exact = _int_reference(x, kernel, 2)
    assert np.abs(exact).max() > 2 ** 40  # the check is not vacuous
    via_blas = transposed_conv(x.astype(np.float64), kernel.astype(np.float64), 2)
    np.testing.assert_array_equal(via_blas.astype(np.int64), exact)


def test_a_layer_whose_sums_could_exceed_float64_precision_is_refused():
    kernel = np.full((5, 5, 1 << 16, 1), KERNEL_MAX, np.int64)[:, :, :, :]
    layer = IntegerLayer(kernel, np.zeros(1, np.int64), 2, 10, 8, 8, relu=True)
    with pytest.raises(ValueError, match="exact"):
        layer.check(ACTIVATION_MAX)


def test_a_kernel_too_large_for_the_fixed_point_format_is_refused():
    huge = np.full((3, 3, 2, 2), 1e6)
    with pytest.raises(ValueError, match="shift"):
        IntegerHyperSynthesis.from_float([(huge, np.zeros(2), 1), (huge, np.zeros(2), 1)], 64)


def test_integer_indexes_match_the_float_network_rounded():
    import tensorflow as tf

    model = make_tiny_model()
    image = photo(200, 160)
    y, z_hat, _ = model.analyze(image, np.int32(2))
    h, w = y.shape[1:3]
    float_indexes = model.hyper_synthesis_transform(tf.cast(z_hat[None], tf.float32))[0, :h, :w].numpy()
    float_indexes = np.clip(np.round(float_indexes), 0, model.config.num_scales - 1)
    integer_indexes = model.integer_hyper(z_hat.numpy(), (h, w))
    assert integer_indexes.dtype == np.int32 and integer_indexes.shape == float_indexes.shape
    assert len(np.unique(integer_indexes)) >= 10  # indices really vary
    assert np.abs(integer_indexes - float_indexes).max() <= 1
    assert np.mean(integer_indexes == float_indexes) > 0.97  # off by one: only costs rate


def test_indexes_stay_in_range_for_extreme_hyper_latents():
    network = make_tiny_model().integer_hyper
    for value in (-10 ** 9, -INPUT_MAX, 0, INPUT_MAX, 10 ** 9):
        indexes = network(np.full((2, 3, 8), value, np.int64), (8, 12))
        assert indexes.min() >= 0 and indexes.max() <= network.num_scales - 1


def test_storage_round_trip_gives_the_same_network():
    network = make_tiny_model().integer_hyper
    restored = IntegerHyperSynthesis.from_arrays(network.to_arrays())
    z = np.random.default_rng(2).integers(-20, 20, (3, 4, 8))
    np.testing.assert_array_equal(restored(z, (12, 16)), network(z, (12, 16)))
    for a, b in zip(restored.layers, network.layers):
        np.testing.assert_array_equal(a.kernel, b.kernel)
        assert (a.stride, a.kernel_bits, a.input_bits, a.output_bits, a.relu) == \
            (b.stride, b.kernel_bits, b.input_bits, b.output_bits, b.relu)


def test_a_too_small_hyper_latent_is_an_error():
    network = make_tiny_model().integer_hyper
    with pytest.raises(ValueError, match="too small"):
        network(np.zeros((1, 1, 8), np.int64), (5, 4))
