"""The codec registry: builds the plugin manager and answers "which codecs exist".

Load order follows pytest: hook specifications first, then every entry point of
the ``neuralav`` group, then each plugin's ``neuralav_register_codecs`` hook. A
plugin that fails to import or to register (in any way: ``sys.exit()`` at import
and a ``KeyboardInterrupt`` no Ctrl-C caused included, see :mod:`.guard`) is
skipped with a :class:`PluginWarning` naming it; every other codec keeps working.

A codec name registered by two distributions is unusable until the user chooses:
neither silently wins. Every lookup of it raises :class:`DuplicateCodecError`
naming both; the environment variable ``NEURALAV_PREFER`` pins a name to one
distribution (``NEURALAV_PREFER=cae=neuralav,wavenet=acme-codecs``; distribution
names compare as pip does, ignoring case and ``-``/``_``/``.``), or uninstalling one
resolves it. A pin naming a distribution that does not register the codec makes the
codec unusable too, with an error saying so: what the user pinned is never replaced
by another implementation behind their back.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import os
import re
import warnings
from typing import Iterable, Mapping

import pluggy

from . import guard, hookspecs
from .descriptor import CodecDescriptor
from .errors import DuplicateCodecError, InvalidOptionError, NeuralavError, UnknownCodecError

__all__ = ["PluginWarning", "Registry", "build_registry", "default_registry", "reset_default_registry",
           "parse_preferences", "AUTOLOAD_ENV", "PREFER_ENV"]

AUTOLOAD_ENV = "NEURALAV_DISABLE_PLUGIN_AUTOLOAD"
"""Set (to anything non-empty) to load no entry points."""

PREFER_ENV = "NEURALAV_PREFER"
"""``CODEC=DISTRIBUTION[,CODEC=DISTRIBUTION...]``: which distribution provides a codec name
that several register."""


class PluginWarning(UserWarning):
    """A plugin could not be loaded or registered; its codecs are unavailable."""


def _normalize(distribution: str) -> str:
    """A distribution name as pip compares them (PEP 503): lower case, runs of ``-_.`` as ``-``."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def parse_preferences(text: str) -> dict[str, str]:
    """Parse ``cae=neuralav,wavenet=acme-codecs`` (commas or spaces between pins).

    Returns:
        ``{codec name: distribution}``.

    Raises:
        InvalidOptionError: a pin is not ``CODEC=DISTRIBUTION``, or a codec is pinned twice.
    """
    pins: dict[str, str] = {}
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        name, sep, distribution = item.partition("=")
        if not sep or not name or not distribution:
            raise InvalidOptionError(f"{PREFER_ENV}: {item!r} is not CODEC=DISTRIBUTION "
                                     f"(e.g. {PREFER_ENV}=cae=neuralav)")
        if name in pins and _normalize(pins[name]) != _normalize(distribution):
            raise InvalidOptionError(f"{PREFER_ENV} pins codec `{name}` twice ({pins[name]!r} and {distribution!r})")
        pins[name] = distribution
    return pins


class Registry:
    """The codecs that installed plugins provide.

    Build one with :func:`build_registry` (or use :func:`default_registry`).

    Attributes:
        plugin_manager: The pluggy manager holding the loaded plugins.
        failures: ``(plugin name, message)`` for each plugin that failed to load.
        preferences: ``{codec name: distribution}`` pins (see the module docstring).
    """

    def __init__(self, plugin_manager: pluggy.PluginManager, preferences: Mapping[str, str] | None = None) -> None:
        self.plugin_manager = plugin_manager
        self.failures: list[tuple[str, str]] = []
        self.preferences = dict(preferences or {})
        self._registered: dict[str, list[CodecDescriptor]] = {}

    def _add(self, descriptor: CodecDescriptor, distribution: str) -> None:
        descriptor = dataclasses.replace(descriptor, distribution=distribution)
        self._registered.setdefault(descriptor.name, []).append(descriptor)

    def _resolve(self, name: str) -> CodecDescriptor | NeuralavError:
        """The descriptor a registered ``name`` stands for, or the error that makes it unusable."""
        candidates = self._registered[name]
        distributions = sorted(d.distribution or "unknown distribution" for d in candidates)
        pinned = self.preferences.get(name)
        if pinned is not None:
            chosen = [d for d in candidates if _normalize(d.distribution or "") == _normalize(pinned)]
            if len(chosen) == 1:
                return chosen[0]
            registered = " and ".join(f"'{d}'" for d in distributions)
            if not chosen:
                return UnknownCodecError(f"codec `{name}` is pinned to '{pinned}' by {PREFER_ENV}, but only "
                                         f"{registered} register{'s' if len(distributions) == 1 else ''} it")
            return DuplicateCodecError(f"codec `{name}` is registered {len(chosen)} times by '{pinned}'; "
                                       f"{PREFER_ENV} cannot choose between them")
        if len(candidates) == 1:
            return candidates[0]
        both = " and ".join(f"'{d}'" for d in distributions)
        return DuplicateCodecError(
            f"codec `{name}` is registered by both {both}; choose one with "
            f"{PREFER_ENV}={name}=DISTRIBUTION (e.g. {PREFER_ENV}={name}={distributions[0]}) "
            f"or uninstall the other")

    def codecs(self) -> list[CodecDescriptor]:
        """Return the usable codecs, sorted by media type then name (see :meth:`unusable`)."""
        found = [self._resolve(name) for name in self._registered]
        usable = [d for d in found if isinstance(d, CodecDescriptor)]
        return sorted(usable, key=lambda d: (d.media_type.value, d.name))

    def names(self) -> list[str]:
        """Return every registered codec name, sorted, usable or not.

        A name in this list is a neuralav codec: :meth:`get` returns it or raises the error
        that makes it unusable (two distributions register it), never "unknown codec".
        """
        return sorted(self._registered)

    def unusable(self) -> dict[str, NeuralavError]:
        """Return ``{codec name: the error get() raises}`` for registered names that cannot be used
        (two distributions register them and no ``NEURALAV_PREFER`` pin chooses, or a pin names a
        distribution that does not register them). ``neuralav codecs`` lists them."""
        found = {name: self._resolve(name) for name in sorted(self._registered)}
        return {name: error for name, error in found.items() if isinstance(error, NeuralavError)}

    def get(self, name: str) -> CodecDescriptor:
        """Return the descriptor of codec ``name``.

        Raises:
            DuplicateCodecError: two distributions register ``name`` and no pin chooses (names both).
            UnknownCodecError: no plugin registers ``name`` (lists the available codecs), or
                ``NEURALAV_PREFER`` pins it to a distribution that does not register it.
        """
        if name not in self._registered:
            available = ", ".join(d.name for d in sorted(self.codecs(), key=lambda d: d.name)) or "none installed"
            raise UnknownCodecError(f"unknown codec `{name}` (available: {available})")
        found = self._resolve(name)
        if isinstance(found, NeuralavError):
            raise found
        return found


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP)


def build_registry(plugins: Iterable[object] = (), *, autoload: bool | None = None,
                   preferences: Mapping[str, str] | None = None) -> Registry:
    """Build a registry from installed entry points and extra plugin objects.

    Args:
        plugins: Extra plugin modules or objects with hook implementations,
            registered after the entry points (handy in tests and scripts); one
            that an entry point already loaded is not registered twice.
        autoload: Load the ``neuralav`` entry points. Defaults to true unless the
            environment variable ``NEURALAV_DISABLE_PLUGIN_AUTOLOAD`` is set.
        preferences: ``{codec name: distribution}`` pins for names several distributions
            register. Defaults to the environment variable ``NEURALAV_PREFER``.

    Returns:
        A new :class:`Registry`. Plugins that fail are reported as
        :class:`PluginWarning` warnings and in ``Registry.failures``.

    Raises:
        InvalidOptionError: ``NEURALAV_PREFER`` is malformed.
    """
    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV)
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    if preferences is None:
        preferences = parse_preferences(os.environ.get(PREFER_ENV, ""))
    registry = Registry(manager, preferences)
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
