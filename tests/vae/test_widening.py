"""Widening: a narrower model's file starts a wider model (more N, M) as the same codec.

The campaign to raise the top of the quality range needs more channels than the shipped
model has (its transforms' own ceiling, without quantization, is the top of its range);
training the wider model from the shipped one must not start from scratch.
"""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import make_tiny_model, photo


def _wider(tmp_path, mean_scale: bool, source_mean_scale: bool = False):
    from neuralav.plugins.vae.config import ArchConfig
    from neuralav.plugins.vae.model import VAEModel
    from neuralav.plugins.vae.weights import export_weights, load_weights_into

    source = make_tiny_model(mean_scale=source_mean_scale)
    export_weights(source, tmp_path / "narrow.npz")
    config = ArchConfig(num_filters=12, latent_channels=16, hyper_filters=8, mean_scale=mean_scale)
    model = VAEModel(config, source.lmbdas)
    load_weights_into(model, tmp_path / "narrow.npz")
    model.make_coder()
    return source, model


@pytest.mark.parametrize("mean_scale,source_mean_scale", [(False, False), (True, False), (True, True)])
def test_a_wider_model_starts_with_the_narrow_models_picture(tmp_path, mean_scale, source_mean_scale):
    source, model = _wider(tmp_path, mean_scale, source_mean_scale)
    image = photo(96, 80)
    for level in (0, 3):
        expected, actual = source.reconstruct(image, level), model.reconstruct(image, level)
        assert np.abs(expected.astype(int) - actual).max() <= 1  # float sums over more (zero) terms
        assert np.mean(expected == actual) > 0.99
        # The old latent channels are the narrow model's; the new ones are really computed.
        narrow_y = source.analyze(image, np.int32(level))[0].numpy()
        wide_y = model.analyze(image, np.int32(level))[0].numpy()
        np.testing.assert_allclose(wide_y[..., :8], narrow_y, rtol=1e-4, atol=1e-3)
        assert np.abs(wide_y[..., 8:]).max() > 0.1
    # And it codes: the decoder reproduces the encoder's picture.
    side, string, indexes = model.compress(image, 2)
    picture, decoded = model.decompress(side, string, 2, 96, 80)
    np.testing.assert_array_equal(decoded, indexes)
    np.testing.assert_array_equal(picture, model.reconstruct(image, 2))


def test_the_new_channels_get_gradients(tmp_path):
    import tensorflow as tf

    _, model = _wider(tmp_path, mean_scale=False)
    x = np.stack([photo(64, 64, (100 + 10 * i, 100)) for i in range(2)])
    synthesis_in = model.synthesis_transform.layers[0].kernel_parameter.variables
    with tf.GradientTape() as tape:
        loss = model(x, training=True)[0]
    grads = tape.gradient(loss, synthesis_in)
    # the synthesis' weights on the new latent channels (zero at the start) move
    assert any(np.abs(tf.convert_to_tensor(g).numpy()[8:]).sum() > 0 for g in grads)


def test_a_narrower_model_cannot_take_a_wider_file(tmp_path):
    from neuralav.plugins.vae.config import ArchConfig
    from neuralav.plugins.vae.model import VAEModel
    from neuralav.plugins.vae.weights import load_weights_into, export_weights

    _, wide = _wider(tmp_path, mean_scale=False)
    export_weights(wide, tmp_path / "wide.npz")
    with pytest.raises(ValueError, match="does not fit"):
        load_weights_into(VAEModel(ArchConfig.tiny(), wide.lmbdas), tmp_path / "wide.npz")
