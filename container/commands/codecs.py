"""List the installed codecs (like ``ffmpeg -codecs``) or show one codec's options.

A codec name that two installed distributions register is listed as unusable, with the
error naming both; ``NEURALAV_PREFER`` chooses one (see :data:`EPILOG`).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json

from neuralav.registry import Capability, CodecDescriptor, default_registry, get_codec, list_codecs

LEGEND = """Codecs:
 D..... = Decoding supported
 .E.... = Encoding supported
 ..V... = Video codec
 ..A... = Audio codec
 ...I.. = Intra frame-only codec
 ....L. = Lossy compression
 .....S = Lossless compression
 -------"""


EPILOG = """environment:
  NEURALAV_PREFER=CODEC=DIST[,CODEC=DIST...]
                        when two installed distributions register the same codec name,
                        the name is unusable (listed here with both distributions) until
                        you pin it to one, e.g. NEURALAV_PREFER=cae=neuralav; distribution
                        names as in the [provider] column (case and -/_ ignored)
  NEURALAV_DISABLE_PLUGIN_AUTOLOAD=1
                        load no plugin entry points (no codecs at all)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``[NAME] [--json]`` and the environment variables' help."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("name", nargs="?", help="show this codec's options, like `ffmpeg -h encoder=NAME`")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _flags(codec: CodecDescriptor) -> str:
    caps = codec.capabilities
    return "".join([
        "D" if codec.decoder else ".",
        "E" if codec.encoder else ".",
        "V" if codec.media_type.value == "video" else "A",
        "I" if Capability.INTRA_ONLY in caps else ".",
        "L" if Capability.LOSSY in caps else ".",
        "S" if Capability.LOSSLESS in caps else ".",
    ])


def _provider(codec: CodecDescriptor) -> str:
    if not codec.distribution:
        return "?"
    try:
        return f"{codec.distribution} {importlib.metadata.version(codec.distribution)}"
    except importlib.metadata.PackageNotFoundError:
        return codec.distribution


def _rates_dict(option) -> dict | None:
    rates = option.nominal_rates
    if rates is None:
        return None
    return {"unit": rates.unit.value, "per_channel": rates.per_channel, "source": rates.source or None,
            "rates": [[value, rate] for value, rate in rates.rates]}


def _as_dict(codec: CodecDescriptor) -> dict:
    return {
        "name": codec.name,
        "long_name": codec.long_name,
        "type": codec.media_type.value,
        "capabilities": codec.capabilities.names(),
        "formats": list(codec.formats),
        "fourcc": codec.fourcc,
        "version": codec.version,
        "distribution": codec.distribution,
        "encoder": codec.encoder is not None,
        "decoder": codec.decoder is not None,
        "options": [
            {"name": o.name, "type": o.type_name, "default": o.default, "min": o.min, "max": o.max,
             "choices": list(o.choices) if o.choices else None, "help": o.help,
             "nominal_rates": _rates_dict(o)}
            for o in codec.options
        ],
    }


def format_table(codecs: list[CodecDescriptor], unusable: dict[str, Exception] | None = None) -> str:
    """Render codecs as ``ffmpeg -codecs`` does, plus FourCC and provider columns.

    Args:
        codecs: The usable codecs.
        unusable: ``{name: error}`` of registered names that cannot be used (two
            distributions register them): one line each, flags ``!!!!!!``, with the error.
    """
    unusable = unusable or {}
    lines = [LEGEND]
    width = max([len(c.name) for c in codecs] + [len(name) for name in unusable] + [4])
    for codec in codecs:
        lines.append(f" {_flags(codec)} {codec.name:<{width}}  {codec.fourcc}  "
                     f"{codec.long_name}  [{_provider(codec)}]")
    for name, error in unusable.items():
        lines.append(f" !!!!!! {name:<{width}}  ----  unusable: {error}")
    if not codecs and not unusable:
        lines.append(" (no codecs installed)")
    return "\n".join(lines)


def format_help(codec: CodecDescriptor) -> str:
    """Render one codec's description and options, like ``ffmpeg -h encoder=NAME``."""
    kind = "pixel" if codec.media_type.value == "video" else "sample"
    lines = [
        f"Codec {codec.name} [{codec.long_name}]:",
        f"    Type: {codec.media_type.value}",
        f"    General capabilities: {' '.join(codec.capabilities.names()) or 'none'}",
        f"    Supported {kind} formats: {' '.join(codec.formats)}",
        f"    FourCC: {codec.fourcc}    Bitstream version: {codec.version}",
        f"    Provided by: {_provider(codec)}",
        f"{codec.name} options:",
    ]
    for option in codec.options:
        default = "not set" if option.default is None else option.default
        lines.append(f"  -{option.name:<12} <{option.type_name}>  {option.help} "
                     f"({option.range_text()}) (default {default})")
        if option.nominal_rates is not None:
            lines.append(f"  {'':<13} {'':<{len(option.type_name) + 2}}  nominal rates: "
                         f"{option.nominal_rates.describe()}")
    if not codec.options:
        lines.append("  (none)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the table, or one codec's help; unknown names raise UnknownCodecError, a name two
    distributions register DuplicateCodecError (naming both)."""
    if args.name:
        codec = get_codec(args.name)
        print(json.dumps(_as_dict(codec), indent=2) if args.json else format_help(codec))
    else:
        codecs = list_codecs()
        unusable = default_registry().unusable()
        if args.json:
            entries = [_as_dict(c) for c in codecs] + [{"name": name, "error": str(error)}
                                                        for name, error in unusable.items()]
            print(json.dumps(entries, indent=2))
        else:
            print(format_table(codecs, unusable))
    return 0
