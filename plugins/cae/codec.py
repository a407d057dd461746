"""`cae` encoder and decoder: one range-coded latent per frame (intra only).

Payload of one frame: the image codecs' framing (:mod:`neuralav.plugins.imaging.payload`)
with these fields after the model id (big-endian)::

    offset size  field
    6      2     latent height h = ceil(height / 16)
    8      2     latent width  w = ceil(width / 16)
    10     n     range-coded latent (tfc ``ContinuousBatchedEntropyModel.compress``)
    10+n   4     CRC-32

Before any TensorFlow call the decoder checks the framing, that the level and
model id are its own, that (h, w) match the frame size, and that n bytes can
range-code h x w x M latent values at all with this model's tables
(:func:`~neuralav.plugins.imaging.runtime.min_coded_bits`): a packet claiming a
frame its bytes cannot justify never makes the model allocate it.

Weights are loaded once per file and process (:mod:`neuralav.plugins.imaging.runtime`).
The environment variable ``NEURALAV_CAE_WEIGHTS_DIR`` points at another folder of
``q{N}.npz`` files (no hash check then), e.g. fresh exports or a tiny test model.
"""

from __future__ import annotations

import struct

import numpy as np

from neuralav.plugins.imaging.codec import ImageCodec, ImageDecoder, ImageEncoder
from neuralav.plugins.imaging.geometry import latent_shape
from neuralav.plugins.imaging.payload import PAYLOAD_FORMAT, Framing
from neuralav.plugins.imaging.runtime import LoadedModel, min_coded_bits
from neuralav.registry import InvalidDataError

from .quality import WEIGHTS_DIR_ENV, ZOO
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
    missing_hint = " (export them with `python -m neuralav.plugins.cae.train --run qN --export-only --export PATH`)"


def load_level(quality: int) -> LoadedModel:
    """Loads (once per file and process) the model of a `quality` level.

    Raises:
        PluginError: the weights file is missing, unreadable or has the wrong hash.
    """
    return CAECodec.load_model(quality)


class CAEEncoder(CAECodec, ImageEncoder):
    """Encoder of the `cae` codec. Option ``quality`` selects the level (see :mod:`.quality`)."""

    def code(self, image: np.ndarray) -> tuple[tuple, bytes]:
        """H x W x 3 uint8 RGB -> ((h, w) of the latent, range-coded latent)."""
        string, shape = self.loaded.compress(image)
        return tuple(int(v) for v in shape.numpy()), string.numpy()


class CAEDecoder(CAECodec, ImageDecoder):
    """Decoder of the `cae` codec; its quality level comes from the codec header."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._bits_per_position = float(np.sum(min_coded_bits(self.loaded.model.coder.cdf.numpy())))

    def check_fits(self, fields: tuple, body: bytes, width: int, height: int) -> None:
        """Refuses a latent shape other than the frame's, or a string too short to code it."""
        expected = latent_shape(width, height)
        if tuple(fields) != expected:
            raise InvalidDataError(f"`cae` packet has a {fields[0]}x{fields[1]} latent; "
                                   f"a {width}x{height} frame needs {expected[0]}x{expected[1]}")
        self.refuse_short(len(body), expected[0] * expected[1] * self._bits_per_position, width, height)

    def reconstruct(self, fields: tuple, body: bytes, width: int, height: int) -> np.ndarray:
        """Range-decodes the latent and synthesizes the picture."""
        image = self.loaded.decompress(body, np.array(fields, np.int32), np.array([height, width], np.int32))
        return image.numpy()
