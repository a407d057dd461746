"""The registry: entry-point discovery, duplicate names, broken plugins, lookups."""

import sys
import textwrap
import types

import pytest

from neuralav.registry import (
    Capability, CodecDescriptor, DuplicateCodecError, MediaType, PluginWarning, UnknownCodecError,
    build_registry, hookimpl,
)


def descriptor(name: str) -> CodecDescriptor:
    return CodecDescriptor(name=name, long_name=f"{name} codec", media_type=MediaType.VIDEO,
                           capabilities=Capability.LOSSLESS, formats=("rgb24",), options=(),
                           version=1, fourcc="TEST", encoder="neuralav_zlib.codecs:ZlibVideoEncoder",
                           decoder="neuralav_zlib.codecs:ZlibVideoDecoder")


def plugin(module_name: str, *names: str) -> types.ModuleType:
    module = types.ModuleType(module_name)

    @hookimpl
    def neuralav_register_codecs(register):
        for name in names:
            register(descriptor(name))

    module.neuralav_register_codecs = neuralav_register_codecs
    return module


@pytest.fixture
def fake_distribution(tmp_path, monkeypatch):
    """Write a real installed distribution (dist-info + module) onto sys.path."""

    def make(dist: str, module: str, source: str) -> None:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        info = tmp_path / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[neuralav]\n{dist} = {module}\n")

    monkeypatch.syspath_prepend(str(tmp_path))
    yield make
    for name in list(sys.modules):
        if name.startswith("fakeplugin_"):
            del sys.modules[name]


def test_example_plugin_is_discovered_through_its_entry_point():
    registry = build_registry()
    codec = registry.get("zlibv")
    assert codec.distribution == "neuralav-zlib"
    assert registry.get("zliba").media_type is MediaType.AUDIO


def test_unknown_codec_error_lists_available_codecs():
    registry = build_registry([plugin("p1", "alpha", "beta")], autoload=False)
    with pytest.raises(UnknownCodecError, match=r"unknown codec `gamma` \(available: alpha, beta\)") as info:
        registry.get("gamma")
    assert isinstance(info.value, LookupError)


def test_same_name_from_two_distributions_names_both_and_neither_wins(fake_distribution):
    fake_distribution("acme-codecs", "fakeplugin_acme", """
        from neuralav.registry import hookimpl
        from tests.registry.test_manager import descriptor
        @hookimpl
        def neuralav_register_codecs(register):
            register(descriptor("zlibv"))
            register(descriptor("acme"))
    """)
    registry = build_registry()
    with pytest.raises(DuplicateCodecError) as info:
        registry.get("zlibv")
    assert "'neuralav-zlib'" in str(info.value) and "'acme-codecs'" in str(info.value)
    assert "zlibv" in registry.names()  # a neuralav codec, so callers ask get() and hear why not
    assert "zlibv" not in [codec.name for codec in registry.codecs()]
    assert list(registry.unusable()) == ["zlibv"]
    assert registry.get("acme").distribution == "acme-codecs"
    assert registry.get("zliba")  # the rest of both plugins still works


def test_plugin_whose_import_fails_warns_with_its_name_and_others_still_work(fake_distribution):
    fake_distribution("broken-codecs", "fakeplugin_broken", "raise ImportError('needs libfoo')\n")
    with pytest.warns(PluginWarning, match=r"broken-codecs.*failed to load: ImportError: needs libfoo"):
        registry = build_registry()
    assert registry.get("zlibv")
    assert registry.failures[0][0].startswith("broken-codecs")


def test_plugin_that_raises_while_registering_is_isolated():
    broken = types.ModuleType("raiser")

    @hookimpl
    def neuralav_register_codecs(register):
        raise RuntimeError("boom")

    broken.neuralav_register_codecs = neuralav_register_codecs
    with pytest.warns(PluginWarning, match=r"'raiser' failed in neuralav_register_codecs.*RuntimeError: boom"):
        registry = build_registry([broken, plugin("fine", "ok")], autoload=False)
    assert registry.names() == ["ok"]


def test_registering_something_that_is_not_a_descriptor_is_reported():
    bad = types.ModuleType("badtype")

    @hookimpl
    def neuralav_register_codecs(register):
        register({"name": "dict"})

    bad.neuralav_register_codecs = neuralav_register_codecs
    with pytest.warns(PluginWarning, match="takes a CodecDescriptor, not dict"):
        build_registry([bad], autoload=False)


def test_environment_variable_disables_entry_point_autoload(monkeypatch):
    monkeypatch.setenv("NEURALAV_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert build_registry().names() == []
    monkeypatch.delenv("NEURALAV_DISABLE_PLUGIN_AUTOLOAD")
    assert "zlibv" in build_registry().names()


def test_codecs_are_sorted_by_type_then_name():
    registry = build_registry([plugin("p", "zz", "aa")], autoload=False)
    assert [c.name for c in registry.codecs()] == ["aa", "zz"]


def test_a_plugin_already_loaded_by_its_entry_point_is_not_registered_twice():
    import neuralav_zlib.plugin

    registry = build_registry(plugins=[neuralav_zlib.plugin])
    assert registry.get("zlibv").distribution == "neuralav-zlib"
    assert not registry.failures
