"""The VAE model: shapes, loss, gain units, coding round trip and the weights file."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import make_tiny_model, photo


@pytest.mark.parametrize("width,height", [(1, 1), (17, 33), (64, 64), (130, 67), (200, 129)])
def test_latent_shapes_match_the_transforms(width, height):
    from neuralav.plugins.vae.model import latent_shapes

    model = make_tiny_model()
    y, z_hat, _ = model.analyze(np.zeros((height, width, 3), np.uint8), np.int32(0))
    assert latent_shapes(width, height) == (tuple(y.shape[1:3]), tuple(z_hat.shape[:2]))


def test_training_loss_is_finite_and_trains_each_crop_at_its_level():
    import tensorflow as tf

    model = make_tiny_model()
    x = np.stack([photo(64, 64, (100 + 10 * i, 100)) for i in range(4)])
    loss, bpp, mse, side_bpp = (float(v) for v in model(x, training=True))
    assert all(np.isfinite([loss, bpp, mse, side_bpp])) and 0 < side_bpp < bpp
    with tf.GradientTape() as tape:
        loss = model(x, training=True)[0]
    grads = tf.convert_to_tensor(tape.gradient(loss, [model.log_gain])[0]).numpy()
    assert np.all(np.abs(grads).sum(axis=1) > 0)  # every level's gain row gets a gradient


def test_initial_gains_grow_with_lambda():
    model = make_tiny_model()
    gains = model.log_gain.numpy()[:, 0]
    assert list(gains) == sorted(gains) and gains[0] < gains[-1]
    np.testing.assert_allclose(model.log_inverse_gain.numpy(), -model.log_gain.numpy())


def test_lambdas_must_be_positive_and_ascending():
    from neuralav.plugins.vae.config import ArchConfig
    from neuralav.plugins.vae.model import VAEModel

    with pytest.raises(ValueError, match="lmbdas"):
        VAEModel(ArchConfig.tiny(), (0.02, 0.01))


@pytest.mark.parametrize("level", [0, 3])
def test_decompress_uses_the_encoder_indexes_and_reproduces_its_picture(level):
    model = make_tiny_model()
    image = photo(75, 50)
    side, string, indexes = model.compress(image, level)
    assert len(np.unique(indexes)) >= 5
    picture, decoded_indexes = model.decompress(side, string, level, 75, 50)
    np.testing.assert_array_equal(decoded_indexes, indexes)
    np.testing.assert_array_equal(picture, model.reconstruct(image, level))
    assert picture.shape == (50, 75, 3) and picture.dtype == np.uint8


def test_compress_and_reconstruct_gives_the_payload_and_picture_of_compress_and_reconstruct():
    model = make_tiny_model()
    image = photo(75, 50)
    side, string, picture = model.compress_and_reconstruct(image, 2)
    assert (side, string) == model.compress(image, 2)[:2]
    np.testing.assert_array_equal(picture, model.reconstruct(image, 2))


def test_higher_levels_spend_more_bits():
    model = make_tiny_model()
    image = photo(128, 96)
    sizes = [sum(map(len, model.compress(image, level)[:2])) for level in range(4)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_export_and_load_give_the_same_coder(tmp_path):
    from neuralav.plugins.vae.weights import export_weights, load_model

    model = make_tiny_model()
    sha = export_weights(model, tmp_path / "vae.npz")
    loaded = load_model(tmp_path / "vae.npz", expected_sha256=sha)
    assert loaded.config == model.config and loaded.lmbdas == model.lmbdas
    for name, table in model.coder_tables().items():
        np.testing.assert_array_equal(loaded.coder_tables()[name], table)
    image = photo(40, 30)
    assert loaded.compress(image, 1)[:2] == model.compress(image, 1)[:2]
    with pytest.raises(ValueError, match="sha256"):
        load_model(tmp_path / "vae.npz", expected_sha256="0" * 64)


def test_loading_weights_of_another_codec_is_a_clear_error(tmp_path):
    from neuralav.plugins.cae.config import ArchConfig
    from neuralav.plugins.cae.model import CAEModel
    from neuralav.plugins.cae.weights import export_weights as export_cae
    from neuralav.plugins.vae.weights import load_model

    export_cae(CAEModel(ArchConfig.tiny()), tmp_path / "cae.npz")
    with pytest.raises(ValueError, match="neuralav-vae-weights-v1"):
        load_model(tmp_path / "cae.npz")


def test_training_can_start_from_the_transforms_of_a_cae_file(tmp_path):
    import tensorflow as tf

    from neuralav.plugins.cae.config import ArchConfig as CAEArch
    from neuralav.plugins.cae.model import CAEModel
    from neuralav.plugins.cae.weights import export_weights as export_cae
    from neuralav.plugins.vae.config import ArchConfig
    from neuralav.plugins.vae.model import VAEModel
    from neuralav.plugins.vae.weights import load_weights_into

    tf.keras.utils.set_random_seed(11)
    cae = CAEModel(CAEArch.tiny())
    export_cae(cae, tmp_path / "cae.npz")
    vae = VAEModel(ArchConfig.tiny(), (0.01, 0.02))
    before = {name: w.numpy().copy() for name, w in vae.named_weights().items()}
    load_weights_into(vae, tmp_path / "cae.npz")

    cae_weights = cae.named_weights()
    copied = [name for name in before if name.startswith(("analysis/", "synthesis/"))]
    assert copied and all(name in cae_weights for name in copied)
    for name, weight in vae.named_weights().items():
        if name in copied:
            np.testing.assert_array_equal(weight.numpy(), cae_weights[name].numpy())
        else:  # hyper transforms, hyperprior and gains keep their initialisation
            np.testing.assert_array_equal(weight.numpy(), before[name])
    assert any(not np.array_equal(before[name], cae_weights[name].numpy()) for name in copied)

    wider = VAEModel(ArchConfig(num_filters=8, latent_channels=16, hyper_filters=8), (0.01,))
    with pytest.raises(ValueError, match="wrong shape"):
        load_weights_into(wider, tmp_path / "cae.npz")
