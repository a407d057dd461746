"""Shipping format of CAE weights: one ``.npz`` of named arrays, never pickled.

Entries:
    ``format``: 0-d str array, :data:`model.WEIGHTS_FORMAT`.
    ``config/num_filters``, ``config/latent_channels``: 0-d int64.
    ``lmbda``: 0-d float64, the λ the weights were trained for (informative).
    ``w/<name>``: float32 weights, names from :meth:`CAEModel.named_weights`.
    ``coder/cdf``, ``coder/cdf_offset`` (int32) and ``coder/quantization_offset``
    (float32 [M]): the range-coding tables, stored so every machine codes with
    bit-identical tables instead of recomputing them from the prior.

The variable-rate model (:mod:`.variable_rate`, format ``FORMATS["cae-vr"]``) has
``lmbdas`` (float64 [L]) instead of ``lmbda``, ``w/gain/log_gain`` and
``w/gain/log_inverse_gain`` (float32 L x M), and its tables for every grid point:
``coder/cdf`` (int32, flat), ``coder/cdf_start`` (int64 [P + 1]) and ``coder/cdf_offset``
(int32 [P, M]).

Loaded with ``np.load(..., allow_pickle=False)``.
"""

from __future__ import annotations

import os

import numpy as np

from neuralav.plugins.imaging.gains import rows_for
from neuralav.plugins.imaging.weights import (FORMATS, assign, check_sha256, config_arrays, config_from_arrays,
                                                read_arrays, read_checked, sha256_of, weight_arrays, write_npz)

__all__ = ["check_sha256", "export_weights", "load_model", "load_weights_into", "sha256_of", "write_npz"]


def export_weights(model, path: str | os.PathLike) -> str:
    """Writes `model`'s weights and coding tables to `path` (.npz): a one-level
    :class:`~.model.CAEModel` or a :class:`~.variable_rate.VariableRateCAE`.

    The coding tables are built from the current weights first.

    Returns:
        The file's hex SHA-256.
    """
    from .variable_rate import VariableRateCAE

    if isinstance(model, VariableRateCAE):
        from .variable_rate import WEIGHTS_FORMAT

        model.make_coder()
        head = {"format": np.array(WEIGHTS_FORMAT), "lmbdas": np.array(model.lmbdas, np.float64)}
    else:
        from .model import WEIGHTS_FORMAT

        if model.coder is None:
            model.make_coder()
        head = {"format": np.array(WEIGHTS_FORMAT), "lmbda": np.array(model.lmbda, np.float64)}
    return write_npz({**head, **config_arrays(model.config), **weight_arrays(model)}, path)


def load_model(path: str | os.PathLike, expected_sha256: str | None = None):
    """Builds a coding-ready model from an exported ``.npz`` (hash checked if given): a
    :class:`~.model.CAEModel` for a one-level file, a :class:`~.variable_rate.VariableRateCAE`
    for a variable-rate one.

    Raises:
        ValueError: hash mismatch, wrong format, or missing/misshapen arrays.
    """
    from .config import ArchConfig
    from .model import CAEModel, WEIGHTS_FORMAT
    from .variable_rate import VariableRateCAE, WEIGHTS_FORMAT as VR_FORMAT

    arrays = read_checked(path, expected_sha256, (WEIGHTS_FORMAT, VR_FORMAT))
    try:
        config = config_from_arrays(ArchConfig, arrays)
        if str(arrays["format"]) == VR_FORMAT:
            model = VariableRateCAE(config, tuple(float(v) for v in arrays["lmbdas"]))
            names = ("cdf", "cdf_start", "cdf_offset")
        else:
            model = CAEModel(config, lmbda=float(arrays["lmbda"]))
            names = ("cdf", "cdf_offset", "quantization_offset")
        assign(model.named_weights(), arrays, path)
        model.make_coder({name: arrays[f"coder/{name}"] for name in names})
    except KeyError as error:
        raise ValueError(f"{path}: array {error} is missing") from None
    return model


def load_weights_into(model, path: str | os.PathLike) -> None:
    """Copies the weights of an exported ``.npz`` into `model`, to continue training.

    The coding tables are not loaded: they are rebuilt from the prior at export. A
    variable-rate `model` also starts from:

    - a one-level ``cae`` file (``plugins/cae/weights/qN.npz``): its transforms and prior,
      and gain rows ``±0.5·log(λ / λ_file)`` (1 at the file's λ);
    - a ``vae`` file (e.g. ``plugins/vae/weights/vr.npz``): its main transforms (the same
      layers) and, when its λ are the model's, its gain rows; the prior stays fresh (train
      it first with ``--freeze-steps``);
    - a variable-rate ``cae`` file with other λ: every weight but the gains, each gain
      row taken from the file's row of the nearest λ, moved by ``±0.5·log(λ / λ_file)``.

    Raises:
        ValueError: wrong format, or missing/misshapen arrays.
    """
    from .model import WEIGHTS_FORMAT
    from .variable_rate import VariableRateCAE, WEIGHTS_FORMAT as VR_FORMAT

    if not isinstance(model, VariableRateCAE):
        assign(model.named_weights(), read_arrays(path, (WEIGHTS_FORMAT,)), path)
        return
    arrays = read_arrays(path, (WEIGHTS_FORMAT, VR_FORMAT, FORMATS["vae"]))
    named = model.named_weights()
    fmt = str(arrays["format"])
    if fmt == WEIGHTS_FORMAT:
        assign(named, arrays, path, prefixes=("analysis/", "synthesis/", "prior/"))
        unit = np.zeros((1, model.config.latent_channels), np.float32)  # the file's latent: gain 1 at its λ
        log_gain, log_inverse_gain = rows_for(model.lmbdas, [float(arrays["lmbda"])], unit, unit)
        model.log_gain.assign(log_gain)
        model.log_inverse_gain.assign(log_inverse_gain)
        return
    prefixes = ("analysis/", "synthesis/") if fmt == FORMATS["vae"] else ("analysis/", "synthesis/", "prior/")
    assign(named, arrays, path, prefixes=prefixes)
    file_lmbdas = np.asarray(arrays["lmbdas"], np.float64)
    log_gain, log_inverse_gain = rows_for(model.lmbdas, file_lmbdas, arrays["w/gain/log_gain"],
                                          arrays["w/gain/log_inverse_gain"])
    model.log_gain.assign(log_gain)
    model.log_inverse_gain.assign(log_inverse_gain)
