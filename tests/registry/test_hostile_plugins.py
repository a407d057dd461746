"""Hostile plugins (issue 27): wrong return types, sys.exit() and stray KeyboardInterrupts.

``neuralav-hostile`` is a real distribution, pip-installed for this module: one entry point
calls ``sys.exit()`` when imported, one hook raises ``KeyboardInterrupt`` while registering,
and the working one registers codecs that return an ``int`` or ``None`` where bytes belong,
a decoder that returns ``None``, encoders that raise ``SystemExit`` or ``KeyboardInterrupt``,
and one that sleeps (for a real Ctrl-C). Each must end in an error naming the codec and the
distribution, the other codecs must keep working, and a real Ctrl-C must still stop a run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from neuralav import registry
from neuralav.container.samples import SAMPLE
from neuralav.registry import PluginError, PluginWarning

from .hostile import installed

DIST = "neuralav-hostile"
PACKAGE = "neuralav_hostile"

CODECS = '''
import os
import sys
import time
import zlib

import av
import numpy as np

from neuralav.registry import (AudioChunk, AudioDecoder, AudioEncoder, Capability, CodecDescriptor,
                               MediaType, VideoDecoder, VideoEncoder, hookimpl)


class Encoder(VideoEncoder):
    def encode_image(self, image, pix_fmt):
        if self.name == "hostint":
            return 1_000_000          # bytes(1_000_000) would be a megabyte of zeros
        if self.name == "hostnone":
            return None
        if self.name == "hostexit":
            sys.exit("hostile encoder says goodbye")
        if self.name == "hostkbd":
            raise KeyboardInterrupt("hostile encoder pretends to be Ctrl-C")
        if self.name == "hostsleep":
            open(os.environ["HOSTILE_MARKER"], "w").close()
            time.sleep(60)
        return zlib.compress(image.tobytes())


class Decoder(VideoDecoder):
    def decode_image(self, payload, width, height, pix_fmt):
        if self.name == "hostdec":
            return None
        return np.frombuffer(zlib.decompress(payload), np.uint8).reshape(height, width, 3)


class OwnEncode(Encoder):
    def encode(self, frame=None):
        return 5                      # not a list of packets


class AudioEnc(AudioEncoder):
    def encode_samples(self, samples, flush):
        return [AudioChunk(12345, samples.shape[1])] if samples.shape[1] else []


class AudioDec(AudioDecoder):
    def decode_samples(self, payload):
        return None


def video(name, encoder="Encoder"):
    return CodecDescriptor(name=name, long_name=f"{name} (hostile)", media_type=MediaType.VIDEO,
                           capabilities=Capability.LOSSY | Capability.INTRA_ONLY, formats=("rgb24",),
                           options=(), version=1, fourcc="HOST", encoder=f"{__name__}:{encoder}",
                           decoder=f"{__name__}:Decoder")


@hookimpl
def neuralav_register_codecs(register):
    for name in ("hostint", "hostnone", "hostexit", "hostkbd", "hostsleep", "hostdec", "hostok"):
        register(video(name))
    register(video("hostown", "OwnEncode"))
    register(CodecDescriptor(name="hostaudio", long_name="hostaudio (hostile)", media_type=MediaType.AUDIO,
                             capabilities=Capability.LOSSLESS, formats=("s16",), options=(), version=1,
                             fourcc="HOSA", encoder=f"{__name__}:AudioEnc", decoder=f"{__name__}:AudioDec"))
'''

EXITS = '''
import sys

sys.exit("hostile plugin refuses to be imported")
'''

INTERRUPTS = '''
from neuralav.registry import hookimpl


@hookimpl
def neuralav_register_codecs(register):
    raise KeyboardInterrupt
'''


@pytest.fixture(scope="module", autouse=True)
def hostile_distribution(tmp_path_factory):
    modules = {"codecs": CODECS, "exits": EXITS, "interrupts": INTERRUPTS}
    entry_points = {"codecs": f"{PACKAGE}.codecs", "exits": f"{PACKAGE}.exits",
                    "interrupts": f"{PACKAGE}.interrupts"}
    with installed(tmp_path_factory.mktemp("hostile"), DIST, PACKAGE, modules, entry_points):
        yield


def _frame() -> av.VideoFrame:
    image = np.random.default_rng(5).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    frame.pts, frame.time_base = 0, Fraction(1, 25)
    return frame


def _fresh_registry():
    with pytest.warns(PluginWarning):
        return registry.build_registry()


def _cli(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neuralav.container.cli", *args], capture_output=True,
                          text=True, timeout=300, env=env, **kwargs)


def _errors(stderr: str) -> list[str]:
    """The command's own error lines of ``stderr`` (``neuralav COMMAND: ...``, not its warnings)."""
    return [line for line in stderr.splitlines() if line.startswith("neuralav ") and ": warning: " not in line]


def test_a_plugin_that_exits_or_interrupts_while_loading_is_named_and_the_rest_loads():
    with pytest.warns(PluginWarning) as caught:
        found = registry.build_registry()
    messages = [str(w.message) for w in caught]
    assert any(f"'{DIST}:exits'" in m and "SystemExit: hostile plugin refuses to be imported" in m
               for m in messages), messages
    assert any(f"'{DIST}:interrupts'" in m and "KeyboardInterrupt" in m for m in messages), messages
    assert {"cae", "wavenet", "zlibv", "hostok"} <= set(found.names())


def test_neuralav_codecs_lists_every_other_codec_when_a_plugin_calls_sys_exit_at_import():
    result = _cli("codecs")
    assert result.returncode == 0, result.stderr
    assert all(f" {name} " in result.stdout for name in ("cae", "wavenet", "zlibv", "hostok")), result.stdout
    assert f"'{DIST}:exits'" in result.stderr and "SystemExit" in result.stderr


@pytest.mark.parametrize("codec,returned", [("hostint", "int 1000000"), ("hostnone", "None")])
def test_an_encoder_returning_something_other_than_bytes_is_named_before_it_is_used(codec, returned):
    encoder = registry.create_encoder(codec, registry=_fresh_registry())
    with pytest.raises(PluginError) as info:
        encoder.encode(_frame())
    assert str(info.value) == (f"codec `{codec}` ({DIST}) failed to encode a frame: "
                               f"it returned {returned}; expected bytes")


def test_an_encode_override_returning_a_number_is_named():
    encoder = registry.create_encoder("hostown", registry=_fresh_registry())
    with pytest.raises(PluginError, match=rf"codec `hostown` \({DIST}\) failed to encode: it returned int 5; "
                                          r"expected a list of av.Packet"):
        encoder.encode(_frame())


def test_an_audio_chunk_with_a_number_for_its_payload_is_named():
    encoder = registry.create_encoder("hostaudio", registry=_fresh_registry())
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 480), np.int16), format="s16", layout="mono")
    frame.sample_rate = 48000
    with pytest.raises(PluginError, match=rf"codec `hostaudio` \({DIST}\) failed to encode samples: "
                                          r"it returned int 12345; expected AudioChunk.payload as bytes"):
        encoder.encode(frame)


def test_decoders_returning_none_are_named():
    reg = _fresh_registry()
    encoder = registry.create_encoder("hostdec", registry=reg)
    (packet,) = encoder.encode(_frame())
    with pytest.raises(PluginError, match=rf"codec `hostdec` \({DIST}\) failed to decode a frame: "
                                          r"it returned None; expected a numpy array"):
        registry.create_decoder("hostdec", encoder.header, registry=reg).decode(packet)
    header = registry.create_encoder("hostaudio", registry=reg, sample_rate=48000, layout="mono",
                                     format="s16").header
    with pytest.raises(PluginError, match=rf"codec `hostaudio` \({DIST}\) failed to decode a packet: "
                                          r"it returned None; expected a numpy array"):
        registry.create_decoder("hostaudio", header, registry=reg).decode(av.Packet(b"x"))


def test_sys_exit_in_an_encoder_is_a_named_error_through_the_library_api():
    encoder = registry.create_encoder("hostexit", registry=_fresh_registry())
    with pytest.raises(PluginError, match=rf"codec `hostexit` \({DIST}\) failed to encode a frame: "
                                          r"SystemExit: hostile encoder says goodbye"):
        encoder.encode(_frame())


@pytest.mark.parametrize("codec,raised", [("hostexit", "SystemExit: hostile encoder says goodbye"),
                                          ("hostkbd", "KeyboardInterrupt: hostile encoder pretends")])
def test_a_transcode_whose_encoder_exits_or_fakes_ctrl_c_ends_in_one_named_line(tmp_path, codec, raised):
    out = tmp_path / "out.mkv"
    result = _cli("transcode", "-i", str(SAMPLE), "-t", "0.2", "-map", "0:v", "-c:v", codec, str(out))
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    (err,) = _errors(result.stderr)  # the other lines are the load warnings of the module's broken entry points
    assert f"codec `{codec}` ({DIST}) failed to encode a frame: {raised}" in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_real_ctrl_c_during_a_plugins_encode_still_stops_the_run(tmp_path):
    out, marker = tmp_path / "out.mkv", tmp_path / "encoding"
    env = dict(os.environ, HOSTILE_MARKER=str(marker))
    process = subprocess.Popen(
        [sys.executable, "-m", "neuralav.container.cli", "transcode", "-i", str(SAMPLE), "-t", "0.2", "-map", "0:v",
         "-c:v", "hostsleep", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), process.stderr.read() if process.poll() is not None else "no encode after 120 s"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert _errors(err) == ["neuralav transcode: interrupted"]
    assert not out.exists()


def test_a_sigterm_the_application_handles_during_a_plugin_call_stays_an_interrupt():
    """The command line turns SIGTERM into an interrupt: one landing inside a codec's code is
    not the codec's failure (it used to become "failed to encode a frame: KeyboardInterrupt")."""
    import os
    import signal

    from neuralav.container import interrupts
    from neuralav.registry import guard

    def encode():
        os.kill(os.getpid(), signal.SIGTERM)
        return b"never used"

    with interrupts.recorded(signal.SIGTERM):
        with pytest.raises(KeyboardInterrupt):
            guard.call("zlibv", "neuralav-zlib", "encode a frame", encode)
