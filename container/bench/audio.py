"""The audio benchmark: rate–quality points, curves, BD-rates against Opus and real-time factors.

Clips are decoded with PyAV, downmixed to mono and resampled to one rate
(16 kHz by default, the rate of wideband PESQ) before any codec sees them, so
every codec codes exactly the same signal. Per clip and setting: kbps =
8 · packet bytes / clip duration / 1000, wideband PESQ, STOI, SNR (dB),
log-spectral distance (dB), encode and decode real-time factors (processing
seconds / audio seconds). Curves are means over clips.

Opus runs at the bitrates of ``opus_kbps`` plus, for each lossy registry
codec, the mean bitrate of each of its levels (so Opus is measured at matching
bitrates; clipped to 6–256 kbps).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import av
import numpy as np

from neuralav.registry import metrics
from neuralav.registry.metrics import bdrate
from neuralav.registry import NeuralavError

from .audio_codecs import AudioCodec, OpusCodec, RegistryAudioCodec, align, registry_audio_codecs
from .errors import BenchError, NoMediaError
from .timing import MIB, RSSSampler, summarize_times, time_call

__all__ = ["AUDIO_SCHEMA", "AUDIO_SUFFIXES", "DEFAULT_OPUS_KBPS", "AudioBenchConfig", "load_clip",
           "load_clips", "run_audio", "audio_curves"]

AUDIO_SCHEMA = "neuralav-bench-audio/1"
AUDIO_SUFFIXES = (".ogg", ".oga", ".opus", ".wav", ".flac", ".mp3", ".m4a", ".aac")
DEFAULT_OPUS_KBPS = (6.0, 8.0, 12.0, 16.0, 24.0, 32.0)
MATCH_RANGE_KBPS = (6.0, 256.0)
MAX_LAG_S = 0.1
"""Largest decoder delay searched when aligning (seconds)."""
QUICK_CLIPS = 1


@dataclass
class AudioBenchConfig:
    """What :func:`run_audio` measures.

    Attributes:
        folder: Folder of audio clips.
        codec_names: Registry codecs to run (default: every installed neural audio codec).
        with_neural: Run the installed neural codecs when ``codec_names`` is empty.
        quick: First :data:`QUICK_CLIPS` clip(s) only (and ``max_seconds`` applies).
        rate: Sample rate (Hz) clips are converted to.
        opus_kbps: Opus bitrates (kbps) run in any case.
        max_seconds: Cut clips to this length (seconds), or ``None``.
        speed_repeats: Timed repeats per codec in the speed section, after one warm-up.
        speed_kbps: Each codec is timed at its setting whose rate is nearest this.
        progress: Callable wrapping an iterable with a progress bar (``tqdm``), or ``None``.
    """

    folder: Path
    codec_names: Sequence[str] | None = None
    with_neural: bool = True
    quick: bool = False
    rate: int = 16000
    opus_kbps: Sequence[float] = DEFAULT_OPUS_KBPS
    max_seconds: float | None = None
    speed_repeats: int = 5
    speed_kbps: float = 8.0
    progress: Callable[..., Any] | None = None


def load_clip(path: Path, rate: int, max_seconds: float | None = None) -> np.ndarray:
    """Decode a clip to mono ``float32`` at ``rate`` Hz (channels averaged), optionally cut.

    Raises:
        NoMediaError: the file has no decodable audio.
    """
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    parts = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(audio=0):
                frame.pts = None
                parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    except (av.FFmpegError, IndexError) as error:
        raise NoMediaError(f"cannot decode audio from `{path}`: {error}") from None
    if not parts:
        raise NoMediaError(f"`{path}` has no audio samples")
    samples = np.concatenate(parts).astype(np.float32)
    if max_seconds is not None:
        samples = samples[:int(round(max_seconds * rate))]
    return samples


def load_clips(folder: Path, rate: int, limit: int | None = None,
               max_seconds: float | None = None) -> list[tuple[str, np.ndarray]]:
    """The clips of ``folder`` (sorted by name) as ``(file name, mono float32)``.

    Raises:
        NoMediaError: the folder does not exist or holds no audio file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NoMediaError(f"audio folder `{folder}` does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise NoMediaError(f"no audio clip ({', '.join(AUDIO_SUFFIXES)}) in `{folder}`")
    files = files[:limit] if limit else files
    return [(p.name, load_clip(p, rate, max_seconds)) for p in files]


def _measure(codec: AudioCodec, setting: Any, name: str, clip: np.ndarray, rate: int) -> dict:
    stream = codec.open(setting, rate)
    packets, encode_s = time_call(stream.encode, clip)
    decoded, decode_s = time_call(stream.decode, packets)
    reference, degraded, lag = align(clip, decoded, int(MAX_LAG_S * rate))
    seconds = clip.size / rate
    size = sum(len(p) for p in packets)
    snr = metrics.snr_db(reference, degraded)
    return {
        "codec": codec.name, "setting": setting, "clip": name, "seconds": seconds, "bytes": size,
        "kbps": metrics.kbps(size, seconds), "lag_samples": lag,
        "decoded_samples": int(decoded.size), "lossless": math.isinf(snr) and snr > 0,
        "pesq_wb": metrics.pesq_wb(reference, degraded, rate) if rate == 16000 else None,
        "stoi": metrics.stoi(reference, degraded, rate), "snr_db": snr,
        "lsd_db": metrics.log_spectral_distance(reference, degraded),
        "encode_s": encode_s, "decode_s": decode_s,
        "encode_rtf": encode_s / seconds, "decode_rtf": decode_s / seconds,
    }


def audio_curves(points: Sequence[dict]) -> dict[str, list[dict]]:
    """Group points by codec and setting into curve points (means over clips), sorted by kbps."""
    groups: dict[tuple[str, Any], list[dict]] = {}
    for point in points:
        groups.setdefault((point["codec"], point["setting"]), []).append(point)
    curves: dict[str, list[dict]] = {}
    for (codec, setting), group in groups.items():
        entry: dict[str, Any] = {"setting": setting, "clips": len(group)}
        for key in ("kbps", "pesq_wb", "stoi", "snr_db", "lsd_db", "encode_rtf", "decode_rtf"):
            values = [p[key] for p in group]
            entry[key] = None if any(v is None for v in values) else float(np.mean(values))
        curves.setdefault(codec, []).append(entry)
    for curve in curves.values():
        curve.sort(key=lambda c: c["kbps"])
    return curves


def _nearest(curve: list[dict], kbps: float) -> Any:
    return min(curve, key=lambda c: abs(math.log(c["kbps"] / kbps)) if c["kbps"] > 0 else math.inf)["setting"]


def _speed(config: AudioBenchConfig, codecs: list[AudioCodec], curves: dict[str, list[dict]],
           clip: tuple[str, np.ndarray]) -> dict:
    name, samples = clip
    seconds = samples.size / config.rate
    chosen = {c.name: _nearest(curves[c.name], config.speed_kbps) for c in codecs}
    streams, memory = {}, {}
    for codec in codecs:  # untimed warm-up, with memory sampling
        stream = streams[codec.name] = codec.open(chosen[codec.name], config.rate)
        with RSSSampler() as encode_memory:
            packets = stream.encode(samples)
        with RSSSampler() as decode_memory:
            stream.decode(packets)
        memory[codec.name] = (encode_memory.peak_increase / MIB, decode_memory.peak_increase / MIB)
    times: dict[str, tuple[list[float], list[float]]] = {c.name: ([], []) for c in codecs}
    steps = [(r, c) for r in range(config.speed_repeats) for c in codecs]
    for _, codec in (config.progress(steps, desc="speed") if config.progress else steps):
        stream = codec.open(chosen[codec.name], config.rate)
        packets, encode_s = time_call(stream.encode, samples)
        _, decode_s = time_call(stream.decode, packets)
        times[codec.name][0].append(encode_s / seconds)
        times[codec.name][1].append(decode_s / seconds)
    return {
        "clip": name, "seconds": seconds, "target_kbps": config.speed_kbps, "repeats": config.speed_repeats,
        "memory_method": "peak RSS above the RSS before the call (psutil, sampled every 2 ms), warm-up call",
        "codecs": {c.name: {"setting": chosen[c.name],
                            "kbps": next(p["kbps"] for p in curves[c.name] if p["setting"] == chosen[c.name]),
                            "encode_rtf": summarize_times(times[c.name][0]),
                            "decode_rtf": summarize_times(times[c.name][1]),
                            "encode_peak_mib": memory[c.name][0], "decode_peak_mib": memory[c.name][1]}
                   for c in codecs},
    }


def _run_codec(config: AudioBenchConfig, codec: AudioCodec, clips: list[tuple[str, np.ndarray]],
               bar: Any) -> tuple[list[dict], float]:
    points = []
    with RSSSampler() as sampler:
        for setting in codec.settings:
            for name, clip in clips:
                points.append(_measure(codec, setting, name, clip, config.rate))
                if bar is not None:
                    bar.update(1)
    return points, sampler.peak_increase / MIB


def run_audio(config: AudioBenchConfig) -> dict:
    """Run the audio benchmark; return the JSON-ready result (schema :data:`AUDIO_SCHEMA`).

    A registry codec that fails (e.g. missing weights) is skipped with a warning
    and listed under ``skipped``; Opus errors propagate.

    Raises:
        NoMediaError: no clip in the folder.
        BenchError: bad configuration (e.g. a rate Opus cannot code).
    """
    clips = load_clips(config.folder, config.rate, QUICK_CLIPS if config.quick else None, config.max_seconds)
    short = [n for n, c in clips if c.size < 512]
    if short:
        raise BenchError(f"clips shorter than 512 samples cannot be measured: {', '.join(short)}")
    neural = registry_audio_codecs(config.codec_names) if config.codec_names or config.with_neural else []
    bar = config.progress(total=len(clips) * sum(len(c.settings) for c in neural), desc="neural codecs") \
        if config.progress else None
    points: list[dict] = []
    skipped: list[dict[str, str]] = []
    ran: list[AudioCodec] = []
    sweep_memory: dict[str, float] = {}
    for codec in neural:
        try:
            codec_points, sweep_memory[codec.name] = _run_codec(config, codec, clips, bar)
        except NeuralavError as error:
            reason = f"{type(error).__name__}: {error}"
            warnings.warn(f"skipping codec `{codec.name}`: {reason}", RuntimeWarning, stacklevel=2)
            skipped.append({"codec": codec.name, "reason": reason})
            continue
        points += codec_points
        ran.append(codec)
    if bar is not None:
        bar.close()
    matched = []
    for codec in ran:
        if isinstance(codec, RegistryAudioCodec) and codec.lossy:
            for point in audio_curves([p for p in points if p["codec"] == codec.name])[codec.name]:
                matched.append(round(min(max(point["kbps"], MATCH_RANGE_KBPS[0]), MATCH_RANGE_KBPS[1]), 2))
    opus = OpusCodec(tuple(config.opus_kbps) + tuple(matched))
    bar = config.progress(total=len(clips) * len(opus.settings), desc="opus") if config.progress else None
    opus_points, sweep_memory[opus.name] = _run_codec(config, opus, clips, bar)
    if bar is not None:
        bar.close()
    points += opus_points
    ran.insert(0, opus)
    curves = audio_curves(points)
    speed = _speed(config, ran, curves, clips[0])
    for name, mib in sweep_memory.items():
        speed["codecs"][name]["sweep_peak_mib"] = mib
    return {
        "schema": AUDIO_SCHEMA,
        "dataset": {"folder": str(config.folder), "quick": config.quick, "rate": config.rate,
                    "seconds": sum(c.size for _, c in clips) / config.rate,
                    "clips": [{"name": n, "seconds": c.size / config.rate} for n, c in clips]},
        "metrics": {
            "kbps": "8 * packet bytes / clip seconds / 1000, mean over clips",
            "pesq_wb": "wideband PESQ (ITU-T P.862.2, `pesq` package), MOS-LQO",
            "stoi": "STOI (`pystoi`, classic, not extended)",
            "snr_db": "10 log10(signal energy / error energy) after delay alignment",
            "lsd_db": "log-spectral distance: RMS over bins of the dB power difference (512-sample Hann STFT, "
                      "hop 128), mean over frames",
            "rtf": "processing seconds / audio seconds (wall clock)",
            "alignment": f"decoder delay removed: lag in 0-{MAX_LAG_S:g} s maximizing cross-correlation",
            "sweep_peak_mib": "peak RSS above the RSS before the codec's whole sweep (model loading included)",
        },
        "opus_matched_kbps": sorted(set(matched)),
        "codecs": [c.describe() for c in ran],
        "skipped": skipped,
        "points": points,
        "curves": curves,
        "bd_rate": {"method": bdrate.METHOD, "rate": "kbps", "quality": {"pesq_wb": "PESQ-WB", "stoi": "STOI"},
                    "anchors": ["opus"],
                    "results": bdrate.bd_rates(curves, ("opus",), "kbps", {"pesq_wb": "pesq_wb", "stoi": "stoi"})},
        "speed": speed,
    }
