"""Registers the ``zlibv``, ``zlibp`` and ``zliba`` codecs with neuralav (entry point ``neuralav``)."""

from __future__ import annotations

from neuralav.registry import Capability, CodecDescriptor, MediaType, Option, hookimpl, keyframe_interval_option

LEVEL = Option("level", int, 6, "zlib compression level", min=0, max=9)

ZLIBV = CodecDescriptor(
    name="zlibv",
    long_name="zlib with gradient prediction (lossless video, example plugin)",
    media_type=MediaType.VIDEO,
    capabilities=Capability.LOSSLESS | Capability.INTRA_ONLY | Capability.VARIABLE_SIZE,
    formats=("rgb24", "rgba", "gray", "yuv420p", "yuv444p"),
    options=(LEVEL, Option("predictor", str, "gradient", "prediction before zlib",
                           choices=("none", "up", "gradient"))),
    version=1,
    fourcc="ZLBV",
    encoder="neuralav_zlib.codecs:ZlibVideoEncoder",
    decoder="neuralav_zlib.codecs:ZlibVideoDecoder",
)

ZLIBP = CodecDescriptor(
    name="zlibp",
    long_name="zlib of frame differences, keyframes every g frames (lossless inter video, example plugin)",
    media_type=MediaType.VIDEO,
    capabilities=Capability.LOSSLESS | Capability.INTER | Capability.VARIABLE_SIZE,
    formats=("rgb24", "rgba", "gray", "yuv420p", "yuv444p"),
    options=(LEVEL, keyframe_interval_option(default=12)),
    version=1,
    fourcc="ZLBP",
    encoder="neuralav_zlib.codecs:ZlibInterEncoder",
    decoder="neuralav_zlib.codecs:ZlibInterDecoder",
)

ZLIBA = CodecDescriptor(
    name="zliba",
    long_name="zlib with delta prediction (lossless audio, example plugin)",
    media_type=MediaType.AUDIO,
    capabilities=Capability.LOSSLESS,
    formats=("s16", "s32", "flt"),
    options=(LEVEL,),
    version=1,
    fourcc="ZLBA",
    encoder="neuralav_zlib.codecs:ZlibAudioEncoder",
    decoder="neuralav_zlib.codecs:ZlibAudioDecoder",
)


@hookimpl
def neuralav_register_codecs(register):
    """Register the example codecs."""
    register(ZLIBV)
    register(ZLIBP)
    register(ZLIBA)
