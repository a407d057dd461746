"""Codec headers, damaged or hand-made: a header, a decoder, or a clean neuralav error.

Targets: :meth:`CodecHeader.from_bytes` on damaged real headers, and each codec's
decoder (``cae``, ``vae``, ``wavenet``, the example plugin's ``zlibv``/``zliba``) built
from damaged headers and from headers with arbitrary field values, then fed the
codec's real packets.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from neuralav import registry as reg
from neuralav.registry import CodecHeader, InvalidDataError, InvalidOptionError

from .conftest import packet_of
from .mutate import count_case, mutation, watchdog

pytestmark = pytest.mark.usefixtures("tiny_env")
FUZZ = settings.get_profile("neuralav-fuzz")
STREAMS = ["cae-q1", "vae-q1", "zlibv-rgb24", "wavenet-q1", "wavenet-q2", "zliba-s16", "zliba-flt"]
HEADER_ERRORS = (InvalidDataError, InvalidOptionError)
"""What a bad header may raise: malformed or foreign (InvalidDataError), or a field value
that is no valid option (InvalidOptionError)."""


def decode_all(decoder, stream) -> list:
    frames = []
    for data, pts in zip(stream.packets, stream.pts):
        frames += decoder.decode(packet_of(data, pts, stream.time_base))
    return frames + decoder.decode(None)


def build_and_decode(stream, header: bytes, fuzz_registry, target: str) -> None:
    """Build the stream's decoder from ``header`` and decode the stream's real packets with it."""
    target = f"header {target}: {stream.name}"
    with watchdog(60, f"{stream.name} with a {len(header)}-byte header"):
        try:
            decoder = reg.create_decoder(stream.codec, header, registry=fuzz_registry)
        except HEADER_ERRORS as error:
            return count_case(target, type(error).__name__)
        try:
            decode_all(decoder, stream)
        except InvalidDataError as error:
            return count_case(target, "decoder built, then " + type(error).__name__)
    count_case(target)


@pytest.mark.parametrize("name", STREAMS)
def test_damaged_headers_parse_or_raise_invalid_data(streams, name):
    header = streams[name].header
    others = tuple(s.header for s in streams.values())

    @FUZZ
    @given(mutation(header, others))
    def fuzz(damaged):
        try:
            parsed = CodecHeader.from_bytes(damaged)
        except InvalidDataError as error:
            return count_case(f"header parse: {name}", type(error).__name__)
        assert CodecHeader.from_bytes(parsed.to_bytes()) == parsed
        count_case(f"header parse: {name}")

    fuzz()


@pytest.mark.parametrize("name", STREAMS)
def test_a_decoder_from_a_damaged_header_decodes_or_raises_cleanly(streams, fuzz_registry, name):
    stream = streams[name]

    @FUZZ
    @given(mutation(stream.header, tuple(s.header for s in streams.values())))
    def fuzz(damaged):
        build_and_decode(stream, damaged, fuzz_registry, "damaged")

    fuzz()


def field_values():
    return st.one_of(st.integers(-2**63, 2**63 - 1), st.integers(-3, 70000),
                     st.sampled_from(["mono", "stereo", "5.1", "22.2", "", "octagonal", "s16", "s64", "fltp",
                                      "dblp", "u8", "flt", "rgb24", "1", "0", "-1", "99999999999"]),
                     st.text(max_size=12), st.binary(max_size=12))


@pytest.mark.parametrize("name", STREAMS)
def test_a_decoder_from_any_field_values_decodes_or_raises_cleanly(streams, fuzz_registry, name):
    stream = streams[name]
    real = CodecHeader.from_bytes(stream.header)

    @FUZZ
    @given(st.dictionaries(st.sampled_from(sorted(real.fields) + ["extra"]), field_values(), max_size=4),
           st.sets(st.sampled_from(sorted(real.fields)), max_size=2))
    def fuzz(changes, removed):
        fields = {k: v for k, v in real.fields.items() if k not in removed}
        fields.update(changes)
        header = CodecHeader(real.codec, real.version, real.media_type, fields).to_bytes()
        build_and_decode(stream, header, fuzz_registry, "field-values")

    fuzz()


def test_a_header_of_another_codec_or_version_is_refused(streams, fuzz_registry):
    real = CodecHeader.from_bytes(streams["cae-q1"].header)
    for header in (CodecHeader(real.codec, real.version + 1, real.media_type, real.fields),
                   CodecHeader("vae", real.version, real.media_type, real.fields)):
        with pytest.raises(InvalidDataError):
            reg.create_decoder("cae", header.to_bytes(), registry=fuzz_registry)


# ------------------------------------------------------------------ regressions (found by the fuzzers)


def with_fields(stream, **changes) -> bytes:
    real = CodecHeader.from_bytes(stream.header)
    return CodecHeader(real.codec, real.version, real.media_type, {**real.fields, **changes}).to_bytes()


@pytest.mark.parametrize("name", ["zliba-s16", "wavenet-q1"])
def test_a_layout_whose_name_does_not_read_back_is_invalid_data(streams, fuzz_registry, name):
    # Found: layout 631529058257287 (a channel mask) parsed, but its name ("27 channels (FL+...")
    # did not, and AudioDecoder.__init__ raised ValueError.
    with pytest.raises(InvalidDataError, match="layout"):
        reg.create_decoder(streams[name].codec, with_fields(streams[name], layout=631529058257287),
                           registry=fuzz_registry)


def test_wavenet_decodes_to_s64_samples(streams, fuzz_registry):
    # Found: a stream whose input was s64 failed to decode (PyAV has no s64 <-> numpy),
    # as PluginError "ValueError: Conversion from 's64' format to numpy array".
    stream = streams["wavenet-q1"]
    reference = decode_all(reg.create_decoder("wavenet", stream.header, registry=fuzz_registry), stream)
    decoder = reg.create_decoder("wavenet", with_fields(stream, input_format="s64"), registry=fuzz_registry)
    frames = decode_all(decoder, stream)
    assert {f.format.name for f in frames} == {"s64"}
    assert sum(f.samples for f in frames) == sum(f.samples for f in reference) == 5000
    assert [f.pts for f in frames] == [sum(f.samples for f in frames[:i]) for i in range(len(frames))]
