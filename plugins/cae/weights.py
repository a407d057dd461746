"""Shipping format of CAE weights: one ``.npz`` of named arrays, never pickled.

Entries:
    ``format``: 0-d str array, :data:`model.WEIGHTS_FORMAT`.
    ``config/num_filters``, ``config/latent_channels``: 0-d int64.
    ``lmbda``: 0-d float64, the λ the weights were trained for (informative).
    ``w/<name>``: float32 weights, names from :meth:`CAEModel.named_weights`.
    ``coder/cdf``, ``coder/cdf_offset`` (int32) and ``coder/quantization_offset``
    (float32 [M]): the range-coding tables, stored so every machine codes with
    bit-identical tables instead of recomputing them from the prior.

Loaded with ``np.load(..., allow_pickle=False)``.
"""

from __future__ import annotations

import os

import numpy as np

from neuralav.plugins.imaging.weights import (assign, check_sha256, config_arrays, config_from_arrays,
                                                read_arrays, read_checked, sha256_of, weight_arrays, write_npz)

__all__ = ["check_sha256", "export_weights", "load_model", "load_weights_into", "sha256_of", "write_npz"]


def export_weights(model, path: str | os.PathLike) -> str:
    """Writes `model`'s weights and coding tables to `path` (.npz).

    Builds the coding tables first if the model has none.

    Returns:
        The file's hex SHA-256.
    """
    from .model import WEIGHTS_FORMAT

    if model.coder is None:
        model.make_coder()
    arrays: dict[str, np.ndarray] = {"format": np.array(WEIGHTS_FORMAT), **config_arrays(model.config),
                                     "lmbda": np.array(model.lmbda, np.float64), **weight_arrays(model)}
    return write_npz(arrays, path)


def load_model(path: str | os.PathLike, expected_sha256: str | None = None):
    """Builds a coding-ready :class:`CAEModel` from an exported ``.npz`` (hash checked if given).

    Raises:
        ValueError: hash mismatch, wrong format, or missing/misshapen arrays.
    """
    from .config import ArchConfig
    from .model import CAEModel, WEIGHTS_FORMAT

    arrays = read_checked(path, expected_sha256, (WEIGHTS_FORMAT,))
    model = CAEModel(config_from_arrays(ArchConfig, arrays), lmbda=float(arrays["lmbda"]))
    assign(model.named_weights(), arrays, path)
    model.make_coder({name: arrays[f"coder/{name}"] for name in ("cdf", "cdf_offset", "quantization_offset")})
    return model


def load_weights_into(model, path: str | os.PathLike) -> None:
    """Copies the weights of an exported ``.npz`` into `model` (same architecture).

    Used to continue training from shipped weights. The coding tables are not
    loaded: they are recomputed from the prior after training.

    Raises:
        ValueError: wrong format, or missing/misshapen arrays.
    """
    from .model import WEIGHTS_FORMAT

    assign(model.named_weights(), read_arrays(path, (WEIGHTS_FORMAT,)), path)
