"""Nothing executes from a file (issue 8, item 3).

A file can only name a codec; the codec must be installed (registered through an entry
point), and nothing else a file says (header fields, track tags, attachments) is imported,
unpickled or used as a path. Weights are read with ``allow_pickle=False``, so a doctored
weights file cannot run code either.

Each test plants a trap that records whether it ran: a module on ``sys.path`` whose import
writes a marker file, or a pickled object whose unpickling does. Real Matroska files are
written with the container's :class:`~neuralav.container.Writer` and read back by it.

Elsewhere, not repeated: a track of a codec no plugin provides names the plugin it needs
(``tests/container/test_transcode.py``:
``test_unknown_neural_codec_in_a_file_names_the_missing_plugin``); header parsing bounds
(``tests/registry/test_header.py`` and the fuzz tests next to this file).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from neuralav import container, registry
from neuralav.container import carrier
from neuralav.container.cli import main
from neuralav.registry import CodecHeader, MediaType, PluginError

from ..container import media

REPO = Path(__file__).resolve().parents[2]
TRAP = "neuralav_trap_module"


@pytest.fixture
def trap(tmp_path, monkeypatch):
    """An importable module ``neuralav_trap_module`` that writes ``marker`` when imported."""
    folder = tmp_path / "trap"
    folder.mkdir()
    marker = tmp_path / "EXECUTED"
    (folder / f"{TRAP}.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n"
                                       "class Decoder:\n    pass\n")
    monkeypatch.syspath_prepend(str(folder))
    yield marker
    sys.modules.pop(TRAP, None)


def _assert_not_run(marker: Path) -> None:
    assert not marker.exists(), "code named in the file was executed"
    assert TRAP not in sys.modules, "a module named in the file was imported"


def _rewrite(source: Path, target: Path, *, codec: str | None = None, fields: dict | None = None,
             plugin: str | None = None) -> None:
    """Copy ``source``'s neural video track into ``target`` with a doctored header and tags."""
    with container.open(source) as reader:
        (track,) = reader.streams
        parsed = track.neural.parsed
        header = CodecHeader(codec or parsed.codec, parsed.version, parsed.media_type,
                             {**parsed.fields, **(fields or {})}).to_bytes()
        info = carrier.NeuralTrackInfo(codec or parsed.codec, header, CodecHeader.from_bytes(header),
                                       track.neural.fourcc)
        with container.Writer(target) as writer:
            out = writer.add_neural_copy(info, width=track.width, height=track.height,
                                         frame_rate=track.frame_rate, plugin=plugin)
            writer.add_attachment(f"{TRAP}.py", "text/x-python", b"raise SystemExit('attachment ran')\n")
            for packet in reader.demux([track]):
                packet.stream = out.av_stream
                writer.mux(packet)


@pytest.fixture(scope="module")
def zlib_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("noexec")
    clip = media.make_clip(folder / "clip.mkv", frames=4)
    assert main(["transcode", "-i", str(clip), "-map", "0:v", "-c:v", "zlibv", str(folder / "zlib.mkv")]) == 0
    return folder / "zlib.mkv"


@pytest.mark.parametrize("codec", [TRAP, "os", "importlib"])
def test_a_codec_name_that_is_an_importable_module_is_only_looked_up(zlib_file, tmp_path, trap, capsys, codec):
    doctored = tmp_path / "doctored.mkv"
    _rewrite(zlib_file, doctored, codec=codec, plugin=TRAP,
             fields={"decoder": f"{TRAP}:Decoder", "plugin": TRAP, "entry_point": f"{TRAP}"})
    with container.open(doctored) as f:
        with pytest.raises(container.MissingPluginError, match=f"`{codec}`.*no installed neuralav plugin"):
            next(f.decode(video=0))
    assert main(["decode", str(doctored), str(tmp_path / "out.mkv")]) == 1
    assert "no installed neuralav plugin provides" in capsys.readouterr().err
    _assert_not_run(trap)


def test_an_installed_codec_ignores_code_and_paths_named_in_header_fields_and_tags(zlib_file, tmp_path, trap):
    doctored = tmp_path / "doctored.mkv"
    _rewrite(zlib_file, doctored, plugin=TRAP, fields={
        "decoder": f"{TRAP}:Decoder", "encoder": f"{TRAP}:Decoder", "module": TRAP,
        "weights": str(trap.parent / "weights.npz"), "model_path": str(trap.parent), "pickle": b"\x80\x04cos\nsystem\n"})
    with container.open(doctored) as f:
        assert f.streams[0].plugin == TRAP  # the tag is read, and only shown in messages
        decoded = [frame.to_ndarray(format="yuv420p") for frame in f.decode(video=0)]
    with container.open(zlib_file) as f:
        clean = [frame.to_ndarray(format="yuv420p") for frame in f.decode(video=0)]
    assert len(decoded) == 4
    for a, b in zip(decoded, clean):
        np.testing.assert_array_equal(a, b)
    _assert_not_run(trap)


def _pickle_bomb(path: Path, marker: Path, **arrays) -> Path:
    """An ``.npz`` whose object array, if unpickled, creates ``marker``."""

    class Bomb:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    np.savez(path, bomb=np.array([Bomb()], dtype=object), **arrays)
    assert path.is_file()
    return path


def test_weights_files_are_never_unpickled(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow_compression")
    from neuralav.plugins.cae.quality import VARIABLE_RATE, level

    marker = tmp_path / "UNPICKLED"
    cae_dir = tmp_path / "cae"
    cae_dir.mkdir()
    monkeypatch.setenv("NEURALAV_CAE_WEIGHTS_DIR", str(cae_dir))
    for quality, name in ((1, level(1).weights), (2.5, VARIABLE_RATE.weights)):  # one-level file, vr.npz
        _pickle_bomb(cae_dir / name, marker, format=np.array("cae-weights"))
        with pytest.raises(PluginError, match="cannot read `cae` weights.*allow_pickle=False"):
            registry.create_encoder("cae", {"quality": quality})
    monkeypatch.setenv("NEURALAV_WAVENET_WEIGHTS", str(_pickle_bomb(tmp_path / "wavenet.npz", marker)))
    with pytest.raises(PluginError, match="cannot read `wavenet` weights.*allow_pickle=False"):
        registry.create_encoder("wavenet", {"quality": 2}, sample_rate=16000, layout="mono").header
    assert not marker.exists(), "a pickled object in a weights file was executed"


def test_a_wavenet_header_naming_a_model_file_is_refused_not_opened(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow_compression")
    from neuralav.plugins.wavenet.levels import WEIGHTS_DIR

    if not (WEIGHTS_DIR / "wavenet.npz").is_file():
        pytest.skip("no shipped wavenet weights")
    monkeypatch.delenv("NEURALAV_WAVENET_WEIGHTS", raising=False)
    marker = tmp_path / "UNPICKLED"
    bomb = _pickle_bomb(tmp_path / "evil.npz", marker)
    good = registry.create_encoder("wavenet", {"quality": 2}, sample_rate=16000, layout="mono", format="flt")
    parsed = CodecHeader.from_bytes(good.header)
    assert parsed.media_type is MediaType.AUDIO
    for model in (str(bomb), "../../../tmp/evil.npz"):
        doctored = CodecHeader(parsed.codec, parsed.version, parsed.media_type, {**parsed.fields, "model": model})
        with pytest.raises(registry.InvalidDataError, match="installed weights are"):
            registry.create_decoder("wavenet", doctored.to_bytes())
    assert not marker.exists()


FORBIDDEN = {
    r"\bimport pickle\b|\bpickle\.loads?\(": "pickle",
    r"\bmarshal\.": "marshal",
    r"allow_pickle\s*=\s*True": "np.load(allow_pickle=True)",
    r"(?<![\w.])(eval|exec)\(": "eval/exec",
    r"\btorch\.load\(": "torch.load (pickles)",
    r"\byaml\.load\(": "yaml.load (constructs objects)",
    r"\bdill\b|\bcloudpickle\b|\bjoblib\.load\(": "pickle-based loaders",
    r"\bkeras\.models\.load_model\(|\bsaved_model\.load\(|tf\.saved_model": "models that carry code",
}
IMPORTS_BY_NAME = {"registry/descriptor.py", "container/cli.py"}
"""Where ``import_module`` may appear: the registered descriptor's own class path, and the
CLI's fixed command modules (names from its COMMANDS table, never from a file)."""


def test_the_package_source_has_no_deserializer_that_runs_code():
    problems = []
    for path in sorted(p for folder in ("registry", "container", "plugins") for p in (REPO / folder).rglob("*.py")):
        text = path.read_text()
        relative = str(path.relative_to(REPO))
        for pattern, what in FORBIDDEN.items():
            for match in re.finditer(pattern, text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{relative}:{line}: {what}")
        if re.search(r"import_module\(|__import__\(", text) and relative not in IMPORTS_BY_NAME:
            problems.append(f"{relative}: imports a module by name")
    assert not problems, "\n".join(problems)
    assert "import_module(module_name)" in (REPO / "registry" / "descriptor.py").read_text()  # the scan sees it
