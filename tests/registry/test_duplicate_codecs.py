"""A codec name registered by two distributions (issue 27): named everywhere, chosen by the user.

``neuralav-dupe`` is a real distribution, pip-installed for this module, that registers its
own ``cae`` (a lossless zlib codec) next to the built-in one from ``neuralav``. Without a
choice, every place that meets the name (``neuralav codecs``, ``-c:v cae``, decoding a file
with a ``cae`` track, the library API) must say that both register it, naming both;
``NEURALAV_PREFER=cae=DISTRIBUTION`` picks one.
"""

from __future__ import annotations

import av
import pytest

from neuralav import registry
from neuralav.container.cli import main
from neuralav.container.probe import probe
from neuralav.container.samples import SAMPLE
from neuralav.registry import DuplicateCodecError, InvalidOptionError, UnknownCodecError
from neuralav.registry.manager import PREFER_ENV

from .hostile import installed

DIST = "neuralav-dupe"
PACKAGE = "neuralav_dupe"
BOTH = f"codec `cae` is registered by both 'neuralav' and '{DIST}'"

CODEC = '''
import zlib

import numpy as np

from neuralav.registry import Capability, CodecDescriptor, MediaType, VideoDecoder, VideoEncoder, hookimpl


class Encoder(VideoEncoder):
    def encode_image(self, image, pix_fmt):
        return zlib.compress(image.tobytes())


class Decoder(VideoDecoder):
    def decode_image(self, payload, width, height, pix_fmt):
        return np.frombuffer(zlib.decompress(payload), np.uint8).reshape(height, width, 3)


@hookimpl
def neuralav_register_codecs(register):
    register(CodecDescriptor(name="cae", long_name="another cae (zlib)", media_type=MediaType.VIDEO,
                             capabilities=Capability.LOSSY | Capability.INTRA_ONLY, formats=("rgb24",),
                             options=(), version=1, fourcc="DUPE", encoder=f"{__name__}:Encoder",
                             decoder=f"{__name__}:Decoder"))
'''


@pytest.fixture(scope="module")
def cae_file(tmp_path_factory):
    """Three frames of the sample clip coded by the built-in ``cae`` (written before the other
    distribution is installed)."""
    path = tmp_path_factory.mktemp("cae") / "cae.mkv"
    registry.reset_default_registry()
    assert main(["transcode", "-i", str(SAMPLE), "-t", "0.12", "-map", "0:v", "-c:v", "cae", "-q:v", "1",
                 str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def second_cae(cae_file, tmp_path_factory):
    with installed(tmp_path_factory.mktemp("dupe"), DIST, PACKAGE, {"plugin": CODEC},
                   {"codecs": f"{PACKAGE}.plugin"}):
        yield


@pytest.fixture
def prefer(monkeypatch, second_cae):
    """Set NEURALAV_PREFER (``None``: unset) and rebuild the default registry."""
    def set_to(value):
        if value is None:
            monkeypatch.delenv(PREFER_ENV, raising=False)
        else:
            monkeypatch.setenv(PREFER_ENV, value)
        registry.reset_default_registry()

    set_to(None)
    yield set_to
    monkeypatch.delenv(PREFER_ENV, raising=False)
    registry.reset_default_registry()


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_neuralav_codecs_lists_the_name_as_unusable_naming_both(prefer, capsys):
    assert main(["codecs"]) == 0
    listing = capsys.readouterr().out
    (line,) = [line for line in listing.splitlines() if " cae " in line]
    assert "unusable" in line and BOTH in line and f"{PREFER_ENV}=cae=" in line, line
    assert " zlibv " in listing and " wavenet " in listing  # the rest is listed as before
    assert main(["codecs", "cae"]) == 1
    assert BOTH in _error(capsys)


def test_choosing_a_codec_for_output_names_both(prefer, tmp_path, capsys):
    out = tmp_path / "out.mkv"
    assert main(["transcode", "-i", str(SAMPLE), "-t", "0.12", "-map", "0:v", "-c:v", "cae", str(out)]) == 1
    err = _error(capsys)
    assert BOTH in err and "unknown codec" not in err, err
    assert not out.exists()


def test_decoding_a_file_of_that_codec_names_both(prefer, cae_file, tmp_path, capsys):
    out = tmp_path / "decoded.mkv"
    assert main(["decode", str(cae_file), str(out), "-c:v", "ffv1"]) == 1
    err = _error(capsys)
    assert BOTH in err and "no installed" not in err, err
    assert not out.exists()


def test_the_library_api_names_both(prefer):
    with pytest.raises(DuplicateCodecError, match=BOTH):
        registry.create_encoder("cae")
    assert [str(error) for error in registry.default_registry().unusable().values()] == [
        f"{BOTH}; choose one with {PREFER_ENV}=cae=DISTRIBUTION (e.g. {PREFER_ENV}=cae=neuralav) "
        "or uninstall the other"]
    assert "cae" not in [codec.name for codec in registry.list_codecs()]


def test_pinning_to_the_built_in_decodes_the_file_as_before(prefer, cae_file, tmp_path):
    prefer("cae=NeuralAV")  # distribution names compare as pip does
    assert registry.get_codec("cae").distribution == "neuralav"
    assert registry.default_registry().unusable() == {}
    out = tmp_path / "decoded.mkv"
    assert main(["decode", str(cae_file), str(out), "-c:v", "ffv1"]) == 0
    with av.open(str(out)) as container:
        assert len(list(container.decode(video=0))) == 3


def test_pinning_to_the_other_distribution_codes_with_its_codec(prefer, tmp_path, capsys):
    prefer(f"wavenet=neuralav, cae={DIST.replace('-', '_')}")
    assert main(["codecs"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if " cae " in line]
    assert "another cae (zlib)" in line and f"[{DIST} 1.0.0]" in line
    out = tmp_path / "dupe.mkv"
    assert main(["transcode", "-i", str(SAMPLE), "-t", "0.12", "-map", "0:v", "-c:v", "cae", str(out)]) == 0
    (track,) = probe(out)["tracks"]
    assert track["neural"]["codec"] == "cae" and track["neural"]["fourcc"] == "DUPE"
    decoded = tmp_path / "decoded.mkv"  # by the pinned codec
    assert main(["decode", str(out), str(decoded), "-c:v", "ffv1"]) == 0
    with av.open(str(decoded)) as container:
        assert len(list(container.decode(video=0))) == 3


def test_a_pin_to_a_distribution_that_does_not_register_the_codec_is_refused(prefer):
    prefer("cae=acme-codecs")
    with pytest.raises(UnknownCodecError, match=rf"codec `cae` is pinned to 'acme-codecs' by {PREFER_ENV}, "
                                                rf"but only 'neuralav' and '{DIST}' register it"):
        registry.get_codec("cae")


def test_a_malformed_preference_is_a_clear_error(prefer, capsys):
    prefer("cae")
    with pytest.raises(InvalidOptionError, match=rf"{PREFER_ENV}: 'cae' is not CODEC=DISTRIBUTION"):
        registry.list_codecs()
    assert main(["codecs"]) == 1
    assert PREFER_ENV in _error(capsys)
