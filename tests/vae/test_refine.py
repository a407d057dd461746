"""SGA latent refinement (the `vae` slow preset): better coded R–D, same bitstream, deterministic."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from .conftest import photo


@functools.lru_cache(maxsize=None)
def shipped_model(quality: int):
    """The shipped one-level model ``q{quality}.npz`` (hash checked)."""
    from neuralav.plugins.vae.quality import LEVELS, WEIGHTS_DIR
    from neuralav.plugins.vae.weights import load_model

    return load_model(WEIGHTS_DIR / LEVELS[quality].weights, LEVELS[quality].sha256)


def refine(model, image, iterations=10, seed=0):
    from neuralav.plugins.vae.refine import refine_latents

    return refine_latents(model, image, model.log_gain[0], model.log_inverse_gain[0], model.lmbdas[0],
                          iterations, seed)


def code(model, y, z) -> tuple[bytes, bytes, np.ndarray]:
    """(side string, latent string, scale indexes) of latents, coded as the encoder codes them."""
    import tensorflow as tf

    side, string, indexes, _, _ = model.code_latents(*model.code_hyper_latent(tf.constant(y), tf.constant(z)))
    return side, string, indexes


def coded_objective(model, image, y, z) -> float:
    """bpp of the real range-coded strings + λ·MSE (0–255) of the decoded picture."""
    side, string, _ = code(model, y, z)
    height, width = image.shape[:2]
    picture, _ = model.decompress(side, string, 0, width, height)
    mse = np.mean((picture.astype(np.float64) - image) ** 2)
    return 8.0 * (len(side) + len(string)) / (width * height) + model.lmbdas[0] * mse


def test_refinement_lowers_the_shipped_models_coded_rate_distortion_objective():
    model = shipped_model(3)
    image = photo(96, 64, (120, 140))
    before = coded_objective(model, image, *refine(model, image, iterations=0))
    after = coded_objective(model, image, *refine(model, image, iterations=20))
    assert after < 0.95 * before  # measured: -9 %


def test_zero_iterations_give_the_encoders_own_bitstream():
    model = shipped_model(3)
    image = photo(53, 37)
    assert code(model, *refine(model, image, iterations=0))[:2] == model.compress(image, 0)[:2]


def test_refined_bitstream_decodes_with_the_encoders_indexes_to_the_picture_of_round_y():
    import tensorflow as tf

    model = shipped_model(3)
    image = photo(53, 37)
    y, z = refine(model, image)
    side, string, indexes = code(model, y, z)
    picture, decoded_indexes = model.decompress(side, string, 0, 53, 37)
    np.testing.assert_array_equal(decoded_indexes, indexes)
    # The decoder's ŷ is round(y): its picture is the synthesis of round(y) (eager here,
    # so a rounding of the last float bit may differ).
    expected = model.synthesis_transform(np.round(y) * tf.exp(model.log_inverse_gain[0]))[0, :37, :53]
    expected = tf.saturate_cast(tf.round(expected), tf.uint8).numpy()
    assert np.abs(picture.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("width,height", [(1, 1), (53, 37), (130, 67)])
def test_latents_have_the_analysis_shapes_and_dtype(width, height):
    from neuralav.plugins.vae.config import latent_shapes

    model = shipped_model(3)
    y, z = refine(model, photo(width, height), iterations=3)
    (h, w), (zh, zw) = latent_shapes(width, height)
    assert y.shape == (1, h, w, model.config.latent_channels) and y.dtype == np.float32
    assert z.shape == (1, zh, zw, model.config.hyper_filters) and z.dtype == np.float32


def test_refinement_is_deterministic_for_a_seed_and_depends_on_it():
    model = shipped_model(3)
    image = photo(53, 37)
    first, again, other = (refine(model, image, 10, seed) for seed in (5, 5, 6))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_the_step_is_traced_once_for_all_image_shapes_and_iteration_counts():
    from neuralav.plugins.vae.refine import _refiner

    model = shipped_model(3)
    for width, height, iterations in [(53, 37, 3), (96, 64, 5), (17, 33, 2)]:
        refine(model, photo(width, height), iterations)
    assert _refiner(model).step.experimental_get_tracing_count() == 1


def test_sga_rounds_to_a_neighbour_at_random_and_to_the_nearer_one_when_cold():
    import tensorflow as tf

    from neuralav.plugins.vae.refine import _sga_round

    v = tf.fill((20000,), 2.3)
    warm = _sga_round(v, tf.constant(0.5), tf.constant([1, 2])).numpy()
    cold = _sga_round(v, tf.constant(0.02), tf.constant([1, 2])).numpy()
    assert np.all((warm >= 2.0) & (warm <= 3.0)) and 2.05 < warm.mean() < 2.5
    assert 0.02 < np.mean(warm > 2.5) < 0.5  # rounds up sometimes, down more often
    np.testing.assert_allclose(cold, 2.0, atol=1e-3)
    np.testing.assert_array_equal(_sga_round(tf.constant([-1.0, 0.0, 4.0]), tf.constant(0.5),
                                             tf.constant([1, 2])).numpy(), [-1.0, 0.0, 4.0])


def test_temperature_anneals_from_its_maximum_to_its_minimum():
    from neuralav.plugins.vae.refine import TAU_MAX, TAU_MIN, temperature

    for iterations in (1, 2, 50, 400):
        taus = [temperature(t, iterations) for t in range(iterations)]
        assert taus[0] == TAU_MAX and all(a >= b for a, b in zip(taus, taus[1:]))
        if iterations > 1:
            assert taus[-1] == pytest.approx(TAU_MIN)


@pytest.mark.parametrize("image,iterations", [(np.zeros((8, 8), np.uint8), 1),
                                              (np.zeros((8, 8, 3), np.float32), 1),
                                              (np.zeros((0, 8, 3), np.uint8), 1),
                                              (np.zeros((8, 8, 3), np.uint8), -1)])
def test_bad_arguments_are_rejected_with_their_value(image, iterations):
    model = shipped_model(3)
    with pytest.raises(ValueError, match="`image`|`iterations`"):
        refine(model, image, iterations)
