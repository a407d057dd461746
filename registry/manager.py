"""The codec registry: builds the plugin manager and answers "which codecs exist".

Load order follows pytest: hook specifications first, then every entry point of
the ``neuralav`` group, then each plugin's ``neuralav_register_codecs`` hook. A
plugin that fails to import or to register (in any way: ``sys.exit()`` at import
and a ``KeyboardInterrupt`` no Ctrl-C caused included, see :mod:`.guard`) is
skipped with a :class:`PluginWarning` naming it; every other codec keeps working. A codec name
registered by two distributions is unusable until one is uninstalled, and the
error names both: neither silently wins.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import os
import warnings
from typing import Iterable

import pluggy

from . import guard, hookspecs
from .descriptor import CodecDescriptor
from .errors import DuplicateCodecError, UnknownCodecError

__all__ = ["PluginWarning", "Registry", "build_registry", "default_registry", "reset_default_registry"]

AUTOLOAD_ENV = "NEURALAV_DISABLE_PLUGIN_AUTOLOAD"


class PluginWarning(UserWarning):
    """A plugin could not be loaded or registered; its codecs are unavailable."""


@dataclasses.dataclass(frozen=True)
class _Conflict:
    name: str
    distributions: tuple[str, ...]


class Registry:
    """The codecs that installed plugins provide.

    Build one with :func:`build_registry` (or use :func:`default_registry`).

    Attributes:
        plugin_manager: The pluggy manager holding the loaded plugins.
        failures: ``(plugin name, message)`` for each plugin that failed to load.
    """

    def __init__(self, plugin_manager: pluggy.PluginManager) -> None:
        self.plugin_manager = plugin_manager
        self.failures: list[tuple[str, str]] = []
        self._codecs: dict[str, CodecDescriptor] = {}
        self._conflicts: dict[str, _Conflict] = {}

    def _add(self, descriptor: CodecDescriptor, distribution: str) -> None:
        descriptor = dataclasses.replace(descriptor, distribution=distribution)
        name = descriptor.name
        if name in self._conflicts:
            conflict = self._conflicts[name]
            self._conflicts[name] = _Conflict(name, conflict.distributions + (distribution,))
        elif name in self._codecs:
            first = self._codecs.pop(name)
            self._conflicts[name] = _Conflict(name, (first.distribution or "?", distribution))
        else:
            self._codecs[name] = descriptor

    def codecs(self) -> list[CodecDescriptor]:
        """Return the usable codecs, sorted by media type then name."""
        return sorted(self._codecs.values(), key=lambda d: (d.media_type.value, d.name))

    def names(self) -> list[str]:
        """Return the names of the usable codecs, sorted."""
        return sorted(self._codecs)

    def conflicts(self) -> dict[str, tuple[str, ...]]:
        """Return ``{codec name: distributions}`` for names registered more than once."""
        return {name: c.distributions for name, c in self._conflicts.items()}

    def get(self, name: str) -> CodecDescriptor:
        """Return the descriptor of codec ``name``.

        Raises:
            DuplicateCodecError: two distributions register ``name`` (names both).
            UnknownCodecError: no plugin registers ``name`` (lists the available codecs).
        """
        if name in self._conflicts:
            dists = " and ".join(f"'{d}'" for d in self._conflicts[name].distributions)
            raise DuplicateCodecError(
                f"codec `{name}` is registered by both {dists}; uninstall one of them to use it"
            )
        try:
            return self._codecs[name]
        except KeyError:
            available = ", ".join(self.names()) or "none installed"
            raise UnknownCodecError(f"unknown codec `{name}` (available: {available})") from None


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP)


def build_registry(plugins: Iterable[object] = (), *, autoload: bool | None = None) -> Registry:
    """Build a registry from installed entry points and extra plugin objects.

    Args:
        plugins: Extra plugin modules or objects with hook implementations,
            registered after the entry points (handy in tests and scripts); one
            that an entry point already loaded is not registered twice.
        autoload: Load the ``neuralav`` entry points. Defaults to true unless the
            environment variable ``NEURALAV_DISABLE_PLUGIN_AUTOLOAD`` is set.

    Returns:
        A new :class:`Registry`. Plugins that fail are reported as
        :class:`PluginWarning` warnings and in ``Registry.failures``.
    """
    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV)
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    registry = Registry(manager)
    origins: dict[str, str] = {}

    def fail(plugin_name: str, message: str) -> None:
        registry.failures.append((plugin_name, message))
        warnings.warn(message, PluginWarning, stacklevel=3)

    if autoload:
        seen: set[tuple[str, str]] = set()
        for entry_point in _entry_points():
            dist = entry_point.dist.name if entry_point.dist is not None else "unknown distribution"
            key = (dist, entry_point.name)
            if key in seen:  # the same distribution found twice on sys.path
                continue
            seen.add(key)
            plugin_name = f"{dist}:{entry_point.name}"
            plugin, error = guard.attempt(entry_point.load)  # an import can fail in any way, sys.exit() too
            if error is None:
                _, error = guard.attempt(manager.register, plugin, name=plugin_name)
            if error is not None:
                fail(plugin_name, f"neuralav plugin '{plugin_name}' ({entry_point.value}) failed to load: "
                     f"{_describe(error)}")
                continue
            origins[plugin_name] = dist
    for plugin in plugins:
        if manager.is_registered(plugin):  # already loaded through its entry point
            continue
        plugin_name = manager.register(plugin)
        if plugin_name is not None:
            origins[plugin_name] = getattr(plugin, "__name__", plugin_name)

    for impl in manager.hook.neuralav_register_codecs.get_hookimpls():
        distribution = origins.get(impl.plugin_name, impl.plugin_name)
        added: list[CodecDescriptor] = []

        def register(descriptor: CodecDescriptor, _added: list = added) -> None:
            if not isinstance(descriptor, CodecDescriptor):
                raise TypeError(f"register() takes a CodecDescriptor, not {type(descriptor).__name__}")
            _added.append(descriptor)

        _, error = guard.attempt(impl.function, register=register)  # isolate a broken plugin from the others
        if error is not None:
            fail(impl.plugin_name, f"neuralav plugin '{impl.plugin_name}' failed in "
                 f"neuralav_register_codecs ({impl.function.__qualname__}): {_describe(error)}")
            continue
        for descriptor in added:
            registry._add(descriptor, distribution)
    return registry


def _describe(error: BaseException) -> str:
    """``Type: message`` of a plugin's exception (``SystemExit: 3`` for ``sys.exit(3)``)."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


@functools.lru_cache(maxsize=1)
def default_registry() -> Registry:
    """Return the process-wide registry, built on first use (never at import)."""
    return build_registry()


def reset_default_registry() -> None:
    """Forget the process-wide registry, e.g. after installing a plugin at run time."""
    default_registry.cache_clear()
    importlib.invalidate_caches()
