"""The quality-level table of an image codec: plain data, and the lookup of its weights.

One :class:`Zoo` per codec maps each ``quality`` option value to a :class:`Level`
(λ, architecture, weights file, its SHA-256). Importing this module is cheap (no
TensorFlow): the codec's descriptor builds its option help from the table.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any, Mapping

__all__ = ["Level", "VariableRate", "Zoo", "lmbda_of", "quality_of"]


def lmbda_of(quality: float) -> float:
    """λ of a quality: 0.01 · 2^(quality − 3), the image codecs' common scale (quality 3 is
    λ 0.01 of the loss ``bpp + λ·MSE``, MSE of 0–255 RGB; each unit doubles λ)."""
    return 0.01 * 2.0 ** (float(quality) - 3.0)


def quality_of(lmbda: float) -> float:
    """Inverse of :func:`lmbda_of`."""
    return 3.0 + math.log2(lmbda / 0.01)


@dataclasses.dataclass(frozen=True)
class Level:
    """One quality level.

    Attributes:
        lmbda: λ of the training loss ``bpp + λ·MSE`` (MSE of 0–255 RGB).
        arch: Architecture of the weights (the codec's ``ArchConfig``).
        weights: File name under the codec's weights folder.
        sha256: Expected SHA-256 of that file (checked on load), or ``None``.
        nominal_bpp: Approximate Kodak rate (bits per pixel) for help text, or
            ``None`` until shipped weights are measured.
        gain_index: Row of the model's gain units (0-based) for models that code
            several levels with one file; 0 otherwise.
    """

    lmbda: float
    arch: Any
    weights: str
    sha256: str | None
    nominal_bpp: float | None
    gain_index: int = 0


@dataclasses.dataclass(frozen=True)
class VariableRate:
    """A variable-rate model: one weights file coding every real quality in a range.

    Attributes:
        weights: File name under the codec's weights folder.
        sha256: Expected SHA-256 of that file (checked on load), or ``None``.
        min_quality: Lowest quality it codes (inclusive).
        max_quality: Highest quality it codes (inclusive).
        nominal_bpp: (quality, measured Kodak mean bpp) pairs for help text.
    """

    weights: str
    sha256: str | None
    min_quality: float
    max_quality: float
    nominal_bpp: tuple[tuple[float, float], ...] = ()


@dataclasses.dataclass(frozen=True)
class Zoo:
    """An image codec's levels and where their weights are.

    Attributes:
        codec: Codec name (``cae``), used in messages.
        levels: ``quality`` option value -> level (higher is better quality, more bits).
        weights_dir: Folder of the shipped weights files.
        weights_dir_env: Environment variable naming another folder of weights files
            with the same names (fresh exports, a tiny test model); no hash check then.
        variable_rate: The codec's variable-rate model, if it has one (the codec decides
            which qualities it codes; the one-level files of ``levels`` keep decoding the
            payloads written by them).
    """

    codec: str
    levels: Mapping[int, Level]
    weights_dir: Path
    weights_dir_env: str
    variable_rate: VariableRate | None = None

    def level(self, quality: int) -> Level:
        """The level of a ``quality`` value.

        Raises:
            ValueError: `quality` is not in the table (message lists the valid range).
        """
        try:
            return self.levels[quality]
        except (KeyError, TypeError):
            raise ValueError(f"`quality` = {quality!r} is not a {self.codec} level "
                             f"(valid: {min(self.levels)} to {max(self.levels)})") from None

    def weights_path(self, quality: int) -> tuple[Path, str | None]:
        """Weights file of a `quality` level and its expected SHA-256 (``None``: not checked)."""
        entry = self.level(quality)
        return self.file_path(entry.weights, entry.sha256)

    def file_path(self, name: str, sha256: str | None) -> tuple[Path, str | None]:
        """Path of weights file `name` and the SHA-256 to check (``None`` under the override folder)."""
        override = os.environ.get(self.weights_dir_env)
        if override:
            return Path(override) / name, None
        return self.weights_dir / name, sha256


def image_codec(name: str, long_name: str, fourcc: str, levels: Mapping[int, Level], quality_help: str,
                module: str, quality_option: Any = None, extra_options: tuple = ()):
    """The descriptor of an intra-only learned ``rgb24`` image codec with a ``quality`` option.

    Args:
        name: Codec name.
        long_name: Human-readable name.
        fourcc: Its Matroska FourCC.
        levels: Its level table (the option's range; the default is level 3).
        quality_help: Help text of the ``quality`` option.
        module: Module holding ``<NAME>Encoder`` and ``<NAME>Decoder``.
        quality_option: The ``quality`` :class:`~neuralav.registry.Option`, if not the
            integer level option the table implies.
        extra_options: More options (rate control, presets).
    """
    from neuralav.registry import Capability, CodecDescriptor, MediaType, Option

    return CodecDescriptor(
        name=name, long_name=long_name, media_type=MediaType.VIDEO,
        capabilities=Capability.LOSSY | Capability.NEURAL | Capability.INTRA_ONLY | Capability.VARIABLE_SIZE,
        formats=("rgb24",),
        options=(quality_option or Option("quality", int, 3, quality_help, min=min(levels), max=max(levels)),
                 *extra_options),
        version=1, fourcc=fourcc,
        encoder=f"{module}:{name.upper()}Encoder", decoder=f"{module}:{name.upper()}Decoder")
