"""Image codec adapters: neural codecs from the registry and standard baselines, one interface.

As in CompressAI's benchmark, baselines implement the same small interface as
the learned codecs: :meth:`ImageCodec.encode` turns an RGB image (HxWx3
``uint8``) into the coded bytes at one setting, :meth:`ImageCodec.decode` turns
them back into an RGB image. The rate is always the size of those real bytes:

- registry codecs (``cae``...): the ``av.Packet`` bytes the encoder returns
  (the neuralav packet prefix, ~12 bytes, included; the codec header, sent once
  per stream like ``extradata``, is not);
- JPEG, WebP, AVIF: the whole file Pillow writes (headers included);
- H.264 / HEVC: every packet of a one-frame stream, in-band SPS/PPS/VPS included.

Standard codecs code 4:2:0 chroma (the formats' defaults); the video encoders
get full-range BT.601 YUV converted by FFmpeg's swscale, and images with an odd
side are padded by edge replication (the rate still divides by the original
pixel count).
"""

from __future__ import annotations

import abc
import io
from fractions import Fraction
from typing import Any, Sequence

import av
import numpy as np
from PIL import Image

from neuralav import registry
from neuralav.registry import Capability, CodecDescriptor, MediaType

from .errors import BenchError
from .selection import adopt_descriptor, registry_descriptors

__all__ = [
    "Encoded", "ImageCodec", "PillowCodec", "PyAVIntraCodec", "RegistryImageCodec",
    "standard_image_codecs", "registry_image_codecs", "available_standard_names",
]

Encoded = tuple[bytes, ...]
"""The coded form of one image: one or more packets (files are one packet)."""


class ImageCodec(abc.ABC):
    """One codec and its sweep of settings.

    Attributes:
        name: Short name used in tables and JSON (``jpeg``, ``cae``...).
        label: What it is, with the implementation (``JPEG (Pillow/libjpeg, 4:2:0)``).
        family: ``neural`` for registry codecs with :class:`Capability.NEURAL`,
            ``standard`` for the baselines, ``registry`` for other registry codecs.
        setting_name: What a setting is (``quality``, ``crf``).
        settings: The full sweep, from lowest to highest rate.
        quick_settings: The subset used by ``--quick``.
    """

    name: str
    label: str
    family: str
    setting_name: str
    settings: tuple[Any, ...]
    quick_settings: tuple[Any, ...]

    @abc.abstractmethod
    def encode(self, image: np.ndarray, setting: Any) -> Encoded:
        """Code an HxWx3 ``uint8`` RGB image at ``setting``; return the packets."""

    @abc.abstractmethod
    def decode(self, encoded: Encoded, setting: Any, width: int, height: int) -> np.ndarray:
        """Decode packets that :meth:`encode` made at ``setting`` into an HxWx3 ``uint8`` RGB image."""

    def describe(self) -> dict[str, Any]:
        """JSON-ready description of the codec and its sweep."""
        return {"name": self.name, "label": self.label, "family": self.family,
                "setting_name": self.setting_name, "settings": list(self.settings)}


def _check_image(image: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise BenchError(f"expected an HxWx3 uint8 RGB image, got shape {image.shape} dtype {image.dtype}")


# --------------------------------------------------------------------------- Pillow


class PillowCodec(ImageCodec):
    """JPEG, WebP or AVIF through Pillow, ``quality`` 0–100, the file's bytes as the rate."""

    family = "standard"
    setting_name = "quality"

    def __init__(self, name: str, label: str, pil_format: str, settings: Sequence[int],
                 quick_settings: Sequence[int], **save_options: Any) -> None:
        self.name = name
        self.label = label
        self.pil_format = pil_format
        self.settings = tuple(settings)
        self.quick_settings = tuple(quick_settings)
        self.save_options = save_options

    def encode(self, image: np.ndarray, setting: Any) -> Encoded:
        _check_image(image)
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format=self.pil_format, quality=int(setting), **self.save_options)
        return (buffer.getvalue(),)

    def decode(self, encoded: Encoded, setting: Any, width: int, height: int) -> np.ndarray:
        with Image.open(io.BytesIO(b"".join(encoded))) as picture:
            return np.asarray(picture.convert("RGB"))


# --------------------------------------------------------------------------- PyAV


def _pad_even(image: np.ndarray) -> np.ndarray:
    pad_h, pad_w = image.shape[0] % 2, image.shape[1] % 2
    if pad_h or pad_w:
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return image


class PyAVIntraCodec(ImageCodec):
    """An FFmpeg video encoder (libx264, libx265, libsvtav1...) coding one intra frame, by CRF.

    Each image is a one-frame stream (so an I-frame), ``yuv420p`` full range.
    The encoder's log output is silenced with ``options``.
    """

    family = "standard"
    setting_name = "crf"

    def __init__(self, name: str, label: str, encoder: str, decoder: str, settings: Sequence[int],
                 quick_settings: Sequence[int], options: dict[str, str] | None = None) -> None:
        self.name = name
        self.label = label
        self.encoder = encoder
        self.decoder = decoder
        self.settings = tuple(settings)
        self.quick_settings = tuple(quick_settings)
        self.options = dict(options or {})

    def encode(self, image: np.ndarray, setting: Any) -> Encoded:
        _check_image(image)
        padded = _pad_even(image)
        context = av.CodecContext.create(self.encoder, "w")
        context.width, context.height = padded.shape[1], padded.shape[0]
        context.pix_fmt = "yuv420p"
        context.time_base = Fraction(1, 25)
        context.framerate = 25
        context.color_range = 2  # AVCOL_RANGE_JPEG: full range
        context.options = {**self.options, "crf": str(setting)}
        frame = av.VideoFrame.from_ndarray(padded, format="rgb24").reformat(
            format="yuv420p", dst_colorspace="ITU601", dst_color_range="JPEG")
        frame.pts = 0
        packets = context.encode(frame) + context.encode(None)
        if not packets:
            raise BenchError(f"{self.encoder} returned no packet at crf {setting}")
        return tuple(bytes(p) for p in packets)

    def decode(self, encoded: Encoded, setting: Any, width: int, height: int) -> np.ndarray:
        context = av.CodecContext.create(self.decoder, "r")
        frames = []
        for data in encoded:
            frames += context.decode(av.Packet(data))
        frames += context.decode(None)
        if len(frames) != 1:
            raise BenchError(f"{self.decoder} decoded {len(frames)} frames from a one-frame stream")
        rgb = frames[0].reformat(format="rgb24", src_colorspace="ITU601", src_color_range="JPEG").to_ndarray()
        return np.ascontiguousarray(rgb[:height, :width])


def _encoder_available(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
        return True
    except Exception:  # PyAV raises UnknownCodecError or ValueError depending on version
        return False


def _decoder_available(name: str) -> bool:
    try:
        av.codec.Codec(name, "r")
        return True
    except Exception:
        return False


def _avif_available() -> bool:
    try:
        from PIL import features
        return bool(features.check("avif"))
    except Exception:
        return False


def standard_image_codecs() -> list[ImageCodec]:
    """The baselines available on this machine, anchors first (JPEG, WebP).

    JPEG (Pillow, baseline, 4:2:0, as in the NOTES anchor), WebP (Pillow,
    lossy, method 4), AVIF (Pillow's libavif: AV1 intra with aom, speed 6,
    4:2:0), HEVC (libx265) and H.264 (libx264) intra through PyAV, preset
    ``medium``. Codecs whose library is missing are left out.
    """
    codecs: list[ImageCodec] = [
        PillowCodec("jpeg", "JPEG (Pillow libjpeg, 4:2:0)", "JPEG",
                    (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95), (10, 30, 60, 90), subsampling=2),
        PillowCodec("webp", "WebP (Pillow libwebp, 4:2:0)", "WEBP",
                    (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95), (10, 30, 60, 90), method=4),
    ]
    if _avif_available():
        codecs.append(PillowCodec("avif", "AV1 intra (AVIF, Pillow libavif/aom, 4:2:0)", "AVIF",
                                  (10, 20, 30, 40, 50, 60, 70, 80, 90), (20, 40, 60, 80),
                                  subsampling="4:2:0", speed=6))
    quiet = {"x265-params": "log-level=error"}
    if _encoder_available("libx265") and _decoder_available("hevc"):
        codecs.append(PyAVIntraCodec("hevc", "HEVC intra (libx265 medium, 4:2:0)", "libx265", "hevc",
                                     (17, 22, 27, 32, 37, 42, 47), (22, 30, 38, 46), quiet))
    if _encoder_available("libx264") and _decoder_available("h264"):
        codecs.append(PyAVIntraCodec("h264", "H.264 intra (libx264 medium, 4:2:0)", "libx264", "h264",
                                     (15, 20, 25, 30, 35, 40, 45), (20, 28, 36, 44)))
    return codecs


def available_standard_names() -> list[str]:
    """Names of the standard codecs this machine has."""
    return [codec.name for codec in standard_image_codecs()]


# --------------------------------------------------------------------------- registry


class RegistryImageCodec(ImageCodec):
    """A neuralav VIDEO codec from the registry, swept over its ``quality`` option.

    Encoders and decoders are created once per setting (not timed) through
    :func:`neuralav.registry.create_encoder` / ``create_decoder``; frames go in
    and come out as ``av.VideoFrame`` in ``rgb24``.
    """

    setting_name = "quality"

    def __init__(self, descriptor: CodecDescriptor) -> None:
        adopt_descriptor(self, descriptor)
        self.quick_settings = self.settings
        self._coders: dict[Any, tuple[registry.Encoder, registry.Decoder]] = {}

    def _coder(self, setting: Any) -> tuple[registry.Encoder, registry.Decoder]:
        if setting not in self._coders:
            options = {} if setting is None else {"quality": setting}
            encoder = registry.create_encoder(self.name, options)
            decoder = registry.create_decoder(self.name, encoder.header)
            self._coders[setting] = (encoder, decoder)
        return self._coders[setting]

    def prepare(self, setting: Any) -> None:
        """Create the encoder and decoder for ``setting`` (so that timing excludes it)."""
        self._coder(setting)

    def encode(self, image: np.ndarray, setting: Any) -> Encoded:
        _check_image(image)
        encoder, _ = self._coder(setting)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        packets = encoder.encode(frame) + encoder.encode(None)
        return tuple(bytes(p) for p in packets)

    def decode(self, encoded: Encoded, setting: Any, width: int, height: int) -> np.ndarray:
        _, decoder = self._coder(setting)
        frames = []
        for data in encoded:
            frames += decoder.decode(av.Packet(data))
        frames += decoder.decode(None)
        if len(frames) != 1:
            raise BenchError(f"codec `{self.name}` decoded {len(frames)} frames from one image")
        return frames[0].to_ndarray(format="rgb24")


def registry_image_codecs(names: Sequence[str] | None = None) -> list[RegistryImageCodec]:
    """Registry VIDEO codecs: the named ones, or every installed one with ``Capability.NEURAL``.

    Raises:
        UnknownCodecError: a named codec is not installed.
        BenchError: a named codec is not a video codec or has no encoder/decoder.
    """
    return [RegistryImageCodec(d) for d in registry_descriptors(names, MediaType.VIDEO, "bench images")]
