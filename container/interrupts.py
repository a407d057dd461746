"""Interrupts the ``neuralav`` command cannot lose: Ctrl-C (SIGINT) and SIGTERM are recorded
as well as raised.

Python turns SIGINT into a ``KeyboardInterrupt`` raised wherever the interpreter happens to
be. When that is a finalizer or a weakref callback (importlib's module-lock callbacks run
during every import), CPython prints "Exception ignored in ..." and carries on: the
interrupt is lost, and a transcode the user stopped would run to the end and replace its
target. So within :func:`recorded` the handler also sets a flag, and :func:`check` (called
by :func:`neuralav.container.atomic.commit` just before an output is moved into place)
raises again if an interrupt came at all.

Stdlib only: the command installs it before importing anything heavy.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

__all__ = ["recorded", "check", "received"]

_received: list[int] = []
_depth = [0]


def _handler(signum, frame):
    _received.append(signum)
    raise KeyboardInterrupt(f"signal {signum}")


def received() -> int | None:
    """The first signal number recorded within :func:`recorded`, or ``None``."""
    return _received[0] if _received else None


def check() -> None:
    """Raise ``KeyboardInterrupt`` if an interrupt was recorded, even one Python swallowed."""
    if _received:
        raise KeyboardInterrupt(f"signal {_received[0]} (received earlier)")


@contextlib.contextmanager
def recorded(*signals: int) -> Iterator[None]:
    """Within the block, the given signals (default SIGINT) raise ``KeyboardInterrupt`` and
    are recorded for :func:`check`; the previous handlers come back afterwards. Outside the
    main thread (signals cannot be handled there) it changes nothing.
    """
    signals = signals or (signal.SIGINT,)
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handler) for s in signals}
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1
        for s, handler in previous.items():
            signal.signal(s, handler)
        if not _depth[0]:  # the command is over: what it received must not stop later outputs
            _received.clear()
