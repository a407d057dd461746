"""Codec descriptors: what a codec is, kept apart from the code that runs it.

A :class:`CodecDescriptor` is the neuralav counterpart of FFmpeg's ``AVCodec``
record: name, long name, media type, capabilities, accepted formats, options
(with types, defaults, ranges and help), bitstream version and the FourCC that
identifies its tracks in containers. The encoder and decoder classes are named
by import path (``"package.module:Class"``) so that listing codecs never
imports a codec's heavy dependencies (TensorFlow takes seconds to import).
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import os
from typing import Any, Mapping

from . import guard
from .errors import InvalidOptionError, PluginError

__all__ = ["MediaType", "Capability", "RateUnit", "NominalRates", "Option", "CodecDescriptor", "TF_LOG_ENV",
           "KEYFRAME_INTERVAL", "keyframe_interval_option"]

TF_LOG_ENV = "TF_CPP_MIN_LOG_LEVEL"
"""TensorFlow's C++ log threshold. Codecs may start TensorFlow, whose start-up on a machine
without a GPU logs errors that are noise ("Unable to register cuDNN factory", cuFFT, cuBLAS):
before a codec's classes are first imported the registry sets it to 3 (fatal only), as the
command line does, unless the user set it (their level is kept)."""


class MediaType(str, enum.Enum):
    """The kind of frames a codec takes: ``video`` (also still images) or ``audio``."""

    VIDEO = "video"
    AUDIO = "audio"


class Capability(enum.Flag):
    """What a codec can do, as FFmpeg's ``AV_CODEC_CAP_*`` / ``AV_CODEC_PROP_*``."""

    NONE = 0
    LOSSY = enum.auto()
    """Reconstructions differ from the input."""
    LOSSLESS = enum.auto()
    """Reconstructions equal the input exactly."""
    INTRA_ONLY = enum.auto()
    """Every packet decodes on its own (every packet is a keyframe)."""
    DELAY = enum.auto()
    """The encoder buffers input: call ``encode(None)`` to flush the rest."""
    VARIABLE_SIZE = enum.auto()
    """Frame dimensions may change from one frame to the next."""
    NEURAL = enum.auto()
    """Learned transforms and entropy models (needs model weights)."""
    INTER = enum.auto()
    """Stateful video: packets may depend on earlier ones (P-frames predicted from the previous
    decoded frame), so decoding starts at a keyframe and a lost packet breaks the chain until
    the next one. The codec takes a keyframe interval option ``g`` and implements
    :class:`~neuralav.registry.inter.InterVideoEncoder` / ``InterVideoDecoder``."""

    def names(self) -> list[str]:
        """Return the names of the set flags, in declaration order, lower case."""
        return [flag.name.lower() for flag in Capability if flag and flag in self and flag.name]


_TYPE_NAMES = {int: "int", float: "float", str: "string", bool: "bool"}


class RateUnit(str, enum.Enum):
    """The unit of a codec's nominal rates.

    Audio codecs state bits per second. Image and intra-only video codecs state bits per
    pixel (bpp), the unit of learned image compression: their rate per frame grows with the
    frame's area, so a bitrate in bits/s means a bpp only for a given frame size and rate
    (``bpp = bits/s / (width x height x frames/s)``).
    """

    BITS_PER_SECOND = "bit/s"
    BITS_PER_PIXEL = "bit/pixel"


@dataclasses.dataclass(frozen=True)
class NominalRates:
    """The rate each value of a level option aims at: typed data, as FFmpeg's ``AVOption``
    carries, so that ``-b`` can pick a level without reading help text.

    Rates are typical, not guaranteed: learned codecs are variable-rate, and the rate of
    a level moves with the content (state what they were measured on in ``source``).

    Attributes:
        rates: ``(option value, rate)`` pairs, in :attr:`unit`.
        unit: :class:`RateUnit` of the rates.
        per_channel: The rates are for one audio channel (a stereo stream takes twice the rate).
        source: What the rates were measured on, for help text (e.g. ``mono speech``).
    """

    rates: tuple[tuple[Any, float], ...]
    unit: RateUnit = RateUnit.BITS_PER_SECOND
    per_channel: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        rates = tuple((value, float(rate)) for value, rate in dict(self.rates).items())
        if not rates:
            raise ValueError("nominal rates need at least one (value, rate) pair")
        if any(not rate > 0 or rate == float("inf") for _, rate in rates):
            raise ValueError(f"nominal rates must be positive and finite: {rates}")
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "unit", RateUnit(self.unit))

    def bits_per_second(self, *, channels: int = 1, pixels_per_second: float | None = None
                        ) -> dict[Any, float] | None:
        """Each value's nominal rate in bits/s for a stream, or ``None`` if it cannot be known.

        Args:
            channels: Audio channels of the stream (counted when :attr:`per_channel`).
            pixels_per_second: width x height x frames per second of a video stream
                (needed for :attr:`RateUnit.BITS_PER_PIXEL` rates; ``None`` then gives ``None``).
        """
        scale = float(channels) if self.per_channel else 1.0
        if self.unit is RateUnit.BITS_PER_PIXEL:
            if not pixels_per_second:
                return None
            scale *= pixels_per_second
        return {value: rate * scale for value, rate in self.rates}

    def describe(self) -> str:
        """The rates as text, e.g. ``1 ~2.83 kbps, 2 ~5.71 kbps per channel (mono speech)``."""
        if self.unit is RateUnit.BITS_PER_PIXEL:
            parts = [f"{value} ~{rate:g} bpp" for value, rate in self.rates]
        else:
            parts = [f"{value} ~{rate / 1000:g} kbps" for value, rate in self.rates]
        text = ", ".join(parts) + (" per channel" if self.per_channel else "")
        return text + (f" ({self.source})" if self.source else "")


@dataclasses.dataclass(frozen=True)
class Option:
    """One codec option, as a row of FFmpeg's ``AVOption`` table.

    Attributes:
        name: Option name as given on the command line (``-q:v`` maps to ``quality``).
        type: One of ``int``, ``float``, ``str``, ``bool``.
        default: Value used when the option is not given.
        help: One line saying what the option does, with its unit.
        min: Smallest allowed value (numbers only), inclusive.
        max: Largest allowed value (numbers only), inclusive.
        choices: Allowed values (strings only), or ``None`` for any.
        nominal_rates: For a level option (``quality``), the rate each value aims at
            (:class:`NominalRates`); ``-b`` picks the value closest to a bitrate from it.
            ``None``: the option's values have no stated rate.
    """

    name: str
    type: type
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    nominal_rates: NominalRates | None = None

    def __post_init__(self) -> None:
        if self.type not in _TYPE_NAMES:
            raise TypeError(f"option `{self.name}`: type must be int, float, str or bool, not {self.type!r}")
        if self.default is not None:
            object.__setattr__(self, "default", self.parse(self.default))
        if self.nominal_rates is not None:
            if not isinstance(self.nominal_rates, NominalRates):
                raise TypeError(f"option `{self.name}`: nominal_rates must be NominalRates, "
                                f"not {type(self.nominal_rates).__name__}")
            for value, _ in self.nominal_rates.rates:
                self.parse(value)  # every rated value must be one the option accepts

    @property
    def type_name(self) -> str:
        """The option's type as a word: ``int``, ``float``, ``string`` or ``bool``."""
        return _TYPE_NAMES[self.type]

    def range_text(self) -> str:
        """Describe the allowed values, e.g. ``from 1 to 8`` or ``one of fast, slow``."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.min is not None and self.max is not None:
            return f"from {self.min:g} to {self.max:g}"
        if self.min is not None:
            return f"at least {self.min:g}"
        if self.max is not None:
            return f"at most {self.max:g}"
        return f"any {self.type_name}"

    def parse(self, value: Any) -> Any:
        """Convert ``value`` (a Python value or command-line string) and check its range.

        Raises:
            InvalidOptionError: naming the option, the bad value and the allowed range.
        """
        converted = self._convert(value)
        if self.type in (int, float):
            if (self.min is not None and converted < self.min) or (
                self.max is not None and converted > self.max
            ):
                raise InvalidOptionError(
                    f"option `{self.name}` = {value!r} is out of range: must be {self.range_text()}"
                )
        if self.choices and converted not in self.choices:
            raise InvalidOptionError(
                f"option `{self.name}` = {value!r} is not allowed: must be {self.range_text()}"
            )
        return converted

    def _convert(self, value: Any) -> Any:
        bad = InvalidOptionError(
            f"option `{self.name}` = {value!r} is not a valid {self.type_name} ({self.range_text()})"
        )
        if self.type is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):  # as stored in a codec header
                return bool(value)
            if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                return value.lower() in ("1", "true", "yes", "on")
            raise bad
        if self.type is int:
            if isinstance(value, bool):
                raise bad
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str):
                try:
                    return int(value.strip(), 0)
                except ValueError:
                    raise bad from None
            raise bad
        if self.type is float:
            if isinstance(value, bool):
                raise bad
            if isinstance(value, (int, float)):
                result = float(value)
            elif isinstance(value, str):
                try:
                    result = float(value.strip())
                except ValueError:
                    raise bad from None
            else:
                raise bad
            if result != result or result in (float("inf"), float("-inf")):
                raise bad
            return result
        if not isinstance(value, str):
            raise bad
        return value


KEYFRAME_INTERVAL = "g"
"""Name of a stateful (:attr:`Capability.INTER`) codec's keyframe interval option, as ffmpeg's ``-g``."""


def keyframe_interval_option(default: int = 12, maximum: int = 600) -> Option:
    """The keyframe interval option every :attr:`Capability.INTER` codec takes (``g``).

    Args:
        default: Frames from one keyframe to the next (a GOP's length) when not given.
        maximum: Largest interval accepted, in frames.

    Returns:
        ``Option("g", int, ...)``: 1 makes every frame a keyframe; ``g`` frames after a
        keyframe the encoder codes the next one (earlier if the frame size or format changes).
    """
    return Option(KEYFRAME_INTERVAL, int, default,
                  "keyframe interval in frames, as ffmpeg's -g (1: every frame a keyframe; decoding, seeking "
                  "and recovery from a damaged packet start at a keyframe)", min=1, max=maximum)


@dataclasses.dataclass(frozen=True)
class CodecDescriptor:
    """Everything known about a codec without running it.

    Attributes:
        name: Short unique name (``cae``), as in ``-c:v cae``.
        long_name: Human-readable name.
        media_type: :class:`MediaType` of the frames it codes.
        capabilities: :class:`Capability` flags.
        formats: Native pixel formats (video, PyAV names such as ``rgb24``) or
            sample formats (audio, such as ``flt``), preferred first.
        options: The codec's :class:`Option` rows.
        version: Bitstream version written into headers; a decoder refuses others.
        fourcc: Four ASCII characters identifying the codec's tracks in containers
            (Matroska ``V_MS/VFW/FOURCC`` / ``A_MS/ACM`` carriers).
        encoder: Import path ``"module:Class"`` of the encoder, or ``None``.
        decoder: Import path ``"module:Class"`` of the decoder, or ``None``.
        distribution: Name of the installed distribution that registered the
            codec; filled in by the registry.
    """

    name: str
    long_name: str
    media_type: MediaType
    capabilities: Capability
    formats: tuple[str, ...]
    options: tuple[Option, ...]
    version: int
    fourcc: str
    encoder: str | None = None
    decoder: str | None = None
    distribution: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.isascii() or not self.name.replace("_", "").isalnum():
            raise ValueError(f"codec name {self.name!r} must be ASCII letters, digits and underscores")
        if len(self.name) > 32:
            raise ValueError(f"codec name {self.name!r} is longer than 32 characters")
        if len(self.fourcc) != 4 or not self.fourcc.isascii() or not self.fourcc.isprintable():
            raise ValueError(f"codec `{self.name}`: fourcc {self.fourcc!r} must be 4 printable ASCII characters")
        if not 0 <= self.version <= 0xFFFF:
            raise ValueError(f"codec `{self.name}`: version {self.version} must be from 0 to 65535")
        object.__setattr__(self, "media_type", MediaType(self.media_type))
        object.__setattr__(self, "formats", tuple(self.formats))
        object.__setattr__(self, "options", tuple(self.options))
        names = [option.name for option in self.options]
        if len(set(names)) != len(names):
            raise ValueError(f"codec `{self.name}`: option names repeat: {names}")
        rated = [option.name for option in self.options if option.nominal_rates is not None]
        if len(rated) > 1:
            raise ValueError(f"codec `{self.name}`: only one option may carry nominal rates, not {rated}")
        if Capability.INTER in self.capabilities:
            self._check_inter()

    def _check_inter(self) -> None:
        """A stateful codec is video, not intra-only, and takes an integer ``g`` option from 1."""
        if self.media_type is not MediaType.VIDEO:
            raise ValueError(f"codec `{self.name}`: only video codecs can be INTER (stateful)")
        if Capability.INTRA_ONLY in self.capabilities:
            raise ValueError(f"codec `{self.name}`: INTER and INTRA_ONLY exclude each other")
        interval = [o for o in self.options if o.name == KEYFRAME_INTERVAL]
        if not interval or interval[0].type is not int or interval[0].min is None or interval[0].min < 1:
            raise ValueError(f"codec `{self.name}`: an INTER codec needs an int option `{KEYFRAME_INTERVAL}` "
                             f"(keyframe interval, at least 1; see keyframe_interval_option())")

    @property
    def rated_option(self) -> Option | None:
        """The option whose values carry :class:`NominalRates` (the level option), or ``None``."""
        for option in self.options:
            if option.nominal_rates is not None:
                return option
        return None

    def option(self, name: str) -> Option:
        """Return the option called ``name``.

        Raises:
            InvalidOptionError: if the codec has no such option (lists the valid ones).
        """
        for option in self.options:
            if option.name == name:
                return option
        valid = ", ".join(o.name for o in self.options) or "none"
        raise InvalidOptionError(f"codec `{self.name}` has no option `{name}` (its options: {valid})")

    def resolve_options(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return every option's value: the given ones parsed and checked, the rest defaults.

        Raises:
            InvalidOptionError: for an unknown option, a wrong type or a value out of range.
        """
        given = dict(given or {})
        resolved = {option.name: option.default for option in self.options}
        for name, value in given.items():
            resolved[name] = self.option(name).parse(value)
        return resolved

    def load_class(self, role: str) -> type:
        """Import and return the ``encoder`` or ``decoder`` class.

        Raises:
            PluginError: the codec has no such role, or the import fails (in any way,
                ``SystemExit`` included), or the path names something other than a class.
        """
        path = getattr(self, role)
        if path is None:
            raise PluginError(f"codec `{self.name}` has no {role}")
        module_name, _, attribute = path.partition(":")
        os.environ.setdefault(TF_LOG_ENV, "3")  # before any codec can import TensorFlow (see TF_LOG_ENV)
        def load() -> type:
            return getattr(importlib.import_module(module_name), attribute)

        # A plugin's import can fail in any way, sys.exit() included: guard.call names it.
        cls = guard.call(self.name, self.distribution, f"load its {role} {path}", load)
        if not isinstance(cls, type):
            raise PluginError(guard.failure_message(self.name, self.distribution, f"load its {role} {path}",
                                                    f"it is {guard.describe(cls)}, not a class"))
        return cls
