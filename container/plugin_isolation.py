"""Encoding and decoding on a route with a plugin's codec isolated.

Whatever a neural codec raises besides neuralav errors becomes a
:class:`~neuralav.registry.PluginError` naming the codec and its distribution; with
``ignore_errors`` the frame or packet is skipped instead (:class:`EncodeWarning`,
:class:`~neuralav.container.reader.DecodeWarning`) while every other stream goes on.
"""

from __future__ import annotations

import warnings

import av

from neuralav import registry as _registry
from neuralav.registry import NeuralavError, PluginError, Registry

from .reader import DecodeWarning, Reader, Track
from .routes import _Route


class EncodeWarning(UserWarning):
    """A frame failed to encode and was skipped (``ignore_errors=True``)."""


def _plugin_failure(codec: str, registry: Registry | None, what: str, error: Exception) -> str:
    """``codec `x` (its distribution) failed to <what>: Type: message`` for an exception a codec raised."""
    from neuralav.registry import guard

    try:
        distribution = _registry.get_codec(codec, registry=registry).distribution
    except NeuralavError:
        distribution = None
    return str(guard.plugin_error(codec, distribution, what, error))


def _encode(route: _Route, frame: av.frame.Frame | None, seconds: float | None,
            registry: Registry | None) -> list[av.Packet]:
    """Encode one frame (``None`` flushes) on a route; a neural codec's failure is isolated.

    Raises:
        PluginError: the codec raised something other than a neuralav error (names it).
        NeuralavError: the codec refused the frame (unless ``ignore_errors``).
    """
    output = route.output
    try:
        return output.encode(frame)
    except Exception as error:
        if output.kind != "neural":
            raise
        if isinstance(error, NeuralavError):
            failure, detail = error, str(error)
        else:
            detail = _plugin_failure(output.codec, registry, "encode a frame", error)
            failure = PluginError(detail)
        if not route.ignore_errors:
            raise failure from error
        when = f"{seconds:.3f} s" if seconds is not None else "end of stream"
        route.skipped += 1
        warnings.warn(f"output stream {output.index} ({output.codec}) frame at {when} failed to encode: "
                      f"{detail} (skipped)", EncodeWarning, stacklevel=2)
        return []


def _decode(reader: Reader, track: Track, packet: av.Packet | None, registry: Registry | None
            ) -> list[av.frame.Frame]:
    """Decode one packet; what a neural codec raises besides neuralav errors is isolated too.

    The reader reports neuralav errors itself (or skips them with ``ignore_errors``); this
    adds the exceptions a plugin raises outside the base classes' wrapping (its decoder's
    constructor, a ``decode`` override).

    Raises:
        PluginError: naming the track, the time, the codec and its distribution.
    """
    try:
        return reader.decode_packet(track, packet)
    except NeuralavError:
        raise
    except Exception as error:
        if not track.is_neural:
            raise
        when = (f"{float(packet.pts * packet.time_base):.3f} s"
                if packet is not None and packet.pts is not None and packet.time_base else "end of stream")
        message = (f"`{reader.path}` track {track.index} ({track.codec}) packet at {when} failed to decode: "
                   f"{_plugin_failure(track.codec, registry, 'decode', error)}")
        if not reader.ignore_errors:
            raise PluginError(message) from error
        reader.errors += 1
        warnings.warn(message + " (skipped)", DecodeWarning, stacklevel=2)
        return []
