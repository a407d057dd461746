"""Wall-clock timing and resident-memory measurement for the speed benchmarks.

Memory is the process's resident set size (RSS, what ``top`` shows: Python,
NumPy, TensorFlow's allocator and model weights alike), read with ``psutil``
by a background thread every :data:`SAMPLE_INTERVAL_S` seconds while a call
runs. ``tracemalloc`` would miss TensorFlow's C++ allocations, and
``ru_maxrss`` only ever grows over a process's life, so neither can attribute
memory to one codec in a run that holds several.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any, Callable, Sequence

import psutil

__all__ = ["SAMPLE_INTERVAL_S", "RSSSampler", "time_call", "summarize_times", "MIB"]

SAMPLE_INTERVAL_S = 0.002
"""Seconds between two RSS samples while a measured call runs."""

MIB = 1024 * 1024


class RSSSampler:
    """Context manager: the peak RSS (bytes) of this process while the block runs.

    Attributes:
        before: RSS when the block started (bytes).
        peak: Highest RSS seen during the block, including at its start and end (bytes).
        after: RSS when the block ended (bytes).
    """

    def __init__(self, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.before = self.peak = self.after = 0

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> "RSSSampler":
        self.before = self.peak = self._process.memory_info().rss
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.after = self._process.memory_info().rss
        self.peak = max(self.peak, self.after)

    @property
    def peak_increase(self) -> int:
        """Peak RSS above the RSS at the start of the block (bytes, >= 0)."""
        return max(0, self.peak - self.before)


def time_call(function: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """Call ``function(*args)``; return its result and the wall-clock time in seconds."""
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def summarize_times(seconds: Sequence[float]) -> dict[str, float | int]:
    """``{"median", "min", "max"}`` in seconds and ``"n"``, the number of timings."""
    return {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds), "n": len(seconds)}
