"""Measure ``wavenet`` against Opus on held-out speech; write JSON and print a table.

Every number comes from real packets: the codec through the neuralav registry (range-coded
bytes, payload framing included), Opus through PyAV's libopus encoder (packet bytes, no
container). Metrics, on the 16 kHz mono reference:

- ``kbps``: payload bits / duration.
- ``snr``: 10 log10(sum x^2 / sum (x - x_hat)^2), dB.
- ``lsd``: log-spectral distance, dB (RMS over frequency of the 20 log10 magnitude
  difference, 512-sample Hann frames, hop 128, magnitudes floored at -80 dB under the
  clip's peak, averaged over frames louder than -60 dB).
- ``mcd``: mel-cepstral distance, dB: (10 / ln 10) sqrt(2 sum (c_n - c'_n)^2) over mel-cepstra
  c_1..c_13 of the log mel amplitude (40 bands), averaged over active frames.
- ``pesq_wb`` / ``stoi``: with the ``pesq`` and ``pystoi`` packages when installed.
- ``x_realtime``: audio seconds coded per wall-clock second, encode + decode (the codec object
  built and its graphs traced beforehand). ``x_realtime_cpu``: the same per CPU second of this
  process (what an otherwise idle machine would give with the same thread count).

Usage::

    python -m neuralav.plugins.wavenet.evaluate --out results.json [--weights PATH] [--threads 1]
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

HELD_OUT = Path(__file__).resolve().parents[3] / "shared" / "data" / "speech"
RATE = 16000
AUDIO_EXTENSIONS = ("ogg", "flac", "wav")


def load(path: str) -> np.ndarray:
    from .data import decode_file

    return decode_file(path, RATE)


def _frames(x: np.ndarray, size: int = 960):
    for start in range(0, len(x), size):
        frame = av.AudioFrame.from_ndarray(x[None, start:start + size].astype(np.float32).copy(),
                                           format="flt", layout="mono")
        frame.sample_rate = RATE
        frame.pts = start
        frame.time_base = Fraction(1, RATE)
        yield frame


def run_wavenet(x: np.ndarray, quality: int, registry_obj) -> tuple[np.ndarray, int, tuple[float, float]]:
    """Code ``x`` with ``wavenet``; returns (decoded, payload bytes, (wall, CPU) seconds spent)."""
    from neuralav import registry

    start, cpu = time.perf_counter(), time.process_time()
    encoder = registry.create_encoder("wavenet", {"quality": quality}, registry=registry_obj,
                                      sample_rate=RATE, layout="mono", format="flt")
    decoder = registry.create_decoder("wavenet", encoder.header, registry=registry_obj)
    packets, out = [], []
    for frame in _frames(x):
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    for packet in packets:
        out += [f.to_ndarray()[0] for f in decoder.decode(packet)]
    out += [f.to_ndarray()[0] for f in decoder.decode(None)]
    spent = (time.perf_counter() - start, time.process_time() - cpu)
    return np.concatenate(out), sum(p.size for p in packets), spent


def run_opus(x: np.ndarray, bitrate: int, application: str = "audio") -> tuple[np.ndarray, int]:
    """Code ``x`` with libopus (VBR, 20 ms frames) at ``bitrate`` bit/s; returns (decoded, bytes).

    ``application`` is libopus's mode: ``audio`` (FFmpeg's default) or ``voip`` (tuned for
    speech intelligibility).

    The encoder is fed float samples (``flt``), as ``neuralav bench audio`` does: with the
    stream's default ``s16`` input, libopus scored 0.02 lower on PESQ-WB at 6 kbps on the
    held-out clips (per clip up to 0.09), at the same rate.
    """
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=RATE, options={"application": application})
        stream.layout = "mono"
        stream.format = "flt"
        stream.bit_rate = bitrate
        for frame in _frames(x.astype(np.float32)):
            frame.pts = None
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    buffer.seek(0)
    size, out = 0, []
    resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    with av.open(buffer) as container:
        for packet in container.demux(audio=0):
            size += packet.size
            for frame in packet.decode():
                frame.pts = None
                out += [f.to_ndarray()[0] for f in resampler.resample(frame)]
    out += [f.to_ndarray()[0] for f in resampler.resample(None)]
    y = np.concatenate(out)
    return _align(x, y), size


def _align(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Remove a codec's constant delay (Opus pre-skip leftovers) by cross-correlation (≤ 30 ms)."""
    best, best_lag = -np.inf, 0
    for lag in range(0, 481):
        n = min(len(x), len(y) - lag)
        score = float(np.dot(x[:n], y[lag:lag + n]))
        if score > best:
            best, best_lag = score, lag
    y = y[best_lag:]
    return np.pad(y, (0, max(0, len(x) - len(y))))[:len(x)]


def _stft_mag(x: np.ndarray, n: int = 512, hop: int = 128) -> np.ndarray:
    window = np.hanning(n)
    frames = [x[i:i + n] * window for i in range(0, len(x) - n, hop)]
    return np.abs(np.fft.rfft(np.array(frames), axis=1))


def _mel_matrix(bands: int = 40, n: int = 512) -> np.ndarray:
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    inv = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    edges = inv(np.linspace(mel(0), mel(RATE / 2), bands + 2))
    freqs = np.linspace(0, RATE / 2, n // 2 + 1)
    matrix = np.zeros((bands, len(freqs)))
    for b in range(bands):
        lo, mid, hi = edges[b:b + 3]
        matrix[b] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return matrix


def metrics(x: np.ndarray, y: np.ndarray, perceptual: bool = True) -> dict[str, float]:
    """Distortion measures of ``y`` against the reference ``x`` (16 kHz mono, shape (n,)).

    ``perceptual=False`` leaves out PESQ and STOI (optional packages, slower).
    """
    y = y[:len(x)]
    result = {"snr": float(10 * np.log10(np.sum(x ** 2) / max(np.sum((x - y) ** 2), 1e-12)))}
    sx, sy = _stft_mag(x), _stft_mag(y)
    active = 20 * np.log10(np.sqrt(np.mean(sx ** 2, axis=1)) + 1e-9) > -60  # skip digital silence
    floor = 1e-4 * sx.max()  # -80 dB under the clip's peak: missing bands count, digital zeros do not explode
    sx, sy = np.maximum(sx, floor), np.maximum(sy, floor)
    diff = 20 * np.log10(sx) - 20 * np.log10(sy)
    result["lsd"] = float(np.mean(np.sqrt(np.mean(diff ** 2, axis=1))[active]))
    mel = _mel_matrix()
    from scipy.fft import dct

    bands = mel.shape[0]
    # Mel-cepstra of the log mel amplitude, scaled like a real cepstrum (c_n = DCT-II / 2K).
    cx = dct(0.5 * np.log(sx ** 2 @ mel.T), type=2, axis=1)[:, 1:14] / (2 * bands)
    cy = dct(0.5 * np.log(sy ** 2 @ mel.T), type=2, axis=1)[:, 1:14] / (2 * bands)
    result["mcd"] = float(np.mean((10 / np.log(10)) * np.sqrt(2 * np.sum((cx - cy) ** 2, axis=1))[active]))
    if not perceptual:
        return result
    try:
        from pesq import pesq

        result["pesq_wb"] = float(pesq(RATE, x.astype(np.float64), y.astype(np.float64), "wb"))
    except ImportError:
        pass
    except (ValueError, RuntimeError) as error:  # e.g. a silent output: PESQ is undefined
        print(f"pesq failed: {error}", file=sys.stderr)
        result["pesq_wb"] = None
    try:
        from pystoi import stoi

        result["stoi"] = float(stoi(x, y, RATE, extended=False))
    except ImportError:
        pass
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=HELD_OUT, help="folder of held-out clips (*.ogg, *.flac, *.wav)")
    parser.add_argument("--weights", type=Path, default=None, help="wavenet.npz (default: the shipped one)")
    parser.add_argument("--qualities", default="1,2,3")
    parser.add_argument("--opus", default="3000,6000,8000,12000", help="Opus bitrates (bit/s)")
    parser.add_argument("--opus-applications", default="audio",
                        help="libopus modes to run at each bitrate: audio (FFmpeg's default), voip")
    parser.add_argument("--threads", type=int, default=0, help="TF intra-op threads (0: TF's default)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.weights is not None:
        os.environ["NEURALAV_WAVENET_WEIGHTS"] = str(args.weights)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    from neuralav import registry
    from neuralav.plugins import wavenet

    reg = registry.build_registry([wavenet], autoload=False)
    clips = sorted(c for ext in AUDIO_EXTENSIONS for c in glob.glob(str(args.data / f"*.{ext}")))
    if not clips:
        raise SystemExit(f"no audio clips ({', '.join(AUDIO_EXTENSIONS)}) in {args.data}")
    signals = {Path(c).name: load(c) for c in clips}
    rows = []
    # Warm-up (tracing) so that timings measure coding, not graph building.
    for quality in [int(q) for q in args.qualities.split(",")]:
        run_wavenet(next(iter(signals.values()))[:RATE + 999], quality, reg)
    for quality in [int(q) for q in args.qualities.split(",")]:
        rows.append(_row(f"wavenet q{quality}", signals,
                         lambda x, q=quality: run_wavenet(x, q, reg)))
    for application in args.opus_applications.split(","):
        for bitrate in [int(b) for b in args.opus.split(",") if b]:
            name = f"opus {bitrate // 1000}k" + ("" if application == "audio" else f" {application}")
            rows.append(_row(name, signals, lambda x, b=bitrate, a=application: (*run_opus(x, b, a), None)))
    keys = ["kbps", "snr", "lsd", "mcd", "pesq_wb", "stoi", "x_realtime", "x_realtime_cpu"]
    print("| codec | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for row in rows:
        cells = [f"{row['mean'][k]:.3g}" if row["mean"].get(k) is not None else "–" for k in keys]
        print(f"| {row['codec']} | " + " | ".join(cells) + " |")
    if args.out:
        meta = {"command": " ".join(["python -m neuralav.plugins.wavenet.evaluate", *sys.argv[1:]]),
                "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "clips": list(signals), "data": str(args.data), "threads": args.threads,
                "weights": os.environ.get("NEURALAV_WAVENET_WEIGHTS", "shipped")}
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    return 0


def _row(name: str, signals: dict[str, np.ndarray], code) -> dict:
    per_clip = {}
    total_bytes = total_seconds = spent_total = cpu_total = 0.0
    timed = True
    for clip, x in signals.items():
        y, size, spent = code(x)
        m = metrics(x, y)
        m["kbps"] = size * 8 / (len(x) / RATE) / 1000
        per_clip[clip] = m
        total_bytes += size
        total_seconds += len(x) / RATE
        if spent is None:
            timed = False
        else:
            spent_total += spent[0]
            cpu_total += spent[1]
    mean = {}
    for k in next(iter(per_clip.values())):
        values = [m[k] for m in per_clip.values()]
        mean[k] = None if any(v is None for v in values) else float(np.mean(values))
    mean["kbps"] = total_bytes * 8 / total_seconds / 1000
    mean["x_realtime"] = total_seconds / spent_total if timed else None
    mean["x_realtime_cpu"] = total_seconds / cpu_total if timed else None
    return {"codec": name, "mean": mean, "clips": per_clip}


if __name__ == "__main__":
    sys.exit(main())
