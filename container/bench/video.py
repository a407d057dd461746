"""The video benchmark: whole clips coded by each codec, against libx264/libx265 with P/B-frames.

:func:`run_video` returns one JSON-ready ``dict`` (schema :data:`VIDEO_SCHEMA`);
:func:`format_video_table` and :func:`plot_video` turn it into a table and a PNG.

Every codec codes the same decoded RGB frames of each clip (the first
``frames`` of it). Per clip and setting:

- bpp = 8 · (bytes of every packet of the clip) / (width · height · frames):
  the real coded stream, without a container;
- PSNR: RGB PSNR (peak 255) of each decoded frame against its source frame,
  averaged over frames (the usual per-sequence PSNR of video codec tests);
- MS-SSIM: mean over frames (``None`` below 161 pixels on a side);
- encode / decode fps: frames over the wall-clock seconds of the whole clip.

BD-rates are computed per clip against each anchor present (:data:`ANCHORS`, and
the neural intra-only codecs that ran, so that an inter codec is also compared with
its own family's intra coding) and averaged over clips, as video codec comparisons do.
"""

from __future__ import annotations

import abc
import statistics
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Sequence

import av
import numpy as np

from neuralav import registry
from neuralav.registry import MediaType, NeuralavError, metrics
from neuralav.registry.metrics import bdrate

from .errors import BenchError, NoMediaError
from .image_codecs import _decoder_available, _encoder_available, _pad_even
from .selection import adopt_descriptor, registry_descriptors

__all__ = ["VIDEO_SCHEMA", "ANCHORS", "RAW_FORMATS", "Clip", "VideoCodec", "PyAVVideoCodec",
           "RegistryVideoCodec", "standard_video_codecs", "registry_video_codecs", "load_clip",
           "VideoBenchConfig", "run_video", "format_video_table", "plot_video"]

VIDEO_SCHEMA = "neuralav-bench-video/1"
ANCHORS = ("x264", "x264-intra")
"""Codecs every other codec's BD-rate is computed against, when they are in the run."""

RAW_FORMATS = {".264": "h264", ".h264": "h264", ".avc": "h264", ".265": "hevc", ".h265": "hevc",
               ".hevc": "hevc", ".y4m": "yuv4mpegpipe", ".ivf": "ivf"}
"""Elementary-stream suffixes libavformat cannot probe reliably, and the demuxer each needs."""


@dataclass
class Clip:
    """Decoded frames of one video file.

    Attributes:
        name: File name.
        frames: ``frames`` HxWx3 ``uint8`` RGB arrays, in display order.
        frame_rate: Frames per second (the stream's average rate; 25 if unknown).
    """

    name: str
    frames: list[np.ndarray]
    frame_rate: Fraction

    @property
    def width(self) -> int:
        return int(self.frames[0].shape[1])

    @property
    def height(self) -> int:
        return int(self.frames[0].shape[0])


def load_clip(path: Path, frames: int) -> Clip:
    """The first ``frames`` frames of the first video stream of ``path`` as RGB.

    Raw H.264/HEVC elementary streams (``.264``, ``.h265``...) are opened with
    their demuxer named (:data:`RAW_FORMATS`).

    Raises:
        NoMediaError: the file cannot be read or has no video frame.
    """
    path = Path(path)
    if not path.is_file():
        raise NoMediaError(f"video clip `{path}` does not exist")
    decoded: list[np.ndarray] = []
    try:
        with av.open(str(path), format=RAW_FORMATS.get(path.suffix.lower())) as container:
            if not container.streams.video:
                raise NoMediaError(f"`{path}` has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            for frame in container.decode(stream):
                decoded.append(frame.to_ndarray(format="rgb24"))
                if len(decoded) >= frames:
                    break
    except av.FFmpegError as error:
        raise NoMediaError(f"cannot read video frames from `{path}`: {error}") from None
    if not decoded:
        raise NoMediaError(f"`{path}` has no video frame")
    return Clip(path.name, decoded, Fraction(rate))


@dataclass
class Coded:
    """One clip coded and decoded at one setting.

    Attributes:
        sizes: Bytes of each packet, in decoding order.
        decoded: Decoded RGB frames in display order (as many as the input).
        encode_s: Wall-clock seconds to encode the whole clip (flush included).
        decode_s: Wall-clock seconds to decode every packet (flush included).
    """

    sizes: list[int]
    decoded: list[np.ndarray]
    encode_s: float
    decode_s: float


class VideoCodec(abc.ABC):
    """A video codec run on a whole clip at one of its settings.

    Attributes:
        name: Short name used in tables and BD-rate keys (``x264``, ``vae``...).
        label: Longer description.
        family: ``"standard"`` (FFmpeg encoders) or ``"neural"``/``"registry"``.
        setting_name: What a setting is (``crf``, ``quality``).
        settings: Settings swept in a full run, lowest rate first where known.
        quick_settings: Settings swept with ``--quick``.
    """

    name: str
    label: str
    family: str
    setting_name: str
    settings: tuple
    quick_settings: tuple

    @abc.abstractmethod
    def code(self, clip: Clip, setting: Any) -> Coded:
        """Encode every frame of ``clip``, decode the packets, return sizes, frames and times."""

    def describe(self) -> dict[str, Any]:
        """JSON-ready identity of the codec for reports."""
        return {"name": self.name, "label": self.label, "family": self.family,
                "setting_name": self.setting_name, "settings": list(self.settings)}


class PyAVVideoCodec(VideoCodec):
    """An FFmpeg encoder through PyAV (libx264, libx265) at its default preset, swept by CRF.

    Frames go in as ``yuv420p`` (full-range BT.601 from RGB, odd sides padded by
    edge replication) with the clip's frame rate; ``options`` are the encoder's
    private options (e.g. ``{"x264-params": "keyint=1"}`` for intra-only).
    """

    family = "standard"
    setting_name = "crf"

    def __init__(self, name: str, label: str, encoder: str, decoder: str, settings: Sequence[int],
                 quick_settings: Sequence[int], options: dict[str, str] | None = None) -> None:
        self.name, self.label, self.encoder, self.decoder = name, label, encoder, decoder
        self.settings, self.quick_settings = tuple(settings), tuple(quick_settings)
        self.options = dict(options or {})

    def code(self, clip: Clip, setting: Any) -> Coded:
        start = time.perf_counter()
        context = av.CodecContext.create(self.encoder, "w")
        padded = [_pad_even(frame) for frame in clip.frames]
        context.width, context.height = padded[0].shape[1], padded[0].shape[0]
        context.pix_fmt = "yuv420p"
        context.time_base = 1 / clip.frame_rate
        context.framerate = clip.frame_rate
        context.color_range = 2  # AVCOL_RANGE_JPEG: full range
        context.options = {**self.options, "crf": str(setting)}
        packets: list[av.Packet] = []
        for index, rgb in enumerate(padded):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="ITU601", dst_color_range="JPEG")
            frame.pts = index
            packets += context.encode(frame)
        packets += context.encode(None)
        payloads = [bytes(packet) for packet in packets]
        encode_s = time.perf_counter() - start
        start = time.perf_counter()
        decoder = av.CodecContext.create(self.decoder, "r")
        frames = []
        for payload in payloads:
            frames += decoder.decode(av.Packet(payload))
        frames += decoder.decode(None)
        decoded = [np.ascontiguousarray(f.reformat(format="rgb24", src_colorspace="ITU601",
                                                   src_color_range="JPEG").to_ndarray()[:clip.height, :clip.width])
                   for f in frames]
        decode_s = time.perf_counter() - start
        if len(decoded) != len(clip.frames):
            raise BenchError(f"{self.decoder} decoded {len(decoded)} frames from {len(clip.frames)} at crf {setting}")
        return Coded([len(p) for p in payloads], decoded, encode_s, decode_s)


class RegistryVideoCodec(VideoCodec):
    """A neuralav VIDEO codec from the registry, swept over its ``quality`` option.

    One encoder and one decoder per clip and setting, as a stream: frames go in
    with their pts, packets come out in decoding order (for an intra-only codec
    one per frame; a stateful codec may hold frames back until the flush).
    """

    setting_name = "quality"

    def __init__(self, descriptor: registry.CodecDescriptor) -> None:
        adopt_descriptor(self, descriptor)
        self.quick_settings = self.settings

    def _coders(self, setting: Any) -> tuple[registry.Encoder, registry.Decoder]:
        encoder = registry.create_encoder(self.name, {} if setting is None else {"quality": setting})
        return encoder, registry.create_decoder(self.name, encoder.header)

    def warm_up(self, clip: Clip, setting: Any) -> None:
        """Code the first two frames once with throwaway coders, untimed: model load and graph
        tracing for a keyframe and, in a stateful codec, for the frame that follows it."""
        encoder, decoder = self._coders(setting)
        packets: list[av.Packet] = []
        for index, rgb in enumerate(clip.frames[:2]):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = index, 1 / clip.frame_rate
            packets += encoder.encode(frame)
        for packet in packets + encoder.encode(None):
            decoder.decode(packet)
        decoder.decode(None)

    def code(self, clip: Clip, setting: Any) -> Coded:
        self.warm_up(clip, setting)
        encoder, decoder = self._coders(setting)
        time_base = 1 / clip.frame_rate
        start = time.perf_counter()
        packets: list[av.Packet] = []
        for index, rgb in enumerate(clip.frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = index, time_base
            packets += encoder.encode(frame)
        packets += encoder.encode(None)
        payloads = [bytes(packet) for packet in packets]
        encode_s = time.perf_counter() - start
        start = time.perf_counter()
        frames = []
        for payload in payloads:
            frames += decoder.decode(av.Packet(payload))
        frames += decoder.decode(None)
        decoded = [f.to_ndarray(format="rgb24") for f in frames]
        decode_s = time.perf_counter() - start
        if len(decoded) != len(clip.frames):
            raise BenchError(f"codec `{self.name}` decoded {len(decoded)} frames from {len(clip.frames)}")
        return Coded([len(p) for p in payloads], decoded, encode_s, decode_s)


def standard_video_codecs() -> list[VideoCodec]:
    """libx264 (default preset: P/B-frames), libx264 intra-only and libx265 (default), where available."""
    codecs: list[VideoCodec] = []
    sweep, quick = (20, 26, 32, 38, 44, 50), (26, 34, 42, 50)
    if _encoder_available("libx264") and _decoder_available("h264"):
        codecs.append(PyAVVideoCodec("x264", "H.264 (libx264 medium, P/B-frames)", "libx264", "h264",
                                     sweep, quick))
        codecs.append(PyAVVideoCodec("x264-intra", "H.264 intra-only (libx264 medium, keyint=1)", "libx264",
                                     "h264", sweep, quick, {"x264-params": "keyint=1"}))
    if _encoder_available("libx265") and _decoder_available("hevc"):
        codecs.append(PyAVVideoCodec("x265", "HEVC (libx265 medium, P/B-frames)", "libx265", "hevc",
                                     sweep, quick, {"x265-params": "log-level=error"}))
    return codecs


def registry_video_codecs(names: Sequence[str] | None = None) -> list[RegistryVideoCodec]:
    """Registry VIDEO codecs: the named ones, or every installed one with ``Capability.NEURAL``.

    Raises:
        UnknownCodecError: a named codec is not installed.
        BenchError: a named codec is not a video codec with an encoder and a decoder.
    """
    return [RegistryVideoCodec(d) for d in registry_descriptors(names, MediaType.VIDEO, "bench video")]


@dataclass
class VideoBenchConfig:
    """What :func:`run_video` measures.

    Attributes:
        clips: Video files (any container PyAV reads, or raw ``.264``/``.265``).
        codecs: The codecs to run (standard first).
        frames: Frames coded from the start of each clip.
        quick: Each codec's ``quick_settings``.
        with_msssim: Compute MS-SSIM on every ``msssim_every``-th frame (imports TensorFlow).
        msssim_every: Frame step for MS-SSIM.
        progress: Callable wrapping an iterable with a progress bar (``tqdm``), or ``None``.
    """

    clips: list[Path]
    codecs: list[VideoCodec]
    frames: int = 30
    quick: bool = False
    with_msssim: bool = True
    msssim_every: int = 5
    progress: Callable[..., Any] | None = None


def _point(config: VideoBenchConfig, codec: VideoCodec, clip: Clip, setting: Any) -> dict:
    coded = codec.code(clip, setting)
    pixels = clip.width * clip.height * len(clip.frames)
    psnrs = [metrics.psnr(source, decoded) for source, decoded in zip(clip.frames, coded.decoded)]
    msssim = None
    if config.with_msssim:
        values = [metrics.msssim(clip.frames[i], coded.decoded[i])
                  for i in range(0, len(clip.frames), config.msssim_every)]
        msssim = None if any(v is None for v in values) else float(np.mean(values))
    size = sum(coded.sizes)
    finite = [p for p in psnrs if np.isfinite(p)]
    return {
        "codec": codec.name, "setting": setting, "clip": clip.name, "frames": len(clip.frames),
        "bytes": size, "bpp": 8.0 * size / pixels,
        "kbps": 8.0 * size / (len(clip.frames) / float(clip.frame_rate)) / 1000.0,
        "psnr": float(np.mean(finite)) if len(finite) == len(psnrs) else float("inf"),
        "msssim": msssim, "msssim_db": metrics.msssim_db(msssim),
        "encode_fps": len(clip.frames) / coded.encode_s, "decode_fps": len(clip.frames) / coded.decode_s,
    }


def _intra_anchors(codecs: Sequence[VideoCodec]) -> list[str]:
    """The neural intra-only codecs among `codecs`: anchors too, so that an inter codec is
    compared with intra coding of its own family (``nvc`` with ``vae``, whose frames are its
    keyframes)."""
    return [c.name for c in codecs if isinstance(c, RegistryVideoCodec) and c.family == "neural"
            and registry.Capability.INTRA_ONLY in c.descriptor.capabilities]


def _bd_per_clip(points: list[dict], clips: list[str],
                 anchors: Sequence[str] = ANCHORS) -> dict[str, dict[str, dict[str, float | None]]]:
    """BD-rates per clip against each anchor, then the mean over the clips where it exists."""
    per_clip = {}
    for clip in clips:
        curves: dict[str, list[dict]] = {}
        for point in points:
            if point["clip"] == clip:
                curves.setdefault(point["codec"], []).append(point)
        for curve in curves.values():
            curve.sort(key=lambda p: p["bpp"])
        per_clip[clip] = bdrate.bd_rates(curves, tuple(anchors), "bpp", {"psnr": "psnr", "msssim": "msssim_db"})
    mean: dict[str, dict[str, dict[str, float | None]]] = {}
    for results in per_clip.values():
        for codec, anchors in results.items():
            for anchor, values in anchors.items():
                for metric, value in values.items():
                    mean.setdefault(codec, {}).setdefault(anchor, {}).setdefault(metric, [])
                    if value is not None:
                        mean[codec][anchor][metric].append(value)
    averaged = {codec: {anchor: {metric: (float(np.mean(v)) if v else None) for metric, v in values.items()}
                        for anchor, values in anchors.items()} for codec, anchors in mean.items()}
    return {"per_clip": per_clip, "mean": averaged}


def run_video(config: VideoBenchConfig) -> dict:
    """Run the video benchmark; return the JSON-ready result (schema :data:`VIDEO_SCHEMA`).

    A registry codec that fails (e.g. missing weights) is skipped with its reason
    under ``skipped``; errors of the standard codecs propagate.

    Raises:
        NoMediaError: a clip cannot be read.
        BenchError: no codec could run.
    """
    if config.frames < 1:
        raise BenchError(f"`--frames` = {config.frames} must be positive")
    clips = [load_clip(path, config.frames) for path in config.clips]
    if not clips:
        raise NoMediaError("no video clip given")
    points: list[dict] = []
    skipped: list[dict[str, str]] = []
    steps = [(codec, clip, setting) for codec in config.codecs for clip in clips
             for setting in (codec.quick_settings if config.quick else codec.settings)]
    failed: set[str] = set()
    for codec, clip, setting in (config.progress(steps, desc="video") if config.progress else steps):
        if codec.name in failed:
            continue
        try:
            points.append(_point(config, codec, clip, setting))
        except NeuralavError as error:
            if codec.family == "standard":
                raise
            failed.add(codec.name)
            skipped.append({"codec": codec.name, "reason": f"{type(error).__name__}: {error}"})
            points = [p for p in points if p["codec"] != codec.name]
    ran = [c for c in config.codecs if c.name not in failed]
    if not ran:
        raise BenchError("no codec could run: " + "; ".join(s["reason"] for s in skipped))
    anchors = [a for a in ANCHORS if any(c.name == a for c in ran)] + _intra_anchors(ran)
    speed = {}
    for codec in ran:
        mine = [p for p in points if p["codec"] == codec.name]
        speed[codec.name] = {"encode_fps": statistics.median(p["encode_fps"] for p in mine),
                             "decode_fps": statistics.median(p["decode_fps"] for p in mine)}
    return {
        "schema": VIDEO_SCHEMA,
        "dataset": {"frames": config.frames, "quick": config.quick,
                    "clips": [{"name": c.name, "width": c.width, "height": c.height, "frames": len(c.frames),
                               "frame_rate": float(c.frame_rate)} for c in clips]},
        "metrics": {
            "bpp": "8 * bytes of every packet of the clip / (width * height * frames)",
            "psnr": "RGB PSNR in dB (peak 255) of each frame against the decoded source frame, mean over frames",
            "msssim": f"MS-SSIM (tf.image.ssim_multiscale, peak 255) of every {config.msssim_every}th frame, "
                      "mean; msssim_db = -10 log10(1 - mean); null below 161 pixels on a side",
            "fps": "frames / wall-clock seconds for the whole clip (speed: median over settings and clips)",
        },
        "codecs": [c.describe() for c in ran],
        "skipped": skipped,
        "points": points,
        "bd_rate": {"method": bdrate.METHOD + "; per clip, then the mean over clips", "rate": "bpp",
                    "anchors": anchors,
                    **_bd_per_clip(points, [c.name for c in clips], anchors)},
        "speed": speed,
    }


def _num(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    return "inf" if np.isinf(value) else f"{value:.{digits}f}"


def format_video_table(result: dict) -> str:
    """The whole video result as text: points per clip, mean BD-rates, speed."""
    from .report import _rows

    lines = [f"{len(result['dataset']['clips'])} clips, first {result['dataset']['frames']} frames each"
             + (" (--quick settings)" if result["dataset"]["quick"] else "")]
    for clip in result["dataset"]["clips"]:
        rows = [[p["codec"], "default" if p["setting"] is None else str(p["setting"]), _num(p["bpp"], 4),
                 _num(p["kbps"], 1), _num(p["psnr"], 2), _num(p["msssim_db"], 2), _num(p["encode_fps"], 1),
                 _num(p["decode_fps"], 1)] for p in result["points"] if p["clip"] == clip["name"]]
        lines += ["", f"{clip['name']}: {clip['width']}x{clip['height']}, {clip['frames']} frames at "
                      f"{clip['frame_rate']:g} fps"]
        lines += _rows(["codec", "setting", "bpp", "kbps", "PSNR dB", "MS-SSIM dB", "enc fps", "dec fps"], rows)
    bd = result["bd_rate"]
    if bd["anchors"]:
        header = ["codec"] + [f"vs {a} {m}" for a in bd["anchors"] for m in ("PSNR", "MS-SSIM")]
        rows = [[name] + [_num(bd["mean"][name].get(a, {}).get(m), 1) for a in bd["anchors"]
                          for m in ("psnr", "msssim")] for name in bd["mean"]]
        lines += ["", f"BD-rate in %, mean over clips (negative: fewer bits at equal quality; '-': no overlap "
                      f"or fewer than 4 points). {bd['method']}"]
        lines += _rows(header, rows)
    lines += ["", "Speed (frames per second, median over settings and clips)"]
    lines += _rows(["codec", "encode fps", "decode fps"],
                   [[n, _num(s["encode_fps"], 1), _num(s["decode_fps"], 1)] for n, s in result["speed"].items()])
    if result["skipped"]:
        lines += [""] + [f"skipped {s['codec']}: {s['reason']}" for s in result["skipped"]]
    return "\n".join(lines)


def plot_video(result: dict, path: Path) -> None:
    """Write a PNG: RGB PSNR against bpp, one panel per clip, every codec."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    clips = result["dataset"]["clips"]
    figure, axes = plt.subplots(1, len(clips), figsize=(6.5 * len(clips), 5), squeeze=False)
    names = [c["name"] for c in result["codecs"]]
    families = {c["name"]: c["family"] for c in result["codecs"]}
    colors = plt.get_cmap("tab10")
    for axis, clip in zip(axes[0], clips):
        for index, name in enumerate(names):
            curve = sorted((p for p in result["points"] if p["clip"] == clip["name"] and p["codec"] == name
                            and np.isfinite(p["psnr"])), key=lambda p: p["bpp"])
            if curve:
                axis.plot([p["bpp"] for p in curve], [p["psnr"] for p in curve], marker="o",
                          color=colors(index % 10), label=name,
                          linestyle="--" if families[name] == "standard" else "-")
        axis.set_xscale("log")
        axis.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_xlabel("bits per pixel (log scale)")
        axis.set_ylabel("RGB PSNR (dB)")
        axis.set_title(f"{clip['name']} ({clip['width']}x{clip['height']}, {clip['frames']} frames)")
        axis.grid(True, alpha=0.3)
        axis.legend(loc="lower right", fontsize=9)
    figure.suptitle("neuralav bench video: rate-PSNR (up and left is better)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
