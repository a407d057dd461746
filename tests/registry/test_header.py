"""The codec header: round trips, strict bounded parsing, codec/version checks."""

import pytest
from hypothesis import given, settings, strategies as st

from neuralav.registry import CodecHeader, HeaderMismatchError, InvalidDataError, MediaType

HEADER = CodecHeader("cae", 3, MediaType.VIDEO, {"quality": 4, "model": "bls2017-n64", "blob": b"\x00\x01"})


def test_round_trip_keeps_every_field():
    assert CodecHeader.from_bytes(HEADER.to_bytes()) == HEADER


def test_layout_starts_with_magic_and_is_stable():
    data = CodecHeader("cae", 1, MediaType.AUDIO, {"q": 1}).to_bytes()
    assert data == b"NAVH\x01\x01\x03cae\x00\x01\x01\x01qi" + (1).to_bytes(8, "big")


@pytest.mark.parametrize("cut", range(0, len(HEADER.to_bytes())))
def test_every_truncation_is_a_clean_error(cut):
    with pytest.raises(InvalidDataError):
        CodecHeader.from_bytes(HEADER.to_bytes()[:cut])


@pytest.mark.parametrize("data, message", [
    (b"XXXX\x01\x00\x03cae\x00\x01\x00", "bad magic"),
    (b"NAVH\x02\x00\x03cae\x00\x01\x00", "format version 2"),
    (b"NAVH\x01\x07\x03cae\x00\x01\x00", "media type"),
    (b"NAVH\x01\x00\x00", "0 bytes"),
    (b"NAVH\x01\x00\x03c e\x00\x01\x00", "invalid codec name"),
    (b"NAVH\x01\x00\x03cae\x00\x01\xff", "255 fields"),
    (b"NAVH\x01\x00\x03cae\x00\x01\x01\x01qs\xff\xff", "65535 bytes"),
    (b"NAVH\x01\x00\x03cae\x00\x01\x01\x01qz", "unknown type"),
    (b"NAVH\x01\x00\x03cae\x00\x01\x00!", "trailing"),
])
def test_malformed_headers_name_the_problem(data, message):
    with pytest.raises(InvalidDataError, match=message):
        CodecHeader.from_bytes(data)


def test_check_refuses_another_codec_or_version():
    with pytest.raises(HeaderMismatchError, match="for codec `cae`, not `vae`"):
        HEADER.check("vae", 3)
    with pytest.raises(HeaderMismatchError, match="version 3; this decoder reads version 1"):
        HEADER.check("cae", 1)
    HEADER.check("cae", 3)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_arbitrary_bytes_parse_or_raise_invalid_data(data):
    try:
        header = CodecHeader.from_bytes(b"NAVH\x01" + data)
    except InvalidDataError:
        return
    assert CodecHeader.from_bytes(header.to_bytes()) == header


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text("abcdefghij_", min_size=1, max_size=32),
                       st.one_of(st.integers(-2**63, 2**63 - 1), st.text(max_size=50), st.binary(max_size=50)),
                       max_size=10))
def test_any_valid_fields_round_trip(fields):
    header = CodecHeader("x", 7, MediaType.AUDIO, fields)
    assert CodecHeader.from_bytes(header.to_bytes()) == header
