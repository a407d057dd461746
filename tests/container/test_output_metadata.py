"""The writer carries a track's language and a video stream's colour description (issue 26.7, writer side).

Before, a neural track had no way to get a language (``eng`` became ``und``) and a stream
coded by a PyAV encoder no colour description (a BT.2020/PQ source came out unspecified).
"""

from __future__ import annotations

import json
from fractions import Fraction

import av
import numpy as np
import pytest

from neuralav import container
from neuralav.container.writer import COLOR_PROPERTIES
from neuralav.registry import InvalidOptionError

from . import media
from .conftest import run_tool

# FFmpeg's enum values: AVCOL_PRI_BT2020, AVCOL_TRC_SMPTE2084 (PQ), AVCOL_SPC_BT2020_NCL, AVCOL_RANGE_MPEG.
HDR = {"color_primaries": 9, "color_trc": 16, "colorspace": 9, "color_range": 1}


def write(path, language=None, color=None):
    with container.open(path, "w") as out:
        h264 = out.add_stream("libx264", media.FPS, width=media.WIDTH, height=media.HEIGHT, language=language,
                              color=color)
        video = out.add_stream("zlibv", media.FPS, width=media.WIDTH, height=media.HEIGHT, language=language)
        audio = out.add_stream("zliba", 16000, layout="mono", sample_format="s16", language=language)
        for i, image in enumerate(media.video_frames(3)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, media.FPS)
            out.mux(h264.encode(frame))
            out.mux(video.encode(frame))
        sound = av.AudioFrame.from_ndarray(media.tone(1600, 16000), format="s16", layout="mono")
        sound.sample_rate, sound.pts = 16000, 0
        out.mux(audio.encode(sound))
        for stream in (h264, video, audio):
            out.mux(stream.encode(None))
    return path


def test_every_track_gets_the_language_the_caller_gives(tmp_path, tools):
    if not tools["mkvmerge"]:
        pytest.skip("mkvtoolnix not installed")
    path = write(tmp_path / "eng.mkv", language="eng")
    tracks = json.loads(run_tool("mkvmerge", "-J", str(path)).stdout)["tracks"]
    assert [t["properties"]["language"] for t in tracks] == ["eng", "eng", "eng"]
    with container.open(path) as f:
        assert [t.av_stream.metadata.get("language") for t in f.streams] == ["eng", "eng", "eng"]


def test_a_copied_neural_track_keeps_the_language_given(tmp_path, tools):
    if not tools["mkvmerge"]:
        pytest.skip("mkvtoolnix not installed")
    source = write(tmp_path / "source.mkv")
    copied = tmp_path / "copied.mkv"
    with container.open(source) as f, container.open(copied, "w") as out:
        track = f.streams[1]
        stream = out.add_neural_copy(track.neural, width=track.width, height=track.height,
                                     frame_rate=Fraction(media.FPS), language="fre")
        for packet in f.demux([track]):
            if packet.size:
                packet.stream = stream.av_stream
                out.mux(packet)
    tracks = json.loads(run_tool("mkvmerge", "-J", str(copied)).stdout)["tracks"]
    assert [(t["properties"]["codec_id"], t["properties"]["language"]) for t in tracks] == [("V_MS/VFW/FOURCC", "fre")]


def test_a_standard_video_stream_carries_the_colour_description_given(tmp_path, tools):
    if not tools["ffprobe"]:
        pytest.skip("ffprobe not installed")
    path = write(tmp_path / "hdr.mkv", color=HDR)
    result = run_tool("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                      "stream=color_primaries,color_transfer,color_space,color_range", "-of", "json", str(path))
    assert json.loads(result.stdout)["streams"] == [{"color_range": "tv", "color_space": "bt2020nc",
                                                     "color_transfer": "smpte2084", "color_primaries": "bt2020"}]
    with av.open(str(path)) as f:  # in the H.264 bitstream too (VUI), not only in Matroska
        frame = next(f.decode(video=0))
        assert (frame.color_primaries, frame.color_trc, frame.colorspace) == (9, 16, 9)
    assert set(HDR) == set(COLOR_PROPERTIES)


@pytest.mark.parametrize("language", ["english!", "e", "12", 7])
def test_a_malformed_language_is_refused_by_name(tmp_path, language):
    with container.open(tmp_path / "x.mkv", "w") as out:
        with pytest.raises(InvalidOptionError, match="is not a language code"):
            out.add_stream("libx264", 25, width=16, height=16, language=language)
        out.add_stream("libx264", 25, width=16, height=16)
        out.mux(out.streams[0].encode(None))


def test_colour_is_refused_where_it_does_not_apply(tmp_path):
    with container.open(tmp_path / "x.mkv", "w") as out:
        with pytest.raises(InvalidOptionError, match="neural codec `zlibv` has none"):
            out.add_stream("zlibv", 25, width=16, height=16, color=HDR)
        with pytest.raises(InvalidOptionError, match="applies to video streams"):
            out.add_stream("libopus", 48000, layout="mono", color=HDR)
        with pytest.raises(InvalidOptionError, match="'gamma'"):
            out.add_stream("libx264", 25, width=16, height=16, color={"gamma": 2})
        assert out.streams == []  # nothing half-added
        stream = out.add_stream("libx264", 25, width=16, height=16)
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def test_the_writer_says_which_codecs_its_format_holds(tmp_path):
    # The pipeline's choice between `copy` and re-encoding reads this (issue 32.6: not a private attribute).
    for name, holds, refuses in (("x.mkv", {"h264", "opus", "ffv1"}, set()),
                                 ("x.mp4", {"h264", "aac"}, {"cook", "wmav2"}),
                                 ("x.wav", {"pcm_s16le"}, {"h264", "opus"})):
        writer = container.open(tmp_path / name, "w")
        try:
            assert holds <= writer.supported_codecs and not refuses & writer.supported_codecs
            assert isinstance(writer.supported_codecs, frozenset)
        finally:
            writer.abort()
    assert list(tmp_path.iterdir()) == []
