"""Copying B-frame H.264 next to re-encoded tracks: timestamps as ffmpeg's own remux (issue 26.1)."""

from __future__ import annotations

import av
import pytest

from neuralav import container
from neuralav.container.cli import main

from .ffmpeg_media import ffmpeg, ffprobe, make_h264_aac_mp4, needs_ffmpeg, streams

pytestmark = needs_ffmpeg


def _packets(path, index):
    return [(p.get("pts"), p.get("dts"), p["size"]) for p in
            ffprobe(path, "-show_packets", "-select_streams", str(index))["packets"]]


@pytest.mark.parametrize("second", ["zlibv", "libx264"])
def test_copy_beside_a_reencode_of_b_frame_h264_keeps_the_copied_timestamps(tmp_path, second):
    source = make_h264_aac_mp4(tmp_path / "in.mp4")
    assert streams(source)[0]["has_b_frames"] > 0
    out, reference = tmp_path / "mixed.mkv", tmp_path / "ref.mkv"
    assert main(["transcode", "-i", str(source), "-map", "0:v", "-map", "0:a", "-map", "0:v", "-c:v:0", "copy",
                 "-c:a", "copy", "-c:v:1", second, str(out)]) == 0
    ffmpeg("-i", str(source), "-map", "0:v", "-map", "0:a", "-c", "copy", str(reference))
    # The copied tracks as ffmpeg remuxes them: same packets, pts and dts.
    assert _packets(out, 0) == _packets(reference, 0)
    assert _packets(out, 1) == _packets(reference, 1)
    # The re-encoded track shows its frames when the copied one does (ffmpeg's remux, read by PyAV).
    with av.open(str(reference)) as f:
        times = [round(float(frame.time), 3) for frame in f.decode(video=0)]
    with container.open(out) as f:
        coded = [round(float(frame.pts * frame.time_base), 3) for frame in f.decode(f.streams[2])]
    assert len(times) == 25 and coded == times


def test_copying_a_raw_stream_without_timestamps_is_a_one_line_error(tmp_path, capsys):
    raw = tmp_path / "clip.264"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=96x64:rate=25", "-t", "0.4", "-c:v", "libx264", "-f", "h264", str(raw))
    out = tmp_path / "copy.mkv"
    assert main(["transcode", "-f", "h264", "-i", str(raw), "-c:v", "copy", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no timestamps" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [raw]


def _remuxed_raw(tmp_path, raw):
    """An MP4 remuxed by ffmpeg from raw Annex-B H.264 with B-frames: its pts are its dts (ffmpeg
    cannot know better), so decoded frames come out with pts out of order."""
    mp4 = tmp_path / "remuxed.mp4"
    ffmpeg("-f", "h264", "-i", str(raw), "-c", "copy", str(mp4))
    return mp4


def _check_copy_and_reencode_like_ffmpeg(tmp_path, source):
    out, reference = tmp_path / "mixed.mkv", tmp_path / "ref.mkv"
    assert main(["transcode", "-i", str(source), "-map", "0:v", "-map", "0:v", "-c:v:0", "copy",
                 "-c:v:1", "libx264", "-opt:v:1", "preset=ultrafast", str(out)]) == 0
    ffmpeg("-i", str(source), "-map", "0:v", "-map", "0:v", "-c:v:0", "copy", "-c:v:1", "libx264",
           "-preset", "ultrafast", str(reference))
    assert _packets(out, 0) == _packets(reference, 0)
    ours = [float(f["pts_time"]) for f in ffprobe(out, "-show_frames", "-select_streams", "1")["frames"]]
    theirs = [float(f["pts_time"]) for f in ffprobe(reference, "-show_frames", "-select_streams", "1")["frames"]]
    assert ours == sorted(set(ours)) and abs(len(ours) - len(theirs)) <= 1
    assert ours[:5] == theirs[:5]


def test_reencoding_frames_whose_pts_are_out_of_order_uses_ffmpeg_s_best_effort_times(tmp_path):
    raw = tmp_path / "clip.264"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=96x64:rate=25", "-t", "1", "-c:v", "libx264", "-f", "h264", str(raw))
    _check_copy_and_reencode_like_ffmpeg(tmp_path, _remuxed_raw(tmp_path, raw))


def test_the_720p_camera_stream_remuxed_to_mp4_copies_and_reencodes(tmp_path, shared_data):
    raw = shared_data / "video" / "VID_1280x720_cabac_temporal_direct.264"
    cut = tmp_path / "cut.264"
    ffmpeg("-f", "h264", "-i", str(raw), "-frames:v", "20", "-c", "copy", "-f", "h264", str(cut))
    _check_copy_and_reencode_like_ffmpeg(tmp_path, _remuxed_raw(tmp_path, cut))
