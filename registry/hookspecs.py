"""Hook specifications of the ``neuralav`` plugin system (pluggy).

A plugin is a module (or object) with functions marked by :data:`hookimpl`,
exposed through an entry point of the ``neuralav`` group in its distribution's
metadata::

    [project.entry-points.neuralav]
    mycodec = "mypackage.neuralav_plugin"

The built-in codecs register through this very group, declared in neuralav's
own ``pyproject.toml``. Set ``NEURALAV_DISABLE_PLUGIN_AUTOLOAD=1`` to load no
entry points (pytest's ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` in spirit).

A codec name belongs to one distribution. When two installed distributions register
the same name, the name is unusable (every lookup, ``neuralav codecs`` and every
``-c``/decode of it, names both distributions) until the user pins it to one::

    NEURALAV_PREFER=cae=neuralav,wavenet=acme-codecs neuralav transcode ...

(``CODEC=DISTRIBUTION`` pairs separated by commas; distribution names as pip shows
them, case and ``-``/``_`` ignored) or uninstalls one of them.
"""

from __future__ import annotations

from typing import Callable

import pluggy

from .descriptor import CodecDescriptor

__all__ = ["PROJECT_NAME", "ENTRY_POINT_GROUP", "hookspec", "hookimpl", "neuralav_register_codecs"]

PROJECT_NAME = "neuralav"
ENTRY_POINT_GROUP = "neuralav"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def neuralav_register_codecs(register: Callable[[CodecDescriptor], None]) -> None:
    """Register the codecs this plugin provides.

    Called once per plugin when the registry is first built (on the first
    lookup, listing, encoder or decoder creation). Must be cheap: do not import
    the codec's implementation (TensorFlow, weights) here; name the encoder and
    decoder classes by import path in the descriptor instead.

    :param register: Call ``register(descriptor)`` once for each
        :class:`~neuralav.registry.descriptor.CodecDescriptor` the plugin provides.
        A name that another distribution also registers is refused for both
        (:class:`~neuralav.registry.errors.DuplicateCodecError` on lookup, naming
        both) unless ``NEURALAV_PREFER`` pins it to one of them.
    :return: Nothing; the return value is ignored.
    """
