"""`vae` encoder and decoder: a range-coded hyper-latent and latent per frame (intra only).

Payload of one frame: the image codecs' framing (:mod:`neuralav.plugins.imaging.payload`)
with this field after the model id (big-endian)::

    offset  size  field
    6       4     n = length of the side string
    10      n     range-coded hyper-latent ``z`` (factorized prior)
    10+n    m     range-coded latent ``y`` (Gaussian scales from the integer hyper-synthesis)
    10+n+m  4     CRC-32

The latent shapes follow from the frame size (``y``: ceil(H/16) x ceil(W/16),
``z``: ceil(H/64) x ceil(W/64), after edge padding to a multiple of 16). The
decoder checks, before any TensorFlow call: the framing, that the level and model
id are its own, that n fits, and that each string is long enough to range-code the
latent values the frame size implies with this model's tables
(:func:`~neuralav.plugins.imaging.runtime.min_coded_bits`): a packet claiming a
frame its bytes cannot justify never makes the model allocate it.

The scale indices of ``y`` are computed in fixed point from the decoded ``z``
(:mod:`.integer`), identically at encode and decode time, so the latent string
always parses as it was written. Weights are loaded once per file and process
(:mod:`neuralav.plugins.imaging.runtime`); the environment variable
``NEURALAV_VAE_WEIGHTS_DIR`` points at another folder holding ``q1..q4.npz`` (no
hash check then), e.g. fresh exports or a tiny test model.
"""

from __future__ import annotations

import struct

import numpy as np

from neuralav.plugins.imaging.codec import ImageCodec, ImageDecoder, ImageEncoder
from neuralav.plugins.imaging.payload import PAYLOAD_FORMAT, Framing
from neuralav.plugins.imaging.runtime import LoadedModel, min_coded_bits
from neuralav.registry import InvalidDataError, PluginError

from .config import latent_shapes
from .quality import WEIGHTS_DIR_ENV, ZOO, level as get_level
from .weights import load_model

__all__ = ["VAEEncoder", "VAEDecoder", "LoadedModel", "load_model_file", "weights_path",
           "pack_payload", "unpack_payload", "PAYLOAD_FORMAT", "WEIGHTS_DIR_ENV"]

FRAMING = Framing("vae", struct.Struct(">I"))
"""Payload layout: the side string's length after the model id."""

weights_path = ZOO.weights_path


def pack_payload(quality: int, model_id: bytes, side: bytes, string: bytes) -> bytes:
    """Serializes one frame (layout in the module docstring)."""
    return FRAMING.pack(quality, model_id, (len(side),), side + string)


def unpack_payload(payload: bytes) -> tuple[int, bytes, bytes, bytes]:
    """Parses and CRC-checks one frame's payload.

    Returns:
        (quality, model_id, side string, latent string).

    Raises:
        InvalidDataError: truncated, failing its CRC-32, of another payload
            format, or with a side-string length that does not fit.
    """
    quality, model_id, fields, strings = FRAMING.unpack(payload)
    return (quality, model_id, *split_strings(fields, strings))


def split_strings(fields: tuple, strings: bytes) -> tuple[bytes, bytes]:
    """(side string, latent string) of a payload's strings, given its fields (side length,).

    Raises:
        InvalidDataError: the side-string length does not fit.
    """
    (side_length,) = fields
    if side_length > len(strings):
        raise InvalidDataError(f"`vae` payload claims a {side_length}-byte side string in "
                               f"{len(strings)} bytes of strings")
    return strings[:side_length], strings[side_length:]


class VAECodec(ImageCodec):
    """What the `vae` encoder and decoder share."""

    zoo = ZOO
    framing = FRAMING
    read_model = staticmethod(load_model)
    missing_hint = (f": no vae model is shipped yet (train one with `python -m neuralav.plugins.vae.train`, "
                    f"see plugins/vae/README.md, or set {WEIGHTS_DIR_ENV})")

    @classmethod
    def load_model(cls, quality: int) -> LoadedModel:
        """The shared model of a `quality` level (read once per file and process).

        Raises:
            PluginError: the weights file is missing, unreadable, has the wrong hash,
                or has fewer gain rows than the level needs.
        """
        loaded = super().load_model(quality)
        gain_index = get_level(quality).gain_index
        if gain_index >= loaded.model.num_levels:
            raise PluginError(f"`vae` weights {loaded.path} have {loaded.model.num_levels} levels; "
                              f"quality {quality} needs {gain_index + 1}")
        return loaded


def load_model_file(quality: int) -> LoadedModel:
    """Loads (once per file and process) the model that codes a `quality` level.

    Raises:
        PluginError: the weights file is missing, unreadable, has the wrong hash,
            or has fewer gain rows than the level needs.
    """
    return VAECodec.load_model(quality)


class VAEEncoder(VAECodec, ImageEncoder):
    """Encoder of the `vae` codec. Option ``quality`` selects the level (see :mod:`.quality`)."""

    def code(self, image: np.ndarray) -> tuple[tuple, bytes]:
        """H x W x 3 uint8 RGB -> ((side string length,), side string + latent string)."""
        side, string, _ = self.loaded.compress(image, self.level.gain_index)
        return (len(side),), side + string


class VAEDecoder(VAECodec, ImageDecoder):
    """Decoder of the `vae` codec; its quality level comes from the codec header."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        model = self.loaded.model
        self._side_bits_per_position = float(np.sum(min_coded_bits(model.side_coder.cdf.numpy())))
        self._bits_per_position = model.config.latent_channels * float(np.min(min_coded_bits(model.coder.cdf.numpy())))

    def check_fits(self, fields: tuple, body: bytes, width: int, height: int) -> None:
        """Refuses a side-string length longer than the strings, or strings too short to code
        the frame's hyper-latent and latent (each ``y`` value costs at least what the most
        peaked of the scale tables charges)."""
        side, string = split_strings(fields, body)
        (h, w), (zh, zw) = latent_shapes(width, height)
        self.refuse_short(len(side), zh * zw * self._side_bits_per_position, width, height)
        self.refuse_short(len(string), h * w * self._bits_per_position, width, height)

    def reconstruct(self, fields: tuple, body: bytes, width: int, height: int) -> np.ndarray:
        """Range-decodes ``z`` then ``y`` and synthesizes the picture."""
        side, string = split_strings(fields, body)
        image, _ = self.loaded.decompress(side, string, self.level.gain_index, width, height)
        return image
