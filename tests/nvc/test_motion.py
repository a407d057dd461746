"""Block motion: integer compensation, the encoder's search, vector prediction."""

from __future__ import annotations

import numpy as np
import pytest

from neuralav.plugins.nvc import motion

from .conftest import clip


def _upsampled_gather(reference, vectors):
    """Compensation the slow way: the whole upsampled plane, then a gather."""
    height, width = reference.shape[:2]
    up = motion.upsample(reference)
    v = np.asarray(vectors, np.int64)
    rows, cols = np.arange(height), np.arange(width)
    block_rows = np.minimum(rows // motion.BLOCK, v.shape[0] - 1)
    block_cols = np.minimum(cols // motion.BLOCK, v.shape[1] - 1)
    r = np.clip(motion.SUBPEL * rows[:, None] + v[block_rows][:, block_cols, 0], 0, up.shape[0] - 1)
    c = np.clip(motion.SUBPEL * cols[None, :] + v[block_rows][:, block_cols, 1], 0, up.shape[1] - 1)
    return up[r, c].astype(np.uint8)


@pytest.mark.parametrize("shape", [(288, 352), (37, 53), (16, 16), (1, 1)])
def test_compensation_equals_the_upsampled_reference_at_every_vector(shape):
    rng = np.random.default_rng(sum(shape))
    reference = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
    vectors = rng.integers(-300, 300, motion.field_shape(*shape) + (2,))
    assert np.array_equal(motion.compensate(reference, vectors), _upsampled_gather(reference, vectors))


def test_zero_vectors_predict_the_reference_itself():
    (frame,) = clip(1)
    zero = np.zeros(motion.field_shape(*frame.shape[:2]) + (2,), np.int64)
    assert np.array_equal(motion.compensate(frame, zero), frame)


def test_half_pel_is_the_rounded_mean_of_two_pixels():
    reference = np.array([[[10, 0, 255], [13, 1, 0]]], np.uint8)  # 1 x 2
    vectors = np.array([[[0, 2]]])  # half a pixel to the right
    prediction = motion.compensate(reference, vectors)
    assert prediction[0, 0].tolist() == [12, 1, 128]  # (10+13+1)//2, (0+1+1)//2, (255+0+1)//2
    assert prediction[0, 1].tolist() == [13, 1, 0]  # beyond the edge: the edge sample


def test_search_finds_a_camera_pan_on_real_footage():
    (frame,) = clip(1)
    reference = frame[8:280, 8:344]
    current = frame[5:277, 11:347]  # the camera moved: content shifted by (+3, -3) px
    vectors = motion.search(current, reference)
    inner = vectors[1:-1, 1:-1].reshape(-1, 2)
    pan = np.array([-3 * motion.SUBPEL, 3 * motion.SUBPEL])
    values, counts = np.unique(inner, axis=0, return_counts=True)
    assert values[np.argmax(counts)].tolist() == pan.tolist()
    # Sub-pel neighbours of the pan may win where interpolation smooths the source's coding
    # noise, and any vector fits a flat wall: what must hold is the prediction.
    near = np.mean(np.abs(inner - pan).max(axis=1) <= 1)
    assert near > 0.5, near
    prediction = motion.compensate(reference, vectors)
    error = np.abs(prediction[16:-16, 16:-16].astype(int) - current[16:-16, 16:-16]).mean()
    assert error < 2.5


def test_search_beats_the_zero_vector_on_consecutive_frames():
    previous, current = clip(2, start=20)
    prediction = motion.compensate(previous, motion.search(current, previous))
    mse = np.mean((prediction.astype(float) - current) ** 2)
    still = np.mean((previous.astype(float) - current) ** 2)
    assert mse < 0.7 * still


def test_vector_differences_invert_and_refuse_impossible_vectors():
    rng = np.random.default_rng(1)
    vectors = rng.integers(-64, 64, (5, 7, 2))
    differences = motion.vector_differences(vectors)
    assert np.array_equal(motion.vectors_from_differences(differences), vectors)
    smooth = np.tile(np.array([4, -8]), (5, 7, 1))
    assert np.count_nonzero(motion.vector_differences(smooth)) == 2  # only the first block
    huge = np.zeros((2, 2, 2), np.int64)
    huge[1, 1] = (10 ** 6, 0)
    with pytest.raises(ValueError, match="beyond"):
        motion.vectors_from_differences(huge)


def test_the_vector_rate_pass_trades_sad_for_fewer_vector_bits():
    previous, current = clip(2, start=20)
    plain = motion.search(current, previous)
    smooth = motion.search(current, previous, bits_cost=25.0)

    def cost(vectors):
        sad = np.abs(motion.luma(motion.compensate(previous, vectors)) - motion.luma(current)).sum()
        return sad, motion.vector_bits(motion.vector_differences(vectors)).sum()

    (sad_plain, bits_plain), (sad_smooth, bits_smooth) = cost(plain), cost(smooth)
    assert bits_smooth < 0.8 * bits_plain
    assert sad_smooth + 25.0 * bits_smooth < sad_plain + 25.0 * bits_plain
