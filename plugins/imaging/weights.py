"""Shipping format of image-codec weights: one ``.npz`` of named arrays, never pickled.

Every codec's file holds a ``format`` entry (0-d str, e.g. ``neuralav-cae-weights-v1``),
its architecture under ``config/<field>``, float32 weights under ``w/<name>`` and
its range-coding tables, stored so that every machine codes with bit-identical
tables. This module reads and writes such files; each codec's ``weights`` module
says which arrays its model needs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Iterable

import numpy as np

__all__ = ["FORMATS", "assign", "check_sha256", "config_arrays", "config_from_arrays", "read_arrays",
           "read_checked", "sha256_of", "weight_arrays", "widened", "write_npz"]

FORMATS = {"cae": "neuralav-cae-weights-v1", "cae-vr": "neuralav-cae-variable-rate-weights-v1",
           "vae": "neuralav-vae-weights-v1", "nvc": "neuralav-nvc-residual-weights-v2"}
"""Codec -> the ``format`` entry of its weights files. A ``vae`` can start from a ``cae``
file's main transforms (the same layers), so the names live in one table (``cae-vr``: the
``cae`` variable-rate model, gains and a table per quality step; ``nvc``: its
P-frame residual coder and motion tables; v2: four conditional motion densities)."""


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: str | os.PathLike, expected_sha256: str | None) -> None:
    """Raises ValueError when `expected_sha256` is given and the file's hash differs."""
    if expected_sha256 is not None:
        actual = sha256_of(path)
        if actual != expected_sha256:
            raise ValueError(f"weights file {path} has sha256 {actual}, expected {expected_sha256}")


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


def read_arrays(path: str | os.PathLike, formats: Iterable[str]) -> dict[str, np.ndarray]:
    """Every array of a weights file whose ``format`` entry is one of `formats`.

    Raises:
        ValueError: the file has another (or no) ``format`` entry.
    """
    formats = tuple(formats)
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    if str(arrays.get("format", "")) not in formats:
        raise ValueError(f"{path} is not a {' or '.join(formats)} file")
    return arrays


def read_checked(path: str | os.PathLike, expected_sha256: str | None, formats: Iterable[str]) -> dict[str, np.ndarray]:
    """:func:`read_arrays` of a file whose hash is first checked (when `expected_sha256` is given).

    Raises:
        ValueError: hash mismatch, or another ``format``.
    """
    check_sha256(path, expected_sha256)
    return read_arrays(path, formats)


def assign(named_weights: dict, arrays: dict[str, np.ndarray], path: str | os.PathLike,
           prefixes: tuple[str, ...] = ("",)) -> None:
    """Copies ``arrays["w/<name>"]`` into each variable of `named_weights` whose name starts
    with one of `prefixes`.

    Raises:
        ValueError: such an array is missing or has another shape than its variable.
    """
    for name, weight in named_weights.items():
        if not name.startswith(prefixes):
            continue
        key = f"w/{name}"
        if key not in arrays or arrays[key].shape != tuple(weight.shape):
            raise ValueError(f"{path}: weight `{key}` is missing or has the wrong shape")
        weight.assign(arrays[key])


def config_arrays(config) -> dict[str, np.ndarray]:
    """``config/<field>`` 0-d arrays (int64 or float64) of an architecture dataclass."""
    arrays = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        arrays[f"config/{field.name}"] = np.array(value, np.int64 if isinstance(value, int) else np.float64)
    return arrays


def config_from_arrays(config_class, arrays: dict[str, np.ndarray]):
    """The architecture dataclass stored by :func:`config_arrays` (each field keeps its type).

    A field listed in the class's ``ADDED_FIELDS`` (fields added after files were shipped, e.g.
    ``mean_scale``) takes its default when a file predates it.

    Raises:
        KeyError: any other field is missing.
    """
    added = getattr(config_class, "ADDED_FIELDS", ())
    values = {}
    for field in dataclasses.fields(config_class):
        key = f"config/{field.name}"
        if key in arrays or field.name not in added:
            values[field.name] = type(field.default)(arrays[key])
    return config_class(**values)


def weight_arrays(model) -> dict[str, np.ndarray]:
    """``w/<name>`` (float32) of every named weight and ``coder/<name>`` of every coding table.

    Args:
        model: Has ``named_weights()`` and ``coder_tables()``.
    """
    arrays = {f"w/{name}": weight.numpy().astype(np.float32) for name, weight in model.named_weights().items()}
    arrays.update({f"coder/{name}": table for name, table in model.coder_tables().items()})
    return arrays


def widened(name: str, trained: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """A trained weight embedded in a wider model's freshly initialised one, preserving the function.

    Widening a model (more hidden channels N, more latent channels M) keeps every trained
    weight at its channels and gives the new channels the wider model's fresh values,
    except where they would change what the old channels compute: a kernel's entries
    from a new input channel to an old output channel are zero, so the new channels are
    computed (and get gradients) but no old output sees them until training makes it.
    A GDN's ``reparam_gamma`` (source x normalized channel) keeps its fresh values there:
    tfc initialises gamma to 0.1·I, whose off-diagonal entries encode 0. A new gain
    column starts at its row's mean log gain (the step size of the other channels).

    Args:
        name: The weight's name (:func:`named_weights`): the kind of weight is read from it
            (``kernel_real``/``kernel_imag``: RDFT kernels Cin x Cout x ...; ``kernel``:
            kh x kw x Cin x Cout; ``gain/...``: levels x M).
        trained: The trained array; no axis longer than `fresh`'s.
        fresh: The wider model's initial value.

    Raises:
        ValueError: `trained` is longer than `fresh` along some axis, or of another rank.
    """
    if trained.shape == fresh.shape:
        return trained
    if trained.ndim != fresh.ndim or any(t > f for t, f in zip(trained.shape, fresh.shape)):
        raise ValueError(f"weight `{name}` of shape {trained.shape} does not fit in {fresh.shape}")
    out = np.array(fresh, copy=True)
    out[tuple(slice(0, n) for n in trained.shape)] = trained
    leaf = name.rsplit("/", 1)[-1]
    if name.startswith("gain/"):
        out[:, trained.shape[1]:] = trained.mean(axis=1, keepdims=True)
        return out
    in_axis = {"kernel_real": 0, "kernel_imag": 0, "kernel": 2}.get(leaf)
    if in_axis is not None:
        block = [slice(None)] * out.ndim
        block[in_axis] = slice(trained.shape[in_axis], None)
        block[in_axis + 1] = slice(0, trained.shape[in_axis + 1])
        out[tuple(block)] = 0
    return out
