"""Real media files for the container tests, made with PyAV's own encoders (libx264, libopus)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT, FPS = 96, 64, 25
RATE = 48000


def video_frames(count: int, width: int = WIDTH, height: int = HEIGHT) -> list[np.ndarray]:
    """Moving gradients with a square: HxWx3 uint8 (rgb24), one per frame."""
    y, x = np.mgrid[0:height, 0:width]
    frames = []
    for i in range(count):
        image = np.stack([(x * 2 + i * 7) % 256, (y * 3 + i * 5) % 256, ((x + y) + i * 11) % 256], -1)
        image[10:30, (i * 4) % (width - 20):(i * 4) % (width - 20) + 20] = 255
        frames.append(image.astype(np.uint8))
    return frames


def tone(samples: int, rate: int = RATE, channels: int = 1) -> np.ndarray:
    """A chirp in int16, shape (channels, samples)."""
    t = np.arange(samples) / rate
    wave = 0.3 * np.sin(2 * np.pi * (220 + 400 * t) * t)
    return np.tile((wave * 32767).astype(np.int16), (channels, 1))


def make_clip(path: Path, frames: int = 10, seconds: float | None = None, *, gop: int = 5,
              audio_rate: int = RATE, with_attachment: bool = False) -> Path:
    """Matroska/MP4 with H.264 video (libx264) and Opus mono audio (libopus) of the same length."""
    seconds = seconds if seconds is not None else frames / FPS
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS, options={"g": str(gop), "bf": "2", "crf": "20"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = out.add_stream("libopus", rate=audio_rate)
        audio.codec_context.layout = "mono"
        if with_attachment:
            out.add_attachment(name="notes.txt", mimetype="text/plain", data=b"neuralav test attachment\n")
        for i, image in enumerate(video_frames(frames)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        samples = tone(int(seconds * audio_rate), audio_rate)
        step = audio_rate // 50
        for start in range(0, samples.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + step]),
                                               format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = audio_rate, start, Fraction(1, audio_rate)
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return path


def make_wav(path: Path, samples: int = 12345, rate: int = 16000, channels: int = 1) -> np.ndarray:
    """A PCM s16 WAV file; returns its samples, shape (channels, samples)."""
    data = tone(samples, rate, channels)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=rate)
        stream.codec_context.layout = "mono" if channels == 1 else "stereo"
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data.T.reshape(1, -1)), format="s16",
                                           layout=stream.codec_context.layout.name)
        frame.sample_rate, frame.pts = rate, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return data


def decode_video(path: Path, index: int = 0, fmt: str = "rgb24") -> list[tuple[int, np.ndarray]]:
    """(pts in ms, image) of every frame of a standard video track, read by PyAV alone."""
    with av.open(str(path)) as container:
        stream = container.streams.video[index]
        return [(int(round(f.pts * f.time_base * 1000)), f.to_ndarray(format=fmt))
                for f in container.decode(stream)]


def packets(path: Path, index: int) -> list[tuple[int | None, bytes]]:
    """(pts in ms, bytes) of every non-empty packet of stream ``index``, read by PyAV alone."""
    with av.open(str(path)) as container:
        stream = container.streams[index]
        return [(None if p.pts is None else int(round(p.pts * p.time_base * 1000)), bytes(p))
                for p in container.demux(stream) if p.size]
