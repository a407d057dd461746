"""`vae` encoder and decoder: a range-coded hyper-latent and latent per frame (intra only).

Payload of one frame: the image codecs' framing (:mod:`neuralav.plugins.imaging.payload`)
with one field after the model id (big-endian). Format 2, written by the variable-rate
model (quality in 1/256 steps)::

    offset  size  field
    0       1     payload format (2)
    1       2     quality · 256
    3       4     model id
    7       4     n = length of the side string
    11      n     range-coded hyper-latent ``z`` (factorized prior)
    11+n    m     range-coded latent ``y`` (Gaussian scales from the integer hyper-synthesis)
    11+n+m  4     CRC-32

Format 1, written by the former one-level files ``q1..q4.npz`` (and by ``nvc`` keyframes),
has a one-byte integer quality level instead, so every later field sits a byte earlier;
decoders still read it with that level's file.

The latent shapes follow from the frame size (``y``: ceil(H/16) x ceil(W/16),
``z``: ceil(H/64) x ceil(W/64), after edge padding to a multiple of 16). The
decoder checks, before any TensorFlow call: the framing, that the quality and model
id name a model it has, that n fits, and that each string is long enough to
range-code the latent values the frame size implies with that model's tables
(:func:`~neuralav.plugins.imaging.runtime.min_coded_bits`): a packet claiming a
frame its bytes cannot justify never makes the model allocate it.

The scale indices of ``y`` are computed in fixed point from the decoded ``z``
(:mod:`.integer`), identically at encode and decode time, so the latent string
always parses as it was written; the inverse gain of a quality between two rows is
interpolated in numpy float32, the same on every machine. Weights are loaded once
per file and process (:mod:`neuralav.plugins.imaging.runtime`); the environment
variable ``NEURALAV_VAE_WEIGHTS_DIR`` points at another folder holding ``vr.npz``
and ``q1..q4.npz`` (no hash check then), e.g. fresh exports or a tiny test model.
"""

from __future__ import annotations

import struct

import numpy as np

from neuralav.plugins.imaging.codec import ImageCodec, VariableRateDecoder, VariableRateEncoder
from neuralav.plugins.imaging.payload import PAYLOAD_FORMAT, VARIABLE_RATE_FORMAT, Framing, snap_quality
from neuralav.plugins.imaging.rate_control import search_quality
from neuralav.plugins.imaging.runtime import LoadedModel, min_coded_bits
from neuralav.registry import InvalidDataError, PluginError

from .config import latent_shapes
from .quality import LEVEL_FILE_QUALITIES, WEIGHTS_DIR_ENV, ZOO, level as get_level, lmbda_of
from .weights import load_model

__all__ = ["VAEEncoder", "VAEDecoder", "LoadedModel", "load_model_file", "weights_path",
           "pack_payload", "unpack_payload", "PAYLOAD_FORMAT", "WEIGHTS_DIR_ENV"]

FRAMING = Framing("vae", struct.Struct(">I"))
"""Payload layout: the side string's length after the model id."""

weights_path = ZOO.weights_path


def pack_payload(quality: int, model_id: bytes, side: bytes, string: bytes) -> bytes:
    """Serializes one frame of a one-level model (format 1; layout in the module docstring)."""
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
        """The shared one-level model of an integer `quality` level (payload format 1).

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
    """Loads (once per file and process) the one-level model of an integer `quality` level.

    Raises:
        PluginError: the weights file is missing, unreadable, has the wrong hash,
            or has fewer gain rows than the level needs.
    """
    return VAECodec.load_model(quality)


class VAEEncoder(VAECodec, VariableRateEncoder):
    """Encoder of the `vae` codec: the variable-rate model at any quality in its range.

    Options: ``quality`` (real, :mod:`.quality`); ``bpp``: a target size per picture
    in bits per pixel (whole payload): the quality is then searched for each picture
    (:func:`~neuralav.plugins.imaging.rate_control.search_quality`) and ``quality``
    is only where the search starts; ``preset``: ``medium`` codes the analysis
    transform's latents, ``slow`` refines them for each picture first
    (:mod:`.refine`: same decoder, same bitstream, more encoder time).

    A whole quality of :data:`.quality.LEVEL_FILE_QUALITIES` without a ``bpp`` target is
    coded by that level's one-level file (payload format 1, the same bytes as before the
    variable-rate model), everything else by the variable-rate model.
    """

    level_file_qualities = LEVEL_FILE_QUALITIES

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.target_bpp = self.options.get("bpp")
        self.preset = self.options.get("preset", "medium")
        self.last_quality = self.quality
        """Quality the last picture was coded at (after rate control)."""

    def uses_level_file(self) -> bool:
        """A one-level file codes only whole qualities of its set, and never under rate control."""
        return self.options.get("bpp") is None and super().uses_level_file()

    def encode_image(self, image: np.ndarray, pix_fmt: str) -> bytes:
        """Codes one HxWx3 uint8 ``rgb24`` image into a self-checking payload (format 2, or
        format 1 with a one-level file)."""
        image = self.checked_image(image, pix_fmt)
        with self.loaded.lock:
            if self.target_bpp is None:
                quality = self.quality if self.level_file else snap_quality(self.quality)
                payload = self._payload(image, quality)
            else:
                quality, payload = self._rate_controlled(image)
        self.last_quality = quality
        return payload

    def _payload(self, image: np.ndarray, quality: float, latents=None) -> bytes:
        """The payload of `image` at `quality` (``latents``: :meth:`VAEModel.code_side`'s output
        for it, when the caller has them; ignored by ``slow``, which refines its own): format 2,
        or format 1 when coding with a one-level file."""
        model = self.loaded.model
        if self.level_file:
            position = get_level(quality).gain_index
        else:
            position = quality - self.zoo.variable_rate.min_quality
        if self.preset == "slow":
            side, string = self._refined(image, quality, position)
        else:
            coded = model.code_latents(*latents) if latents is not None else model.code_image(image, position)
            side, string = coded.side, coded.string
        return self.seal(quality, (len(side),), side + string)

    def _refined(self, image: np.ndarray, quality: float, position: float) -> tuple[bytes, bytes]:
        from .refine import refine_latents

        model = self.loaded.model
        log_gain, log_inverse_gain = model.gain_vectors(position)
        y, z = refine_latents(model, image, log_gain, log_inverse_gain, lmbda_of(quality), REFINE_ITERATIONS)
        coded = model.code_latents(*model.code_hyper_latent(y, z))
        return coded.side, coded.string

    def _rate_controlled(self, image: np.ndarray) -> tuple[float, bytes]:
        """(quality, payload) of the picture whose size is closest to ``bpp`` · pixels.

        The search codes ``medium`` payloads. With ``preset=slow`` the picture is then refined
        at the quality found; refinement moves the size (usually down), so when the refined
        payload misses the target by more than 3 % the search runs again for the target
        scaled by that ratio, and the closer of the two refined payloads is kept.
        """
        model = self.loaded.model
        entry = self.zoo.variable_rate
        target = self.target_bpp * image.shape[0] * image.shape[1] / 8
        analysed = model.analyze_only(image)

        def size_at(quality: float):
            log_gain, _ = model.gain_vectors(quality - entry.min_quality)
            latents = model.code_side(analysed * np.exp(log_gain))
            coded = model.code_latents(*latents)
            return FRAMING.overhead(VARIABLE_RATE_FORMAT) + len(coded.side) + len(coded.string), latents

        def search(wanted: float, start: float):
            return search_quality(size_at, wanted, entry.min_quality, entry.max_quality, start=start)

        quality, size, latents = search(target, self.last_quality)
        if self.preset != "slow":
            return quality, self._payload(image, quality, latents)
        payload = self._payload(image, quality)
        if abs(len(payload) / target - 1) > SLOW_RETRY_ERROR:
            again, _, _ = search(target * size / len(payload), quality)
            if again != quality:
                second = self._payload(image, again)
                if abs(np.log(len(second) / target)) < abs(np.log(len(payload) / target)):
                    quality, payload = again, second
        return quality, payload


SLOW_RETRY_ERROR = 0.03
"""Relative size error of a refined payload above which ``preset=slow`` searches once more."""

REFINE_ITERATIONS = 50
"""Iterations of ``-preset slow``'s latent refinement (gain and time: ``weights/MODEL_CARD.md``)."""


class VAEDecoder(VAECodec, VariableRateDecoder):
    """Decoder of the `vae` codec. Each payload names its model: format 2 the variable-rate
    model at the payload's quality, format 1 the one-level file of its integer level."""

    def bounds(self, loaded: LoadedModel) -> tuple[float, float]:
        """(fewest bits of one hyper-latent position, of one latent position) with the model's tables."""
        model = loaded.model
        side = float(np.sum(min_coded_bits(model.side_coder.cdf.numpy())))
        latent = model.config.latent_channels * float(np.min(min_coded_bits(model.coder.cdf.numpy())))
        return side, latent

    def decode_image(self, payload: bytes, width: int, height: int, pix_fmt: str) -> np.ndarray:
        """Decodes one payload into an HxWx3 uint8 ``rgb24`` image.

        Raises:
            InvalidDataError: truncated or corrupt payload, a quality or model this
                decoder does not have, a payload that does not fit width x height, or
                strings the range decoders reject.
        """
        quality, model_id, fields, body = FRAMING.unpack(payload)
        loaded, position, (side_bits, bits) = self.model_of(payload[0], quality, model_id)
        side, string = split_strings(fields, body)
        (h, w), (zh, zw) = latent_shapes(width, height)
        self.refuse_short(len(side), zh * zw * side_bits, width, height)
        self.refuse_short(len(string), h * w * bits, width, height)
        image, _ = loaded.decompress(side, string, position, width, height)
        return image
