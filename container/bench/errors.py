"""Errors of the benchmark tool."""

from __future__ import annotations

from neuralav.registry.errors import NeuralavError

__all__ = ["BenchError", "NoMediaError"]


class BenchError(NeuralavError, ValueError):
    """A benchmark cannot run with the given input (bad value, empty result...)."""


class NoMediaError(BenchError, FileNotFoundError):
    """The folder given to a benchmark holds no usable image or audio clip."""
