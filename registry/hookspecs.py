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

What a registered codec implements (the descriptor names the classes):

* Intra-only video and images (``Capability.INTRA_ONLY``): subclass ``VideoEncoder`` and
  ``VideoDecoder`` (:mod:`neuralav.registry.api`) and implement ``encode_image`` and
  ``decode_image``; every packet is a keyframe.
* Stateful (inter-frame) video (``Capability.INTER``): subclass ``InterVideoEncoder`` and
  ``InterVideoDecoder`` (:mod:`neuralav.registry.inter`, which states the contract) and
  implement ``encode_frame(image, pix_fmt, reference)`` and ``decode_frame(payload, width,
  height, pix_fmt, reference)``, ``reference`` being the previous decoded frame or ``None``
  for a keyframe; a lossy codec returns a ``CodedFrame`` with its reconstruction (closed
  loop), and ``CodedFrame(..., keyframe=True)`` when it chose to code a frame alone although
  given a reference (a scene cut). Declare the keyframe interval option ``g`` with
  ``keyframe_interval_option()`` (as ffmpeg's ``-g``). P-frames only, no reordering: one
  packet per frame, in order, ``dts == pts``, ``av.Packet.is_keyframe`` set on keyframes,
  and ``encode(None)`` flushes.
  The decoder raises ``InvalidDataError`` for a P-frame whose reference it lacks (after a
  seek, a damaged or a missing packet) and resumes at the next keyframe;
  ``Decoder.discontinuity()``, which the reader calls after a seek, drops the references
  and calls the codec's ``reset()`` hook for state of its own. A codec may keep older decoded
  frames itself (``nvc`` keeps a long-term reference) if it drops them at every keyframe
  (``reference is None``) and in ``reset()``. The example plugin's
  ``zlibp`` (``examples/neuralav-zlib``) is a complete one.
* Audio: subclass ``AudioEncoder`` and ``AudioDecoder`` (:mod:`neuralav.registry.api`).
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
