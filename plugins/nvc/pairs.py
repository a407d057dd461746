"""Training pairs for the P-frame coder: (motion-compensated prediction, frame), per level.

Each pair is built as the codec builds a P-frame: the previous frame is first coded by
the keyframe model (``vae``) at the level being trained, as a stand-in for the decoded
reference the codec will hold; the encoder's motion search (:mod:`.motion`, with the
codec's vector rate at that level's λ) then predicts the frame from that reference. Sources:

- real camera video, decoded with PyAV (each frame with the one before it), optionally
  downscaled to at most ``max_width`` pixels (Lanczos);
- synthetic camera motion over still photos: a crop of the photo and the same crop after
  a small random translation, zoom and rotation (bicubic), the photo first halved in
  size, as a video camera's resolution would.

The vector differences seen while building the pairs fit the motion prior
(:func:`.vectors.fit_tables`). Everything is cached in one folder (``.npz`` per source),
so a resumed run does not rebuild it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from . import motion

__all__ = ["PairSet", "PairSampler", "build_pairs", "video_frames", "photo_motion_pairs"]


def video_frames(path: str | Path, max_width: int | None = None, limit: int | None = None) -> list[np.ndarray]:
    """Decoded RGB frames (H x W x 3 uint8) of a video file's first video stream."""
    import av

    path = Path(path)
    options = {"format": "h264"} if path.suffix in (".264", ".h264") else {}
    frames = []
    with av.open(str(path), **options) as container:
        for frame in container.decode(video=0):
            image = frame.to_image()
            if max_width and image.width > max_width:
                height = round(image.height * max_width / image.width / 2) * 2
                image = image.resize((max_width, height), Image.LANCZOS)
            frames.append(np.asarray(image.convert("RGB"), np.uint8))
            if limit and len(frames) >= limit:
                break
    return frames


def photo_motion_pairs(files: Sequence[Path], per_photo: int, size: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(previous, current) crops of photos under a small random camera motion.

    Args:
        files: Photo files (never Kodak).
        per_photo: Pairs drawn from each photo.
        size: Crop side in pixels.
        seed: Seed of the crops and motions.

    Returns:
        Pairs of size x size x 3 uint8 frames.
    """
    rng = np.random.default_rng(seed)
    pairs = []
    for path in files:
        with Image.open(path) as im:
            im = im.convert("RGB")
            im = im.resize((im.width // 2, im.height // 2), Image.LANCZOS)
        if min(im.size) < size + 64:
            continue
        for _ in range(per_photo):
            cx = rng.uniform(size / 2 + 32, im.width - size / 2 - 32)
            cy = rng.uniform(size / 2 + 32, im.height - size / 2 - 32)
            shift = rng.uniform(-12, 12, 2)
            zoom = rng.uniform(0.96, 1.04)
            angle = np.deg2rad(rng.uniform(-1.5, 1.5))
            cos, sin = zoom * np.cos(angle), zoom * np.sin(angle)
            half = size / 2
            # Output (x, y) samples the photo at R·(x − half, y − half) + centre + shift.
            moved = (cos, -sin, cx + shift[0] - cos * half + sin * half,
                     sin, cos, cy + shift[1] - sin * half - cos * half)
            still = (1, 0, cx - half, 0, 1, cy - half)
            previous = im.transform((size, size), Image.AFFINE, still, resample=Image.BICUBIC)
            current = im.transform((size, size), Image.AFFINE, moved, resample=Image.BICUBIC)
            pairs.append((np.asarray(previous, np.uint8), np.asarray(current, np.uint8)))
    return pairs


class PairSet:
    """Pairs of one source, all the same size.

    Attributes:
        frames: n x H x W x 3 uint8, the frames to code.
        predictions: L x n x H x W x 3 uint8, their predictions at each level.
        differences: m x 2 int32 vector differences seen (for the motion prior).
    """

    def __init__(self, frames: np.ndarray, predictions: np.ndarray, differences: np.ndarray) -> None:
        self.frames, self.predictions, self.differences = frames, predictions, differences

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, frames=self.frames, predictions=self.predictions, differences=self.differences)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "PairSet":
        with np.load(path) as data:
            return cls(data["frames"], data["predictions"], data["differences"])


def _code_pairs(pairs: list[tuple[np.ndarray, np.ndarray]], qualities: Sequence[int],
                lmbdas: Sequence[float]) -> PairSet:
    from neuralav.plugins.vae.codec import load_model_file

    frames = np.stack([current for _, current in pairs])
    predictions = np.empty((len(qualities),) + frames.shape, np.uint8)
    differences = []
    for li, (quality, lmbda) in enumerate(zip(qualities, lmbdas, strict=True)):
        model = load_model_file(quality).model
        for i, (previous, current) in enumerate(pairs):
            reference = model.reconstruct(previous, 0)
            vectors = motion.search(current, reference, bits_cost=motion.vector_bits_cost(lmbda))
            predictions[li, i] = motion.compensate(reference, vectors)
            differences.append(motion.vector_differences(vectors).reshape(-1, 2))
    return PairSet(frames, predictions, np.concatenate(differences).astype(np.int32))


def build_pairs(cache: Path, videos: Sequence[str], photos: Sequence[Path], qualities: Sequence[int],
                lmbdas: Sequence[float], every: int = 2, max_width: int = 640, per_photo: int = 3,
                photo_size: int = 320, seed: int = 1) -> list[PairSet]:
    """Builds (or loads from `cache`) the pair sets of every source.

    Args:
        cache: Folder of cached ``.npz`` files (keyed by the sources and settings).
        videos: Camera video files; frame t is paired with frame t−1 for t = every, 2·every, ...
        photos: Photo files for synthetic motion (never Kodak).
        qualities: ``vae`` quality coding the reference of each level.
        lmbdas: λ of each level: the motion search trades vector bits for SAD as the codec's
            does at that λ (:func:`.motion.vector_bits_cost`).
        every: Frame step between pairs taken from a video.
        max_width: Videos wider than this are downscaled.
        per_photo: Synthetic pairs per photo.
        photo_size: Side of the synthetic frames.
        seed: Seed of the synthetic motion.
    """
    cache.mkdir(parents=True, exist_ok=True)
    sets = []
    # The prediction scheme is part of the key: pairs made by another compensation are stale.
    scheme = [motion.BLOCK, motion.SUBPEL, motion.OVERLAP, motion.INTERPOLATION_TAPS.tolist(),
              motion.VECTOR_RATE_SCALE]
    settings = {"qualities": list(qualities), "lmbdas": list(lmbdas), "every": every, "max_width": max_width,
                "compensation": scheme}
    for video in videos:
        key = hashlib.sha256(json.dumps([str(Path(video).resolve()), settings]).encode()).hexdigest()[:12]
        path = cache / f"{Path(video).stem}-{key}.npz"
        if not path.exists():
            frames = video_frames(video, max_width)
            pairs = [(frames[t - 1], frames[t]) for t in range(every, len(frames), every)]
            _code_pairs(pairs, qualities, lmbdas).save(path)
            print(f"pairs: {len(pairs)} from {video}", flush=True)
        sets.append(PairSet.load(path))
    if photos:
        settings = {**settings, "photos": sorted(str(p) for p in photos), "per_photo": per_photo,
                    "size": photo_size, "seed": seed}
        key = hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:12]
        path = cache / f"photos-{key}.npz"
        if not path.exists():
            pairs = photo_motion_pairs(photos, per_photo, photo_size, seed)
            if not pairs:
                print(f"pairs: none from {len(photos)} photos (each needs {photo_size + 64} px after halving)",
                      flush=True)
                return sets
            _code_pairs(pairs, qualities, lmbdas).save(path)
            print(f"pairs: {len(pairs)} with synthetic motion from {len(photos)} photos", flush=True)
        sets.append(PairSet.load(path))
    return sets


class PairSampler:
    """Deterministic batches of pairs: batch `step` depends only on (seed, step).

    Args:
        sets: Pair sets (every frame at least `crop` on both sides).
        crop: Crop side in pixels.
        batch: Pairs per batch; pair *k* uses the prediction of level ``k mod L``.
        seed: Base seed.
    """

    def __init__(self, sets: Sequence[PairSet], crop: int, batch: int, seed: int) -> None:
        self.sets = [s for s in sets if min(s.frames.shape[1:3]) >= crop]
        if not self.sets:
            raise ValueError(f"no pair set has frames of at least {crop}x{crop}")
        self.levels = self.sets[0].predictions.shape[0]
        self.weights = np.array([len(s.frames) for s in self.sets], np.float64)
        self.weights /= self.weights.sum()
        self.crop, self.batch, self.seed = crop, batch, seed

    def __call__(self, step: int) -> np.ndarray:
        """2·batch x crop x crop x 3 uint8: prediction 2k, frame 2k+1."""
        rng = np.random.default_rng([self.seed, step])
        out = np.empty((2 * self.batch, self.crop, self.crop, 3), np.uint8)
        for k in range(self.batch):
            pairs = self.sets[rng.choice(len(self.sets), p=self.weights)]
            i = rng.integers(len(pairs.frames))
            y = rng.integers(pairs.frames.shape[1] - self.crop + 1)
            x = rng.integers(pairs.frames.shape[2] - self.crop + 1)
            window = (slice(y, y + self.crop), slice(x, x + self.crop))
            prediction = pairs.predictions[k % self.levels, i][window]
            frame = pairs.frames[i][window]
            if rng.integers(2):
                prediction, frame = prediction[:, ::-1], frame[:, ::-1]
            out[2 * k], out[2 * k + 1] = prediction, frame
        return out
