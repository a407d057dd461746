"""Describe a media file's tracks, like ffprobe: the data behind ``neuralav probe``."""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from neuralav import registry as _registry

from .reader import Reader

__all__ = ["probe", "format_probe"]


def probe(path: str | os.PathLike | BinaryIO, *, registry: _registry.Registry | None = None) -> dict[str, Any]:
    """Read every packet of ``path`` and describe the file and each track.

    A pipe (``"-"`` for standard input, a FIFO, a non-seekable file object) is read once, in order.

    Returns:
        ``{"path", "format", "duration" (s), "size" (bytes), "bit_rate" (bit/s), "tracks": [...],
        "damage": [...]}``;
        each track has ``index, type, codec, neural, default, width, height, frame_rate,
        sample_rate, channels, layout, duration (s), packets, bytes, bit_rate (bit/s)``; ``neural``
        is ``None`` or ``{"codec", "version", "fields", "plugin", "installed"}``; ``damage`` lists
        what the file lost to damage or truncation, one line each (each also a ``DamageWarning``).

    Raises:
        InputError, InvalidDataError: the file cannot be read.
    """
    with Reader(path, registry=registry) as reader:
        stats = {t.index: {"packets": 0, "bytes": 0, "first": None, "last": None} for t in reader.streams}
        for packet in reader.demux([t for t in reader.streams if t.type != "attachment"]):
            entry = stats[packet.stream.index]
            entry["packets"] += 1
            entry["bytes"] += packet.size
            if packet.pts is not None and packet.time_base is not None:
                start = float(packet.pts * packet.time_base)
                end = start + float((packet.duration or 0) * packet.time_base)
                entry["first"] = start if entry["first"] is None else min(entry["first"], start)
                entry["last"] = end if entry["last"] is None else max(entry["last"], end)
        names = registry.names() if registry is not None else _registry.default_registry().names()
        tracks = []
        for track in reader.streams:
            entry = stats[track.index]
            duration = track.duration
            if duration is None and entry["first"] is not None:
                duration = entry["last"] - entry["first"]
            neural = None
            if track.neural is not None:
                neural = {"codec": track.neural.codec, "version": track.neural.parsed.version,
                          "fields": {k: (v.hex() if isinstance(v, bytes) else v)
                                     for k, v in track.neural.parsed.fields.items()},
                          "fourcc": track.neural.fourcc or None, "plugin": track.plugin,
                          "installed": track.neural.codec in names}
            tracks.append({
                "index": track.index, "type": track.type, "codec": track.codec, "neural": neural,
                "default": bool(track.av_stream.disposition & track.av_stream.disposition.default),
                "title": track.av_stream.metadata.get("title"),
                "width": track.width or None, "height": track.height or None,
                "frame_rate": float(track.frame_rate) if track.frame_rate else None,
                "sample_rate": track.sample_rate or None, "channels": track.channels or None,
                "layout": track.layout or None, "duration": duration,
                "packets": entry["packets"], "bytes": entry["bytes"],
                "bit_rate": int(entry["bytes"] * 8 / duration) if duration else None,
            })
        size = reader.size
        duration = reader.duration
        return {"path": str(path), "format": reader.container.format.name, "duration": duration,
                "size": size, "bit_rate": int(size * 8 / duration) if duration else None, "tracks": tracks,
                "damage": list(reader.damage)}


def format_probe(info: dict[str, Any]) -> str:
    """Human-readable text of :func:`probe`'s result, one line per track."""
    duration = f"{info['duration']:.3f} s" if info["duration"] else "unknown duration"
    rate = f", {info['bit_rate'] / 1000:.1f} kbit/s" if info["bit_rate"] else ""
    lines = [f"{info['path']}: {info['format']}, {duration}, {info['size']} bytes{rate}"]
    for t in info["tracks"]:
        codec = t["codec"]
        if t["neural"]:
            n = t["neural"]
            fields = ", ".join(f"{k}={v}" for k, v in n["fields"].items()
                               if k not in ("input_format", "coded_format"))
            codec += f" [neural v{n['version']}{', ' + fields if fields else ''}]"
            if not n["installed"]:
                codec += " (codec not installed)"
        if t["type"] == "video":  # what is not known is "?", as a size or rate nobody could read
            detail = f"{t['width'] or '?'}x{t['height'] or '?'}"
            if t["frame_rate"]:
                detail += f", {t['frame_rate']:g} fps"
        elif t["type"] == "audio":
            channels = t["layout"] or (f"{t['channels']} ch" if t["channels"] else "? ch")
            detail = f"{t['sample_rate'] or '?'} Hz, {channels}"
        else:
            detail = ""
        extra = [f"{t['duration']:.3f} s" if t["duration"] else None,
                 f"{t['bit_rate'] / 1000:.1f} kbit/s" if t["bit_rate"] else None,
                 f"{t['packets']} packets", "default" if t["default"] else None]
        lines.append(f"  #{t['index']} {t['type']}: {codec}" + (f", {detail}" if detail else "") + ", "
                     + ", ".join(e for e in extra if e))
    return "\n".join(lines)
