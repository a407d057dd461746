"""The mean-scale hyperprior: integer means, coding with them, training, weights files.

A mean-scale model's hyper-synthesis also predicts each latent element's mean; the
coder sends ``round(y - μ)``. The means come from the integer network, so they must
be the same dyadic numbers at encode and decode time, and a scale-only file must load
into a mean-scale model as the same codec (all means 0) for training to start from it.
"""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import make_tiny_model, photo


def _mean_scale_model():
    return make_tiny_model(mean_scale=True)


def test_integer_means_are_dyadic_and_follow_the_float_network():
    import tensorflow as tf

    from neuralav.plugins.vae.integer import MEAN_BITS

    model = _mean_scale_model()
    y, z_hat, _ = model.analyze(photo(200, 160), np.int32(2))
    h, w = y.shape[1:3]
    _, float_means = model.scales_and_means(
        model.hyper_synthesis_transform(tf.cast(z_hat[None], tf.float32))[0, :h, :w])
    indexes, means = model.integer_hyper.scales_and_means(z_hat.numpy(), (h, w))
    assert indexes.shape == means.shape == (h, w, model.config.latent_channels)
    assert means.dtype == np.float32
    np.testing.assert_array_equal(means * 2 ** MEAN_BITS, np.round(means * 2 ** MEAN_BITS))
    assert np.std(means) > 1  # the means really vary
    np.testing.assert_allclose(means, float_means.numpy(), atol=0.02 * np.abs(float_means.numpy()).max())


def test_a_scale_only_network_has_no_means():
    model = make_tiny_model()
    y, z_hat, _ = model.analyze(photo(64, 64), np.int32(0))
    indexes, means = model.integer_hyper.scales_and_means(z_hat.numpy(), tuple(y.shape[1:3]))
    assert means is None
    np.testing.assert_array_equal(model.hyper_parameters(z_hat.numpy(), tuple(y.shape[1:3]))[1], 0)


@pytest.mark.parametrize("level", [0, 3])
def test_decoding_uses_the_encoders_means(level):
    model = _mean_scale_model()
    image = photo(75, 50)
    coded = model.code_image(image, level)
    assert np.std(coded.means) > 1
    picture, indexes = model.decompress(coded.side, coded.string, level, 75, 50)
    np.testing.assert_array_equal(indexes, coded.indexes)
    np.testing.assert_array_equal(picture, model.reconstruct(image, level))
    # The means are part of the code: without them the same symbols give another picture.
    without = model.reconstruct_latent(coded.y, np.zeros_like(coded.means), model.gain_vectors(level)[1],
                                       np.array([50, 75], np.int32)).numpy()
    assert not np.array_equal(without, picture)


def test_training_reaches_the_mean_channels():
    import tensorflow as tf

    model = _mean_scale_model()
    x = np.stack([photo(64, 64, (100 + 10 * i, 100)) for i in range(2)])
    last = model.hyper_synthesis_transform.layers[-1]
    with tf.GradientTape() as tape:
        loss = model(x, training=True)[0]
    grad = tape.gradient(loss, last.kernel_parameter).numpy()
    m = model.config.latent_channels
    assert np.isfinite(float(loss))
    assert np.abs(grad[..., m:]).sum() > 0 and np.abs(grad[..., :m]).sum() > 0


def test_export_and_load_keep_the_means(tmp_path):
    from neuralav.plugins.vae.weights import export_weights, load_model

    model = _mean_scale_model()
    sha = export_weights(model, tmp_path / "ms.npz")
    with np.load(tmp_path / "ms.npz") as arrays:
        assert bool(arrays["config/mean_scale"]) and int(arrays["int_hyper/mean_channels"]) == 8
    loaded = load_model(tmp_path / "ms.npz", expected_sha256=sha)
    assert loaded.config.mean_scale and loaded.integer_hyper.mean_channels == 8
    image = photo(90, 70)
    assert loaded.compress(image, 1)[:2] == model.compress(image, 1)[:2]


def test_files_without_the_mean_scale_field_load_as_scale_only(tmp_path):
    from neuralav.plugins.vae.weights import export_weights, load_model

    export_weights(make_tiny_model(), tmp_path / "new.npz")
    with np.load(tmp_path / "new.npz") as data:
        arrays = {k: data[k] for k in data.files if k != "config/mean_scale"}
    np.savez(tmp_path / "old.npz", **arrays)
    loaded = load_model(tmp_path / "old.npz")
    assert not loaded.config.mean_scale and loaded.integer_hyper.mean_channels == 0


def test_a_scale_only_file_starts_a_mean_scale_model_as_the_same_codec(tmp_path):
    """Training a mean-scale model from shipped scale-only weights starts from their codec:
    zero mean weights, so the same bitstream and picture."""
    from neuralav.plugins.vae.config import ArchConfig
    from neuralav.plugins.vae.model import VAEModel
    from neuralav.plugins.vae.weights import export_weights, load_weights_into

    source = make_tiny_model()
    export_weights(source, tmp_path / "scale.npz")
    model = VAEModel(ArchConfig.tiny(mean_scale=True), source.lmbdas)
    load_weights_into(model, tmp_path / "scale.npz")
    model.make_coder()
    image = photo(80, 64)
    coded, expected = model.code_image(image, 2), source.code_image(image, 2)
    np.testing.assert_array_equal(coded.means, 0)
    assert (coded.side, coded.string) == (expected.side, expected.string)
    np.testing.assert_array_equal(model.reconstruct(image, 2), source.reconstruct(image, 2))


def test_refinement_optimises_a_mean_scale_model_and_still_decodes():
    from neuralav.plugins.vae.refine import refine_latents

    model = _mean_scale_model()
    image = photo(53, 37)
    log_gain, log_inverse_gain = model.gain_vectors(1)
    y, z = refine_latents(model, image, log_gain, log_inverse_gain, model.lmbdas[1], iterations=4)
    coded = model.code_latents(*model.code_hyper_latent(y, z))
    picture, indexes = model.decompress(coded.side, coded.string, 1, 53, 37)
    np.testing.assert_array_equal(indexes, coded.indexes)
    expected = model.reconstruct_latent(coded.y, coded.means, log_inverse_gain, np.array([37, 53], np.int32))
    np.testing.assert_array_equal(picture, expected.numpy())
