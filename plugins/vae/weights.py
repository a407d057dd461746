"""Shipping format of VAE weights: one ``.npz`` of named arrays, never pickled.

Entries:
    ``format``: 0-d str array, :data:`model.WEIGHTS_FORMAT`.
    ``config/<field>``: the :class:`ArchConfig` fields (0-d int64 or float64).
    ``lmbdas``: float64 [L], the λ of each level (level *l* uses gain row *l*).
    ``w/<name>``: float32 weights, names from :meth:`VAEModel.named_weights`.
    ``coder/side_cdf``, ``coder/side_cdf_offset``, ``coder/cdf``, ``coder/cdf_offset``
    (int32): the range-coding tables of ``z`` and ``y``.
    ``int_hyper/...`` (int64): the fixed-point hyper-synthesis (:mod:`.integer`).

Tables and the integer network are stored rather than recomputed, so every
machine codes with bit-identical tables and scale indices. Loaded with
``np.load(..., allow_pickle=False)``.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from neuralav.plugins.cae.weights import check_sha256, sha256_of, write_npz

__all__ = ["export_weights", "load_model", "load_weights_into", "sha256_of"]

_TABLES = ("side_cdf", "side_cdf_offset", "cdf", "cdf_offset")


def export_weights(model, path: str | os.PathLike) -> str:
    """Writes `model`'s weights, coding tables and integer hyper-synthesis to `path` (.npz).

    The coding tables and the integer network are (re)built from the current
    weights first.

    Returns:
        The file's hex SHA-256.
    """
    from .model import WEIGHTS_FORMAT

    model.make_coder()
    arrays: dict[str, np.ndarray] = {"format": np.array(WEIGHTS_FORMAT),
                                     "lmbdas": np.array(model.lmbdas, np.float64)}
    for field in dataclasses.fields(model.config):
        value = getattr(model.config, field.name)
        arrays[f"config/{field.name}"] = np.array(value, np.int64 if isinstance(value, int) else np.float64)
    for name, weight in model.named_weights().items():
        arrays[f"w/{name}"] = weight.numpy().astype(np.float32)
    for name, table in model.coder_tables().items():
        arrays[f"coder/{name}"] = table
    arrays.update(model.integer_hyper.to_arrays())
    return write_npz(arrays, path)


def load_model(path: str | os.PathLike, expected_sha256: str | None = None):
    """Builds a coding-ready :class:`VAEModel` from an exported ``.npz``.

    Args:
        path: The weights file.
        expected_sha256: If given, the file's hash must match.

    Raises:
        ValueError: hash mismatch, wrong format, or missing/misshapen arrays.
    """
    from .config import ArchConfig
    from .integer import IntegerHyperSynthesis
    from .model import VAEModel

    check_sha256(path, expected_sha256)
    arrays = _read_arrays(path)
    try:
        config = ArchConfig(**{  # each field keeps its type (int or float)
            f.name: type(f.default)(arrays[f"config/{f.name}"]) for f in dataclasses.fields(ArchConfig)})
        model = VAEModel(config, lmbdas=tuple(float(v) for v in arrays["lmbdas"]))
        _assign(model, arrays, path)
        model.make_coder({name: arrays[f"coder/{name}"] for name in _TABLES},
                         IntegerHyperSynthesis.from_arrays(arrays))
    except KeyError as error:
        raise ValueError(f"{path}: array {error} is missing") from None
    return model


def load_weights_into(model, path: str | os.PathLike) -> None:
    """Copies the weights of an exported ``.npz`` into `model`.

    Used to continue training from shipped weights; tables are rebuilt at export.
    `path` may also be a ``cae`` weights file (``plugins/cae/weights/qN.npz``):
    then only the main analysis and synthesis transforms are copied (they are
    the same layers, so N and M must match), and the hyperprior, the hyper
    transforms and the gains keep their fresh initialisation. A trained ``cae``
    gives the VAE a head start of hours of CPU training.

    Raises:
        ValueError: wrong format, or missing/misshapen arrays.
    """
    from neuralav.plugins.cae.model import WEIGHTS_FORMAT as CAE_FORMAT

    arrays = _read_arrays(path, accept=(CAE_FORMAT,))
    if str(arrays["format"]) == CAE_FORMAT:
        _assign(model, arrays, path, prefixes=("analysis/", "synthesis/"))
    else:
        _assign(model, arrays, path)


def _read_arrays(path: str | os.PathLike, accept: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    from .model import WEIGHTS_FORMAT

    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    if str(arrays.get("format", "")) not in (WEIGHTS_FORMAT, *accept):
        raise ValueError(f"{path} is not a {' or '.join((WEIGHTS_FORMAT, *accept))} file")
    return arrays


def _assign(model, arrays: dict[str, np.ndarray], path: str | os.PathLike,
            prefixes: tuple[str, ...] = ("",)) -> None:
    for name, weight in model.named_weights().items():
        if not name.startswith(prefixes):
            continue
        key = f"w/{name}"
        if key not in arrays or arrays[key].shape != tuple(weight.shape):
            raise ValueError(f"{path}: weight `{key}` is missing or has the wrong shape")
        weight.assign(arrays[key])
