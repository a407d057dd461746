"""`neuralav transcode` and `neuralav decode` on real files (PyAV's libx264/libopus, example zlib codecs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pytest

from neuralav import container, registry
from neuralav.container import ebml
from neuralav.container.cli import main
from neuralav.container.pipeline import StreamChoice, transcode

from . import media
from .conftest import run_tool


def test_copied_standard_tracks_keep_their_packets_byte_identical(clip, tmp_path):
    out = tmp_path / "copy.mkv"
    assert main(["transcode", "-i", str(clip), "-c", "copy", str(out)]) == 0
    for index in (0, 1):
        assert media.packets(out, index) == media.packets(clip, index)


def test_neural_transcode_then_decode_keeps_frames_timestamps_and_sync(clip, tmp_path):
    neural, decoded = tmp_path / "neural.mkv", tmp_path / "back.mkv"
    assert main(["transcode", "-i", str(clip), "-c:v", "zlibv", "-c:a", "zliba", str(neural)]) == 0
    with container.open(neural) as f:
        assert [t.codec for t in f.streams] == ["zlibv", "zliba"]
    # zlib is lossless: decoding the neural tracks gives the source's decoded frames exactly.
    assert main(["decode", str(neural), str(decoded), "-c:v", "ffv1"]) == 0
    source, restored = media.decode_video(clip, fmt="yuv420p"), media.decode_video(decoded, fmt="yuv420p")
    assert [pts for pts, _ in restored] == [pts for pts, _ in source] == [i * 40 for i in range(10)]
    for (_, a), (_, b) in zip(source, restored):
        np.testing.assert_array_equal(a, b)
    with av.open(str(decoded)) as f:
        assert [s.codec_context.name for s in f.streams] == ["ffv1", "opus"]
        audio = [frame for frame in f.decode(audio=0)]
    with av.open(str(clip)) as f:
        original = [frame for frame in f.decode(audio=0)]
    samples = sum(frame.samples for frame in audio)
    assert abs(samples - sum(frame.samples for frame in original)) <= 960  # one Opus frame of re-encoding
    assert abs(float(audio[0].pts * audio[0].time_base) - float(original[0].pts * original[0].time_base)) < 0.01


def test_decode_to_mp4_and_wav_gives_standard_codecs(clip, tmp_path):
    neural = tmp_path / "neural.mkv"
    transcode([clip], neural, codecs=[StreamChoice("v", "zlibv"), StreamChoice("a", "zliba")])
    assert main(["decode", str(neural), str(tmp_path / "out.mp4")]) == 0
    with av.open(str(tmp_path / "out.mp4")) as f:
        assert [s.codec_context.name for s in f.streams] == ["h264", "aac"]
        assert sum(1 for _ in f.decode(video=0)) == 10
    assert main(["decode", str(neural), str(tmp_path / "out.wav")]) == 0
    with av.open(str(tmp_path / "out.wav")) as f:
        assert f.streams.audio[0].codec_context.name == "pcm_s16le"


def test_wav_through_a_neural_audio_codec_is_sample_exact(tmp_path):
    source = media.make_wav(tmp_path / "in.wav", samples=12345, rate=16000)
    assert main(["transcode", "-i", str(tmp_path / "in.wav"), "-c:a", "zliba", "-opt:a", "level=9",
                 str(tmp_path / "n.mka")]) == 0
    assert main(["decode", str(tmp_path / "n.mka"), str(tmp_path / "out.wav")]) == 0
    with av.open(str(tmp_path / "out.wav")) as f:
        restored = np.concatenate([frame.to_ndarray() for frame in f.decode(audio=0)], axis=1)
    np.testing.assert_array_equal(restored, source)


def test_png_still_round_trips_through_matroska(tmp_path):
    image = media.video_frames(1, 40, 30)[0]
    av.VideoFrame.from_ndarray(image, format="rgb24").to_image().save(tmp_path / "in.png")
    assert main(["transcode", "-i", str(tmp_path / "in.png"), "-c:v", "zlibv", str(tmp_path / "still.mkv")]) == 0
    assert main(["decode", str(tmp_path / "still.mkv"), str(tmp_path / "out.png")]) == 0
    with av.open(str(tmp_path / "out.png")) as f:
        np.testing.assert_array_equal(next(f.decode(video=0)).to_ndarray(format="rgb24"), image)


def test_image_sequence_input(tmp_path):
    for i, image in enumerate(media.video_frames(4, 32, 16)):
        av.VideoFrame.from_ndarray(image, format="rgb24").to_image().save(tmp_path / f"img{i:03d}.png")
    assert main(["transcode", "-i", str(tmp_path / "img%03d.png"), "-c:v", "zlibv", str(tmp_path / "s.mkv")]) == 0
    with container.open(tmp_path / "s.mkv") as f:
        assert sum(1 for _ in f.decode(video=0)) == 4


def test_pyav_encoders_with_bitrate_and_quality(clip, tmp_path):
    out = tmp_path / "opus.mkv"
    assert main(["transcode", "-i", str(clip), "-map", "0:a", "-c:a", "libopus", "-b:a", "12k", str(out)]) == 0
    with av.open(str(out)) as f:
        assert f.streams.audio[0].codec_context.name == "opus"
        assert len(f.streams) == 1
    out = tmp_path / "mpeg4.mkv"
    assert main(["transcode", "-i", str(clip), "-map", "0:v", "-c:v", "mpeg4", "-q:v", "4", str(out)]) == 0
    assert len(media.decode_video(out)) == 10


def test_neural_quality_option_reaches_the_codec_header(clip, tmp_path):
    out = tmp_path / "q.mkv"
    assert main(["transcode", "-i", str(clip), "-map", "0:v", "-c:v", "zlibv", "-opt:v", "level=1",
                 "-opt:v", "predictor=up", str(out)]) == 0
    with container.open(out) as f:
        assert dict(f.streams[0].neural.parsed.fields) == {"level": 1, "predictor": "up"}
    assert main(["transcode", "-i", str(clip), "-map", "0:v", "-c:v", "zlibv", "-q:v", "3",
                 str(tmp_path / "r.mkv")]) == 1  # zlibv has no quality levels


def test_start_and_duration_cut_the_output(clip, tmp_path):
    out = tmp_path / "cut.mkv"
    assert main(["transcode", "-i", str(clip), "-ss", "0.1", "-t", "0.2", "-c:v", "zlibv", "-c:a", "zliba",
                 str(out)]) == 0
    with container.open(out) as f:
        video = list(f.decode(f.streams[0]))
    assert [frame.pts for frame in video] == [20, 60, 100, 140, 180]  # source frames 0.12 .. 0.28 s
    with container.open(out) as f:
        audio = list(f.decode(f.streams[1]))
    total = sum(frame.samples for frame in audio)
    assert abs(total - 0.2 * 48000) <= 960


@pytest.mark.parametrize("start,first,duration", [("0.5123", 8197, "0.25"), ("0.51234", 8197, "0.25"),
                                                  ("0.064", 1024, "0.0001"), ("0.51234", 8197, None)])
def test_start_and_duration_cut_audio_at_the_exact_sample(tmp_path, start, first, duration):
    """As ffmpeg: -ss 0.5123 -t 0.25 of a 16 kHz file is samples 8197..12197, whatever the frame
    edges (the WAV decoder's frames are 1,024 samples) and whichever way the cut rounds."""
    source = tmp_path / "in.wav"
    data = media.make_wav(source, samples=16000, rate=16000)
    out = tmp_path / "cut.wav"
    window = ["-ss", start] + (["-t", duration] if duration else [])
    assert main(["transcode", "-i", str(source), *window, "-c:a", "pcm_s16le", str(out)]) == 0
    with av.open(str(out)) as f:
        cut = np.concatenate([frame.to_ndarray() for frame in f.decode(audio=0)], axis=1)
    stop = first + round(float(duration) * 16000) if duration else 16000
    assert np.array_equal(cut, data[:, first:stop])


def test_bitrate_of_a_per_channel_level_counts_every_channel():
    from neuralav.container.outputs import _quality_for_bitrate
    from neuralav.registry import Capability, CodecDescriptor, MediaType, NominalRates, Option

    rates = NominalRates(((1, 3000), (2, 6000)), per_channel=True, source="mono speech")
    descriptor = CodecDescriptor(
        name="levels", long_name="levels", media_type=MediaType.AUDIO, capabilities=Capability.LOSSY,
        formats=("flt",), options=(Option("quality", int, 2, "bitrate level", min=1, max=2,
                                          nominal_rates=rates),), version=1, fourcc="LVLS")
    assert [_quality_for_bitrate(descriptor, 6000, channels) for channels in (1, 2)] == [2, 1]
    assert _quality_for_bitrate(descriptor, 12000, 2) == 2


@pytest.mark.slow
def test_stereo_wavenet_at_12k_gets_the_6_kbps_level(tmp_path):
    """wavenet's nominal rates are per channel: stereo at -b:a 12k is two channels of ~6 kbps."""
    pytest.importorskip("tensorflow_compression")
    source, out = tmp_path / "stereo.wav", tmp_path / "stereo.mka"
    media.make_wav(source, samples=3200, channels=2)
    assert main(["transcode", "-i", str(source), "-c:a", "wavenet", "-b:a", "12k", str(out)]) == 0
    with container.open(out) as f:
        assert f.streams[0].neural.parsed.fields["quality"] == 2


def test_subtitles_and_attachments_are_copied(tmp_path):
    clip = media.make_clip(tmp_path / "att.mkv", frames=5, with_attachment=True)
    srt = tmp_path / "subs.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,150\nHello\n\n2\n00:00:00,150 --> 00:00:00,200\nWorld\n")
    out = tmp_path / "out.mkv"
    assert main(["transcode", "-i", str(clip), "-i", str(srt), "-c:v", "zlibv", str(out)]) == 0
    with av.open(str(out)) as f:
        kinds = [s.type for s in f.streams]
        assert kinds.count("subtitle") == 1 and kinds.count("attachment") == 1
        attachment = f.streams.attachments[0]
        assert attachment.name == "notes.txt" and bytes(attachment.data) == b"neuralav test attachment\n"
        subtitle = f.streams.subtitles[0]
        texts = [bytes(p) for p in f.demux(subtitle) if p.size]
    assert texts == [b"Hello", b"World"]


def test_map_that_matches_nothing_names_the_streams(clip, capsys):
    assert main(["transcode", "-i", str(clip), "-map", "0:s", "-c", "copy", "/tmp/never.mkv"]) == 1
    err = capsys.readouterr().err
    assert "-map '0:s' matches no stream" in err and "#0 video h264" in err
    assert main(["transcode", "-i", str(clip), "-map", "1:v", "/tmp/never.mkv"]) == 1
    assert "input '1' does not exist" in capsys.readouterr().err


def test_unreadable_input_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    assert main(["transcode", "-i", str(bad), str(tmp_path / "o.mkv")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.mp4" in err
    assert main(["transcode", "-i", str(tmp_path / "missing.mp4"), str(tmp_path / "o.mkv")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "o.mkv").exists()


def test_unknown_neural_codec_in_a_file_names_the_missing_plugin(clip, tmp_path):
    out = tmp_path / "z.mkv"
    transcode([clip], out, maps=["0:v"], codecs=[StreamChoice("v", "zlibv")])
    bare = registry.build_registry(autoload=False)
    with container.open(out, registry=bare) as f:
        assert f.streams[0].is_neural and f.streams[0].plugin == "neuralav-zlib"
        with pytest.raises(container.MissingPluginError, match="`zlibv`.*neuralav-zlib"):
            next(f.decode(video=0))


def test_existing_output_needs_y(clip, tmp_path, capsys):
    out = tmp_path / "o.mkv"
    out.write_bytes(b"keep me")
    assert main(["transcode", "-i", str(clip), "-c", "copy", str(out)]) == 1
    assert "already exists (use -y" in capsys.readouterr().err and out.read_bytes() == b"keep me"
    assert main(["transcode", "-i", str(clip), "-c", "copy", "-y", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"


def test_interrupt_mid_transcode_leaves_nothing(clip, tmp_path, monkeypatch):
    calls = {"n": 0}
    original = container.Writer.mux

    def interrupted(self, packets):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return original(self, packets)

    monkeypatch.setattr(container.Writer, "mux", interrupted)
    assert main(["transcode", "-i", str(clip), "-c:v", "zlibv", str(tmp_path / "o.mkv")]) == 130
    assert calls["n"] == 5 and list(tmp_path.iterdir()) == []


def _corrupt_packet(path, stream_index, packet_number):
    """Overwrite the payload of one packet in the file (found by its unique bytes)."""
    data = bytearray(path.read_bytes())
    payload = media.packets(path, stream_index)[packet_number][1]
    at = data.find(payload)
    assert at > 0 and data.find(payload, at + 1) == -1
    data[at + 20:at + 60] = b"\xff" * 40
    path.write_bytes(bytes(data))


def test_a_corrupt_packet_names_track_and_time_and_ignore_errors_skips_it(clip, tmp_path, capsys):
    neural = tmp_path / "n.mkv"
    transcode([clip], neural, maps=["0:v"], codecs=[StreamChoice("v", "zlibv")])
    _corrupt_packet(neural, 0, 3)
    assert main(["decode", str(neural), str(tmp_path / "a.mkv")]) == 1
    err = capsys.readouterr().err
    assert "track 0 (zlibv) packet at 0.120 s failed to decode" in err
    assert not (tmp_path / "a.mkv").exists()
    with pytest.warns(container.DecodeWarning, match="0.120 s"):
        assert main(["decode", str(neural), str(tmp_path / "b.mkv"), "--ignore-errors"]) == 0
    assert "1 packet(s) failed to decode and were skipped" in capsys.readouterr().out
    assert len(media.decode_video(tmp_path / "b.mkv")) == 9


def test_truncated_matroska_decodes_what_is_there(clip, tmp_path):
    neural = tmp_path / "n.mkv"
    transcode([clip], neural, maps=["0:v"], codecs=[StreamChoice("v", "zlibv")])
    data = neural.read_bytes()
    short = tmp_path / "short.mkv"
    short.write_bytes(data[:len(data) // 2])
    with container.open(short, ignore_errors=True) as f:
        frames = list(f.decode(video=0))
    assert 0 < len(frames) < 10


def test_progress_bar_only_when_asked_or_on_a_terminal(clip, tmp_path):
    env = dict(os.environ)
    command = [sys.executable, "-m", "neuralav.container.cli", "transcode", "-i", str(clip), "-c", "copy"]
    quiet = subprocess.run(command + [str(tmp_path / "a.mkv")], capture_output=True, text=True, env=env)
    assert quiet.returncode == 0 and quiet.stderr == ""
    shown = subprocess.run(command + ["--progress", str(tmp_path / "b.mkv")], capture_output=True, text=True,
                           env=env)
    assert shown.returncode == 0 and "transcode:" in shown.stderr and "frame=" in shown.stderr


def test_output_files_pass_ffprobe_and_mkvmerge(clip, tmp_path, tools):
    out = tmp_path / "n.mkv"
    transcode([clip], out, maps=["0:v", "0:a", "0:v", "0:a"],
              codecs=[StreamChoice("", "copy"), StreamChoice("2", "zlibv"), StreamChoice("3", "zliba")])
    if tools["ffprobe"]:
        result = run_tool("ffprobe", "-v", "error", "-of", "json", "-show_streams", str(out))
        assert result.returncode == 0 and len(json.loads(result.stdout)["streams"]) == 4
    if tools["mkvmerge"]:
        report = json.loads(run_tool("mkvmerge", "-J", str(out)).stdout)
        assert report["errors"] == [] and [t["properties"]["default_track"] for t in report["tracks"]] == [
            True, True, False, False]


def test_bitrate_picks_the_nearest_nominal_level_of_a_neural_codec():
    from neuralav.container.outputs import _quality_for_bitrate
    from neuralav.registry import Capability, CodecDescriptor, MediaType, NominalRates, Option

    rates = NominalRates(((1, 3000), (2, 6000), (3, 12000)))
    descriptor = CodecDescriptor(
        name="levels", long_name="levels", media_type=MediaType.AUDIO, capabilities=Capability.LOSSY,
        formats=("flt",), options=(Option("quality", int, 2, "bitrate level", min=1, max=3,
                                          nominal_rates=rates),), version=1, fourcc="LVLS")
    assert [_quality_for_bitrate(descriptor, b) for b in (1000, 5000, 6000, 9500, 64000)] == [1, 2, 2, 3, 3]


def test_copying_a_neural_track_keeps_it_neural_and_byte_identical(clip, tmp_path):
    neural, again = tmp_path / "n.mkv", tmp_path / "again.mkv"
    transcode([clip], neural, codecs=[StreamChoice("v", "zlibv"), StreamChoice("a", "zliba")])
    assert main(["transcode", "-i", str(neural), "-c", "copy", str(again)]) == 0
    with container.open(again) as f:
        assert [(t.codec, t.is_neural) for t in f.streams] == [("zlibv", True), ("zliba", True)]
    for index in (0, 1):
        assert [data for _, data in media.packets(again, index)] == [data for _, data in media.packets(neural, index)]
    assert main(["transcode", "-i", str(clip), "-map", "0:v", "-c:v", "zlibv", "-b:v", "1M",
                 str(tmp_path / "b.mkv")]) == 1  # zlibv has no bitrate nor quality levels


def test_garbage_over_a_cluster_is_reported_or_skipped_never_a_traceback(tmp_path, capsys):
    import random

    source = media.make_clip(tmp_path / "c.mkv", frames=25)
    neural = tmp_path / "n.mkv"
    transcode([source], neural, codecs=[StreamChoice("v", "zlibv"), StreamChoice("a", "zliba")])
    data = bytearray(neural.read_bytes())
    noise = random.Random(1)
    middle = len(data) // 4
    data[middle:middle + 2000] = bytes(noise.randrange(256) for _ in range(2000))
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(bytes(data))
    assert main(["decode", str(damaged), str(tmp_path / "a.mkv")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "failed to decode" in err and "track " in err
    with pytest.warns(container.DecodeWarning):
        assert main(["decode", str(damaged), str(tmp_path / "b.mkv"), "--ignore-errors"]) == 0
    assert 20 <= len(media.decode_video(tmp_path / "b.mkv")) < 25


def test_a_damaged_tracks_element_is_invalid_data(clip, tmp_path, capsys):
    neural = tmp_path / "n.mkv"
    transcode([clip], neural, maps=["0:v"], codecs=[StreamChoice("v", "zlibv")])
    data = bytearray(neural.read_bytes())
    with open(neural, "rb") as f:
        at, _, _ = ebml._find_tracks(f)  # the Tracks element: 4-byte id, then its size
    data[at + 4:at + 12] = b"\x01\xff\xff\xff\xff\xff\xff\xf0"
    (tmp_path / "bad.mkv").write_bytes(bytes(data))
    assert main(["probe", str(tmp_path / "bad.mkv")]) == 1
    err = capsys.readouterr().err
    assert "bad.mkv" in err and len(err.strip().splitlines()) == 1


def _write_input(path):
    """A real file of the kind named by ``path``'s suffix, made with PyAV encoders."""
    suffix = path.suffix
    if suffix == ".jpg":
        av.VideoFrame.from_ndarray(media.video_frames(1)[0], format="rgb24").to_image().save(path, quality=90)
        return 1, 0
    if suffix == ".flac":
        with av.open(str(path), "w") as out:
            stream = out.add_stream("flac", rate=16000)
            stream.codec_context.layout = "mono"
            frame = av.AudioFrame.from_ndarray(media.tone(8000, 16000), format="s16", layout="mono")
            frame.sample_rate, frame.pts = 16000, 0
            out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        return 0, 8000
    video_codec, audio_codec = {".mp4": ("libx264", "aac"), ".webm": ("libvpx-vp9", "libopus")}[suffix]
    with av.open(str(path), "w") as out:
        video = out.add_stream(video_codec, rate=media.FPS)
        video.width, video.height, video.pix_fmt = media.WIDTH, media.HEIGHT, "yuv420p"
        audio = out.add_stream(audio_codec, rate=48000)
        audio.codec_context.layout = "mono"
        for i, image in enumerate(media.video_frames(5)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, media.FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        sound = av.AudioFrame.from_ndarray(media.tone(9600), format="s16", layout="mono")
        sound.sample_rate, sound.pts = 48000, 0
        out.mux(audio.encode(sound))
        out.mux(audio.encode(None))
    return 5, 9600


@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".flac", ".jpg"])
def test_inputs_of_common_formats_are_transcoded(suffix, tmp_path):
    source = tmp_path / f"in{suffix}"
    frames, samples = _write_input(source)
    out = tmp_path / "n.mkv"
    # A JPEG decodes to full-range yuvj420p, which the lossless zlibv rightly refuses.
    video = "ffv1" if suffix == ".jpg" else "zlibv"
    assert main(["transcode", "-i", str(source), "-c:v", video, "-c:a", "zliba", str(out)]) == 0
    with container.open(out) as f:
        decoded = list(f.decode())
    assert sum(1 for x in decoded if isinstance(x, av.VideoFrame)) == frames
    coded = sum(x.samples for x in decoded if isinstance(x, av.AudioFrame))
    assert (coded > 0) == (samples > 0) and abs(coded - samples) <= 2048  # encoder priming and padding


def test_raw_h264_without_timestamps_gets_frame_counted_ones(tmp_path):
    raw = tmp_path / "clip.264"
    with av.open(str(raw), "w", format="h264") as out:
        video = out.add_stream("libx264", rate=media.FPS)
        video.width, video.height, video.pix_fmt = media.WIDTH, media.HEIGHT, "yuv420p"
        for i, image in enumerate(media.video_frames(10)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, media.FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    out = tmp_path / "n.mkv"
    assert main(["transcode", "-f", "h264", "-i", str(raw), "-t", "0.2", "-c:v", "zlibv", str(out)]) == 0
    with container.open(out) as f:
        assert [frame.pts for frame in f.decode(video=0)] == [0, 40, 80, 120, 160]


def test_ctrl_c_on_the_real_command_leaves_no_file(tmp_path):
    import signal
    import time

    from neuralav.container.samples import SAMPLE

    command = [sys.executable, "-m", "neuralav.container.cli", "transcode", "-i", str(SAMPLE),
               "-c:v", "zlibv", "-opt:v", "level=9", str(tmp_path / "out.mkv")]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not list(tmp_path.iterdir()) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [p.name.startswith(".out.mkv.") for p in tmp_path.iterdir()] == [True], "no temporary file seen"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    # 130 from the command; now and then CPython ends an interrupted process by re-raising
    # SIGINT instead (status -2, which a shell also reports as 130). Either way nothing is left.
    assert process.returncode in (130, -signal.SIGINT), (process.returncode, err[-2000:])
    assert process.returncode == -signal.SIGINT or "interrupted" in err, err[-2000:]
    assert list(tmp_path.iterdir()) == []


def test_a_still_image_output_takes_the_first_frame(clip, tmp_path, capsys):
    neural = tmp_path / "n.mkv"
    transcode([clip], neural, maps=["0:v"], codecs=[StreamChoice("v", "zlibv")])
    assert main(["decode", str(neural), str(tmp_path / "first.png")]) == 0
    assert "1 frames" in capsys.readouterr().out
    with av.open(str(tmp_path / "first.png")) as f:
        still = next(f.decode(video=0)).to_ndarray(format="rgb24")
    np.testing.assert_array_equal(still, media.decode_video(clip, fmt="rgb24")[0][1])
