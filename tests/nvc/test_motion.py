"""Block motion: integer compensation, the encoder's search, vector prediction."""

from __future__ import annotations

import numpy as np
import pytest

from neuralav.plugins.nvc import motion

from .conftest import clip


def _sample(up, vectors, block_rows, block_cols):
    """Per pixel, the upsampled plane at the pixel displaced by its block's vector."""
    height, width = len(block_rows), len(block_cols)
    v = np.asarray(vectors, np.int64)[block_rows][:, block_cols]
    r = np.clip(motion.SUBPEL * np.arange(height)[:, None] + v[..., 0], 0, up.shape[0] - 1)
    c = np.clip(motion.SUBPEL * np.arange(width)[None, :] + v[..., 1], 0, up.shape[1] - 1)
    return up[r, c].astype(np.int64)


def _axis(size, count):
    """Per pixel along one axis: own block, nearer neighbour block, own weight (/32)."""
    p = np.arange(size)
    own = p // motion.BLOCK
    u = p % motion.BLOCK
    neighbour = np.where(u < motion.BLOCK // 2, own - 1, own + 1)
    weight = np.where((neighbour < 0) | (neighbour >= count), 32, motion.WINDOW[u])
    return own, np.clip(neighbour, 0, count - 1), weight


def _slow_compensation(reference, vectors):
    """Compensation the slow way: the whole upsampled plane, four gathers, blended per pixel."""
    height, width = reference.shape[:2]
    up = motion.upsample(reference)
    rows = _axis(height, vectors.shape[0])
    cols = _axis(width, vectors.shape[1])
    total = np.zeros(reference.shape, np.int64)
    for block_rows, wy in ((rows[0], rows[2]), (rows[1], 32 - rows[2])):
        for block_cols, wx in ((cols[0], cols[2]), (cols[1], 32 - cols[2])):
            total += (wy[:, None] * wx[None, :])[..., None] * _sample(up, vectors, block_rows, block_cols)
    return ((total + 512) >> 10).astype(np.uint8)


@pytest.mark.parametrize("shape", [(288, 352), (37, 53), (16, 16), (1, 1)])
def test_compensation_equals_the_blend_of_upsampled_gathers(shape):
    rng = np.random.default_rng(sum(shape))
    reference = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
    for reach in (300, 9):  # far outside the frame; near, with many sub-pel phases
        vectors = rng.integers(-reach, reach, motion.field_shape(*shape) + (2,))
        assert np.array_equal(motion.compensate(reference, vectors), _slow_compensation(reference, vectors))


def test_one_vector_everywhere_is_a_plain_shift_of_the_upsampled_reference():
    (frame,) = clip(1)
    vectors = np.broadcast_to(np.array([-5, 6]), motion.field_shape(*frame.shape[:2]) + (2,))
    rows, cols = np.zeros(frame.shape[0], np.int64), np.zeros(frame.shape[1], np.int64)
    gathered = _sample(motion.upsample(frame), vectors, rows, cols)
    assert np.array_equal(motion.compensate(frame, vectors), gathered.astype(np.uint8))


def test_neighbouring_predictions_blend_across_block_edges():
    """OBMC: each vector predicts OVERLAP // 2 pixels into its neighbour, with weights summing to one."""
    assert np.all(motion.WINDOW[: motion.BLOCK // 2] + motion.WINDOW[::-1][: motion.BLOCK // 2] >= 32)
    assert np.array_equal(motion.WINDOW[: motion.BLOCK // 2][::-1], motion.WINDOW[motion.BLOCK // 2:])
    reference = np.zeros((16, 32, 3), np.uint8)
    reference[:, 16:] = 200  # left half dark, right half bright
    vectors = np.array([[[0, 0], [0, -64]]])  # the right block looks 16 px left, at the dark half
    prediction = motion.compensate(reference, vectors)[0, :, 0].astype(int)
    band = motion.OVERLAP // 2
    # Both vectors see the dark half everywhere except the left block's vector on the right
    # block's first `band` columns, which it still predicts, with a weight falling off.
    assert np.all(prediction[:16] == 0) and np.all(prediction[16 + band:] == 0)
    expected = (200 * 32 * (32 - motion.WINDOW[:band]) + 512) >> 10
    assert prediction[16:16 + band].tolist() == expected.tolist() == [88, 63, 38, 13]


def test_zero_vectors_predict_the_reference_itself():
    (frame,) = clip(1)
    zero = np.zeros(motion.field_shape(*frame.shape[:2]) + (2,), np.int64)
    assert np.array_equal(motion.compensate(frame, zero), frame)


def test_half_pel_between_two_pixels_is_their_rounded_mean():
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
