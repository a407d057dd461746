"""Which registry codecs a benchmark runs."""

from __future__ import annotations

import math

from typing import Sequence

from neuralav import registry
from neuralav.registry import Capability, CodecDescriptor, MediaType

from .errors import BenchError

__all__ = ["adopt_descriptor", "registry_descriptors"]


def registry_descriptors(names: Sequence[str] | None, media_type: MediaType, command: str) -> list[CodecDescriptor]:
    """The named codecs, or every installed one of `media_type` with ``Capability.NEURAL``.

    Args:
        names: Codec names given by the user, or ``None``/empty for every neural one.
        media_type: What the benchmark codes.
        command: The benchmark's command (``bench images``), for messages.

    Raises:
        UnknownCodecError: a named codec is not installed.
        BenchError: a named codec is not of `media_type` or has no encoder/decoder.
    """
    kind = "a video" if media_type is MediaType.VIDEO else "an audio"
    if names:
        descriptors = [registry.get_codec(name) for name in names]
        for descriptor in descriptors:
            if descriptor.media_type is not media_type or not descriptor.encoder or not descriptor.decoder:
                raise BenchError(f"codec `{descriptor.name}` is not {kind} codec with an encoder and a "
                                 f"decoder; `{command}` needs one")
        return descriptors
    return [d for d in registry.list_codecs()
            if d.media_type is media_type and Capability.NEURAL in d.capabilities and d.encoder and d.decoder]


def adopt_descriptor(codec, descriptor: CodecDescriptor) -> None:
    """Sets what a benchmark codec adapter reads from a registry descriptor: ``descriptor``,
    ``name``, ``label``, ``family`` (``neural`` or ``registry``) and the settings it runs at,
    every integer value of a bounded ``quality`` option (integer, or real as ``vae``'s, whose
    integers are its named points; ``setting_name`` "quality"), else the codec's defaults once
    (``setting_name`` "default", settings ``(None,)``)."""
    codec.descriptor = descriptor
    codec.name = descriptor.name
    codec.label = f"{descriptor.long_name} [{descriptor.distribution or '?'}]"
    codec.family = "neural" if Capability.NEURAL in descriptor.capabilities else "registry"
    quality = next((o for o in descriptor.options if o.name == "quality"), None)
    if quality is not None and quality.type in (int, float) and quality.min is not None \
            and quality.max is not None:
        codec.setting_name = "quality"
        codec.settings = tuple(range(math.ceil(quality.min), math.floor(quality.max) + 1))
    else:
        codec.setting_name = "default"
        codec.settings = (None,)
