"""Odd-sized pictures decoded to MP4 (issue 26.4): libx264 refuses 4:2:0 at odd sizes, so such
pictures get a format with full chroma along the odd side (ffmpeg picks yuv444p for RGB sources)."""

from __future__ import annotations

import av
import numpy as np
import pytest

from neuralav.container.cli import main

from .ffmpeg_media import ffmpeg, needs_ffmpeg, streams

pytestmark = needs_ffmpeg


@pytest.mark.parametrize("size, pix_fmt", [("97x65", "yuv444p"), ("96x65", "yuv422p"), ("96x64", "yuv420p")])
def test_a_neural_picture_of_any_size_decodes_to_mp4(tmp_path, size, pix_fmt):
    still, neural, out = tmp_path / "in.png", tmp_path / "n.mkv", tmp_path / "out.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}", "-frames:v", "1", str(still))
    assert main(["transcode", "-i", str(still), "-c:v", "zlibv", str(neural)]) == 0
    assert main(["decode", str(neural), str(out)]) == 0
    (stream,) = streams(out)
    width, height = map(int, size.split("x"))
    assert (stream["codec_name"], stream["width"], stream["height"], stream["pix_fmt"]) == (
        "h264", width, height, pix_fmt)
    # As good as ffmpeg's own libx264 encode of the same picture in the same format.
    reference = tmp_path / "ref.mp4"
    ffmpeg("-i", str(still), "-pix_fmt", pix_fmt, str(reference))
    assert _psnr(still, out) > _psnr(still, reference) - 1.0


def _psnr(source, coded) -> float:
    with av.open(str(source)) as f:
        a = next(f.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    with av.open(str(coded)) as f:
        b = next(f.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    return 10 * np.log10(255 ** 2 / np.mean((a - b) ** 2))
