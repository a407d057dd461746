"""``neuralav demo``: the main job on the bundled sample clip.

Transcodes ``container/samples/sample.mkv`` (2 s of H.264 video + Opus speech) into
``OUTPUT/neural.mkv``: the original tracks copied (default tracks) next to the video
coded with a neural video codec and the audio coded with a neural audio codec when one
is installed and works (otherwise the audio is only copied, and the demo says so). Then
decodes the neural tracks into ``OUTPUT/decoded.mp4`` (H.264 + AAC, playable anywhere)
and prints the probe of ``neural.mkv``.

Codecs are chosen by what they can do, not by name: the first usable codec of the media
type with the ``neural`` capability, an encoder and a decoder, the built-in ones
(distribution ``neuralav``: ``cae``, ``wavenet``) before third-party ones, then by name.
``-c:v``/``-c:a`` choose others.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import av
import numpy as np

from neuralav import registry
from neuralav.registry import Capability, CodecDescriptor, MediaType, NeuralavError

from ..pipeline import StreamChoice, transcode
from ..probe import format_probe, probe
from ..samples import SAMPLE
from ._options import sigterm_interrupts
from .transcode import print_summary

__all__ = ["add_arguments", "run", "main", "neural_codecs"]

BUILT_IN = "neuralav"
"""Distribution of the built-in codecs, preferred by the demo."""


def neural_codecs(media_type: MediaType) -> list[CodecDescriptor]:
    """Usable neural codecs of ``media_type`` that both encode and decode, in the demo's order
    of preference: built-in first, then by name."""
    found = [codec for codec in registry.list_codecs()
             if codec.media_type is media_type and Capability.NEURAL in codec.capabilities
             and codec.encoder and codec.decoder]
    return sorted(found, key=lambda codec: (codec.distribution != BUILT_IN, codec.name))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--output", default="demo-out", help="folder to write into (default: demo-out)")
    parser.add_argument("--input", default=str(SAMPLE), help="clip with one video and one audio track "
                                                            "(default: the bundled sample)")
    parser.add_argument("-c:v", dest="video_codec", default=None, metavar="CODEC",
                        help="neural video codec (default: the first neural video codec installed, "
                             "built-in first)")
    parser.add_argument("-c:a", dest="audio_codec", default=None, metavar="CODEC",
                        help="neural audio codec (default: the first neural audio codec installed that "
                             "works, built-in first)")
    parser.add_argument("-q:v", dest="video_quality", default=None, metavar="N",
                        help="video codec's quality level (default: the codec's)")
    parser.add_argument("-q:a", dest="audio_quality", default=None, metavar="N",
                        help="audio codec's quality level (default: the codec's)")
    parser.add_argument("-y", dest="overwrite", action="store_true", help="overwrite earlier demo outputs")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: only on a terminal)")


def _audio_codec_works(name: str, quality: str | None) -> str | None:
    """``None`` if audio codec ``name`` codes a short silence, else the reason why not."""
    try:
        encoder = registry.create_encoder(name, {"quality": quality} if quality else {},
                                          sample_rate=16000, layout="mono", format="s16")
        silence = av.AudioFrame.from_ndarray(np.zeros((1, 1600), np.int16), format="s16", layout="mono")
        silence.sample_rate = 16000
        encoder.encode(silence)
        encoder.encode(None)
    except NeuralavError as error:
        return f"the `{name}` audio codec is installed but unusable ({error})"
    return None


def _video_codec_works(name: str, quality: str | None) -> str | None:
    """``None`` if video codec ``name`` starts (its weights load), else the reason why not."""
    try:
        registry.create_encoder(name, {"quality": quality} if quality else {})
    except NeuralavError as error:
        return f"the `{name}` video codec is installed but unusable ({error})"
    return None


def _video_codec(chosen: str | None, quality: str | None = None) -> str:
    """The video codec to use: ``chosen`` (checked), or the first neural video codec that starts.

    Raises:
        UnknownCodecError: no neural video codec is installed (or ``chosen`` is unknown).
        PluginError: every one installed is unusable (each reason named).
    """
    if chosen:
        registry.get_codec(chosen)  # fails clearly if it is not installed
        return chosen
    candidates = neural_codecs(MediaType.VIDEO)
    if not candidates:
        raise registry.UnknownCodecError("the demo needs a neural video codec, and none is installed "
                                         "(`neuralav codecs` lists what is)")
    reasons = []
    for codec in candidates:
        reason = _video_codec_works(codec.name, quality)
        if reason is None:
            return codec.name
        reasons.append(reason)
    raise registry.PluginError("; ".join(reasons))


def _audio_codec(chosen: str | None, quality: str | None) -> tuple[str | None, str]:
    """The audio codec to use and, if none, why not: ``chosen``, or the first neural one that works."""
    if chosen:
        registry.get_codec(chosen)
        return chosen, ""
    reasons = []
    for codec in neural_codecs(MediaType.AUDIO):
        reason = _audio_codec_works(codec.name, quality)
        if reason is None:
            return codec.name, ""
        reasons.append(reason)
    return None, "; ".join(reasons) or "no neural audio codec is installed"


def run(args: argparse.Namespace) -> int:
    """Run the demo; print what was written and the probe."""
    with sigterm_interrupts():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    video_codec = _video_codec(args.video_codec, args.video_quality)
    audio_codec, why_not = _audio_codec(args.audio_codec, args.audio_quality)
    codecs = [StreamChoice("", "copy"), StreamChoice("2", video_codec)]
    maps = ["0:v:0", "0:a:0", "0:v:0"]
    qualities = [StreamChoice("v", args.video_quality)] if args.video_quality else []
    if audio_codec:
        maps.append("0:a:0")
        codecs.append(StreamChoice("3", audio_codec))
        if args.audio_quality:
            qualities.append(StreamChoice("a", args.audio_quality))
        print(f"demo: coding video with `{video_codec}` and audio with `{audio_codec}`")
    else:
        print(f"demo: coding video with `{video_codec}`; {why_not}, so the audio is only copied")
    # Per-type -q would also hit the copied tracks: address the neural ones by index.
    qualities = [StreamChoice("2" if q.spec == "v" else "3", q.value) for q in qualities]
    mkv = folder / "neural.mkv"
    result = transcode([args.input], mkv, maps=maps, codecs=codecs, qualities=qualities,
                       overwrite=args.overwrite, progress=args.progress)
    print_summary(result)
    decoded = folder / "decoded.mp4"
    neural_maps = ["0:2"] + (["0:3"] if audio_codec else ["0:1"])
    result = transcode([mkv], decoded, maps=neural_maps, decode_neural=True, overwrite=args.overwrite,
                       progress=args.progress)
    print_summary(result)
    print()
    print(format_probe(probe(mkv)))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``neuralav demo ...`` as a function."""
    from ..cli import main as cli_main

    return cli_main(["demo", *(argv if argv is not None else sys.argv[1:])])
