"""Fixtures of the fuzz tests: tiny real models, real packets and real Matroska files, built once.

Run time is bounded by one hypothesis profile, ``neuralav-fuzz``, which every
``test_fuzz_*`` test uses (``@FUZZ`` in the modules; the profile is not loaded
globally, so other hypothesis tests keep their own settings):

* ``max_examples`` per fuzz target comes from ``NEURALAV_FUZZ_EXAMPLES``
  (default 25: the whole ``tests/hardening`` fuzz set then runs in well under
  90 s on a busy 2-core machine);
* ``deadline=None`` (TensorFlow's first call of a shape traces a graph);
* ``derandomize=True`` when ``CI`` is set (as CI services do), so a CI run is reproducible, and no
  example database there.

A long campaign (see ``tests/hardening/README.md`` for the numbers of the last one;
2000 examples take about 10 minutes on a busy 2-core machine)::

    NEURALAV_FUZZ_EXAMPLES=20000 python -m pytest tests/hardening/test_fuzz_*.py -q

After the run, the "neuralav fuzz cases" section of the terminal summary gives the
cases run per target and how each ended (``ok``, or which clean error). A failing
case is printed by hypothesis as a ``fuzz(...)`` call with the damaged bytes; turn it
into a plain regression test next to the fix.

Every fuzz target asserts the same contract: the bytes decode to frames, or a
:class:`~neuralav.registry.NeuralavError` (for damaged data, an
:class:`~neuralav.registry.InvalidDataError`) is raised; never another
exception type, never an allocation sized by an unchecked number from the file.

The models are the tiny untrained ones the codec tests use (``cae`` and ``vae``
N=M=8, ``wavenet`` ``CONFIGS["tiny"]``), exported with the real exporters to a
folder that pytest caches (:func:`tiny_weights`); the codecs are pointed at them through their weights
environment variables only while a fuzz module runs (:func:`tiny_env`).
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

FUZZ_EXAMPLES_ENV = "NEURALAV_FUZZ_EXAMPLES"
DEFAULT_EXAMPLES = 25

settings.register_profile(
    "neuralav-fuzz",
    max_examples=int(os.environ.get(FUZZ_EXAMPLES_ENV, DEFAULT_EXAMPLES)),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    database=None if os.environ.get("CI") else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)


def pytest_terminal_summary(terminalreporter):
    """Prints how many fuzz cases each target ran (the numbers in ``README.md``)."""
    from .mutate import CASES

    if CASES:
        terminalreporter.section("neuralav fuzz cases")
        targets = sorted({target for target, _ in CASES})
        terminalreporter.write_line(f"{'target':<42} {'cases':>7} {'ok':>7}  clean errors")
        for target in targets:
            outcomes = {outcome: n for (t, outcome), n in CASES.items() if t == target}
            errors = ", ".join(f"{name} {n}" for name, n in sorted(outcomes.items()) if name != "ok")
            terminalreporter.write_line(
                f"{target:<42} {sum(outcomes.values()):>7} {outcomes.get('ok', 0):>7}  {errors}")
        terminalreporter.write_line(f"{'total':<42} {sum(CASES.values()):>7}")


@dataclass
class Stream:
    """Real coded data of one codec configuration.

    Attributes:
        codec: Codec name (``cae``...).
        label: What distinguishes it (``q1``, ``yuv420p``...).
        header: The encoder's codec header.
        packets: The encoder's packets as bytes, in order.
        pts: Their pts; time_base: their time base.
        frames: Reference decoded frame count (checked when the fixture is built).
    """

    codec: str
    label: str
    header: bytes
    packets: list[bytes]
    pts: list[int | None] = field(default_factory=list)
    time_base: Fraction | None = None

    @property
    def name(self) -> str:
        return f"{self.codec}-{self.label}"


def _camera_image(width: int, height: int, offset: tuple[int, int]) -> np.ndarray:
    from neuralav.container.samples import SAMPLE

    with av.open(str(SAMPLE)) as source:
        frame = next(iter(source.decode(video=0))).to_ndarray(format="rgb24")
    y, x = offset
    return np.ascontiguousarray(frame[y:y + height, x:x + width])


def speech_like(n: int, rate: int, channels: int) -> np.ndarray:
    """Harmonic tones under a syllable-rate envelope: (channels, n) float32 in [-1, 1]."""
    t = np.arange(n) / rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t)
    return np.asarray([0.2 * envelope * sum(np.sin(2 * np.pi * 140.0 * (1 + 0.3 * c) * k * t) / k
                                            for k in range(1, 5)) for c in range(channels)], np.float32)


def audio_frames(samples: np.ndarray, rate: int, layout: str, fmt: str, size: int = 1024):
    """Cut (channels, n) float samples into PyAV frames of sample format ``fmt`` (pts in samples)."""
    for start in range(0, samples.shape[1], size):
        piece = samples[:, start:start + size]
        if av.AudioFormat(fmt).packed.name == "s16":
            piece = (piece * 32767).astype(np.int16)
        array = piece if av.AudioFormat(fmt).is_planar else piece.T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(array), format=fmt, layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        yield frame


REPO = Path(__file__).resolve().parents[2]
_MODEL_SOURCES = ["plugins/cae/model.py", "plugins/cae/weights.py", "plugins/cae/config.py",
                  "plugins/vae/model.py", "plugins/vae/weights.py", "plugins/vae/config.py",
                  "plugins/vae/integer.py", "plugins/wavenet/model.py", "plugins/wavenet/train.py",
                  "tests/vae/conftest.py", "plugins/cae/variable_rate.py", "tests/cae/conftest.py"]


@pytest.fixture(scope="session")
def tiny_weights(request, tmp_path_factory) -> dict[str, str]:
    """The tiny models' weights environment variables (``NEURALAV_CAE_WEIGHTS_DIR``...).

    Exporting them costs about a minute on a busy 2-core machine, so they are kept in
    pytest's cache folder under the SHA-256 of the model and exporter sources: a change
    to any of them exports afresh (and ``-p no:cacheprovider`` always does).
    """
    pytest.importorskip("tensorflow_compression")
    digest = hashlib.sha256()
    for name in _MODEL_SOURCES:
        digest.update(name.encode() + b"\0" + (REPO / name).read_bytes())
    digest.update(inspect.getsource(_export_tiny_weights).encode())
    cache = getattr(request.config, "cache", None)
    folder = (cache.mkdir("neuralav-tiny-weights") / digest.hexdigest()[:16] if cache is not None
              else tmp_path_factory.mktemp("tiny-weights") / "export")
    if not (folder / "complete").is_file():
        staging = tmp_path_factory.mktemp("tiny-weights-staging")
        _export_tiny_weights(staging)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(staging, folder)
        (folder / "complete").write_text(digest.hexdigest())
    return {"NEURALAV_CAE_WEIGHTS_DIR": str(folder / "cae"), "NEURALAV_VAE_WEIGHTS_DIR": str(folder / "vae"),
            "NEURALAV_WAVENET_WEIGHTS": str(folder / "wavenet" / "tiny.npz")}


def _export_tiny_weights(root: Path) -> None:
    """Exports the tiny models with the real exporters into ``root/{cae,vae,wavenet}``.

    ``cae``: q1/q3 and q2/q4 are two different random models, so a packet of another
    level also carries another model id; ``vr.npz`` the tiny variable-rate model.
    """
    import tensorflow as tf

    from neuralav.plugins.cae.config import ArchConfig as CAEConfig
    from neuralav.plugins.cae.model import CAEModel
    from neuralav.plugins.cae.quality import LEVELS as CAE_LEVELS
    from neuralav.plugins.cae.weights import export_weights as export_cae
    from neuralav.plugins.wavenet.model import CONFIGS, GAIN_SCALE, WavenetModel
    from neuralav.plugins.wavenet.train import write_weights

    from tests.cae.conftest import make_tiny_variable_rate_model
    from tests.vae.conftest import export_tiny_levels

    cae = root / "cae"
    cae.mkdir()
    levels = list(CAE_LEVELS.values())
    for seed, group in ((3, levels[0::2]), (4, levels[1::2])):
        tf.keras.utils.set_random_seed(seed)
        export_cae(CAEModel(CAEConfig.tiny(), lmbda=group[0].lmbda), cae / group[0].weights)
        for level in group[1:]:
            shutil.copy(cae / group[0].weights, cae / level.weights)
    export_cae(make_tiny_variable_rate_model(), cae / "vr.npz")
    export_tiny_levels(root / "vae")
    model = WavenetModel(CONFIGS["tiny"], seed=0)
    gains = np.log([[8.0], [16.0], [32.0]]) * np.ones(model.log_gains.shape) / GAIN_SCALE
    model.log_gains.assign(gains.astype(np.float32))  # untrained latents would all round to 0
    model.log_inverse_gains.assign(-gains.astype(np.float32))
    write_weights(model, root / "wavenet" / "tiny.npz")


@pytest.fixture(scope="module")
def tiny_env(tiny_weights):
    """Points the codecs at the tiny models while one test module runs."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in tiny_weights.items():
            patch.setenv(key, value)
        yield tiny_weights


@pytest.fixture(scope="session")
def fuzz_registry():
    """The installed codecs (cae, vae, wavenet, the example zlib plugin); `vae` also passed explicitly."""
    import neuralav.plugins.vae
    from neuralav.registry import build_registry

    registry = build_registry(plugins=[neuralav.plugins.vae])
    missing = {"cae", "vae", "wavenet", "zlibv", "zliba"} - set(registry.names())
    assert not missing, f"codecs missing from the fuzz registry: {missing}"
    return registry


def _video_stream(registry, codec: str, label: str, options: dict, images: list[np.ndarray],
                  fmt: str = "rgb24") -> Stream:
    from neuralav import registry as reg

    encoder = reg.create_encoder(codec, options, registry=registry, time_base=Fraction(1, 25))
    packets, pts = [], []
    for index, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        if fmt != "rgb24":
            frame = frame.reformat(format=fmt)
        frame.pts, frame.time_base = index, Fraction(1, 25)
        for packet in encoder.encode(frame):
            packets.append(bytes(packet))
            pts.append(packet.pts)
    return Stream(codec, label, encoder.header, packets, pts, Fraction(1, 25))


def _audio_stream(registry, codec: str, label: str, options: dict, samples: np.ndarray, rate: int,
                  layout: str, fmt: str) -> Stream:
    from neuralav import registry as reg

    encoder = reg.create_encoder(codec, options, registry=registry)
    packets = []
    for frame in audio_frames(samples, rate, layout, fmt):
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    return Stream(codec, label, encoder.header, [bytes(p) for p in packets], [p.pts for p in packets],
                  Fraction(1, rate))


@pytest.fixture(scope="session")
def streams(tiny_weights, fuzz_registry) -> dict[str, Stream]:
    """Real packets of every codec, by ``Stream.name`` (``cae-q1``, ``wavenet-q2``, ``zliba-s16``...).

    Each stream decodes cleanly (checked here), so a failure in a fuzz test is the mutation's.
    """
    from neuralav import registry as reg

    with pytest.MonkeyPatch.context() as patch:
        for key, value in tiny_weights.items():
            patch.setenv(key, value)
        images = [_camera_image(40, 24, (100, 150)), _camera_image(17, 9, (20, 30))]
        out = [
            _video_stream(fuzz_registry, "cae", "q1", {"quality": 1}, images),
            _video_stream(fuzz_registry, "cae", "q2", {"quality": 2}, images),
            _video_stream(fuzz_registry, "cae", "vr", {"quality": 5.5}, images),
            _video_stream(fuzz_registry, "vae", "q1", {"quality": 1}, images),
            _video_stream(fuzz_registry, "vae", "q2", {"quality": 2}, images[:1]),
            _video_stream(fuzz_registry, "vae", "vr", {"quality": 3.5}, images[:1]),
            _video_stream(fuzz_registry, "zlibv", "rgb24", {}, images),
            _video_stream(fuzz_registry, "zlibv", "yuv420p", {}, images[:1], fmt="yuv420p"),
            _audio_stream(fuzz_registry, "wavenet", "q1", {"quality": 1}, speech_like(5000, 16000, 1),
                          16000, "mono", "flt"),
            _audio_stream(fuzz_registry, "wavenet", "q2", {"quality": 2}, speech_like(4000, 22050, 2),
                          22050, "stereo", "s16"),
            _audio_stream(fuzz_registry, "zliba", "s16", {}, speech_like(3000, 8000, 2), 8000, "stereo", "s16"),
            _audio_stream(fuzz_registry, "zliba", "flt", {}, speech_like(2000, 16000, 1), 16000, "mono", "fltp"),
        ]
        for stream in out:
            decoder = reg.create_decoder(stream.codec, stream.header, registry=fuzz_registry)
            frames = []
            for data, pts in zip(stream.packets, stream.pts):
                frames += decoder.decode(packet_of(data, pts, stream.time_base))
            frames += decoder.decode(None)
            assert frames, f"{stream.name}: the reference packets decode to no frame"
    return {stream.name: stream for stream in out}


def packet_of(data: bytes, pts: int | None = None, time_base: Fraction | None = None) -> av.Packet:
    """An ``av.Packet`` holding ``data`` (as a demuxer would hand it over)."""
    packet = av.Packet(data)
    if pts is not None and time_base is not None:
        packet.pts = packet.dts = pts
        packet.time_base = time_base
    return packet


# ------------------------------------------------------------------------------------ files


def _write_file(path: Path, registry, *, video: tuple[str, dict], audio: tuple[str, dict],
                second_video: str | None = None, frames: int = 3) -> Path:
    """A Matroska file from the project's writer: a neural video and a neural audio track next to
    H.264 and Opus (and optionally a second neural video track), read back by PyAV."""
    from neuralav import container

    width, height, rate = 32, 24, 16000
    images = [_camera_image(width, height, (100 + 5 * i, 150 + 7 * i)) for i in range(frames)]
    samples = speech_like(int(rate * frames / 25) + 800, rate, 1)
    with container.open(path, "w", overwrite=True, registry=registry) as out:
        neural_video = out.add_stream(video[0], rate=25, width=width, height=height, options=video[1])
        h264 = out.add_stream("libx264", rate=25, width=width, height=height, options={"g": "2"})
        extra = (out.add_stream(second_video, rate=25, width=width, height=height)
                 if second_video else None)
        neural_audio = out.add_stream(audio[0], rate=rate, layout="mono", options=audio[1],
                                      sample_format="flt")
        opus = out.add_stream("libopus", rate=48000, layout="mono")
        for index, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, 25)
            out.mux(neural_video.encode(frame))
            out.mux(h264.encode(frame.reformat(format="yuv420p")))
            if extra is not None:
                out.mux(extra.encode(frame))
        out.mux(h264.encode(None))
        for frame in audio_frames(samples, rate, "mono", "flt"):
            out.mux(neural_audio.encode(frame))
        out.mux(neural_audio.encode(None))
        step = 960
        pcm = speech_like(48000 * frames // 25 + step, 48000, 1)
        for frame in audio_frames(pcm, 48000, "mono", "flt", size=step):
            out.mux(opus.encode(frame))
        out.mux(opus.encode(None))
    return path


@pytest.fixture(scope="session")
def matroska_files(tiny_weights, fuzz_registry, tmp_path_factory) -> dict[str, bytes]:
    """Two real files, as bytes: ``a`` (cae q1 + wavenet q1 + H.264 + Opus) and ``b``
    (cae q2 + zlibv + zliba + H.264 + Opus). Both read back cleanly (checked here)."""
    from neuralav import container

    folder = tmp_path_factory.mktemp("fuzz-mkv")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in tiny_weights.items():
            patch.setenv(key, value)
        a = _write_file(folder / "a.mkv", fuzz_registry, video=("cae", {"quality": 1}),
                        audio=("wavenet", {"quality": 1}))
        b = _write_file(folder / "b.mkv", fuzz_registry, video=("cae", {"quality": 2}),
                        audio=("zliba", {}), second_video="zlibv")
        for path in (a, b):
            with container.open(path, registry=fuzz_registry) as reader:
                kinds = [(t.type, t.is_neural) for t in reader.streams]
                counts = {}
                for frame in reader.decode(*[t for t in reader.streams if t.type in ("video", "audio")]):
                    counts[type(frame).__name__] = counts.get(type(frame).__name__, 0) + 1
            assert ("video", True) in kinds and ("audio", True) in kinds and ("video", False) in kinds, kinds
            assert counts.get("VideoFrame", 0) >= 6 and counts.get("AudioFrame", 0) >= 2, (path, counts)
    return {"a": a.read_bytes(), "b": b.read_bytes()}
