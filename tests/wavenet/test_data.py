"""``wavenet`` training data: data sets, their caches, and the validation set kept apart."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuralav.plugins.wavenet import data


def _write_flac(path, seconds: float, rate: int = 44100) -> None:
    """A mono 44.1 kHz file of a 300 Hz tone (the packages' rate; their Vorbis needs libvorbis)."""
    t = np.arange(int(seconds * rate)) / rate
    data.write_flac(path, 0.3 * np.sin(2 * np.pi * 300 * t), rate)


def test_klettres_speech_leaves_out_the_languages_of_the_validation_set():
    assert not set(data.KLETTRES_LANGUAGES) & set(data.VALIDATION_LANGUAGES)
    patterns = data.DATASETS["fillets+klettres"]["speech"]
    for language in data.VALIDATION_LANGUAGES + ("en_GB",):
        assert f"{data.KLETTRES}/{language}/*/*.ogg" not in patterns
    assert set(data.DATASETS["fillets"]["speech"]) < set(patterns)


def test_tuxpaint_speech_leaves_out_the_languages_of_the_validation_set_and_keeps_the_rest():
    assert not set(data.TUXPAINT_LANGUAGES) & set(data.VALIDATION_LANGUAGES)
    patterns = data.DATASETS["fillets+klettres+tuxpaint"]["speech"]
    for language in data.VALIDATION_LANGUAGES:
        assert f"{data.TUXPAINT}/**/*_desc_{language}.ogg" not in patterns
    assert set(data.DATASETS["fillets+klettres"]["speech"]) < set(patterns)
    assert "tuxpaint-stamps-default" in data.PACKAGES["fillets+klettres+tuxpaint"]


def test_prepare_finds_files_in_nested_folders_with_a_double_star_pattern(tmp_path, monkeypatch):
    (tmp_path / "a" / "b").mkdir(parents=True)
    _write_flac(tmp_path / "a" / "b" / "x_desc_ro.flac", 0.25)
    _write_flac(tmp_path / "a" / "x_desc_ca.flac", 0.25)
    monkeypatch.setitem(data.DATASETS, "nested", {"speech": [str(tmp_path / "**/*_desc_ro.flac")]})
    data.prepare(tmp_path / "cache", "nested")
    manifest = json.loads((tmp_path / "cache" / "sources.json").read_text())
    assert [path for path, _ in manifest["speech"]] == [str(tmp_path / "a" / "b" / "x_desc_ro.flac")]


def test_each_data_set_has_its_own_cache():
    assert data.default_cache("fillets") == data.DEFAULT_CACHE
    assert data.default_cache("fillets+klettres") == data.DEFAULT_CACHE.parent / "wavenet-fillets+klettres"


def test_prepare_decodes_every_file_to_16_khz_lists_it_and_skips_unreadable_ones(tmp_path, monkeypatch):
    for name, seconds in (("a.flac", 0.5), ("b.flac", 0.25), ("m.flac", 0.4)):
        _write_flac(tmp_path / name, seconds)
    (tmp_path / "broken.flac").write_bytes(b"fLaC" + bytes(100))  # a file FFmpeg cannot read
    monkeypatch.setitem(data.DATASETS, "test", {"speech": [str(tmp_path / "[ab].flac"), str(tmp_path / "broken.flac")],
                                                "music": [str(tmp_path / "m.flac")]})
    arrays = data.prepare(tmp_path / "cache", "test")
    manifest = json.loads((tmp_path / "cache" / "sources.json").read_text())
    assert [path.rsplit("/", 1)[1] for path, _ in manifest["speech"]] == ["a.flac", "b.flac"]
    lengths = [n for _, n in manifest["speech"]]
    assert lengths == pytest.approx([8000, 4000], abs=64)
    gap = data.SAMPLE_RATE // 10
    assert len(arrays["speech"]) == sum(lengths) + 2 * gap
    assert arrays["speech"].dtype == np.float32 and 0.25 < np.abs(arrays["speech"]).max() < 0.35
    assert (tmp_path / "cache" / "skipped.txt").read_text().startswith(f"{tmp_path / 'broken.flac'}: ")
    with pytest.raises(ValueError, match="holds the data set `test`, not `fillets`"):
        data.prepare(tmp_path / "cache", "fillets")


def test_prepare_names_the_packages_to_install_or_the_unknown_data_set(tmp_path, monkeypatch):
    monkeypatch.setitem(data.DATASETS, "fillets+klettres", {"speech": [str(tmp_path / "none/*.ogg")]})
    with pytest.raises(FileNotFoundError, match="apt-get install .*klettres-data"):
        data.prepare(tmp_path / "cache", "fillets+klettres")
    with pytest.raises(ValueError, match="unknown data set `nope`"):
        data.prepare(tmp_path / "cache", "nope")


def test_high_pitch_set_is_one_clip_per_pack_of_its_files_in_order_0_2_s_apart(tmp_path, monkeypatch):
    for pack, words in (("A", ("x.ogg", "y.ogg")), ("B", ("z.ogg",))):
        (tmp_path / pack).mkdir()
        for word in words:  # FLAC inside (FFmpeg goes by the content), named as the package's files
            _write_flac(tmp_path / pack / "word.flac", 0.5)
            (tmp_path / pack / "word.flac").rename(tmp_path / pack / word)
    monkeypatch.setattr(data, "HIGH_PITCH_SOURCE", str(tmp_path))
    monkeypatch.setattr(data, "HIGH_PITCH_PACKS", ("A", "B"))
    written = data.build_high_pitch(tmp_path / "out", seconds=1.0)
    assert [p.name for p in written] == ["A.flac", "B.flac"]
    clip = data.decode_file(str(written[0]))
    assert len(clip) == 16000  # 0.5 s word, 0.2 s gap, then the second word cut at 1 s
    assert np.abs(clip[8000 + 200:8000 + 3000]).max() == 0 and np.abs(clip[11500:]).max() > 0.25
    assert len(data.decode_file(str(written[1]))) == 8000 + 3200
    with pytest.raises(FileNotFoundError, match="apt-get install hedgewars-data"):
        monkeypatch.setattr(data, "HIGH_PITCH_PACKS", ("missing",))
        data.build_high_pitch(tmp_path / "out")


def test_high_pitch_and_validation_sources_are_not_training_data():
    for patterns in data.DATASETS.values():
        for pattern in (p for kind in patterns.values() for p in kind):
            assert not pattern.startswith((data.HIGH_PITCH_SOURCE, data.VALIDATION_SOURCE))
