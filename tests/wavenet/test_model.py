"""``wavenet`` model: weights of one architecture start another that drops WaveNet blocks; coding tables."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("tensorflow_compression")


def _tiny(**changes):
    from neuralav.plugins.wavenet.model import CONFIGS

    return dataclasses.replace(CONFIGS["tiny"], **changes)


def test_a_model_without_a_dilation_takes_the_stored_blocks_of_the_others():
    from neuralav.plugins.wavenet.model import WavenetModel, weights_for_config

    stored, lean = _tiny(dilations=(1, 2, 4)), _tiny(dilations=(1, 4))
    arrays = WavenetModel(stored, seed=1).weights()
    model = WavenetModel(lean, seed=2)
    model.load_weights(weights_for_config(arrays, stored, lean))
    loaded = model.weights()
    assert set(loaded) == set(weights_for_config(arrays, stored, lean))
    np.testing.assert_array_equal(loaded["dec/s1/b1/gate_w"], arrays["dec/s1/b2/gate_w"])  # dilation 4
    np.testing.assert_array_equal(loaded["enc/s0/b0/mix_w"], arrays["enc/s0/b0/mix_w"])  # dilation 1
    np.testing.assert_array_equal(loaded["dec/s2/up_w"], arrays["dec/s2/up_w"])
    assert not any("/b2/" in name for name in loaded)


def test_weights_of_the_same_architecture_pass_unchanged():
    from neuralav.plugins.wavenet.model import WavenetModel, weights_for_config

    config = _tiny()
    arrays = WavenetModel(config).weights()
    assert weights_for_config(arrays, config, config) is arrays


@pytest.mark.parametrize("changes", [{"dilations": (1, 8)}, {"dilations": (2, 1)}, {"latent_channels": 8}])
def test_other_differences_are_refused(changes):
    from neuralav.plugins.wavenet.model import WavenetModel, weights_for_config

    stored = _tiny()
    with pytest.raises(ValueError, match="only dropping dilations"):
        weights_for_config(WavenetModel(stored).weights(), stored, _tiny(**changes))


def test_blocks_of_a_model_that_repeats_a_dilation_are_not_matched():
    from neuralav.plugins.wavenet.model import WavenetModel, weights_for_config

    stored = _tiny(dilations=(1, 1, 2))
    with pytest.raises(ValueError, match="repeats a dilation"):
        weights_for_config(WavenetModel(stored).weights(), stored, _tiny(dilations=(1, 2)))


def test_coding_tables_are_those_of_tfcs_entropy_model():
    """The tables built in a graph equal tfc's eager ones bit for bit (the codec codes with them)."""
    import tensorflow_compression as tfc

    from neuralav.plugins.wavenet.model import CONFIGS, WavenetModel

    model = WavenetModel(CONFIGS["tiny"])
    rng = np.random.default_rng(5)
    for variable in model.priors[1].trainable_variables:  # away from the initial prior
        variable.assign(variable + rng.normal(0.0, 0.3, variable.shape).astype(np.float32))
    eager = tfc.ContinuousBatchedEntropyModel(model.priors[1], coding_rank=2, compression=True,
                                              stateless=True, offset_heuristic=False)
    tables = model.coding_tables(1)
    np.testing.assert_array_equal(tables["cdf"], eager.cdf.numpy())
    np.testing.assert_array_equal(tables["cdf_offset"], eager.cdf_offset.numpy())
