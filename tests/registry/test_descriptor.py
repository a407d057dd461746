"""Codec descriptors and option parsing: types, ranges and the messages users see."""

import pytest

from neuralav.registry import Capability, CodecDescriptor, InvalidOptionError, MediaType, Option


def make(**overrides) -> CodecDescriptor:
    fields = dict(
        name="toy", long_name="Toy codec", media_type=MediaType.VIDEO,
        capabilities=Capability.LOSSY | Capability.INTRA_ONLY, formats=("rgb24",),
        options=(Option("quality", int, 3, "quality level", min=1, max=8),
                 Option("gain", float, 1.0, "gain", min=0.0),
                 Option("mode", str, "fast", "speed", choices=("fast", "slow")),
                 Option("fast", bool, False, "faster")),
        version=2, fourcc="TOY0", encoder="x:Y", decoder="x:Z")
    fields.update(overrides)
    return CodecDescriptor(**fields)


def test_resolve_options_fills_defaults_and_parses_command_line_strings():
    assert make().resolve_options({"quality": "5", "gain": "0.5", "fast": "yes"}) == {
        "quality": 5, "gain": 0.5, "mode": "fast", "fast": True}


@pytest.mark.parametrize("options, words", [
    ({"quality": 9}, ["quality", "9", "from 1 to 8"]),
    ({"quality": 0}, ["quality", "from 1 to 8"]),
    ({"quality": "high"}, ["quality", "'high'", "int"]),
    ({"quality": 2.5}, ["quality", "int"]),
    ({"quality": True}, ["quality"]),
    ({"gain": -1}, ["gain", "at least 0"]),
    ({"gain": "nan"}, ["gain", "float"]),
    ({"mode": "medium"}, ["mode", "one of fast, slow"]),
    ({"fast": "maybe"}, ["fast", "bool"]),
])
def test_bad_option_values_name_the_option_and_the_allowed_range(options, words):
    with pytest.raises(InvalidOptionError) as info:
        make().resolve_options(options)
    assert isinstance(info.value, ValueError)
    for word in words:
        assert word in str(info.value)


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(InvalidOptionError, match=r"no option `speed` \(its options: quality, gain, mode, fast\)"):
        make().resolve_options({"speed": 1})


@pytest.mark.parametrize("overrides", [
    {"fourcc": "TOOLONG"}, {"fourcc": "ab"}, {"name": "bad name"}, {"name": ""},
    {"version": 70000},
    {"options": (Option("q", int, 1, "x"), Option("q", int, 1, "y"))},
])
def test_malformed_descriptors_are_refused(overrides):
    with pytest.raises(ValueError):
        make(**overrides)


def test_descriptor_is_frozen():
    with pytest.raises(AttributeError):
        make().name = "other"


def test_default_out_of_range_is_refused_at_definition():
    with pytest.raises(InvalidOptionError):
        Option("quality", int, 0, "x", min=1, max=4)


def test_capability_names_in_declaration_order():
    assert (Capability.INTRA_ONLY | Capability.LOSSY).names() == ["lossy", "intra_only"]


def test_a_bool_option_accepts_the_0_or_1_a_codec_header_stores():
    option = Option("fast", bool, False, "fast mode")
    assert option.parse(1) is True and option.parse(0) is False
    assert option.parse("on") is True
    with pytest.raises(InvalidOptionError, match="`fast` = 2 is not a valid bool"):
        option.parse(2)
