"""``nvc`` encoder and decoder: ``vae`` keyframes, motion-compensated learned P-frames.

The registry's inter contract (:mod:`neuralav.registry.inter`) keeps the reference, picks
frame types every ``g`` frames and checks the chain; this module codes one frame given
its reference.

Keyframe payload: exactly a ``vae`` payload at the level's keyframe quality
(:mod:`neuralav.plugins.vae.codec`): the same model, weights and bytes as an intra ``vae``
frame. P-frame payload: the image codecs' framing (:mod:`neuralav.plugins.imaging.payload`)
with these fields after the model id (big-endian)::

    offset  size  field
    6       1     prediction: 0 previous frame, 1 long-term reference, 2 intra
    7       4     a = length of the motion string (0 for intra)
    11      4     n = length of the side string (0 for intra)
    15      a     range-coded motion-vector differences (:mod:`.vectors`)
    15+a    n     range-coded hyper-latent ``z`` of the residual
    15+a+n  m     range-coded latent ``y`` of the residual (intra: a whole keyframe payload)
    ...     4     CRC-32

The model id is that of the residual coder's weights file. Decoding a predicted P-frame:
decode the vectors, predict the frame from its reference by integer sub-pel compensation
(:mod:`.motion`), decode the residual with the integer synthesis (:mod:`.exact`) and add
it, clipped to 0–255: integer operations throughout, so every decoder (and the encoder,
which keeps the same reconstruction as its next reference) holds the same frame.

**Two references.** Besides the previous frame (which the registry's base classes hand
over), encoder and decoder keep a *long-term reference*: none after a keyframe; whenever a
P-frame is not predicted from the previous frame (prediction 1 or 2), the previous frame
becomes the long-term reference. After a cut from view A to view B (coded intra), the last
frame of A is kept, so a cut back to A is predicted from it rather than coded intra again,
and so on back and forth (two cameras in an interview, a match, a news studio), as
H.264's multiple references allow. An *intra* P-frame is coded alone but is no keyframe:
the frames after it may still predict from the long-term reference set before it, so
decoding can start only at keyframes.
"""

from __future__ import annotations

import struct

import numpy as np

from neuralav.plugins.imaging.payload import Framing
from neuralav.plugins.imaging.runtime import FLUSH_BITS, LoadedModel, load, min_coded_bits
from neuralav.plugins.imaging.zoo import Level, Zoo
from neuralav.plugins.vae import codec as vae_codec
from neuralav.plugins.vae.config import latent_shapes
from neuralav.registry import CodedFrame, InterVideoDecoder, InterVideoEncoder, InvalidDataError, PluginError

from . import levels, motion

__all__ = ["NVCEncoder", "NVCDecoder", "P_FRAMING", "ZOO", "load_residual_model"]

P_FRAMING = Framing("nvc", struct.Struct(">BII"))
"""P-frame payload layout: prediction, motion and side string lengths after the model id."""

PREVIOUS, LONG_TERM, INTRA = 0, 1, 2
"""A P-frame's prediction: from the previous frame, from the long-term reference, none (intra)."""

ZOO = Zoo("nvc", {q: Level(lmbda, None, levels.WEIGHTS_FILE, levels.WEIGHTS_SHA256, None, gain_index=q - 1)
                  for q, lmbda in zip(levels.QUALITIES, levels.LMBDAS)},
          levels.WEIGHTS_DIR, levels.WEIGHTS_DIR_ENV)
"""Every level's residual gain row in the one residual-coder file."""

_MISSING = (f": train it with `python -m neuralav.plugins.nvc.train` (plugins/nvc/README.md), "
            f"or set {levels.WEIGHTS_DIR_ENV}")


def _read_residual_model(path):
    from .weights import load_model

    return load_model(path)


def load_residual_model(quality: int) -> LoadedModel:
    """The residual coder (one file for every level), read once per process.

    Raises:
        PluginError: the weights file is missing, unreadable or has the wrong hash.
    """
    return load(ZOO, quality, _read_residual_model, _MISSING)


class _NVCCodec:
    """What the encoder and decoder share: the level, the keyframe and residual models."""

    def _setup(self, quality: int) -> None:
        self.quality = quality
        self.level = ZOO.level(quality)
        self.vector_bits_cost = motion.vector_bits_cost(self.level.lmbda)
        self.keyframe_quality = levels.KEYFRAME_QUALITIES[quality - 1]
        self.keyframes = vae_codec.load_model_file(self.keyframe_quality)
        self.residual = load_residual_model(quality)
        model = self.residual.model
        if self.level.gain_index >= model.num_levels:
            raise PluginError(f"`nvc` residual weights {self.residual.path} have {model.num_levels} "
                                   f"levels; quality {quality} needs {self.level.gain_index + 1}")
        from .vectors import VectorCoder

        self.vectors = VectorCoder(model.motion_tables)


class NVCEncoder(_NVCCodec, InterVideoEncoder):
    """Encoder of ``nvc``. Options: ``quality`` (level, see :mod:`.levels`), ``g`` (keyframe interval).

    A P-frame is predicted from the previous frame unless another choice costs less in
    ``bpp + λ·MSE`` (the training loss of both models): prediction from the long-term
    reference (a cut back to an earlier view), or intra coding (a cut to a new view, or
    motion the block search cannot follow). The others are tried only when the P-frame took
    more than :attr:`TRY_OTHERS_ABOVE` of the bytes of the last keyframe coded or tried, so
    ordinary P-frames pay nothing.
    """

    TRY_OTHERS_ABOVE = 0.5
    """P-frame size, as a fraction of the last keyframe coded or tried, above which the
    long-term reference and intra coding are tried too."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._setup(int(self.options["quality"]))
        self._keyframe_bytes = 0
        self._long_term: np.ndarray | None = None

    def encode_frame(self, image: np.ndarray, pix_fmt: str, reference: np.ndarray | None) -> CodedFrame:
        """Codes one H x W x 3 uint8 RGB frame, as a keyframe or as a P-frame after `reference`."""
        image = np.ascontiguousarray(image)
        if reference is None:
            self._long_term = None
            return self._keyframe(image)
        prediction, coded = PREVIOUS, self._p_frame(image, reference, PREVIOUS)
        if len(coded.payload) > self.TRY_OTHERS_ABOVE * self._keyframe_bytes:
            trials = [(prediction, coded)]
            if self._long_term is not None:
                trials.append((LONG_TERM, self._p_frame(image, self._long_term, LONG_TERM)))
            trials.append((INTRA, self._intra(image)))
            prediction, coded = min(trials, key=lambda trial: self._cost(trial[1], image))  # first wins ties
        if prediction != PREVIOUS:
            self._long_term = reference
        return coded

    def _cost(self, coded: CodedFrame, image: np.ndarray) -> float:
        """``bpp + λ·MSE`` (MSE of 0–255 RGB) of a coded frame."""
        error = coded.reconstruction.astype(np.float64) - image
        return 8 * len(coded.payload) / (image.shape[0] * image.shape[1]) + self.level.lmbda * np.mean(error ** 2)

    def _keyframe(self, image: np.ndarray) -> CodedFrame:
        with self.keyframes.lock:
            side, string, reconstruction = self.keyframes.model.compress_and_reconstruct(image, 0)
        payload = vae_codec.pack_payload(self.keyframe_quality, self.keyframes.model_id, side, string)
        self._keyframe_bytes = len(payload)
        return CodedFrame(payload, reconstruction)

    def _intra(self, image: np.ndarray) -> CodedFrame:
        """A P-frame coded alone: a keyframe payload inside a P-frame's framing."""
        alone = self._keyframe(image)
        payload = P_FRAMING.pack(self.quality, self.residual.model_id, (INTRA, 0, 0), alone.payload)
        return CodedFrame(payload, alone.reconstruction)

    def _p_frame(self, image: np.ndarray, reference: np.ndarray, source: int) -> CodedFrame:
        """A P-frame predicted from `reference`, which is the frame `source` names (PREVIOUS or LONG_TERM)."""
        vectors = motion.search(image, reference, bits_cost=self.vector_bits_cost)
        prediction = motion.compensate(reference, vectors)
        residual = image.astype(np.int32) - prediction
        side, string, decoded = self.residual.compress(residual, self.level.gain_index)
        with self.residual.lock:
            motion_string = self.vectors.encode(motion.vector_differences(vectors))
        reconstruction = np.clip(prediction + decoded, 0, 255).astype(np.uint8)
        payload = P_FRAMING.pack(self.quality, self.residual.model_id, (source, len(motion_string), len(side)),
                                 motion_string + side + string)
        return CodedFrame(payload, reconstruction)


class NVCDecoder(_NVCCodec, InterVideoDecoder):
    """Decoder of ``nvc``; the level comes from the codec header."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        quality = int(self.options["quality"])
        if quality not in ZOO.levels:
            raise InvalidDataError(f"`nvc` header names quality {quality} (valid: {min(ZOO.levels)} to "
                                   f"{max(ZOO.levels)})")
        self._setup(quality)
        self._long_term: np.ndarray | None = None
        key = self.keyframes.model
        self._key_side_bits = float(np.sum(min_coded_bits(key.side_coder.cdf.numpy())))
        self._key_bits = key.config.latent_channels * float(np.min(min_coded_bits(key.coder.cdf.numpy())))
        residual = self.residual.model
        self._side_bits = float(np.sum(min_coded_bits(residual.side_coder.cdf.numpy())))
        self._bits = residual.config.latent_channels * float(np.min(min_coded_bits(residual.coder.cdf.numpy())))
        vector_bits = min_coded_bits(self.vectors.tables["cdf"])
        self._vector_bits = float(vector_bits[0] + np.min(vector_bits[1:]))  # dy's table, dx's cheapest

    def _refuse_short(self, num_bytes: int, min_bits: float, what: str, width: int, height: int) -> None:
        needed = int(np.ceil((min_bits - FLUSH_BITS) / 8))
        if num_bytes < needed:
            raise InvalidDataError(f"`nvc` {what} of {num_bytes} bytes cannot code a {width}x{height} frame "
                                   f"(at least {needed} needed): its size was changed or it is damaged")

    def reset(self) -> None:
        """Forgets the long-term reference (after a seek or lost packets)."""
        self._long_term = None

    def decode_frame(self, payload: bytes, width: int, height: int, pix_fmt: str,
                     reference: np.ndarray | None) -> np.ndarray:
        """Decodes one frame (keyframe if `reference` is None) into H x W x 3 uint8 RGB.

        Raises:
            InvalidDataError: truncated or corrupt payload, another level or model, strings
                too short for the frame size, strings the range decoders reject, or a
                P-frame predicted from a long-term reference the stream never set.
        """
        if reference is None:
            self._long_term = None
            return self._decode_keyframe(payload, width, height, "keyframe")
        quality, model_id, (prediction, motion_length, side_length), strings = P_FRAMING.unpack(payload)
        self._check_header(quality, self.quality, model_id, self.residual, "P-frame")
        if prediction == INTRA:
            image = self._decode_keyframe(strings, width, height, "intra P-frame")
        elif prediction in (PREVIOUS, LONG_TERM):
            source = reference if prediction == PREVIOUS else self._long_term
            if source is None:
                raise InvalidDataError("`nvc` P-frame is predicted from the long-term reference, which no frame "
                                       "since the keyframe has set")
            image = self._decode_predicted(source, strings, motion_length, side_length, width, height)
        else:
            raise InvalidDataError(f"`nvc` P-frame has prediction {prediction} (0 previous frame, 1 long-term "
                                   f"reference or 2 intra expected)")
        if prediction != PREVIOUS:
            self._long_term = reference
        return image

    def _decode_keyframe(self, payload: bytes, width: int, height: int, what: str) -> np.ndarray:
        (h, w), (zh, zw) = latent_shapes(width, height)
        quality, model_id, side, string = vae_codec.unpack_payload(payload)
        self._check_header(quality, self.keyframe_quality, model_id, self.keyframes, what)
        self._refuse_short(len(side), zh * zw * self._key_side_bits, f"{what} side string", width, height)
        self._refuse_short(len(string), h * w * self._key_bits, f"{what} latent string", width, height)
        image, _ = self.keyframes.decompress(side, string, 0, width, height)
        return image

    def _decode_predicted(self, reference: np.ndarray, strings: bytes, motion_length: int, side_length: int,
                          width: int, height: int) -> np.ndarray:
        (h, w), (zh, zw) = latent_shapes(width, height)
        if motion_length + side_length > len(strings):
            raise InvalidDataError(f"`nvc` P-frame claims {motion_length} + {side_length} bytes of motion and "
                                   f"side strings in {len(strings)} bytes")
        motion_string = strings[:motion_length]
        side = strings[motion_length:motion_length + side_length]
        string = strings[motion_length + side_length:]
        blocks = motion.field_shape(height, width)
        self._refuse_short(len(motion_string), blocks[0] * blocks[1] * self._vector_bits, "P-frame motion string",
                           width, height)
        self._refuse_short(len(side), zh * zw * self._side_bits, "P-frame side string", width, height)
        self._refuse_short(len(string), h * w * self._bits, "P-frame latent string", width, height)
        import tensorflow as tf

        try:
            with self.residual.lock:
                differences = self.vectors.decode(motion_string, blocks)
        except (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError):
            raise InvalidDataError("`nvc` range decoder rejected the P-frame's motion string") from None
        try:
            vectors = motion.vectors_from_differences(differences)
        except ValueError as error:
            raise InvalidDataError(f"`nvc` P-frame: {error}") from None
        prediction = motion.compensate(reference, vectors)
        residual = self.residual.decompress(side, string, self.level.gain_index, width, height)
        return np.clip(prediction + residual, 0, 255).astype(np.uint8)

    def _check_header(self, quality: int, expected: int, model_id: bytes, loaded: LoadedModel, what: str) -> None:
        if quality != expected:
            raise InvalidDataError(f"`nvc` {what} was coded at quality {quality}; this decoder expects {expected}")
        if model_id != loaded.model_id:
            raise InvalidDataError(f"`nvc` {what} was coded with model {model_id.hex()}; this decoder's weights "
                                   f"are model {loaded.model_id.hex()}")
