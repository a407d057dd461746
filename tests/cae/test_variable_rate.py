"""The `cae` variable-rate model: its scaled prior, its table grid and its real bitstreams."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow_compression")

from .conftest import make_tiny_variable_rate_model  # noqa: E402


def image(seed=0, height=40, width=56):
    """A smooth-ish test picture (random at 1/8 resolution, upsampled), HxWx3 uint8."""
    coarse = np.random.default_rng(seed).integers(0, 256, (height // 8 + 1, width // 8 + 1, 3))
    return np.repeat(np.repeat(coarse, 8, 0), 8, 1)[:height, :width].astype(np.uint8)


@pytest.mark.parametrize("log_gain", [-2.0, 0.0, 1.5, 3.0])
def test_the_symbol_probabilities_at_any_gain_sum_to_one(log_gain):
    """The rate at gain g is the prior's mass on each quantization cell of width 1/g: over
    all integers it sums to 1 (to the mass beyond a generous range)."""
    import tensorflow as tf

    model = make_tiny_variable_rate_model()
    symbols = np.arange(-4000, 4001, dtype=np.float32)[:, None].repeat(model.config.latent_channels, 1)
    gains = tf.fill((model.config.latent_channels,), log_gain)
    total = model.likelihood(tf.constant(symbols), gains).numpy().sum(axis=0)
    assert np.allclose(total, 1.0, atol=1e-3)


def test_every_grid_point_codes_a_real_bitstream_that_decodes_to_the_encoder_picture():
    model = make_tiny_variable_rate_model()
    picture = image()
    sizes = []
    for index in (0, 1, 17, model.num_grid_points - 1):
        string, shape = model.compress(picture, index)
        assert shape == (3, 4)
        decoded = model.decompress(string, shape, index, picture.shape[1], picture.shape[0])
        assert np.array_equal(decoded, model.reconstruct(picture, index))
        sizes.append(len(string))
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_grid_points_are_eighths_of_a_quality_and_outside_positions_are_refused():
    model = make_tiny_variable_rate_model()
    assert model.num_grid_points == 57 and model.quality_step == 0.125
    assert [model.grid_index(p) for p in (0, 2.3, 2.3125, 7)] == [0, 18, 18, 56]
    for bad in (-0.01, 7.01):
        with pytest.raises(ValueError, match="outside"):
            model.grid_index(bad)
    with pytest.raises(ValueError, match="outside"):
        model.grid_gains(57)
    log_gain, log_inverse_gain = model.grid_gains(20)  # position 2.5: halfway in log
    rows = model.log_gain.numpy()
    assert np.allclose(log_gain, (rows[2] + rows[3]) / 2) and log_gain.dtype == np.float32


def test_exported_weights_load_to_the_same_codec_with_compact_tables(tmp_path):
    from neuralav.plugins.cae.weights import export_weights, load_model

    model = make_tiny_variable_rate_model()
    export_weights(model, tmp_path / "vr.npz")
    with np.load(tmp_path / "vr.npz") as arrays:
        assert arrays["coder/cdf"].dtype == np.int16
        assert arrays["coder/cdf_start"].shape == (58,)
        assert str(arrays["format"]) == "neuralav-cae-variable-rate-weights-v1"
    loaded = load_model(tmp_path / "vr.npz")
    picture = image(1)
    for index in (3, 40):
        assert loaded.compress(picture, index) == model.compress(picture, index)


def test_tables_that_do_not_fit_the_model_are_refused():
    model = make_tiny_variable_rate_model()
    tables = model.coder_tables()
    tables["cdf_start"] = tables["cdf_start"][:-1]
    with pytest.raises(ValueError, match="grid points"):
        model.make_coder(tables)
    model.make_coder(model.coder_tables())  # restores the cached model


def test_a_one_level_file_gives_the_transforms_and_the_prior(tmp_path):
    import tensorflow as tf

    from neuralav.plugins.cae.config import ArchConfig
    from neuralav.plugins.cae.model import CAEModel
    from neuralav.plugins.cae.variable_rate import VariableRateCAE
    from neuralav.plugins.cae.weights import export_weights, load_weights_into

    tf.keras.utils.set_random_seed(5)
    level = CAEModel(ArchConfig.tiny())
    export_weights(level, tmp_path / "q3.npz")
    model = VariableRateCAE(ArchConfig.tiny(), (0.005, 0.01, 0.02))
    load_weights_into(model, tmp_path / "q3.npz")
    theirs = level.named_weights()
    for name, weight in model.named_weights().items():
        if name.startswith("gain/"):
            continue
        assert np.array_equal(weight.numpy(), theirs[name].numpy()), name
    # the file's λ (0.01) is row 1 at gain 1; steps scale as 1/sqrt(λ)
    assert np.allclose(model.log_gain.numpy(), np.log([[0.5 ** 0.5], [1.0], [2 ** 0.5]]) * np.ones((3, 8)))
    assert np.allclose(model.log_inverse_gain.numpy(), -model.log_gain.numpy())
    # so at the file's λ it sees the file's latent (the one-level coder adds its median offsets)
    picture = image(2)
    padded = np.pad(picture, ((0, 8), (0, 8), (0, 0)), mode="edge")[None].astype(np.float32)
    expected = level.analysis_transform(padded).numpy()
    assert np.allclose(model.analyze(picture, model.grid_gains(8)[0]).numpy(), expected, atol=1e-5)
