"""Encoder and decoder bases of the intra-only image codecs (``cae``, ``vae``).

A codec subclasses :class:`VariableRateEncoder` and :class:`VariableRateDecoder`, names
its models (:class:`~.zoo.Zoo`: a variable-rate model and the one-level files before it),
payload layout (:class:`~.payload.Framing`) and model loader, and implements
``encode_image`` and ``decode_image``. The bases check the input, choose the model of
each payload (its format, quality and model id), and refuse strings too short for their
frame (:meth:`ImageDecoder.refuse_short`), before any TensorFlow call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from neuralav.registry import InvalidDataError, PluginError, VideoDecoder, VideoEncoder

from .payload import VARIABLE_RATE_FORMAT, Framing
from .runtime import FLUSH_BITS, LoadedModel, load, load_file
from .zoo import Zoo, lmbda_of

__all__ = ["ImageCodec", "ImageDecoder", "ImageEncoder", "VariableRateDecoder", "VariableRateEncoder"]


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

    @classmethod
    def load_variable_rate(cls) -> LoadedModel:
        """The shared variable-rate model (payload format 2), read once per process.

        Raises:
            PluginError: the weights file is missing, unreadable, has the wrong hash, or its
                gain rows are not one per integer quality of the zoo's variable-rate range
                (λ of :func:`~.zoo.lmbda_of`).
        """
        codec, entry = cls.zoo.codec, cls.zoo.variable_rate
        path, sha256 = cls.zoo.file_path(entry.weights, entry.sha256)
        loaded = load_file(codec, path, sha256, cls.read_model, "of the variable-rate model", cls.missing_hint)
        lmbdas = getattr(loaded.model, "lmbdas", ())
        wanted = [lmbda_of(q) for q in np.arange(entry.min_quality, entry.max_quality + 1)]
        if len(lmbdas) != len(wanted) or not np.allclose(lmbdas, wanted, rtol=1e-6):
            raise PluginError(f"`{codec}` weights {path} have gain rows for λ {', '.join(f'{v:g}' for v in lmbdas)}, "
                              f"not one per quality {entry.min_quality:g} .. {entry.max_quality:g} "
                              f"(λ {', '.join(f'{v:g}' for v in wanted)})")
        return loaded


class ImageEncoder(ImageCodec, VideoEncoder):
    """Encoder of an image codec: checks what it is given."""

    def checked_image(self, image: np.ndarray, pix_fmt: str) -> np.ndarray:
        """`image` as a C-contiguous HxWx3 uint8 ``rgb24`` array.

        Raises:
            ValueError: another pixel format, dtype or shape.
        """
        if pix_fmt != "rgb24" or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"`{self.zoo.codec}` codes rgb24 HxWx3 uint8 images, got {pix_fmt} "
                             f"{image.dtype} {image.shape}")
        return np.ascontiguousarray(image)


class ImageDecoder(ImageCodec, VideoDecoder):
    """Decoder of an image codec: refuses payloads too short for their frame."""

    quality: Any = None
    """Quality of the payload being decoded (for messages)."""

    def refuse_short(self, num_bytes: int, min_bits: float, width: int, height: int) -> None:
        """Refuses `num_bytes` of range-coded string that cannot code a width x height frame,
        whose latent needs at least `min_bits` bits with this model's tables (checked before
        any TensorFlow call, so a packet claiming a frame its bytes cannot justify never makes
        the model allocate it).

        Raises:
            InvalidDataError: the string is shorter than the bound allows.
        """
        needed = int(np.ceil((min_bits - FLUSH_BITS) / 8))
        if num_bytes < needed:
            raise InvalidDataError(
                f"`{self.zoo.codec}` packet of {num_bytes} coded bytes cannot hold a {width}x{height} frame "
                f"(quality {self.quality} needs at least {needed}): its size was changed or it is damaged")


class VariableRateEncoder(ImageEncoder):
    """Encoder of a codec with a variable-rate model (:attr:`.zoo.Zoo.variable_rate`).

    ``quality`` is real. A whole quality of :attr:`level_file_qualities` (where measurement
    showed the one-level file still codes better) is coded by that level's file (payload
    format 1, the same bytes as before the variable-rate model); everything else by the
    variable-rate model (format 2).
    """

    level_file_qualities: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.quality = float(self.options["quality"])
        self.level_file = self.uses_level_file()
        """Whether pictures are coded by the one-level file of ``quality`` (else the variable-rate model)."""
        if self.level_file:
            self.quality = int(self.quality)
            self.loaded = self.load_model(self.quality)
        else:
            self.loaded = self.load_variable_rate()

    def uses_level_file(self) -> bool:
        """Whether this encoder's pictures go to a one-level file (hook; called once options are set)."""
        return self.quality in self.level_file_qualities

    def header_fields(self) -> dict[str, int | str | bytes]:
        """Only the quality: a decoder needs nothing else (each payload names its own)."""
        return {"quality": format(self.quality, "g")}

    def seal(self, quality: float, fields: tuple, body: bytes) -> bytes:
        """The payload of coded `fields` and `body` at `quality`: format 1 with a one-level
        file, else format 2."""
        if self.level_file:
            return self.framing.pack(quality, self.loaded.model_id, fields, body)
        return self.framing.pack_variable(quality, self.loaded.model_id, fields, body)


class VariableRateDecoder(ImageDecoder):
    """Decoder of a codec with a variable-rate model. Each payload names its model: format 2
    the variable-rate model at the payload's quality, format 1 the one-level file of its
    integer level."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.quality = self.options["quality"]
        self._models: dict[int | str, tuple[LoadedModel, Any]] = {}

    def bounds(self, loaded: LoadedModel) -> Any:
        """What the codec's size checks need of a model (e.g. fewest bits per latent position),
        computed once per model and decoder (hook; default None)."""
        return None

    def model_of(self, payload_format: int, quality: float, model_id: bytes) -> tuple[LoadedModel, float, Any]:
        """(model, gain position, :meth:`bounds`) of a payload, its model loaded once per decoder.

        Raises:
            InvalidDataError: a quality outside the model's range, or another model id.
        """
        codec = self.zoo.codec
        if payload_format == VARIABLE_RATE_FORMAT:
            entry = self.zoo.variable_rate
            if not entry.min_quality <= quality <= entry.max_quality:
                raise InvalidDataError(f"`{codec}` packet names quality {quality:g} (valid: {entry.min_quality:g} "
                                       f"to {entry.max_quality:g})")
            key, position = "variable", quality - entry.min_quality  # gain row k is quality min + k
        else:
            if quality not in self.zoo.levels:
                raise InvalidDataError(f"`{codec}` packet names quality {quality} (valid: {min(self.zoo.levels)} "
                                       f"to {max(self.zoo.levels)})")
            key, position = quality, self.zoo.level(quality).gain_index
        if key not in self._models:
            loaded = self.load_variable_rate() if key == "variable" else self.load_model(quality)
            self._models[key] = (loaded, self.bounds(loaded))
        loaded, bounds = self._models[key]
        if model_id != loaded.model_id:
            raise InvalidDataError(f"`{codec}` packet was coded with model {model_id.hex()}; this decoder's "
                                   f"quality {quality:g} weights are model {loaded.model_id.hex()}")
        self.quality = quality
        return loaded, position, bounds
