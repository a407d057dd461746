"""Training audio for ``wavenet``: offline speech/music decoded to 16 kHz mono.

Data sets (:data:`DATASETS`; the model card says which the shipped weights were trained on):

- ``fillets``: Debian bookworm packages ``fillets-ng-data-cs`` and ``fillets-ng-data``, version
  1.0.1-1.1 (``apt-get install fillets-ng-data-cs fillets-ng-data``): the recorded voice acting
  and music of the game *Fish Fillets NG* (GPL-2, see ``/usr/share/doc/fillets-ng-data/copyright``),
  Ogg Vorbis.

  - ``speech``: ``/usr/share/games/fillets-ng/sound/*/{cs,en}/*.ogg``: 1782 Czech lines
    (100.9 min) and 192 English lines (6.3 min), 1974 files, 107.3 min.
  - ``music``: ``/usr/share/games/fillets-ng/music/*.ogg``: 15 tracks, 24.5 min (general audio).

- ``fillets+klettres``: the same, plus as ``speech`` the spoken letters and syllables of KDE's
  *KLettres* (Debian ``klettres-data`` 4:22.12.3-1, GPL-2, ``/usr/share/klettres/<lang>/*/*.ogg``,
  44.1 kHz Ogg Vorbis; 1836 files, 51.4 min in 22 languages, one or a few speakers each), in
  the :data:`KLETTRES_LANGUAGES` only: the languages of the validation set are left out, in
  case a KDE translator recorded both games. That is 1527 files, of which FFmpeg reads 1509
  (40.7 min; the cache's ``skipped.txt`` lists the other 18): speech 153.8 min in all.

- ``fillets+klettres+tuxpaint``: the same, plus as ``speech`` the spoken stamp descriptions of
  *Tux Paint* (Debian ``tuxpaint-stamps-default`` 2022.06.04-1, GPL-2,
  ``/usr/share/tuxpaint/stamps/**/*_desc_<lang>.ogg``, one short sentence each) in the
  :data:`TUXPAINT_LANGUAGES` (the validation set's languages left out). Added because the
  other two are mostly male voices (Fish Fillets' two fish): the Romanian, Spanish and
  Belarusian descriptions are women's voices (median F0 about 190-300 Hz, measured on 6
  files each), the French, Russian and Bulgarian ones men's. 5424 files, 138.8 min, of which
  71.5 min (ro 29.9, es 25.4, be 16.2) are women's; FFmpeg reads them all. Speech 286.8 min
  in all.

Never add ``shared/data/speech``: it is the held-out evaluation set. Runs are compared on a
separate validation set, :func:`build_validation` (Debian ``ktuberling-data``'s spoken words,
six languages; ``python -m neuralav.plugins.wavenet.data [DIR]`` writes it), and on high
voices, :func:`build_high_pitch` (Debian ``hedgewars-data``; ``... data --set high-pitch``).

The cache (``~/.cache/neuralav/data/wavenet`` for ``fillets``, ``wavenet-<name>`` for another
data set) is one float16 array per kind
(``<kind>.npy``, clips concatenated with 0.1 s of silence between them) plus
``sources.json`` listing every file and its length in samples.
"""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
"""Rate (Hz) of the cached training audio, the codec's coded rate."""

DEFAULT_CACHE = Path(os.path.expanduser("~/.cache/neuralav/data/wavenet"))
"""Cache of the ``fillets`` data set."""
FILLETS = "/usr/share/games/fillets-ng"
KLETTRES = "/usr/share/klettres"
VALIDATION_LANGUAGES = ("en", "de", "ca", "da", "el", "uk")
KLETTRES_LANGUAGES = ("ar", "cs", "es", "fr", "he", "hu", "id", "it", "lt", "ml", "nb", "nds", "nl",
                      "nn", "pt_BR", "ru", "tn")
"""KLettres' languages but those of the validation set (and ``en_GB``, next to its ``en``)."""
TUXPAINT = "/usr/share/tuxpaint/stamps"
TUXPAINT_LANGUAGES = ("fr", "ru", "ro", "bg", "es", "be", "lt", "nl")
"""Tux Paint's description languages but those of the validation set (ca, da, el)."""
_FILLETS_SPEECH = [f"{FILLETS}/sound/*/cs/*.ogg", f"{FILLETS}/sound/*/en/*.ogg"]
_FILLETS_MUSIC = [f"{FILLETS}/music/*.ogg"]
DATASETS = {
    "fillets": {"speech": _FILLETS_SPEECH, "music": _FILLETS_MUSIC},
    "fillets+klettres": {"speech": _FILLETS_SPEECH + [f"{KLETTRES}/{lang}/*/*.ogg" for lang in KLETTRES_LANGUAGES],
                         "music": _FILLETS_MUSIC},
    "fillets+klettres+tuxpaint": {
        "speech": _FILLETS_SPEECH + [f"{KLETTRES}/{lang}/*/*.ogg" for lang in KLETTRES_LANGUAGES]
        + [f"{TUXPAINT}/**/*_desc_{lang}.ogg" for lang in TUXPAINT_LANGUAGES],
        "music": _FILLETS_MUSIC},
}
"""Training data sets: ``{name: {kind: glob patterns}}``."""
PACKAGES = {"fillets": "fillets-ng-data-cs fillets-ng-data",
            "fillets+klettres": "fillets-ng-data-cs fillets-ng-data klettres-data",
            "fillets+klettres+tuxpaint": "fillets-ng-data-cs fillets-ng-data klettres-data tuxpaint-stamps-default"}
"""Debian packages each data set needs."""


def default_cache(dataset: str = "fillets") -> Path:
    """Where :func:`prepare` caches ``dataset`` by default."""
    return DEFAULT_CACHE if dataset == "fillets" else DEFAULT_CACHE.with_name(f"wavenet-{dataset}")


def decode_file(path: str, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode any audio file PyAV opens to mono float32 at ``rate`` Hz, shape (n,)."""
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    pieces = []
    with av.open(path) as container:
        for frame in container.decode(audio=0):
            frame.pts = None
            pieces.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        pieces.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    return np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)


def prepare(cache: Path | None = None, dataset: str = "fillets") -> dict[str, np.ndarray]:
    """Build the cache of ``dataset`` if missing and return ``{kind: float32 array}``. Files
    FFmpeg cannot read are left out and listed in the cache's ``skipped.txt``.

    Raises:
        FileNotFoundError: no source file of a kind exists (install the Debian packages).
        ValueError: ``dataset`` is not one of :data:`DATASETS`, or ``cache`` holds another.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown data set `{dataset}` (known: {', '.join(DATASETS)})")
    cache = default_cache(dataset) if cache is None else cache
    cache.mkdir(parents=True, exist_ok=True)
    manifest_path = cache / "sources.json"
    if not manifest_path.exists():
        import av

        manifest: dict[str, list] = {}
        skipped: list[str] = []
        for kind, patterns in DATASETS[dataset].items():
            files = sorted(f for p in patterns for f in glob.glob(p, recursive=True))
            if not files:
                raise FileNotFoundError(f"no `{kind}` audio matches {patterns}: "
                                        f"apt-get install {PACKAGES[dataset]}")
            gap = np.zeros(SAMPLE_RATE // 10, np.float32)
            arrays, entries = [], []
            for path in files:
                try:
                    audio = decode_file(path)
                except av.FFmpegError as error:  # 18 of KLettres' files: FFmpeg cannot demux them
                    skipped.append(f"{path}: {error}")
                    continue
                entries.append([path, len(audio)])
                arrays += [audio, gap]
            np.save(cache / f"{kind}.npy", np.concatenate(arrays).astype(np.float16))
            manifest[kind] = entries
        (cache / "skipped.txt").write_text("".join(line + "\n" for line in skipped))
        (cache / "dataset.txt").write_text(dataset + "\n")
        manifest_path.write_text(json.dumps(manifest, indent=1))
    built = (cache / "dataset.txt").read_text().strip() if (cache / "dataset.txt").exists() else "fillets"
    if built != dataset:  # caches from before dataset.txt hold `fillets`
        raise ValueError(f"the cache {cache} holds the data set `{built}`, not `{dataset}`")
    manifest = json.loads(manifest_path.read_text())
    return {kind: np.load(cache / f"{kind}.npy").astype(np.float32) for kind in manifest}


VALIDATION_SOURCE = "/usr/share/ktuberling/sounds"
DEFAULT_VALIDATION = Path(os.path.expanduser("~/.cache/neuralav/data/wavenet_validation"))
HIGH_PITCH_SOURCE = "/usr/share/games/hedgewars/Data/Sounds/voices"
HIGH_PITCH_PACKS = ("British", "Classic", "Default", "Default_es", "Default_ru", "Mobster", "Pirate", "Surfer")
"""Hedgewars voice packs in the high-voice set (``Robot`` is synthetic; the others repeat these)."""
DEFAULT_HIGH_PITCH = Path(os.path.expanduser("~/.cache/neuralav/data/wavenet_high_pitch"))


def build_validation(out: Path = DEFAULT_VALIDATION, seconds: float = 15.0) -> list[Path]:
    """Write the validation set, used to compare training runs (the held-out set
    ``shared/data/speech`` only measures the one that ships).

    Source: Debian bookworm ``ktuberling-data`` (``apt-get install ktuberling-data``, GPL-2),
    the words a child's game speaks, recorded by one speaker per language; never used in
    training. One clip per language in :data:`VALIDATION_LANGUAGES`: its words in file-name
    order, 0.2 s of silence between them, up to ``seconds``; 16 kHz mono FLAC
    ``<out>/<language>.flac``.

    Raises:
        FileNotFoundError: the package is not installed.
    """
    return _write_clips(out, {language: f"{VALIDATION_SOURCE}/{language}/*.ogg"
                              for language in VALIDATION_LANGUAGES}, seconds, "ktuberling-data")


def build_high_pitch(out: Path = DEFAULT_HIGH_PITCH, seconds: float = 15.0) -> list[Path]:
    """Write a second comparison set of high voices, which the training speech has few of.

    Source: Debian bookworm ``hedgewars-data`` 1.0.2-6 (``apt-get install hedgewars-data``,
    GPL-2 and others, see its copyright file), the exclamations of the game's hedgehogs
    ("Amazing!", "Boring..."), acted and pitched up: median F0 250-290 Hz per pack (the
    held-out clips: 80, 144 and 219 Hz; F0 by autocorrelation, 70-500 Hz, of the 64 ms
    Hann-windowed frames with RMS above 0.01 and a peak above 0.4 of the zero lag). Never used in training. One clip per voice pack in
    :data:`HIGH_PITCH_PACKS`, built like :func:`build_validation`'s; ``<out>/<pack>.flac``.

    Raises:
        FileNotFoundError: the package is not installed.
    """
    return _write_clips(out, {pack: f"{HIGH_PITCH_SOURCE}/{pack}/*.ogg" for pack in HIGH_PITCH_PACKS},
                        seconds, "hedgewars-data")


def _write_clips(out: Path, patterns: dict[str, str], seconds: float, package: str) -> list[Path]:
    """One clip ``<out>/<name>.flac`` per pattern: its files in name order, 0.2 s apart, up to ``seconds``."""
    out.mkdir(parents=True, exist_ok=True)
    gap = np.zeros(SAMPLE_RATE // 5, np.float32)
    paths = []
    for name, pattern in patterns.items():
        files = sorted(glob.glob(pattern))
        if not files:
            raise FileNotFoundError(f"nothing matches {pattern}: apt-get install {package}")
        pieces, total = [], 0
        for path in files:
            if total >= seconds * SAMPLE_RATE:
                break
            word = decode_file(path)
            pieces += [word, gap]
            total += len(word) + len(gap)
        clip = np.concatenate(pieces)[: int(seconds * SAMPLE_RATE)]
        paths.append(write_flac(out / f"{name}.flac", clip))
    return paths


def write_flac(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """Write mono float samples (n,), about [-1, 1], as a 16-bit FLAC file at ``rate`` Hz."""
    import av

    pcm = np.round(np.asarray(samples) * 32767).clip(-32768, 32767).astype(np.int16)[None]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Decode the training data and write a comparison set.")
    parser.add_argument("folder", nargs="?", type=Path, default=None, help="where the clips go")
    parser.add_argument("--set", choices=("validation", "high-pitch"), default="validation",
                        help="validation: ktuberling-data's words (also decodes the training data); "
                             "high-pitch: hedgewars-data's voices")
    cli = parser.parse_args()
    if cli.set == "validation":
        prepare()
        written = build_validation(cli.folder or DEFAULT_VALIDATION)
    else:
        written = build_high_pitch(cli.folder or DEFAULT_HIGH_PITCH)
    print("\n".join(str(p) for p in written))
