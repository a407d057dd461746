"""`cae` encoder and decoder: one range-coded latent per frame (intra only).

Payload of one frame: the image codecs' framing (:mod:`neuralav.plugins.imaging.payload`)
with these fields after the model id (big-endian); format 1 (one-level files, a one-byte
integer quality)::

    offset size  field
    6      2     latent height h = ceil(height / 16)
    8      2     latent width  w = ceil(width / 16)
    10     n     range-coded latent (tfc ``ContinuousBatchedEntropyModel.compress``)
    10+n   4     CRC-32

Format 2, written by the variable-rate model (:mod:`.variable_rate`), holds the quality
in two bytes (quality · 256, a multiple of 32: the model codes steps of 1/8), so every
later field sits a byte further.

Before any TensorFlow call the decoder checks the framing, that the quality and model
id name a model it has (and, for format 2, a quality on the model's 1/8 grid), that
(h, w) match the frame size, and that n bytes can range-code h x w x M latent values at
all with that model's tables (:func:`~neuralav.plugins.imaging.runtime.min_coded_bits`):
a packet claiming a frame its bytes cannot justify never makes the model allocate it.

Weights are loaded once per file and process (:mod:`neuralav.plugins.imaging.runtime`).
The environment variable ``NEURALAV_CAE_WEIGHTS_DIR`` points at another folder holding
``vr.npz`` and ``q{N}.npz`` (no hash check then), e.g. fresh exports or a tiny test model.
"""

from __future__ import annotations

import struct

import numpy as np

from neuralav.plugins.imaging.codec import ImageCodec, VariableRateDecoder, VariableRateEncoder
from neuralav.plugins.imaging.geometry import latent_shape
from neuralav.plugins.imaging.payload import PAYLOAD_FORMAT, VARIABLE_RATE_FORMAT, Framing
from neuralav.plugins.imaging.runtime import LoadedModel, min_coded_bits
from neuralav.registry import InvalidDataError

from .quality import LEVEL_FILE_QUALITIES, WEIGHTS_DIR_ENV, ZOO
from .weights import load_model

__all__ = ["CAEEncoder", "CAEDecoder", "LoadedLevel", "load_level", "pack_payload",
           "unpack_payload", "PAYLOAD_FORMAT", "WEIGHTS_DIR_ENV"]

FRAMING = Framing("cae", struct.Struct(">HH"), min_body=1)
"""Payload layout: the latent's (h, w) after the model id."""

LoadedLevel = LoadedModel
"""Former name of :class:`~neuralav.plugins.imaging.runtime.LoadedModel` (kept for callers)."""


def latent_shape_of(width: int, height: int) -> tuple[int, int]:
    """Latent spatial shape (h, w) of a width x height frame (16x downsampling, padded)."""
    return latent_shape(width, height)


def pack_payload(quality: int, model_id: bytes, latent_shape: tuple[int, int], string: bytes) -> bytes:
    """Serializes one frame (layout in the module docstring)."""
    return FRAMING.pack(quality, model_id, tuple(latent_shape), string)


def unpack_payload(payload: bytes) -> tuple[int, bytes, tuple[int, int], bytes]:
    """Parses and CRC-checks one frame's payload.

    Returns:
        (quality, model_id, latent_shape, range-coded string).

    Raises:
        InvalidDataError: truncated, failing its CRC-32, or of another payload format.
    """
    quality, model_id, shape, string = FRAMING.unpack(payload)
    return quality, model_id, shape, string


class CAECodec(ImageCodec):
    """What the `cae` encoder and decoder share."""

    zoo = ZOO
    framing = FRAMING
    read_model = staticmethod(load_model)
    missing_hint = (" (export them with `python -m neuralav.plugins.cae.train --run RUN --export-only "
                    "--export PATH`, see plugins/cae/README.md)")


def load_level(quality: int) -> LoadedModel:
    """Loads (once per file and process) the model of a `quality` level.

    Raises:
        PluginError: the weights file is missing, unreadable or has the wrong hash.
    """
    return CAECodec.load_model(quality)


class CAEEncoder(CAECodec, VariableRateEncoder):
    """Encoder of the `cae` codec. Option ``quality`` (real, :mod:`.quality`): the
    variable-rate model at the nearest 1/8, or the one-level file of a whole quality of
    :data:`.quality.LEVEL_FILE_QUALITIES`."""

    level_file_qualities = LEVEL_FILE_QUALITIES

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.grid_point = None
        """The variable-rate model's grid point of ``quality`` (None with a one-level file)."""
        self.coded_quality = self.quality
        """The quality the payloads carry (``quality`` on the model's 1/8 grid)."""
        if not self.level_file:
            model, low = self.loaded.model, self.zoo.variable_rate.min_quality
            self.grid_point = model.grid_index(self.quality - low)
            self.coded_quality = low + self.grid_point * model.quality_step

    def encode_image(self, image: np.ndarray, pix_fmt: str) -> bytes:
        """Codes one HxWx3 uint8 ``rgb24`` image into a self-checking payload (format 2, or
        format 1 with a one-level file)."""
        image = self.checked_image(image, pix_fmt)
        model = self.loaded.model
        with self.loaded.lock:
            if self.level_file:
                string, shape = model.compress(image)
                string, shape = string.numpy(), tuple(int(v) for v in shape.numpy())
            else:
                string, shape = model.compress(image, self.grid_point)
        return self.seal(self.coded_quality, shape, string)


class CAEDecoder(CAECodec, VariableRateDecoder):
    """Decoder of the `cae` codec. Each payload names its model: format 2 the variable-rate
    model at the payload's quality, format 1 the one-level file of its integer level."""

    def bounds(self, loaded: LoadedModel) -> dict[int, float]:
        """Fewest bits of one latent position, per grid point (filled as payloads need them;
        a one-level file's under key 0)."""
        return {}

    def decode_image(self, payload: bytes, width: int, height: int, pix_fmt: str) -> np.ndarray:
        """Decodes one payload into an HxWx3 uint8 ``rgb24`` image.

        Raises:
            InvalidDataError: truncated or corrupt payload, a quality or model this decoder
                does not have, a latent shape other than the frame's, a string too short
                to code it, or one the range decoder rejects.
        """
        quality, model_id, fields, body = FRAMING.unpack(payload)
        loaded, position, min_bits = self.model_of(payload[0], quality, model_id)
        expected = latent_shape(width, height)
        if tuple(fields) != expected:
            raise InvalidDataError(f"`cae` packet has a {fields[0]}x{fields[1]} latent; "
                                   f"a {width}x{height} frame needs {expected[0]}x{expected[1]}")
        model = loaded.model
        variable = payload[0] == VARIABLE_RATE_FORMAT
        index = model.grid_index(position) if variable else 0
        if variable and index * model.quality_step != position:
            raise InvalidDataError(f"`cae` packet names quality {quality:g}, not a multiple of "
                                   f"{model.quality_step:g} (the model's quality step)")
        if index not in min_bits:
            cdf = model.grid_cdf(index) if variable else model.coder.cdf.numpy()
            min_bits[index] = float(np.sum(min_coded_bits(cdf)))
        self.refuse_short(len(body), expected[0] * expected[1] * min_bits[index], width, height)
        if variable:
            return loaded.decompress(body, expected, index, width, height)
        return loaded.decompress(body, np.array(expected, np.int32), np.array([height, width], np.int32)).numpy()
