"""The error of the metrics."""

from __future__ import annotations

from neuralav.registry.errors import NeuralavError

__all__ = ["MetricError"]


class MetricError(NeuralavError, ValueError):
    """A metric cannot be computed from the given input (mismatched shapes, too few points...)."""
