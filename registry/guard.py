"""Running a plugin's code: whatever it raises or returns by mistake becomes a named error.

A plugin is third-party code running inside the caller's process. Three things it can do
by mistake must not end or mislead the caller:

* raise an exception that is not a :class:`~.errors.NeuralavError` (a bug): it becomes a
  :class:`~.errors.PluginError` saying "codec `x` (distribution) failed to <what>: ...";
* raise ``SystemExit`` (``sys.exit()`` in a library) or a ``KeyboardInterrupt`` that no
  Ctrl-C caused: these become the same :class:`~.errors.PluginError`, so one plugin cannot
  end every command;
* return something of the wrong type (an ``int`` where bytes belong would make
  ``bytes(n)`` allocate ``n`` bytes): :func:`check_return` refuses it before it is used.

A real Ctrl-C still stops the program. :func:`call` watches SIGINT while the plugin runs
(on the main thread, where Python delivers signals): the previous handler still runs (so
an application's own handler, e.g. the command line's interrupt recorder, sees the signal),
and if a SIGINT arrived during the call, the call ends in ``KeyboardInterrupt`` whatever
the plugin raised or returned (even if it swallowed the interrupt). A ``KeyboardInterrupt``
raised with no SIGINT received is the plugin's own, and is converted. Off the main thread
no signal is ever delivered, so a ``KeyboardInterrupt`` there is always the plugin's own.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Callable, Iterator, TypeVar

from .errors import NeuralavError, PluginError

__all__ = ["failure_message", "plugin_error", "attempt", "call", "describe", "check_return", "sigint_watch"]

T = TypeVar("T")


def failure_message(codec: str, distribution: str | None, what: str, detail: str) -> str:
    """The one wording of a plugin's failure: ``codec `x` (dist) failed to <what>: <detail>``.

    Args:
        codec: Codec name, e.g. ``cae``.
        distribution: Installed distribution that registered it (``None``: unknown).
        what: What it was asked to do, as a verb phrase (``encode a frame``).
        detail: What went wrong (an exception as ``Type: message``, or what it returned).
    """
    return f"codec `{codec}` ({distribution or 'unknown distribution'}) failed to {what}: {detail}"


def plugin_error(codec: str, distribution: str | None, what: str, error: BaseException) -> PluginError:
    """A :class:`PluginError` for an exception a plugin raised (``Type: message``)."""
    detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return PluginError(failure_message(codec, distribution, what, detail))


class _Watch:
    """Whether a SIGINT arrived while the watch was on (see :func:`sigint_watch`)."""

    def __init__(self) -> None:
        self.received = False


@contextlib.contextmanager
def sigint_watch() -> Iterator[_Watch]:
    """Record whether an interrupt arrives in the block; the handlers in place before still run.

    Watched: SIGINT, and SIGTERM where the application has given it a Python handler (the
    command line turns SIGTERM into an interrupt like Ctrl-C; where SIGTERM keeps its default
    it ends the process and there is nothing to tell apart). Off the main thread, or for a
    handler that cannot be read back (set from C), nothing is installed for that signal.
    """
    watch = _Watch()
    if threading.current_thread() is not threading.main_thread():
        yield watch
        return
    watched = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if previous is None or (signum != signal.SIGINT and not callable(previous)):
            continue
        watched[signum] = previous
        signal.signal(signum, _recording_handler(watch, previous))
    try:
        yield watch
    finally:
        for signum, previous in watched.items():
            signal.signal(signum, previous)


def _recording_handler(watch: _Watch, previous):
    def handler(signum, frame):
        if previous == signal.SIG_IGN:
            return  # ignored, as before; the call's outcome is not changed by it either
        watch.received = True
        if callable(previous):
            previous(signum, frame)
        else:  # SIG_DFL of SIGINT
            raise KeyboardInterrupt
    return handler


def attempt(function: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T | None, BaseException | None]:
    """Run a plugin's code; return ``(result, None)``, or ``(None, error)`` for what it raised.

    ``error`` may be any exception, ``SystemExit`` and a ``KeyboardInterrupt`` no interrupt
    signal caused included.

    Raises:
        KeyboardInterrupt: a SIGINT (Ctrl-C), or a SIGTERM the application handles, arrived
            during the call, whatever the plugin raised or returned (even if it swallowed
            the interrupt).
    """
    with sigint_watch() as watch:
        try:
            result = function(*args, **kwargs)
        except (Exception, SystemExit, KeyboardInterrupt) as error:
            if watch.received:
                if isinstance(error, KeyboardInterrupt):
                    raise
                raise KeyboardInterrupt from error
            return None, error
    if watch.received:  # the plugin swallowed the interrupt: the user still asked to stop
        raise KeyboardInterrupt
    return result, None


def call(codec: str, distribution: str | None, what: str, function: Callable[..., T],
         *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, a codec's code, with its stray exceptions named.

    Returns:
        What ``function`` returned.

    Raises:
        NeuralavError: what the plugin raised on purpose, unchanged.
        PluginError: any other exception, ``SystemExit`` included, and a
            ``KeyboardInterrupt`` no SIGINT caused; names the codec and distribution.
        KeyboardInterrupt: a SIGINT (Ctrl-C) arrived during the call.
    """
    result, error = attempt(function, *args, **kwargs)
    if error is None:
        return result
    if isinstance(error, NeuralavError):
        raise error
    raise plugin_error(codec, distribution, what, error) from error


def describe(value: object) -> str:
    """A short description of a value a plugin returned: type and a clipped repr."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return "None" if value is None else f"{type(value).__name__} {text}"


def check_return(codec: str, distribution: str | None, what: str, value: object,
                 expected: type | tuple[type, ...], expected_text: str) -> None:
    """Refuse a plugin's return value that is not an instance of ``expected``.

    Raises:
        PluginError: naming the codec, its distribution, what was returned and what was due.
    """
    if not isinstance(value, expected) or isinstance(value, bool) and bool not in _as_tuple(expected):
        raise PluginError(failure_message(codec, distribution, what,
                                          f"it returned {describe(value)}; expected {expected_text}"))


def _as_tuple(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)
