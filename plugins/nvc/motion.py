"""Block motion: search (encoder), integer sub-pel compensation (both sides), vector prediction.

The ``nvc`` codec predicts a P-frame from the previous decoded frame with one motion
vector per ``BLOCK`` x ``BLOCK`` block, in 1/``SUBPEL`` pixel units:

- sub-pel samples come from H.265's 8-tap luma interpolation filters
  (:data:`INTERPOLATION_TAPS`), applied to each RGB channel, separably, in integers;
- overlapped block motion compensation (OBMC): each block's vector also predicts a band of
  ``OVERLAP // 2`` pixels into its neighbours, and the predictions are blended with
  trapezoid weights (:data:`WINDOW`) that sum to one everywhere, so the prediction has no
  seams at block edges, which a convolutional residual coder pays dearly for.

Everything is integer arithmetic with fixed rounding, so the encoder and any decoder build
the same prediction bit for bit on every machine. A sample displaced outside the reference
takes the nearest edge position (the reference is edge-extended, as in H.264).

The search is the encoder's business (any vectors decode): a coarse full search on
4x-downsampled luma, a full-pel refinement around it and around the zero vector, then
half- and quarter-pel refinement on the interpolated luma, each minimizing the luma SAD
plus a small cost per unit of vector length (so flat areas keep the zero vector, which
codes cheapest), then an optional rate pass (:func:`search`).

Shapes: frames H x W x 3 uint8 RGB; vector fields hb x wb x 2 int32 (dy, dx), with
hb = ceil(H / BLOCK), wb = ceil(W / BLOCK).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["BLOCK", "SUBPEL", "SEARCH_RANGE", "INTERPOLATION_TAPS", "OVERLAP", "WINDOW", "VECTOR_RATE_SCALE",
           "field_shape", "luma", "upsample", "compensate", "search", "vector_bits_cost", "predict_vectors",
           "vector_bits", "vector_differences", "vectors_from_differences"]

BLOCK = 16
"""Side of a motion block in pixels."""

SUBPEL = 4
"""Vectors are in 1/SUBPEL pixel (quarter-pel)."""

INTERPOLATION_TAPS = np.array([[0, 0, 0, 64, 0, 0, 0, 0],
                               [-1, 4, -10, 58, 17, -5, 1, 0],
                               [-1, 4, -11, 40, 40, -11, 4, -1],
                               [0, 1, -5, 17, 58, -10, 4, -1]], np.int64)
"""Row ``a``: the filter (/64) giving the sample ``a``/4 pixel after position 0 from positions
−3..+4: H.265's luma interpolation filter (ITU-T H.265, 8.5.3.3.3.1). Sharper than bilinear
interpolation, which blurs every sub-pel prediction."""

OVERLAP = 8
"""Width, in pixels, of the band across a block edge where two blocks' predictions blend."""

WINDOW = np.array([min(32, 16 + (2 * min(u, BLOCK - 1 - u) + 1) * 16 // OVERLAP) for u in range(BLOCK)], np.int64)
"""Weight (/32) of a block's own vector at offset ``u`` inside it, along one axis; the nearer
neighbour across the edge gets ``32 − WINDOW[u]``. 18, 22, 26, 30 at the edge, 32 inside."""

SEARCH_RANGE = 32
"""Largest full-pel displacement the search considers, in pixels, per axis."""

_MAX_VECTOR = 4 * SEARCH_RANGE * SUBPEL
"""Largest vector component (1/SUBPEL units) a decoder accepts: generous, bounds memory."""

VECTOR_RATE_SCALE = 0.7
"""Scale of :func:`vector_bits_cost`'s ``sqrt(3/λ)``: chosen by measurement on training video
(``weights/MODEL_CARD.md``). Below 1 because a better vector also helps the blocks whose
predictions overlap it (OBMC) and the next frames predicted from this one."""

_COARSE = 4


def field_shape(height: int, width: int) -> tuple[int, int]:
    """(hb, wb): blocks per column and per row of a height x width frame."""
    return -(-height // BLOCK), -(-width // BLOCK)


def luma(image: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 RGB -> H x W int32 luma (BT.601 weights, 0–255)."""
    rgb = image.astype(np.int32)
    return (77 * rgb[..., 0] + 150 * rgb[..., 1] + 29 * rgb[..., 2] + 128) >> 8


def upsample(plane: np.ndarray) -> np.ndarray:
    """The whole plane at every quarter-pel position (:data:`INTERPOLATION_TAPS`).

    Args:
        plane: H x W or H x W x C integer array, values 0–255.

    Returns:
        (SUBPEL·H) x (SUBPEL·W) [x C] int32: entry (4y + a, 4x + b) is the sample at
        (y + a/4, x + b/4), rounded and clipped to 0–255; taps beyond the edge repeat it.
        :func:`compensate` samples exactly these values.
    """
    p = np.asarray(plane, np.int32)
    planes = np.ascontiguousarray(p.reshape(p.shape[0], p.shape[1], -1))
    return _upsample(planes, INTERPOLATION_TAPS).reshape((SUBPEL * p.shape[0], SUBPEL * p.shape[1]) + p.shape[2:])


@numba.njit(cache=True)
def _upsample(planes, taps):
    """:func:`upsample` of H x W x C int32 planes: rows filtered first (exact), then columns."""
    height, width, channels = planes.shape
    rows = np.empty((height, SUBPEL * width, channels), np.int32)
    for y in range(height):
        for x in range(width):
            for b in range(SUBPEL):
                for k in range(channels):
                    if b == 0:  # the whole-pixel phase: the sample itself (tap 64)
                        rows[y, SUBPEL * x, k] = 64 * planes[y, x, k]
                        continue
                    total = 0
                    for t in range(8):
                        total += taps[b, t] * planes[y, min(max(x + t - 3, 0), width - 1), k]
                    rows[y, SUBPEL * x + b, k] = total
    out = np.empty((SUBPEL * height, SUBPEL * width, channels), np.int32)
    for y in range(height):
        for a in range(SUBPEL):
            for x in range(SUBPEL * width):
                for k in range(channels):
                    if a == 0:
                        total = 64 * rows[y, x, k]
                    else:
                        total = 0
                        for t in range(8):
                            total += taps[a, t] * rows[min(max(y + t - 3, 0), height - 1), x, k]
                    out[SUBPEL * y + a, x, k] = min(max((total + 2048) >> 12, 0), 255)
    return out


def compensate(reference: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """The motion-compensated prediction of a frame (OBMC over interpolated samples).

    Pixel (y, x) of block (i, j) blends, for the blocks ``i' ∈ {i, i±1}`` and
    ``j' ∈ {j, j±1}`` nearest to it, the sample of :func:`upsample` at
    ``(SUBPEL·y + dy, SUBPEL·x + dx)`` (clamped to the plane) for block (i', j')'s vector,
    weighted by :data:`WINDOW` along each axis (weights /1024, rounded). A block at the
    frame's edge keeps the whole weight on that side. The whole upsampled plane is never
    built: each block computes only the samples its window needs.

    Args:
        reference: H x W x 3 uint8, the previous decoded frame.
        vectors: hb x wb x 2 int (dy, dx) in 1/SUBPEL pixel.

    Returns:
        H x W x 3 uint8 prediction.
    """
    height, width = reference.shape[:2]
    if vectors.shape[:2] != field_shape(height, width) or vectors.shape[2:] != (2,):
        raise ValueError(f"vector field {vectors.shape} does not fit a {height} x {width} frame")
    planes = np.ascontiguousarray(reference.reshape(height, width, -1))
    return _compensate(planes, np.ascontiguousarray(vectors, np.int64), INTERPOLATION_TAPS,
                       WINDOW).reshape(reference.shape)


@numba.njit(cache=True)
def _axis_weight(p, block, count, window):
    """Weight (/32) along one axis of block `block` (of `count`) at pixel coordinate `p`."""
    k = p // BLOCK
    u = p - k * BLOCK
    side = -1 if u < BLOCK // 2 else 1
    if k == block:
        return 32 if (k + side < 0 or k + side >= count) else window[u]
    if k + side == block:
        return 32 - window[u]
    return 0


@numba.njit(cache=True)
def _compensate(reference, vectors, taps, window):
    """:func:`compensate` on H x W x C uint8 and hb x wb x 2 int64, block by block."""
    height, width, channels = reference.shape
    hb, wb = vectors.shape[0], vectors.shape[1]
    half = OVERLAP // 2
    span = BLOCK + 2 * half
    acc = np.zeros((height, width, channels), np.int64)
    rows = np.empty((span + 8, span, channels), np.int64)
    for i in range(hb):
        top, bottom = max(i * BLOCK - half, 0), min((i + 1) * BLOCK + half, height)
        for j in range(wb):
            left, right = max(j * BLOCK - half, 0), min((j + 1) * BLOCK + half, width)
            dy, dx = vectors[i, j, 0], vectors[i, j, 1]
            # Integer position and phase of every row and column of the window.
            first = min(max(SUBPEL * top + dy, 0), SUBPEL * height - 1) // SUBPEL
            last = min(max(SUBPEL * (bottom - 1) + dy, 0), SUBPEL * height - 1) // SUBPEL
            lo = max(first - 3, 0)
            hi = min(last + 4, height - 1)
            # 1. Rows lo..hi of the reference filtered horizontally at each column's phase.
            for x in range(left, right):
                c = min(max(SUBPEL * x + dx, 0), SUBPEL * width - 1)
                x0, b = c // SUBPEL, c % SUBPEL
                for r in range(lo, hi + 1):
                    for k in range(channels):
                        if b == 0:  # whole-pixel phase (tap 64)
                            rows[r - lo, x - left, k] = 64 * np.int64(reference[r, x0, k])
                            continue
                        total = 0
                        for t in range(8):
                            total += taps[b, t] * reference[r, min(max(x0 + t - 3, 0), width - 1), k]
                        rows[r - lo, x - left, k] = total
            # 2. Columns at each row's phase, weighted into the accumulator.
            for y in range(top, bottom):
                wy = _axis_weight(y, i, hb, window)
                if wy == 0:
                    continue
                r = min(max(SUBPEL * y + dy, 0), SUBPEL * height - 1)
                y0, a = r // SUBPEL, r % SUBPEL
                for x in range(left, right):
                    w = wy * _axis_weight(x, j, wb, window)
                    if w == 0:
                        continue
                    for k in range(channels):
                        if a == 0:
                            total = 64 * rows[y0 - lo, x - left, k]
                        else:
                            total = 0
                            for t in range(8):
                                total += taps[a, t] * rows[min(max(y0 + t - 3, 0), height - 1) - lo, x - left, k]
                        acc[y, x, k] += w * min(max((total + 2048) >> 12, 0), 255)
    out = np.empty((height, width, channels), np.uint8)
    for y in range(height):
        for x in range(width):
            for k in range(channels):
                out[y, x, k] = (acc[y, x, k] + 512) >> 10
    return out


def _block_sums(values: np.ndarray, block: int) -> np.ndarray:
    """Sums of `values` (H x W, H and W multiples of `block`) over block x block tiles."""
    h, w = values.shape
    return values.reshape(h // block, block, w // block, block).sum(axis=(1, 3))


def _pad_to_blocks(plane: np.ndarray, block: int) -> np.ndarray:
    h, w = plane.shape
    return np.pad(plane, ((0, -h % block), (0, -w % block)), mode="edge")


def _patch_costs(current: np.ndarray, upsampled: np.ndarray, candidates: np.ndarray,
                 factor: int, length_cost: float) -> np.ndarray:
    """SAD (+ length cost) of each block for each candidate vector.

    Args:
        current: Hp x Wp int32 luma padded to whole blocks.
        upsampled: luma of the reference upsampled by `factor` (a pixel displaced outside
            it takes the nearest sample).
        candidates: K x hb x wb x 2 vectors in 1/`factor` pixel.

    Returns:
        K x hb x wb float64 costs.
    """
    return _sad_costs(np.ascontiguousarray(current, np.int32), np.ascontiguousarray(upsampled, np.int32),
                      np.ascontiguousarray(candidates, np.int64), factor, float(length_cost))


@numba.njit(cache=True)
def _block_sad(current, upsampled, factor, i, j, dy, dx):
    """Luma SAD of block (i, j) of `current` against `upsampled` displaced by (dy, dx) in
    1/`factor` pixel (positions outside take the nearest sample)."""
    up_h, up_w = upsampled.shape
    sad = 0
    for u in range(BLOCK):
        y = i * BLOCK + u
        r = min(max(factor * y + dy, 0), up_h - 1)
        for v in range(BLOCK):
            x = j * BLOCK + v
            c = min(max(factor * x + dx, 0), up_w - 1)
            sad += abs(upsampled[r, c] - current[y, x])
    return sad


@numba.njit(cache=True)
def _sad_costs(current, upsampled, candidates, factor, length_cost):
    count, hb, wb = candidates.shape[0], candidates.shape[1], candidates.shape[2]
    costs = np.empty((count, hb, wb))
    for k in range(count):
        for i in range(hb):
            for j in range(wb):
                dy, dx = candidates[k, i, j, 0], candidates[k, i, j, 1]
                costs[k, i, j] = (_block_sad(current, upsampled, factor, i, j, dy, dx)
                                  + length_cost * (abs(dy) + abs(dx)))
    return costs


def _refine(current, upsampled, best, factor, radius, length_cost, extra=(), step=1):
    """Best vector per block among `best` + every offset within `radius` steps of `step`
    (and `extra` fields); the first candidate wins a tie."""
    steps = step * np.arange(-radius, radius + 1)
    offsets = np.stack(np.meshgrid(steps, steps, indexing="ij"), -1).reshape(-1, 2)
    candidates = np.concatenate([best[None] + offsets[:, None, None, :], *[e[None] for e in extra]])
    costs = _patch_costs(current, upsampled, candidates, factor, length_cost)
    choice = np.argmin(costs, axis=0)
    return np.take_along_axis(candidates, choice[None, :, :, None], axis=0)[0]


def vector_bits(differences: np.ndarray) -> np.ndarray:
    """Approximate bits of vector differences (..., 2): an Exp-Golomb-like ``1 + 2·log2(1 + |d|)``
    per component, the shape of what the learned prior charges."""
    return (1.0 + 2.0 * np.log2(1.0 + np.abs(differences))).sum(axis=-1)


@numba.njit(cache=True)
def _median3(a, b, c):
    return max(min(a, b), min(max(a, b), c))


@numba.njit(cache=True)
def _smooth(current, upsampled, vectors, bits_cost):
    """Raster pass: each block keeps its vector or takes its median predictor, whichever costs
    less in luma SAD + `bits_cost` x :func:`vector_bits` (the predictor's difference is zero).

    Args:
        current: Hp x Wp int32 luma (whole blocks). upsampled: the reference's luma upsampled by
        SUBPEL (int32). vectors: hb x wb x 2 int64 (updated in place and returned).
    """
    hb, wb = vectors.shape[0], vectors.shape[1]
    for i in range(hb):
        for j in range(wb):
            p = np.zeros(2, np.int64)
            for k in range(2):
                left = vectors[i, j - 1, k] if j > 0 else 0
                if i == 0:
                    p[k] = left
                else:
                    if j + 1 < wb:
                        diag = vectors[i - 1, j + 1, k]
                    elif j > 0:
                        diag = vectors[i - 1, j - 1, k]
                    else:
                        diag = 0
                    p[k] = _median3(left, vectors[i - 1, j, k], diag)
            if p[0] == vectors[i, j, 0] and p[1] == vectors[i, j, 1]:
                continue
            bits = 0.0
            for k in range(2):
                bits += 1.0 + 2.0 * np.log2(1.0 + abs(vectors[i, j, k] - p[k]))
            cost_own = bits_cost * bits - (bits_cost * 2.0)  # the predictor's zero difference costs 2 bits
            cost_own += _block_sad(current, upsampled, SUBPEL, i, j, vectors[i, j, 0], vectors[i, j, 1])
            cost_predicted = _block_sad(current, upsampled, SUBPEL, i, j, p[0], p[1])
            if cost_predicted <= cost_own:
                vectors[i, j, 0] = p[0]
                vectors[i, j, 1] = p[1]
    return vectors


@numba.njit(cache=True)
def _coarse_search(small_cur, padded, reach, sub, length_cost):
    """Full search of sub x sub tiles of `small_cur` in `padded` (its reference, edge-padded by
    `reach`): per tile the first (dy, dx), in raster order over ±reach, of least SAD + length cost.

    Returns: hb x wb x 2 int64 full-pel vectors of the small planes.
    """
    hb, wb = small_cur.shape[0] // sub, small_cur.shape[1] // sub
    coarse = np.zeros((hb, wb, 2), np.int64)
    for i in range(hb):
        for j in range(wb):
            best = np.inf
            for dy in range(-reach, reach + 1):
                for dx in range(-reach, reach + 1):
                    sad = 0
                    for u in range(i * sub, (i + 1) * sub):
                        for v in range(j * sub, (j + 1) * sub):
                            sad += abs(padded[reach + dy + u, reach + dx + v] - small_cur[u, v])
                    cost = sad + (abs(dy) + abs(dx)) * length_cost
                    if cost < best:
                        best = cost
                        coarse[i, j, 0], coarse[i, j, 1] = dy, dx
    return coarse


def vector_bits_cost(lmbda: float) -> float:
    """Luma SAD a bit of vector difference is worth at λ (loss ``bpp + λ·MSE``, RGB 0–255).

    One bit buys 3/λ of squared error summed over a pixel's three channels, and SAD goes
    as the square root of squared error (as H.264's λ_motion = sqrt(λ_mode)): ``sqrt(3/λ)``,
    scaled by :data:`VECTOR_RATE_SCALE`.
    """
    return VECTOR_RATE_SCALE * (3.0 / lmbda) ** 0.5


def search(current: np.ndarray, reference: np.ndarray, length_cost: float = 1.0,
           bits_cost: float = 0.0) -> np.ndarray:
    """Motion vectors of `current` against `reference` (the encoder's choice).

    Args:
        current: H x W x 3 uint8, the frame to code.
        reference: H x W x 3 uint8, the previous decoded frame.
        length_cost: Luma SAD units charged per 1/SUBPEL unit of vector length.
        bits_cost: Luma SAD units per bit of vector difference in a final pass that lets a
            block take its predicted vector when that is cheaper overall (0: no pass). The
            rate–distortion choice is about ``sqrt(3/λ)`` for a loss ``bpp + λ·MSE``.

    Returns:
        hb x wb x 2 int32 vectors (dy, dx) in 1/SUBPEL pixel.
    """
    if current.shape != reference.shape:
        raise ValueError(f"frame {current.shape} and reference {reference.shape} differ in shape")
    cur = _pad_to_blocks(luma(current), BLOCK)
    ref = _pad_to_blocks(luma(reference), BLOCK)
    hb, wb = cur.shape[0] // BLOCK, cur.shape[1] // BLOCK
    # 1. Coarse full search on 4x-downsampled luma (block means), whole-pixel there.
    small_cur = _block_sums(cur, _COARSE)
    small_ref = _block_sums(ref, _COARSE)
    reach = SEARCH_RANGE // _COARSE
    padded = np.pad(small_ref, reach, mode="edge")
    coarse = _coarse_search(small_cur, padded, reach, BLOCK // _COARSE, float(length_cost))
    # 2. Full-pel refinement around the coarse vector, and the zero vector as a candidate.
    zero = np.zeros((hb, wb, 2), np.int64)
    full = _refine(cur, ref, coarse * _COARSE, 1, 2, length_cost * SUBPEL, extra=(zero,))
    # 3. Half-pel, then quarter-pel, on the interpolated reference.
    up = upsample(ref)
    vectors = full * SUBPEL
    step = SUBPEL // 2
    while step >= 1:
        vectors = _refine(cur, up, vectors, SUBPEL, 1, length_cost, step=step)
        step //= 2
    if bits_cost > 0:
        vectors = _smooth(np.ascontiguousarray(cur, np.int32), np.ascontiguousarray(up, np.int32),
                          np.ascontiguousarray(vectors, np.int64), float(bits_cost))
    return vectors.astype(np.int32)


def predict_vectors(vectors: np.ndarray) -> np.ndarray:
    """H.264-style median prediction of each block's vector from its coded neighbours.

    The predictor of block (i, j) is the component-wise median of its left, top and
    top-right neighbours (top-left when top-right is outside); missing neighbours are
    taken as zero, except that a block of the first row is predicted from its left one.

    Args:
        vectors: hb x wb x 2 integer field.

    Returns:
        hb x wb x 2 int64 predictors.
    """
    v = np.asarray(vectors, np.int64)
    hb, wb = v.shape[:2]
    padded = np.zeros((hb + 1, wb + 2, 2), np.int64)
    padded[1:, 1:wb + 1] = v
    left = padded[1:, 0:wb]
    top = padded[0:hb, 1:wb + 1]
    top_right = padded[0:hb, 2:wb + 2].copy()
    top_right[:, wb - 1] = padded[0:hb, wb - 1]  # the last column uses top-left
    median = np.median(np.stack([left, top, top_right]), axis=0).astype(np.int64)
    median[0] = left[0]
    return median


def vector_differences(vectors: np.ndarray) -> np.ndarray:
    """Vectors minus their predictors (what is entropy-coded), hb x wb x 2 int64.

    Prediction runs on the coded field in raster order, so this is invertible:
    see :func:`vectors_from_differences`.
    """
    return np.asarray(vectors, np.int64) - predict_vectors(vectors)


def vectors_from_differences(differences: np.ndarray) -> np.ndarray:
    """Inverse of :func:`vector_differences` (raster order), hb x wb x 2 int64.

    Raises:
        ValueError: a vector component beyond the range any encoder can produce.
    """
    d = np.asarray(differences, np.int64)
    hb, wb = d.shape[:2]
    diffs = d.tolist()
    rows: list[list[tuple[int, int]]] = []
    for i in range(hb):
        row: list[tuple[int, int]] = []
        above = rows[-1] if rows else None
        for j in range(wb):
            left = row[j - 1] if j > 0 else (0, 0)
            if above is None:
                pred = left
            else:
                diag = above[j + 1] if j + 1 < wb else (above[j - 1] if j > 0 else (0, 0))
                top = above[j]
                pred = tuple(sorted((left[k], top[k], diag[k]))[1] for k in range(2))
            vector = (pred[0] + diffs[i][j][0], pred[1] + diffs[i][j][1])
            if max(abs(vector[0]), abs(vector[1])) > _MAX_VECTOR:
                raise ValueError(f"motion vector {vector} of block ({i}, {j}) is beyond "
                                 f"±{_MAX_VECTOR} (1/{SUBPEL} pel)")
            row.append(vector)
        rows.append(row)
    return np.array(rows, np.int64).reshape(hb, wb, 2)
