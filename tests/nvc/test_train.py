"""The `nvc` trainer: pairs from real video and synthetic motion, resume, export, and the codec
coding P-frames with what it exported."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction

import av
import numpy as np
from PIL import Image

from neuralav import registry

from .conftest import clip

TINY = ["--num-filters", "8", "--latent-channels", "8", "--hyper-filters", "8", "--batch", "2", "--crop", "64",
        "--log-every", "1", "--lmbdas", "0.0025", "0.005", "--video-every", "1", "--photo-pairs", "2",
        "--photo-size", "64"]


def _write_video(path, frames) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "bgr0"
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))


def test_training_resumes_and_exports_a_residual_coder_the_codec_codes_with(
        use_tiny_nvc, nvc_registry, tmp_path, capsys, monkeypatch):
    from neuralav.plugins.nvc.train import main

    video = tmp_path / "camera.mkv"
    _write_video(video, clip(4, start=20, crop=(96, 128)))
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(clip(1, start=45)[0]).save(photos / "still.png")
    common = ["--run", "r", "--train-root", tmp_path / "train", "--data", photos, "--videos", video, *TINY]

    assert main([str(a) for a in [*common, "--steps", "1"]]) == 0
    out = capsys.readouterr().out
    assert "pairs: 3 from" in out and "pairs: 2 with synthetic motion" in out
    assert "step 1 loss" in out and "checkpoint" in out

    weights = tmp_path / "weights"
    assert main([str(a) for a in [*common, "--steps", "2", "--export", weights / "residual.npz"]]) == 0
    out = capsys.readouterr().out
    assert "resumed" in out and "at step 1" in out and "exported step 2" in out
    assert "pairs:" not in out  # the pairs come from the cache
    meta = json.loads((tmp_path / "train" / "r" / "run.json").read_text())
    assert meta["config"]["num_filters"] == 8 and meta["sessions"][-1]["end_step"] == 2
    assert meta["config"]["lmbdas"] == [0.0025, 0.005]

    # The exported file codes a real GOP: keyframe from the (tiny) vae, P-frames from it.
    for level in use_tiny_nvc.glob("q*.npz"):
        shutil.copy(level, weights)
    monkeypatch.setenv("NEURALAV_NVC_WEIGHTS_DIR", str(weights))
    encoder = registry.create_encoder("nvc", {"quality": 2, "g": 3}, registry=nvc_registry)
    decoder = registry.create_decoder("nvc", encoder.header, registry=nvc_registry)
    for i, image in enumerate(clip(3, start=40, crop=(64, 96))):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, 25)
        (packet,) = encoder.encode(frame)
        assert packet.is_keyframe == (i == 0)
        (decoded,) = decoder.decode(packet)
        assert np.array_equal(decoded.to_ndarray(format="rgb24"), encoder._reference)
