"""Shipping format of the ``nvc`` residual coder: one ``.npz`` of named arrays, never pickled.

Entries (as the image codecs' files, :mod:`neuralav.plugins.imaging.weights`):
    ``format``: 0-d str, ``FORMATS["nvc"]``.
    ``config/<field>``: the :class:`~neuralav.plugins.vae.config.ArchConfig` fields.
    ``lmbdas``: float64 [L], λ of each level (level *l* uses gain row *l*).
    ``w/<name>``: float32 training weights (:meth:`ResidualModel.named_weights`).
    ``coder/...`` (int32): range-coding tables of ``z`` and ``y``.
    ``int_hyper/...``: the fixed-point hyper-synthesis (:mod:`neuralav.plugins.vae.integer`).
    ``int_synthesis/...``: the integer synthesis (:mod:`.exact`).
    ``motion/cdf``, ``motion/cdf_offset`` (int32): the motion-vector difference tables
    (:mod:`.vectors`).

The integer networks and the tables are stored, never recomputed on load, so every
machine decodes the same pixels from the same bytes.
"""

from __future__ import annotations

import os

import numpy as np

from neuralav.plugins.imaging.weights import (FORMATS, assign, config_arrays, config_from_arrays,
                                                read_arrays, read_checked, weight_arrays, write_npz)

__all__ = ["WEIGHTS_FORMAT", "export_weights", "load_model", "load_weights_into"]

WEIGHTS_FORMAT = FORMATS["nvc"]

_TABLES = ("side_cdf", "side_cdf_offset", "cdf", "cdf_offset")


def export_weights(model, path: str | os.PathLike, motion_tables: dict[str, np.ndarray] | None = None) -> str:
    """Writes the coding-ready residual model (and motion tables) to `path`. Returns its SHA-256.

    Args:
        model: A trained :class:`~.model.ResidualModel`.
        path: Output ``.npz``.
        motion_tables: ``cdf``, ``cdf_offset`` of the vector-difference model; None: the
            default table of :mod:`.vectors`.
    """
    from .vectors import default_tables

    model.make_coder()
    motion_tables = motion_tables or default_tables()
    arrays = {"format": np.array(WEIGHTS_FORMAT), "lmbdas": np.array(model.lmbdas, np.float64),
              **config_arrays(model.config), **weight_arrays(model)}
    arrays.update(model.integer_hyper.to_arrays())
    arrays.update(model.integer_synthesis.to_arrays())
    arrays.update({f"motion/{k}": np.asarray(v, np.int32) for k, v in motion_tables.items()})
    return write_npz(arrays, path)


def load_model(path: str | os.PathLike, expected_sha256: str | None = None):
    """A coding-ready :class:`~.model.ResidualModel` with ``motion_tables`` from an exported file.

    Raises:
        ValueError: hash mismatch, wrong format, or missing/misshapen arrays.
    """
    from neuralav.plugins.vae.config import ArchConfig
    from neuralav.plugins.vae.integer import IntegerHyperSynthesis

    from .exact import IntegerSynthesis
    from .model import ResidualModel

    arrays = read_checked(path, expected_sha256, (WEIGHTS_FORMAT,))
    try:
        model = ResidualModel(config_from_arrays(ArchConfig, arrays),
                              lmbdas=tuple(float(v) for v in arrays["lmbdas"]))
        assign(model.named_weights(), arrays, path)
        model.make_coder({name: arrays[f"coder/{name}"] for name in _TABLES},
                         IntegerHyperSynthesis.from_arrays(arrays), IntegerSynthesis.from_arrays(arrays))
        model.motion_tables = {"cdf": arrays["motion/cdf"], "cdf_offset": arrays["motion/cdf_offset"]}
    except KeyError as error:
        raise ValueError(f"{path}: array {error} is missing") from None
    return model


def load_weights_into(model, path: str | os.PathLike) -> None:
    """Copies an exported file's training weights into `model` (to continue training).

    Raises:
        ValueError: wrong format, or missing/misshapen arrays.
    """
    assign(model.named_weights(), read_arrays(path, (WEIGHTS_FORMAT,)), path)
