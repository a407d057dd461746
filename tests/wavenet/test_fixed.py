"""The fixed-point synthesis (``plugins/wavenet/fixed.py``): exact streaming, close to the float model."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow_compression")

from neuralav.plugins.wavenet import fixed  # noqa: E402
from neuralav.plugins.wavenet.model import CONFIGS, WavenetModel  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return WavenetModel(CONFIGS["tiny"], seed=3)


def _latent(frames: int, seed: int = 0) -> np.ndarray:
    return np.round(np.random.default_rng(seed).normal(0.0, 3.0, (2, frames, CONFIGS["tiny"].latent_channels)))


def test_any_split_of_the_stream_gives_the_same_bits(model):
    synthesis = fixed.FixedSynthesis(model.weights(), model.config)
    y = _latent(57)
    whole, _ = synthesis(y, 1, synthesis.zero_state(2))
    for piece in (1, 3, 10, 26):
        state, parts = synthesis.zero_state(2), []
        for start in range(0, y.shape[1], piece):
            x, state = synthesis(y[:, start:start + piece], 1, state)
            parts.append(x)
        assert np.array_equal(np.concatenate(parts, axis=1), whole), f"pieces of {piece} frames differ"


def test_one_channel_decodes_the_same_alone_as_in_a_batch(model):
    synthesis = fixed.FixedSynthesis(model.weights(), model.config)
    y = _latent(20)
    both, _ = synthesis(y, 0, synthesis.zero_state(2))
    alone, _ = synthesis(y[1:], 0, synthesis.zero_state(1))
    assert np.array_equal(both[1:], alone)


def test_matches_the_float_synthesis_far_beyond_codec_error(model):
    synthesis = fixed.FixedSynthesis(model.weights(), model.config)
    y = _latent(30)
    for level in range(model.config.levels):
        ours, _ = synthesis(y, level, synthesis.zero_state(2))
        theirs, _ = model.synthesis((y * model.inverse_gain(level).numpy()).astype(np.float32),
                                    model.zero_state("synthesis", 2))
        theirs = theirs.numpy()[..., 0]
        snr = 10 * np.log10(np.sum(theirs ** 2) / np.sum((ours - theirs) ** 2))
        assert snr > 60, f"level {level}: fixed point is {snr:.1f} dB from float"


def test_exp_is_accurate_and_independent_of_array_layout():
    u = -np.abs(np.random.default_rng(1).normal(0.0, 6.0, 10001))
    got = fixed.exp_nonpositive(u)
    np.testing.assert_allclose(got, np.exp(u), rtol=1e-10, atol=1e-26)
    for offset, length in ((1, 7), (3, 1000), (5, 4099)):
        assert np.array_equal(fixed.exp_nonpositive(u[offset:offset + length].copy()), got[offset:offset + length])
    assert np.array_equal(fixed.exp_nonpositive(u[::3]), got[::3])


def test_weights_too_large_for_exact_float64_are_refused(model):
    weights = model.weights()
    weights["dec/s0/b0/gate_b"] = np.full_like(weights["dec/s0/b0/gate_b"], 1e12)
    with pytest.raises(ValueError, match="dec/s0/b0/gate.*2\\*\\*53"):
        fixed.FixedSynthesis(weights, model.config)


def test_float32_exp_is_accurate_and_independent_of_array_layout():
    u = -np.concatenate([np.linspace(0.0, 1.0, 20001), np.linspace(1.0, 60.0, 20001)]).astype(np.float32)
    got = fixed.exp_nonpositive(u)
    assert got.dtype == np.float32
    exact = np.exp(u.astype(np.float64))
    relative = np.abs(got / exact - 1)
    assert relative[:20001].max() < 1.5e-6 and relative.max() < 4e-6 and np.abs(got - exact).max() < 1e-6
    for offset, length in ((1, 7), (3, 1000), (5, 4099)):
        assert np.array_equal(fixed.exp_nonpositive(u[offset:offset + length].copy()), got[offset:offset + length])
    assert np.array_equal(fixed.exp_nonpositive(u[::3]), got[::3])
    assert np.array_equal(fixed.exp_nonpositive(u[:40000].reshape(4, -1, 8)).ravel(), got[:40000])


def _stream(synthesis, y, piece):
    state, parts = synthesis.zero_state(y.shape[0]), []
    for start in range(0, y.shape[1], piece):
        x, state = synthesis(y[:, start:start + piece], 1, state)
        parts.append(x)
    return np.concatenate(parts, axis=1)


@pytest.mark.parametrize("frames", [41, 8, 3])
def test_the_two_thread_split_gives_the_bits_of_one_thread(model, monkeypatch, frames):
    monkeypatch.setattr(fixed, "CHUNK_FRAMES", 4)  # several chunks in each half
    synthesis = fixed.FixedSynthesis(model.weights(), model.config)
    y = _latent(frames)
    monkeypatch.setattr(fixed, "PIPELINE", False)
    serial = _stream(synthesis, y, frames)
    monkeypatch.setattr(fixed, "PIPELINE", True)
    calls = []
    split = synthesis._split_tail
    monkeypatch.setattr(synthesis, "_split_tail", lambda h, state: calls.append(h.shape[1]) or split(h, state))
    assert np.array_equal(_stream(synthesis, y, frames), serial)
    assert np.array_equal(_stream(synthesis, y, 13), serial)
    long_enough = fixed.SPLIT_FIELDS * synthesis.tail_field
    assert (max(calls) >= long_enough) == (frames * model.config.strides[-1] >= long_enough)


def test_the_tail_forgets_any_state_within_its_receptive_field(model):
    # What the split rests on: from any state at all, the tail's output is exact from
    # `tail_field` input samples on (the second half starts from zeros).
    synthesis = fixed.FixedSynthesis(model.weights(), model.config)
    y = _latent(30)
    head, _ = synthesis._head(y, 1, synthesis.zero_state(2)[:synthesis._head_states])
    exact, exact_state = synthesis._tail(head, synthesis._tail_zero_state(2))
    field, hop = synthesis.tail_field, synthesis._tail_hop
    start = 37
    rng = np.random.default_rng(5)
    for garbage in ([np.zeros_like(s) for s in exact_state],
                    [np.round(rng.normal(0.0, 2.0 ** 22, s.shape)) for s in exact_state]):
        x, state = synthesis._tail(head[:, start - field:], garbage)
        assert np.array_equal(x[:, field * hop:], exact[:, start * hop:])
        assert all(np.array_equal(a, b) for a, b in zip(state, exact_state))
    # and the field is needed: a warm-up some samples shorter gives other samples
    x, _ = synthesis._tail(head[:, start - field + 3:], [np.round(rng.normal(0.0, 2.0 ** 22, s.shape))
                                                         for s in exact_state])
    assert not np.array_equal(x[:, (field - 3) * hop:], exact[:, start * hop:])


def _decode_in_child(queue, weights, config, y):
    synthesis = fixed.FixedSynthesis(weights, config)
    queue.put(_stream(synthesis, y, 41))


def test_a_forked_child_decodes_with_its_own_worker_thread(model, monkeypatch):
    import multiprocessing

    monkeypatch.setattr(fixed, "CHUNK_FRAMES", 4)
    monkeypatch.setattr(fixed, "PIPELINE", True)
    synthesis = fixed.FixedSynthesis(model.weights(), model.config)
    y = _latent(41)
    assert 41 * model.config.strides[-1] >= fixed.SPLIT_FIELDS * synthesis.tail_field  # the tail splits
    expected = _stream(synthesis, y, 41)  # the parent's worker thread now exists
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_decode_in_child, args=(queue, model.weights(), model.config, y))
    child.start()
    try:
        got = queue.get(timeout=30)  # a child waiting on its parent's (absent) thread never answers
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
    assert np.array_equal(got, expected)
