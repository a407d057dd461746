"""Regenerate ``sample.mkv``, the clip ``neuralav demo`` transcodes (see README.md here).

2.0 s of real camera video (the "foreman" CIF sequence, 352x288, 25 frames/s, from the
openh264 test stream ``test_cif_I_CABAC_slice.264``) re-encoded with libx264, and 2.0 s of
real speech (LibriSpeech utterance 198-209-0000, 16 kHz mono, from the librosa example
data) encoded with libopus, muxed into Matroska with PyAV.

Usage::

    python -m neuralav.container.samples.make_sample [--data ../shared/data] [--output sample.mkv]
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import av

SECONDS = 2.0
FRAME_RATE = 25
VIDEO_SOURCE = "video/test_cif_I_CABAC_slice.264"
AUDIO_SOURCE = "speech/198-209-0000.ogg"
HERE = Path(__file__).resolve().parent


def make_sample(data: Path, output: Path) -> None:
    """Write the sample clip to ``output`` from the shared media folder ``data``."""
    with av.open(str(data / VIDEO_SOURCE), format="h264") as video_in, \
            av.open(str(data / AUDIO_SOURCE)) as audio_in, \
            av.open(str(output), "w", format="matroska") as out:
        out.metadata["title"] = "neuralav sample: foreman (openh264 test stream) + LibriSpeech 198-209-0000"
        video = out.add_stream("libx264", rate=FRAME_RATE,
                               options={"crf": "23", "preset": "slow", "g": str(FRAME_RATE)})
        video.width, video.height, video.pix_fmt = 352, 288, "yuv420p"
        video.codec_context.time_base = Fraction(1, FRAME_RATE)
        audio = out.add_stream("libopus", rate=16000)
        audio.codec_context.layout = "mono"
        audio.codec_context.bit_rate = 24000
        video.disposition = audio.disposition = av.stream.Disposition.default
        video.metadata["title"] = "foreman (CIF)"
        audio.metadata["title"] = "LibriSpeech 198-209-0000"
        audio.metadata["language"] = "eng"
        frames = int(SECONDS * FRAME_RATE)
        for index, frame in enumerate(video_in.decode(video=0)):
            if index == frames:
                break
            frame = frame.reformat(format="yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, FRAME_RATE)
            frame.pict_type = av.video.frame.PictureType.NONE  # the source is all-intra: let x264 choose
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
        samples, limit = 0, int(SECONDS * 16000)
        for frame in audio_in.decode(audio=0):
            for chunk in resampler.resample(frame):
                keep = min(chunk.samples, limit - samples)
                if keep <= 0:
                    break
                array = chunk.to_ndarray()[:, :keep]
                piece = av.AudioFrame.from_ndarray(array, format="s16", layout="mono")
                piece.sample_rate, piece.pts, piece.time_base = 16000, samples, Fraction(1, 16000)
                samples += keep
                out.mux(audio.encode(piece))
            if samples >= limit:
                break
        out.mux(audio.encode(None))


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parents[1].parent / "shared" / "data",
                        help="shared media folder (default: ../shared/data next to the repository)")
    parser.add_argument("--output", type=Path, default=HERE / "sample.mkv")
    args = parser.parse_args()
    make_sample(args.data, args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
