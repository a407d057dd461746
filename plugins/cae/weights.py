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

import hashlib
import os
from pathlib import Path

import numpy as np

__all__ = ["check_sha256", "export_weights", "load_model", "load_weights_into", "sha256_of", "write_npz"]


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_weights(model, path: str | os.PathLike) -> str:
    """Writes `model`'s weights and coding tables to `path` (.npz).

    Builds the coding tables first if the model has none.

    Returns:
        The file's hex SHA-256.
    """
    from .model import WEIGHTS_FORMAT

    if model.coder is None:
        model.make_coder()
    arrays: dict[str, np.ndarray] = {
        "format": np.array(WEIGHTS_FORMAT),
        "config/num_filters": np.array(model.config.num_filters, np.int64),
        "config/latent_channels": np.array(model.config.latent_channels, np.int64),
        "lmbda": np.array(model.lmbda, np.float64),
    }
    for name, weight in model.named_weights().items():
        arrays[f"w/{name}"] = weight.numpy().astype(np.float32)
    for name, table in model.coder_tables().items():
        arrays[f"coder/{name}"] = table
    return write_npz(arrays, path)


def write_npz(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> str:
    """Writes `arrays` to `path` (.npz, uncompressed: byte-stable, loads fast) atomically.

    Returns:
        The file's hex SHA-256.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return sha256_of(path)


def check_sha256(path: str | os.PathLike, expected_sha256: str | None) -> None:
    """Raises ValueError when `expected_sha256` is given and the file's hash differs."""
    if expected_sha256 is not None:
        actual = sha256_of(path)
        if actual != expected_sha256:
            raise ValueError(f"weights file {path} has sha256 {actual}, expected {expected_sha256}")


def load_model(path: str | os.PathLike, expected_sha256: str | None = None):
    """Builds a coding-ready :class:`CAEModel` from an exported ``.npz``.

    Args:
        path: The weights file.
        expected_sha256: If given, the file's hash must match.

    Raises:
        ValueError: hash mismatch, wrong format, or missing/misshapen arrays.
    """
    from .config import ArchConfig
    from .model import CAEModel

    check_sha256(path, expected_sha256)
    arrays = _read_arrays(path)
    config = ArchConfig(int(arrays["config/num_filters"]), int(arrays["config/latent_channels"]))
    model = CAEModel(config, lmbda=float(arrays["lmbda"]))
    _assign(model, arrays, path)
    model.make_coder({name: arrays[f"coder/{name}"]
                      for name in ("cdf", "cdf_offset", "quantization_offset")})
    return model


def load_weights_into(model, path: str | os.PathLike) -> None:
    """Copies the weights of an exported ``.npz`` into `model` (same architecture).

    Used to continue training from shipped weights. The coding tables are not
    loaded: they are recomputed from the prior after training.

    Raises:
        ValueError: wrong format, or missing/misshapen arrays.
    """
    _assign(model, _read_arrays(path), path)


def _read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    from .model import WEIGHTS_FORMAT

    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    if str(arrays.get("format", "")) != WEIGHTS_FORMAT:
        raise ValueError(f"{path} is not a {WEIGHTS_FORMAT} file")
    return arrays


def _assign(model, arrays: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    for name, weight in model.named_weights().items():
        key = f"w/{name}"
        if key not in arrays or arrays[key].shape != tuple(weight.shape):
            raise ValueError(f"{path}: weight `{key}` is missing or has the wrong shape")
        weight.assign(arrays[key])
