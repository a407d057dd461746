"""Every hook is documented (when it is called, its params, its return) and exercised."""

import inspect
from pathlib import Path

from neuralav.registry import hookspecs

HOOKS = [name for name, value in vars(hookspecs).items()
         if callable(value) and name.startswith("neuralav_")]


def test_there_are_hooks():
    assert HOOKS == ["neuralav_register_codecs"]


def test_every_hook_is_marked_and_documented():
    for name in HOOKS:
        function = getattr(hookspecs, name)
        assert hasattr(function, "neuralav_spec"), f"{name} is not marked with @hookspec"
        doc = inspect.getdoc(function) or ""
        assert "Called" in doc, f"{name} does not say when it is called"
        for parameter in inspect.signature(function).parameters:
            assert f":param {parameter}:" in doc, f"{name} does not document `{parameter}`"
        assert ":return:" in doc, f"{name} does not say what it returns"


def test_every_hook_is_used_by_a_test():
    tests = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py")
                    if path.name != Path(__file__).name)
    for name in HOOKS:
        assert name in tests, f"no test exercises {name}"
