"""A copy only where the output format is made for the codec (issue 26.8): AAC to .wav becomes
PCM as with ffmpeg; Opus to .ogg stays a copy."""

from __future__ import annotations

import wave

import numpy as np

from neuralav.container.cli import main

from .ffmpeg_media import ffmpeg, ffprobe, make_h264_aac_mp4, needs_ffmpeg, streams

pytestmark = needs_ffmpeg


def _wav_samples(path) -> np.ndarray:
    with wave.open(str(path)) as f:  # Python's own reader: PCM only
        assert (f.getnchannels(), f.getsampwidth()) == (1, 2)
        return np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(int)


def test_aac_mapped_to_wav_is_written_as_pcm_like_ffmpeg(tmp_path):
    source = make_h264_aac_mp4(tmp_path / "in.mp4")
    out, reference = tmp_path / "out.wav", tmp_path / "ref.wav"
    assert main(["transcode", "-i", str(source), "-map", "0:a", str(out)]) == 0
    ffmpeg("-i", str(source), "-map", "0:a", str(reference))
    assert streams(out)[0]["codec_name"] == streams(reference)[0]["codec_name"] == "pcm_s16le"
    ours, theirs = _wav_samples(out), _wav_samples(reference)
    assert len(ours) == len(theirs) and np.abs(ours - theirs).max() <= 2  # float AAC decode, rounded


def test_opus_mapped_to_ogg_is_copied(tmp_path):
    source = tmp_path / "in.mka"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "0.5", "-c:a", "libopus", str(source))
    out = tmp_path / "out.ogg"
    assert main(["transcode", "-i", str(source), str(out)]) == 0
    sizes = [p["size"] for p in ffprobe(out, "-show_packets")["packets"]]
    assert sizes == [p["size"] for p in ffprobe(source, "-show_packets")["packets"]]
