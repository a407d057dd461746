"""Encoder and decoder bases of the intra-only image codecs (``cae``, ``vae``).

A codec subclasses :class:`ImageEncoder` and :class:`ImageDecoder`, names its
level table (:class:`~.zoo.Zoo`), payload layout (:class:`~.payload.Framing`)
and model loader, and implements the hooks that differ: :meth:`ImageEncoder.code`
and :meth:`ImageDecoder.reconstruct`. The bases check the input, the payload's
quality and model id, and the payload's size against what the frame needs
(:meth:`ImageDecoder.check_fits`), before any TensorFlow call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from neuralav.registry import InvalidDataError, VideoDecoder, VideoEncoder

from .payload import Framing
from .runtime import FLUSH_BITS, LoadedModel, load
from .zoo import Zoo

__all__ = ["ImageCodec", "ImageDecoder", "ImageEncoder"]


class ImageCodec:
    """What a codec's encoder and decoder share: its table, payload layout and loader.

    Subclasses set the class attributes; :meth:`load_model` reads the level's weights.
    """

    zoo: ClassVar[Zoo]
    framing: ClassVar[Framing]
    read_model: ClassVar[Callable[[Path], Any]]
    missing_hint: ClassVar[str] = ""

    @classmethod
    def load_model(cls, quality: int) -> LoadedModel:
        """The shared model of a `quality` level (read once per file and process).

        Raises:
            PluginError: the weights file is missing, unreadable or has the wrong hash.
        """
        return load(cls.zoo, quality, cls.read_model, cls.missing_hint)


class ImageEncoder(ImageCodec, VideoEncoder):
    """Encoder of an image codec. Option ``quality`` selects the level."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.quality = int(self.options["quality"])
        self.level = self.zoo.level(self.quality)
        self.loaded = self.load_model(self.quality)

    def code(self, image: np.ndarray) -> tuple[tuple, bytes]:
        """Codes one image (hook).

        Args:
            image: H x W x 3 uint8 RGB, C-contiguous.

        Returns:
            (the codec's payload fields, the range-coded strings).
        """
        raise NotImplementedError

    def checked_image(self, image: np.ndarray, pix_fmt: str) -> np.ndarray:
        """`image` as a C-contiguous HxWx3 uint8 ``rgb24`` array.

        Raises:
            ValueError: another pixel format, dtype or shape.
        """
        if pix_fmt != "rgb24" or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"`{self.zoo.codec}` codes rgb24 HxWx3 uint8 images, got {pix_fmt} "
                             f"{image.dtype} {image.shape}")
        return np.ascontiguousarray(image)

    def encode_image(self, image: np.ndarray, pix_fmt: str) -> bytes:
        """Codes one HxWx3 uint8 ``rgb24`` image into a self-checking payload."""
        fields, body = self.code(self.checked_image(image, pix_fmt))
        return self.framing.pack(self.quality, self.loaded.model_id, fields, body)


class ImageDecoder(ImageCodec, VideoDecoder):
    """Decoder of an image codec; its quality level comes from the codec header."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.quality = int(self.options["quality"])
        levels = self.zoo.levels
        if self.quality not in levels:
            raise InvalidDataError(f"`{self.zoo.codec}` header names quality {self.quality} "
                                   f"(valid: {min(levels)} to {max(levels)})")
        self.level = self.zoo.level(self.quality)
        self.loaded = self.load_model(self.quality)

    def check_fits(self, fields: tuple, body: bytes, width: int, height: int) -> None:
        """Refuses a payload that cannot code a width x height frame (hook; default: accepts).

        Called before :meth:`reconstruct`, so a packet claiming a frame its bytes
        cannot justify never makes the model allocate it.

        Raises:
            InvalidDataError: the payload does not fit the frame size.
        """

    def refuse_short(self, num_bytes: int, min_bits: float, width: int, height: int) -> None:
        """Refuses `num_bytes` of range-coded string that cannot code a width x height frame,
        whose latent needs at least `min_bits` bits with this model's tables.

        Raises:
            InvalidDataError: the string is shorter than the bound allows.
        """
        needed = int(np.ceil((min_bits - FLUSH_BITS) / 8))
        if num_bytes < needed:
            raise InvalidDataError(
                f"`{self.zoo.codec}` packet of {num_bytes} coded bytes cannot hold a {width}x{height} frame "
                f"(quality {self.quality} needs at least {needed}): its size was changed or it is damaged")

    def reconstruct(self, fields: tuple, body: bytes, width: int, height: int) -> np.ndarray:
        """Decodes a checked payload's strings into an H x W x 3 uint8 image (hook)."""
        raise NotImplementedError

    def decode_image(self, payload: bytes, width: int, height: int, pix_fmt: str) -> np.ndarray:
        """Decodes one payload into an HxWx3 uint8 ``rgb24`` image.

        Raises:
            InvalidDataError: truncated or corrupt payload, another quality level
                or model, a payload that does not fit width x height, or strings
                the range decoders reject.
        """
        codec = self.zoo.codec
        quality, model_id, fields, body = self.framing.unpack(payload)
        if quality != self.quality:
            raise InvalidDataError(f"`{codec}` packet was coded at quality {quality}; this decoder "
                                   f"decodes quality {self.quality}")
        if model_id != self.loaded.model_id:
            raise InvalidDataError(
                f"`{codec}` packet was coded with model {model_id.hex()}; this decoder's quality "
                f"{self.quality} weights are model {self.loaded.model_id.hex()}")
        self.check_fits(fields, body, width, height)
        return self.reconstruct(fields, body, width, height)
