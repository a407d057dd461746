"""Plugin isolation (issue 8, item 5): a broken third-party plugin is named, the rest keeps working.

A throwaway distribution, ``neuralav-broken``, is written to a temporary folder as a real
installed distribution (``dist-info`` with ``entry_points.txt``) and put on ``sys.path``,
so the registry finds it through ordinary entry-point discovery. Its three entry points
fail in every way a plugin can: one module raises on import, one hook raises while
registering, and the working one registers codecs whose encoder or decoder raises (in
the coding method, in the constructor, or in a ``decode`` override the base classes do
not wrap). Every failure must name the plugin, and with ``--ignore-errors`` the
transcode must go on: the failing frames are skipped and every other stream is written
exactly as without the broken codec.

Already tested elsewhere, not repeated here (``tests/registry/test_manager.py``): an
import failure warns with the plugin's name, a raising hook (plugin object) is isolated,
duplicate names; (``tests/registry/test_api.py``) a codec method's exception is wrapped
in a ``PluginError`` naming the distribution.
"""

from __future__ import annotations

import sys
import textwrap
import warnings

import numpy as np
import pytest

from neuralav import registry
from neuralav.container.cli import main
from neuralav.container.pipeline import EncodeWarning
from neuralav.registry import PluginError, PluginWarning

from ..container import media

DIST = "neuralav-broken"
PACKAGE = "neuralav_broken_plugin"

PLUGIN = '''
"""Codecs that fail on purpose; the payload is a flag byte (1: fail here) and zlib of the planes."""
import dataclasses
import zlib

import numpy as np

from neuralav.registry import (Capability, CodecDescriptor, MediaType, Option, VideoDecoder,
                               VideoEncoder, hookimpl)


class Encoder(VideoEncoder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.options["fail_init"]:
            raise RuntimeError("encoder cannot start")
        self.count = 0

    def encode_image(self, image, pix_fmt):
        self.count += 1
        flag = int(self.count % 3 == 2)  # frames 1, 4, 7... carry the flag
        if flag and self.name == "brokenenc":
            raise RuntimeError(f"encoder bug on frame {self.count - 1}")
        return bytes([flag]) + zlib.compress(image.tobytes(), 1)


class Decoder(VideoDecoder):
    def decode_image(self, payload, width, height, pix_fmt):
        if payload[0] and self.name == "brokendec":
            return 1 // 0
        shape = (height, width, 3) if pix_fmt == "rgb24" else (-1, width)
        return np.frombuffer(zlib.decompress(payload[1:]), np.uint8).reshape(shape)


class DecoderThatCannotStart(Decoder):
    def __init__(self, *args, **kwargs):
        raise OSError("decoder cannot find its model")


class DecoderWithOwnDecode(Decoder):
    def decode(self, packet=None):
        if packet is not None and bytes(packet)[-1] % 2:  # no base-class wrapping here
            raise KeyError("own decode() bug")
        return super().decode(packet)


def codec(name, decoder="Decoder"):
    return CodecDescriptor(
        name=name, long_name=f"{name} (fails on purpose)", media_type=MediaType.VIDEO,
        capabilities=Capability.LOSSLESS | Capability.INTRA_ONLY, formats=("yuv420p", "rgb24"),
        options=(Option("fail_init", int, 0, "1: make the encoder's constructor raise", min=0, max=1),),
        version=1, fourcc="BRKN", encoder=f"{__name__}:Encoder", decoder=f"{__name__}:{decoder}")


@hookimpl
def neuralav_register_codecs(register):
    register(codec("brokenenc"))
    register(codec("brokendec"))
    register(codec("brokeninit", "DecoderThatCannotStart"))
    register(codec("brokenown", "DecoderWithOwnDecode"))
    register(dataclasses.replace(codec("brokenimport"), encoder="neuralav_broken_plugin.import_fails:Encoder"))
'''

REGISTER_FAILS = '''
from neuralav.registry import hookimpl


@hookimpl
def neuralav_register_codecs(register):
    raise ValueError("registration bug")
'''


@pytest.fixture(scope="module", autouse=True)
def broken_plugin(tmp_path_factory):
    """Install ``neuralav-broken`` (a dist-info on sys.path) for this module; remove it after."""
    root = tmp_path_factory.mktemp("broken-plugin")
    package = root / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(textwrap.dedent(PLUGIN))
    (package / "import_fails.py").write_text("raise ImportError('needs libbroken.so')\n")
    (package / "register_fails.py").write_text(textwrap.dedent(REGISTER_FAILS))
    info = root / "neuralav_broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[neuralav]\nworking = {PACKAGE}.plugin\nimports = {PACKAGE}.import_fails\n"
        f"registers = {PACKAGE}.register_fails\n")
    sys.path.insert(0, str(root))
    registry.reset_default_registry()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        registry.default_registry()  # built once here; its warnings are checked below
    yield
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    registry.reset_default_registry()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """10 frames of H.264 + Opus audio, in Matroska."""
    return media.make_clip(tmp_path_factory.mktemp("clip") / "clip.mkv", frames=10)


def _audio_packets(path):
    return [data for _, data in media.packets(path, 1)]


def test_import_and_registration_failures_name_the_plugin_and_the_rest_registers():
    with pytest.warns(PluginWarning) as caught:
        found = registry.build_registry()
    messages = [str(w.message) for w in caught]
    assert any(f"'{DIST}:imports'" in m and "ImportError: needs libbroken.so" in m for m in messages), messages
    assert any(f"'{DIST}:registers'" in m and "ValueError: registration bug" in m for m in messages), messages
    assert sorted(name for name, _ in found.failures) == [f"{DIST}:imports", f"{DIST}:registers"]
    names = found.names()
    assert {"brokenenc", "brokendec", "zlibv", "zliba", "cae", "wavenet"} <= set(names)
    assert found.get("brokenenc").distribution == DIST


def test_a_transcode_with_other_codecs_is_unaffected(clip, tmp_path, capsys):
    assert main(["transcode", "-i", str(clip), "-c:v", "zlibv", "-c:a", "zliba", str(tmp_path / "ok.mkv")]) == 0
    assert len(media.packets(tmp_path / "ok.mkv", 0)) == 10
    capsys.readouterr()
    assert main(["codecs"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in ("brokenenc", "zlibv", "cae", "wavenet"))


def test_a_codec_module_that_fails_to_import_names_the_plugin(clip, tmp_path, capsys):
    assert main(["transcode", "-i", str(clip), "-c:v", "brokenimport", str(tmp_path / "out.mkv")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"`brokenimport` ({DIST})" in err and "ImportError: needs libbroken.so" in err
    assert list(tmp_path.iterdir()) == []


def test_an_encoder_bug_names_the_plugin_and_leaves_no_output(clip, tmp_path, capsys):
    out = tmp_path / "out.mkv"
    assert main(["transcode", "-i", str(clip), "-c:v", "brokenenc", "-c:a", "zliba", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"codec `brokenenc` ({DIST})" in err and "RuntimeError: encoder bug on frame 1" in err
    assert list(tmp_path.iterdir()) == []


def test_an_encoder_that_cannot_start_names_the_plugin(clip, tmp_path, capsys):
    out = tmp_path / "out.mkv"
    assert main(["transcode", "-i", str(clip), "-c:v", "brokenenc", "-opt:v", "fail_init=1", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "`brokenenc`" in err and DIST in err and "encoder cannot start" in err
    assert list(tmp_path.iterdir()) == []


def test_with_ignore_errors_frames_the_encoder_fails_are_skipped_and_the_rest_is_written(clip, tmp_path):
    reference, out = tmp_path / "reference.mkv", tmp_path / "out.mkv"
    assert main(["transcode", "-i", str(clip), "-c:v", "zlibv", "-c:a", "zliba", str(reference)]) == 0
    with pytest.warns(EncodeWarning) as caught:
        assert main(["transcode", "-i", str(clip), "-c:v", "brokenenc", "-c:a", "zliba", "--ignore-errors",
                     str(out)]) == 0
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3 and all(f"codec `brokenenc` ({DIST})" in m for m in messages), messages
    assert [m.split("encoder bug on frame ")[1].split()[0] for m in messages] == ["1", "4", "7"]
    video = media.packets(out, 0)
    assert [pts for pts, _ in video] == [0, 80, 120, 200, 240, 320, 360]  # frames 1, 4, 7 are missing
    assert _audio_packets(out) == _audio_packets(reference)


def _neural_file(clip, tmp_path, codec):
    path = tmp_path / f"{codec}.mkv"
    assert main(["transcode", "-i", str(clip), "-c:v", codec, "-c:a", "zliba", str(path)]) == 0
    return path


@pytest.mark.parametrize("codec,bug", [
    ("brokendec", "ZeroDivisionError"),
    ("brokeninit", "OSError: decoder cannot find its model"),
    ("brokenown", "KeyError"),
])
def test_a_decoder_bug_names_the_plugin_and_ignore_errors_keeps_the_other_streams(clip, tmp_path, capsys,
                                                                                  codec, bug):
    neural = _neural_file(clip, tmp_path, codec)
    capsys.readouterr()
    assert main(["decode", str(neural), str(tmp_path / "stopped.mkv"), "-c:v", "ffv1"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"`{codec}`" in err and DIST in err and bug in err, err
    assert not (tmp_path / "stopped.mkv").exists()

    out = tmp_path / "kept.mkv"
    with pytest.warns(Warning, match=DIST):
        assert main(["decode", str(neural), str(out), "-c:v", "ffv1", "-c:a", "flac", "--ignore-errors"]) == 0
    frames = [image for _, image in media.decode_video(out, fmt="yuv420p")]
    source = [image for _, image in media.decode_video(clip, fmt="yuv420p")]
    expected = {"brokendec": [0, 2, 3, 5, 6, 8, 9], "brokeninit": [], "brokenown": None}[codec]
    if expected is not None:
        assert len(frames) == len(expected)
        for image, index in zip(frames, expected):
            np.testing.assert_array_equal(image, source[index])
    else:
        assert 0 < len(frames) < 10
    # The audio went through untouched by the broken video codec: the same FLAC packets as alone.
    alone = tmp_path / "audio.mkv"
    assert main(["decode", str(neural), str(alone), "-map", "0:a", "-c:a", "flac"]) == 0
    assert [data for _, data in media.packets(out, 1)] == [data for _, data in media.packets(alone, 0)]


def test_the_library_api_wraps_decoder_start_up_bugs_too():
    header = registry.create_encoder("brokeninit", {}).header
    with pytest.raises(PluginError, match=rf"`brokeninit`.*{DIST}"):
        registry.create_decoder("brokeninit", header)
    with pytest.raises(PluginError, match=rf"`brokenenc` \({DIST}\) failed to start an encoder: "
                                          r"RuntimeError: encoder cannot start"):
        registry.create_encoder("brokenenc", {"fail_init": 1})
    with pytest.raises(TypeError, match="unexpected keyword"):  # the caller's mistake stays theirs
        registry.create_encoder("zlibv", {}, no_such_argument=1)
