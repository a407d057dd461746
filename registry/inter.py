"""Stateful (inter-frame) video codecs: keyframes, P-frames and the reference they hang on.

A codec with :attr:`Capability.INTER <neuralav.registry.descriptor.Capability.INTER>`
codes some frames as *keyframes* (decodable alone) and the others as *P-frames*,
predicted from the previous decoded frame. Codec authors subclass
:class:`InterVideoEncoder` and :class:`InterVideoDecoder` and implement one method each;
the base classes keep the reference frames, pick frame types, number packets, set
keyframe flags and timestamps, and turn a broken chain into a clear error.

The contract:

* **Keyframes every** ``g`` **frames.** The descriptor declares the option ``g``
  (:func:`~neuralav.registry.descriptor.keyframe_interval_option`, as ffmpeg's ``-g``). The
  encoder codes frame 0 and then every ``g``-th frame as a keyframe, and also when the
  frame's size or pixel format changes. (A frame's ``pict_type`` is not read: decoders set
  it on every frame they return, so honouring it would make decoded input all keyframes.)
  A codec given a reference may still code a frame alone, e.g. at a scene cut where
  prediction does not pay (x264's ``scenecut``), and says so with
  :attr:`CodedFrame.keyframe`: the packet is then a keyframe and the ``g`` count restarts.
* **P-frames only, in order.** A P-frame is predicted from the frame just before it, which
  the base classes hold and hand over. A codec may also keep older decoded frames of its
  own (``nvc`` keeps a long-term reference for cuts back to an earlier view), provided it
  drops them at every keyframe (``reference is None``) and in :meth:`InterVideoDecoder.reset`,
  so decoding that starts at any keyframe rebuilds every frame. There is no reordering
  (no B-frames): packets come out in input order, one per frame, and
  ``dts == pts`` (Matroska stores no dts anyway). :meth:`InterVideoEncoder.encode` (``None``
  flushes) buffers nothing, so the flush returns nothing.
* **Closed loop.** The encoder predicts from exactly what the decoder will hold:
  :meth:`InterVideoEncoder.encode_frame` returns the payload and, for a lossy codec, the
  reconstruction the decoder will produce (:class:`CodedFrame`); a lossless codec returns
  bytes and its input is the reference.
* **Keyframe flags.** ``av.Packet.is_keyframe`` is true exactly for keyframes, so muxers
  mark them (Matroska's SimpleBlock keyframe bit) and seeking lands on them.
* **Broken chains are errors, then recover.** The decoder raises
  :class:`~neuralav.registry.errors.InvalidDataError` for a P-frame whose reference it does
  not hold: the first packet after a seek or after :meth:`~neuralav.registry.api.Decoder.discontinuity`
  is not a keyframe, a packet before it failed to decode, or packets are missing (each
  packet carries its frame number, so a gap is seen even when the demuxer skipped damaged
  data silently). It then waits for the next keyframe, from which decoding goes on. A
  caller that skips packets (``--ignore-errors``) thus loses the frames up to the next
  keyframe, each reported by its error, and never gets a frame predicted from the wrong one.
* **Reset.** :meth:`~neuralav.registry.api.Decoder.discontinuity` (called by the reader
  after a seek) drops the references and calls the codec's :meth:`InterVideoDecoder.reset`
  hook, for state of its own.

Packet layout: the video prefix of :mod:`neuralav.registry.api` (size and pixel formats),
then::

    1 byte  frame type: 0 = keyframe, 1 = P-frame (predicted from the previous frame)
    4 bytes frame number (big-endian, counted from the encoder's first frame, modulo 2**32)
    ...     the codec's payload
"""

from __future__ import annotations

import dataclasses
import struct
from typing import ClassVar

import av
import numpy as np

from .api import _BYTES, VideoDecoder, VideoEncoder, _VideoPacketInfo
from .descriptor import KEYFRAME_INTERVAL
from .errors import InvalidDataError, PluginError
from . import guard

__all__ = ["CodedFrame", "InterVideoEncoder", "InterVideoDecoder", "FrameType", "INTER_HEADER_SIZE"]

INTER_HEADER_SIZE = 5
"""Bytes the base classes put before an inter codec's payload (frame type, frame number)."""

_NUMBERS = 1 << 32


class FrameType:
    """The frame type byte of an inter packet."""

    KEY: ClassVar[int] = 0
    """Decodes alone; decoding may start here."""
    PREDICTED: ClassVar[int] = 1
    """Predicted from the previous frame (a P-frame)."""


@dataclasses.dataclass(frozen=True)
class CodedFrame:
    """What a lossy inter codec returns for one frame.

    Attributes:
        payload: The coded bytes.
        reconstruction: The image the decoder will decode from ``payload``, bit for bit
            (same shape and dtype as the input image): the reference for the next P-frame.
            A lossless codec may return bare ``bytes`` instead; its input is the reference.
        keyframe: The codec coded the frame alone although it was given a reference (the
            payload decodes without one, as a keyframe's): the packet becomes a keyframe.
    """

    payload: bytes
    reconstruction: np.ndarray
    keyframe: bool = False


def _frozen(image: np.ndarray) -> np.ndarray:
    """A read-only copy of ``image``: a reference no one can change under the codec."""
    copy = np.array(image, copy=True)
    copy.flags.writeable = False
    return copy


class InterVideoEncoder(VideoEncoder):
    """Base of stateful video encoders: keyframes every ``g`` frames, P-frames between them.

    Subclasses implement :meth:`encode_frame`. See :mod:`neuralav.registry.inter` for the
    contract and the packet layout.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._reference: np.ndarray | None = None
        self._reference_format: str | None = None
        self._since_keyframe = 0
        self._number = 0

    @property
    def keyframe_interval(self) -> int:
        """Frames from one keyframe to the next (the ``g`` option; 12 if the codec lacks it)."""
        return int(self.options.get(KEYFRAME_INTERVAL, 12))

    def encode_frame(self, image: np.ndarray, pix_fmt: str, reference: np.ndarray | None) -> bytes | CodedFrame:
        """Code one frame, as a keyframe (``reference`` is ``None``) or a P-frame.

        Args:
            image: ``frame.to_ndarray(format=pix_fmt)`` (``rgb24``: HxWx3 uint8, 0–255).
            pix_fmt: One of the codec's ``formats``.
            reference: For a P-frame, the previous frame as the decoder holds it (same shape,
                dtype and format as ``image``; read-only); ``None`` for a keyframe.

        Returns:
            The payload (``bytes``, for a lossless codec), or a :class:`CodedFrame` with the
            decoder's reconstruction (a lossy codec).
        """
        raise NotImplementedError

    def encode(self, frame: av.VideoFrame | None = None) -> list[av.Packet]:
        """Encode one frame into one packet, a keyframe or a P-frame (``None`` flushes: nothing
        is buffered, so it returns nothing).

        Raises:
            FormatNotSupportedError: not a video frame, an empty frame, or a pixel format
                the codec cannot take.
            InvalidDataError: a float frame holding NaN or infinite values.
            PluginError: the codec failed, or returned a reconstruction of the wrong shape.
        """
        if frame is None:
            return []
        coded_format = self._check_frame(frame)
        image = frame.to_ndarray(format=coded_format)
        reference = self._reference
        if (reference is None or self._since_keyframe >= self.keyframe_interval
                or reference.shape != image.shape or reference.dtype != image.dtype
                or self._reference_format != coded_format):
            reference = None
        coded = self._call_codec("encode a frame", self.encode_frame, image, coded_format, reference)
        self._check_return("encode a frame", coded, _BYTES + (CodedFrame,), "bytes or CodedFrame")
        if isinstance(coded, CodedFrame):
            payload, reconstruction = coded.payload, coded.reconstruction
            self._check_return("encode a frame", payload, _BYTES, "CodedFrame.payload as bytes")
            self._check_return("encode a frame", reconstruction, np.ndarray, "CodedFrame.reconstruction as an array")
            if reconstruction.shape != image.shape or reconstruction.dtype != image.dtype:
                raise PluginError(guard.failure_message(
                    self.name, self.descriptor.distribution, "encode a frame",
                    f"its reconstruction is {reconstruction.dtype} {reconstruction.shape}; "
                    f"expected {image.dtype} {image.shape}"))
        else:
            payload, reconstruction = coded, image
        keyframe = reference is None or (isinstance(coded, CodedFrame) and coded.keyframe is True)
        header = struct.pack(">BI", FrameType.KEY if keyframe else FrameType.PREDICTED, self._number)
        packet = self._packet(frame, coded_format, header + bytes(payload), keyframe=keyframe)
        self._reference, self._reference_format = _frozen(reconstruction), coded_format
        self._since_keyframe = 1 if keyframe else self._since_keyframe + 1
        self._number = (self._number + 1) % _NUMBERS
        return [packet]


class InterVideoDecoder(VideoDecoder):
    """Base of stateful video decoders: keeps the reference, checks the chain, recovers at keyframes.

    Subclasses implement :meth:`decode_frame` (and :meth:`reset` if they keep state of their
    own). See :mod:`neuralav.registry.inter` for the contract.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._reference: np.ndarray | None = None
        self._reference_info: tuple[int, int, str] | None = None
        self._last_number: int | None = None

    def decode_frame(self, payload: bytes, width: int, height: int, pix_fmt: str,
                     reference: np.ndarray | None) -> np.ndarray:
        """Decode one frame.

        Args:
            payload: The codec's payload (what :meth:`InterVideoEncoder.encode_frame` returned).
            width: Frame width in pixels.
            height: Frame height in pixels.
            pix_fmt: The pixel format it was coded in (one of the codec's ``formats``).
            reference: For a P-frame, the previous decoded image (read-only, as
                ``frame.to_ndarray(format=pix_fmt)``); ``None`` for a keyframe.

        Returns:
            The image, as ``frame.to_ndarray(format=pix_fmt)`` would give it.

        Raises:
            InvalidDataError: the payload is truncated or corrupt.
        """
        raise NotImplementedError

    def reset(self) -> None:
        """Hook: forget the codec's own state carried from frame to frame (the base has already
        dropped the reference frame). Called by :meth:`discontinuity`; the next frame the codec
        sees is a keyframe."""

    def discontinuity(self) -> None:
        """Drop the reference: the next packet must be a keyframe (after a seek or lost packets)."""
        self._drop_reference()
        self._call_codec("reset after a discontinuity", self.reset)

    def _drop_reference(self) -> None:
        self._reference = None
        self._reference_info = None

    def decode(self, packet: av.Packet | None = None) -> list[av.VideoFrame]:
        """Decode one packet into one frame (``None`` flushes: nothing is held back).

        Raises:
            InvalidDataError: a malformed or corrupt packet, or a P-frame whose reference was
                not decoded (after a seek, a discontinuity, a failed or missing packet); the
                decoder then waits for the next keyframe.
        """
        if packet is None:
            return []
        try:
            info = self._check_info(packet)
            kind, number, payload = self._split(info)
            reference = None if kind == FrameType.KEY else self._reference_for(info, number)
            image = self._call_codec("decode a frame", self.decode_frame, payload, info.width, info.height,
                                     info.coded_format, reference)
            frame = self._frame(image, info, packet)
        except Exception:
            self._drop_reference()  # whatever failed, the chain is broken until the next keyframe
            raise
        self._reference = _frozen(image)
        self._reference_info = (info.width, info.height, info.coded_format)
        self._last_number = number
        return [frame]

    def _split(self, info: _VideoPacketInfo) -> tuple[int, int, bytes]:
        """The frame type, frame number and codec payload of a packet.

        Raises:
            InvalidDataError: the inter header is truncated or names an unknown frame type.
        """
        data = info.payload
        if len(data) < INTER_HEADER_SIZE:
            raise InvalidDataError(f"`{self.name}` packet of {len(data)} payload bytes is truncated "
                                   f"(its frame type and number take {INTER_HEADER_SIZE})")
        kind, number = struct.unpack(">BI", data[:INTER_HEADER_SIZE])
        if kind not in (FrameType.KEY, FrameType.PREDICTED):
            raise InvalidDataError(f"`{self.name}` packet has frame type {kind} (0 keyframe or 1 P-frame expected)")
        return kind, number, data[INTER_HEADER_SIZE:]

    def _reference_for(self, info: _VideoPacketInfo, number: int) -> np.ndarray:
        """The reference of P-frame ``number``: the previous frame, if it was decoded.

        Raises:
            InvalidDataError: it was not (naming why); frames are lost until the next keyframe.
        """
        wait = "frames are lost until the next keyframe"
        if self._reference is None:
            raise InvalidDataError(
                f"`{self.name}` P-frame {number} cannot be decoded: its reference (frame "
                f"{(number - 1) % _NUMBERS}) was not decoded (decoding starts at a keyframe; a seek, or a damaged "
                f"or missing packet, broke the chain); {wait}")
        expected = (self._last_number + 1) % _NUMBERS
        if number != expected:
            missing = (number - expected) % _NUMBERS
            raise InvalidDataError(
                f"`{self.name}` P-frame {number} follows frame {self._last_number}: {missing} packet"
                f"{'s are' if missing != 1 else ' is'} missing before it; {wait}")
        if self._reference_info != (info.width, info.height, info.coded_format):
            width, height, coded = self._reference_info
            raise InvalidDataError(
                f"`{self.name}` P-frame {number} is {info.width}x{info.height} {info.coded_format}, its reference "
                f"{width}x{height} {coded}; {wait}")
        return self._reference
