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

import os

import numpy as np

from neuralav.plugins.imaging.gains import rows_for
from neuralav.plugins.imaging.weights import (FORMATS, assign, config_arrays, config_from_arrays,
                                                read_arrays, read_checked, sha256_of, weight_arrays, widened,
                                                write_npz)

__all__ = ["export_weights", "load_model", "load_weights_into", "sha256_of"]

_TABLES = ("side_cdf", "side_cdf_offset", "cdf", "cdf_offset")

TRANSFORMS_FORMAT = FORMATS["cae"]
"""Format of the ``cae`` files whose main transforms a VAE can start from."""


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
                                     "lmbdas": np.array(model.lmbdas, np.float64),
                                     **config_arrays(model.config), **weight_arrays(model)}
    arrays.update(model.integer_hyper.to_arrays())
    return write_npz(arrays, path)


def load_model(path: str | os.PathLike, expected_sha256: str | None = None):
    """Builds a coding-ready :class:`VAEModel` from an exported ``.npz`` (hash checked if given).

    Raises:
        ValueError: hash mismatch, wrong format, or missing/misshapen arrays.
    """
    from .config import ArchConfig
    from .integer import IntegerHyperSynthesis
    from .model import VAEModel, WEIGHTS_FORMAT

    arrays = read_checked(path, expected_sha256, (WEIGHTS_FORMAT,))
    try:
        model = VAEModel(config_from_arrays(ArchConfig, arrays), lmbdas=tuple(float(v) for v in arrays["lmbdas"]))
        assign(model.named_weights(), arrays, path)
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
    the same layers, :mod:`neuralav.plugins.imaging.transforms`, so N and M must
    match), and the hyperprior, the hyper transforms and the gains keep their
    fresh initialisation, so a trained ``cae`` gives the VAE a head start.

    A VAE file with other λ than `model` (e.g. one shipped level, to start a
    variable-rate model) gives every weight but the gains; each gain row of
    `model` starts from the file's row of the nearest λ (in log), moved by
    ``±0.5·log(λ / λ_file)`` (the MSE-optimal step ~ 1/sqrt(λ)).

    A scale-hyperprior file loaded into a mean-scale model (``ArchConfig.mean_scale``)
    gives the mean channels of the hyper-synthesis' last layer zero weights: the model
    starts as the file's model (every mean 0) and learns the means from there.

    A file of a narrower model (fewer hidden channels N, latent channels M or hyper
    channels) starts a wider `model` as the same picture: trained weights keep their
    channels and the new ones are initialised so that no old output sees them
    (:func:`~neuralav.plugins.imaging.weights.widened`); the new latent channels only
    add their rate until training puts them to use.

    Raises:
        ValueError: wrong format, or missing/misshapen arrays.
    """
    arrays = _read_arrays(path, accept=(TRANSFORMS_FORMAT,))
    if str(arrays["format"]) == TRANSFORMS_FORMAT:
        assign(model.named_weights(), arrays, path, prefixes=("analysis/", "synthesis/"))
        return
    if model.config.mean_scale and not bool(arrays.get("config/mean_scale", False)):
        arrays.update(_with_zero_means(arrays))
    arrays.update(_widened_into(model, arrays))
    file_lmbdas = np.asarray(arrays["lmbdas"], np.float64)
    if tuple(file_lmbdas) == tuple(model.lmbdas):
        assign(model.named_weights(), arrays, path)
        return
    named = {k: v for k, v in model.named_weights().items() if not k.startswith("gain/")}
    assign(named, arrays, path)
    log_gain, log_inverse_gain = rows_for(model.lmbdas, file_lmbdas, arrays["w/gain/log_gain"],
                                          arrays["w/gain/log_inverse_gain"])
    model.log_gain.assign(log_gain)
    model.log_inverse_gain.assign(log_inverse_gain)


def _with_zero_means(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The last hyper-synthesis layer of a scale-only file with M zero mean channels appended."""
    out = {}
    for name in ("kernel", "bias"):
        key = f"w/{_LAST_HYPER_LAYER}/{name}"
        out[key] = np.concatenate([arrays[key], np.zeros_like(arrays[key])], axis=-1)
    return out


_LAST_HYPER_LAYER = "hyper_synthesis/layer_2"


def _widened_into(model, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``w/<name>`` arrays of a narrower model's file widened to `model`'s shapes (those that differ).

    The last hyper-synthesis layer of a mean-scale model holds [indexes, means] along its
    output axis: each half is widened on its own.
    """
    out = {}
    for name, variable in model.named_weights().items():
        key = f"w/{name}"
        fresh = variable.numpy()
        if key not in arrays:
            continue
        # gain rows are levels (another λ set is mapped row by row later): only M can widen
        compared = slice(1, None) if name.startswith("gain/") else slice(None)
        if arrays[key].shape[compared] == fresh.shape[compared]:
            continue
        if name.startswith(_LAST_HYPER_LAYER) and model.config.mean_scale:
            parts = zip(np.split(arrays[key], 2, axis=-1), np.split(fresh, 2, axis=-1))
            out[key] = np.concatenate([widened(name, t, f) for t, f in parts], axis=-1)
        elif name.startswith("gain/"):
            out[key] = widened(name, arrays[key], np.zeros((arrays[key].shape[0], fresh.shape[1]), np.float32))
        else:
            out[key] = widened(name, arrays[key], fresh)
    return out


def _read_arrays(path: str | os.PathLike, accept: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    from .model import WEIGHTS_FORMAT

    return read_arrays(path, (WEIGHTS_FORMAT, *accept))
