"""``neuralav demo``: the main job on the bundled sample clip.

Transcodes ``container/samples/sample.mkv`` (2 s of H.264 video + Opus speech) into
``OUTPUT/neural.mkv``: the original tracks copied (default tracks) next to the video
coded with ``cae`` and the audio coded with ``wavenet`` when that codec is installed
(otherwise the audio is only copied, and the demo says so). Then decodes the neural
tracks into ``OUTPUT/decoded.mp4`` (H.264 + AAC, playable anywhere) and prints the
probe of ``neural.mkv``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import av
import numpy as np

from neuralav import registry
from neuralav.registry import NeuralavError

from ..pipeline import StreamChoice, transcode
from ..probe import format_probe, probe
from ..samples import SAMPLE
from ._options import sigterm_interrupts
from .transcode import print_summary

__all__ = ["add_arguments", "run", "main", "AUDIO_CODEC", "VIDEO_CODEC"]

VIDEO_CODEC = "cae"
AUDIO_CODEC = "wavenet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--output", default="demo-out", help="folder to write into (default: demo-out)")
    parser.add_argument("--input", default=str(SAMPLE), help="clip with one video and one audio track "
                                                            "(default: the bundled sample)")
    parser.add_argument("-q:v", dest="video_quality", default=None, metavar="N",
                        help=f"`{VIDEO_CODEC}` quality level (default: the codec's)")
    parser.add_argument("-q:a", dest="audio_quality", default=None, metavar="N",
                        help=f"`{AUDIO_CODEC}` quality level (default: the codec's)")
    parser.add_argument("-y", dest="overwrite", action="store_true", help="overwrite earlier demo outputs")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: only on a terminal)")


def _audio_codec_works(quality: str | None) -> tuple[bool, str]:
    """Whether ``wavenet`` is installed and codes a short silence; else the reason why not."""
    if AUDIO_CODEC not in registry.default_registry().names():
        return False, f"the `{AUDIO_CODEC}` audio codec is not installed"
    try:
        encoder = registry.create_encoder(AUDIO_CODEC, {"quality": quality} if quality else {},
                                          sample_rate=16000, layout="mono", format="s16")
        silence = av.AudioFrame.from_ndarray(np.zeros((1, 1600), np.int16), format="s16", layout="mono")
        silence.sample_rate = 16000
        encoder.encode(silence)
        encoder.encode(None)
    except NeuralavError as error:
        return False, f"the `{AUDIO_CODEC}` audio codec is installed but unusable ({error})"
    return True, ""


def run(args: argparse.Namespace) -> int:
    """Run the demo; print what was written and the probe."""
    with sigterm_interrupts():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    registry.get_codec(VIDEO_CODEC)  # fails clearly if the built-in video codec is missing
    neural_audio, why_not = _audio_codec_works(args.audio_quality)
    codecs = [StreamChoice("", "copy"), StreamChoice("2", VIDEO_CODEC)]
    maps = ["0:v:0", "0:a:0", "0:v:0"]
    qualities = [StreamChoice("v", args.video_quality)] if args.video_quality else []
    if neural_audio:
        maps.append("0:a:0")
        codecs.append(StreamChoice("3", AUDIO_CODEC))
        if args.audio_quality:
            qualities.append(StreamChoice("a", args.audio_quality))
        print(f"demo: coding video with `{VIDEO_CODEC}` and audio with `{AUDIO_CODEC}`")
    else:
        print(f"demo: coding video with `{VIDEO_CODEC}`; {why_not}, so the audio is only copied")
    # Per-type -q would also hit the copied tracks: address the neural ones by index.
    qualities = [StreamChoice("2" if q.spec == "v" else "3", q.value) for q in qualities]
    mkv = folder / "neural.mkv"
    result = transcode([args.input], mkv, maps=maps, codecs=codecs, qualities=qualities,
                       overwrite=args.overwrite, progress=args.progress)
    print_summary(result)
    decoded = folder / "decoded.mp4"
    neural_maps = ["0:2"] + (["0:3"] if neural_audio else ["0:1"])
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
