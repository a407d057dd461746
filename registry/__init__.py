"""neuralav.registry: which codecs exist and how to build their encoders and decoders.

Typical use, inside an ordinary PyAV loop::

    from neuralav import registry

    encoder = registry.create_encoder("cae", {"quality": 3})
    decoder = registry.create_decoder("cae", encoder.header)
    for frame in av.open("in.mp4").decode(video=0):
        for packet in encoder.encode(frame):
            (image,) = decoder.decode(packet)

This package imports neither TensorFlow nor any codec implementation: a codec's
classes are imported when its first encoder or decoder is created.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

from . import guard
from .api import (AudioChunk, AudioDecoder, AudioEncoder, Decoder, Encoder, PacketInfo, VideoDecoder,
                  VideoEncoder)
from .descriptor import (KEYFRAME_INTERVAL, Capability, CodecDescriptor, MediaType, NominalRates, Option, RateUnit,
                         keyframe_interval_option)
from .errors import (
    DuplicateCodecError,
    FormatNotSupportedError,
    HeaderMismatchError,
    InvalidDataError,
    InvalidOptionError,
    NeuralavError,
    PluginError,
    UnknownCodecError,
)
from .header import CodecHeader
from .hookspecs import hookimpl
from .inter import CodedFrame, InterVideoDecoder, InterVideoEncoder
from .manager import PluginWarning, Registry, build_registry, default_registry, reset_default_registry

__all__ = [
    "AudioChunk", "AudioDecoder", "AudioEncoder", "Capability", "CodecDescriptor", "CodecHeader", "CodedFrame",
    "Decoder", "DuplicateCodecError", "Encoder", "FormatNotSupportedError", "HeaderMismatchError",
    "InterVideoDecoder", "InterVideoEncoder", "InvalidDataError", "InvalidOptionError", "KEYFRAME_INTERVAL",
    "MediaType", "NeuralavError", "NominalRates", "Option", "PacketInfo",
    "PluginError", "PluginWarning", "RateUnit", "Registry", "UnknownCodecError", "VideoDecoder", "VideoEncoder",
    "build_registry", "create_decoder", "create_encoder", "default_registry", "get_codec",
    "hookimpl", "keyframe_interval_option", "list_codecs", "reset_default_registry",
]


def _registry(registry: Registry | None) -> Registry:
    return registry if registry is not None else default_registry()


def get_codec(name: str, *, registry: Registry | None = None) -> CodecDescriptor:
    """Return the descriptor of codec ``name``.

    Raises:
        UnknownCodecError: no installed codec has that name (lists those that exist).
        DuplicateCodecError: two distributions register it.
    """
    return _registry(registry).get(name)


def list_codecs(*, registry: Registry | None = None) -> list[CodecDescriptor]:
    """Return every usable codec, sorted by media type and name."""
    return _registry(registry).codecs()


def create_encoder(name: str, options: Mapping[str, Any] | None = None, *,
                   registry: Registry | None = None, time_base: Fraction | None = None,
                   **kwargs: Any) -> Encoder:
    """Build an encoder for codec ``name``.

    Args:
        name: Codec name, e.g. ``cae``.
        options: Codec options (``{"quality": 3}``); strings are parsed as on the
            command line. Unknown options, wrong types and out-of-range values raise.
        registry: Registry to look the codec up in (default: the installed plugins).
        time_base: Time base for frames that carry none.
        **kwargs: Passed to the encoder class (audio: ``sample_rate``, ``layout``).

    Raises:
        UnknownCodecError, DuplicateCodecError, InvalidOptionError,
        PluginError: the codec's module or constructor failed (names its distribution).
    """
    descriptor = get_codec(name, registry=registry)
    resolved = descriptor.resolve_options(options)
    cls = descriptor.load_class("encoder")
    return _construct(descriptor, "start an encoder", cls, descriptor, resolved,
                      time_base=time_base, **kwargs)


def create_decoder(name: str, header: bytes, *, registry: Registry | None = None) -> Decoder:
    """Build a decoder for codec ``name`` from the encoder's ``header`` bytes.

    Raises:
        UnknownCodecError: the codec is not installed.
        HeaderMismatchError: the header is for another codec or bitstream version.
        InvalidDataError: the header is malformed.
        PluginError: the codec's module or constructor failed (names its distribution).
    """
    descriptor = get_codec(name, registry=registry)
    CodecHeader.from_bytes(header).check(descriptor.name, descriptor.version)
    cls = descriptor.load_class("decoder")
    return _construct(descriptor, "start a decoder", cls, descriptor, header)


def _construct(descriptor: CodecDescriptor, what: str, cls, *args: Any, **kwargs: Any):
    """``cls(*args, **kwargs)`` under :func:`guard.call`: what the plugin raises by mistake names it."""
    try:
        return guard.call(descriptor.name, descriptor.distribution, what, cls, *args, **kwargs)
    except PluginError as error:
        cause = error.__cause__
        if isinstance(cause, TypeError) and kwargs and "unexpected keyword" in str(cause):
            raise cause from None  # a caller's mistake (a keyword the class does not take), not the plugin's
        raise
