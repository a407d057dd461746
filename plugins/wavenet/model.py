"""The ``wavenet`` audio autoencoder: causal WaveNet blocks, strided resampling, a factorized prior.

Architecture (after WaveNet, van den Oord et al. 2016, arXiv:1609.03499, for the gated
dilated blocks; SoundStream, Zeghidour et al. 2021, arXiv:2107.03312, for the strided
convolutional codec layout; Ballé et al. 2018, arXiv:1802.01436, for the learned
factorized entropy model; gain units after Cui et al. 2021, arXiv:2003.02012, for the
several bitrates of one model)::

    analysis   x (B, T, 1) at 16 kHz
               causal conv k7 -> C0
               for each stride s_i:  strided causal conv (k = 2 s_i) C_i -> C_{i+1},
                                     WaveNet blocks (dilations 1, 3, 9)
               causal conv k3 -> M latent channels at 16000 / prod(strides) frames/s
    bottleneck y * gain[level]  ->  round / range-code with prior[level]  ->  * inverse_gain[level]
    synthesis  mirror: causal conv k3, then per stride: WaveNet blocks, sub-pixel causal
               upsampling (conv k3 to s*C, then depth-to-time), causal conv k7 -> 1

A WaveNet block: ``h = conv_dilated(x)`` (C -> 2C), ``z = tanh(h_a) * sigmoid(h_b)``,
``r = conv1x1(z)`` (C -> 2C), ``x += r_res``, ``skip += r_skip``; a stage outputs
``x + skip``.

Every convolution is causal, so both transforms stream exactly: each conv keeps the last
``(kernel - stride)`` (dilated: ``(kernel - 1) * dilation``) input samples as state, and
running a signal in pieces with the state carried over gives the same output as running
it whole (up to float rounding). The codec's decoder runs the synthesis in fixed point
instead (:mod:`.fixed`, the same network), where pieces and whole agree bit for bit.

Parameters are plain ``tf.Variable``s in a flat dict keyed by path (``enc/s0/b1/gate_w``),
which makes ``.npz`` export and import a name-for-name copy.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Sequence

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

__all__ = ["ModelConfig", "WavenetModel", "CONFIGS", "GAIN_SCALE", "read_weights", "weights_for_config"]

GAIN_SCALE = 8.0
"""Gains are ``exp(GAIN_SCALE * variable)``: Adam's steps then move them fast enough."""


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of one ``wavenet`` model.

    Attributes:
        strides: Down-sampling factors of the analysis (synthesis uses them reversed);
            their product is the hop in samples per latent frame.
        channels: Channels before the first stride and after each stride
            (``len(strides) + 1`` values).
        dilations: Dilations of the WaveNet blocks in every stage.
        latent_channels: M, channels of the latent (coded) signal.
        levels: Number of bitrate levels (gain vectors and priors).
        kernel: Kernel size of the dilated convolutions.
        sample_rate: Rate of the waveform (Hz).
    """

    strides: tuple[int, ...] = (4, 5, 8)
    channels: tuple[int, ...] = (16, 32, 64, 128)
    dilations: tuple[int, ...] = (1, 3, 9)
    latent_channels: int = 32
    levels: int = 3
    kernel: int = 3
    sample_rate: int = 16000

    def __post_init__(self) -> None:
        if len(self.channels) != len(self.strides) + 1:
            raise ValueError(f"`channels` needs {len(self.strides) + 1} values, got {self.channels}")

    @property
    def hop(self) -> int:
        """Waveform samples per latent frame."""
        return int(np.prod(self.strides))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - fields
        if unknown:
            raise ValueError(f"unknown model config keys {sorted(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in values.items()})


CONFIGS = {
    "base": ModelConfig(),
    "tiny": ModelConfig(strides=(4, 5, 8), channels=(4, 4, 8, 8), dilations=(1, 2), latent_channels=4),
    "lean": ModelConfig(dilations=(3, 9)),
}
"""Named architectures: ``base`` is the shipped one, ``tiny`` is for tests, ``lean`` is
``base`` with two WaveNet blocks per stage instead of three (409 M multiply-adds per second
of audio against 553 M, analysis and synthesis; a candidate for the 20x real-time target,
started from ``base`` weights by :func:`weights_for_config`)."""


class _Conv:
    """A causal 1-D convolution whose left context (the state) is passed in and out."""

    def __init__(self, params: dict, name: str, cin: int, cout: int, kernel: int,
                 stride: int = 1, dilation: int = 1, scale: float = 1.0, rng=None) -> None:
        std = scale / np.sqrt(kernel * cin)
        self.w = params.setdefault(name + "_w", tf.Variable(
            rng.normal(0.0, std, (kernel, cin, cout)).astype(np.float32), name=name + "_w"))
        self.b = params.setdefault(name + "_b", tf.Variable(np.zeros(cout, np.float32), name=name + "_b"))
        self.cin, self.cout, self.kernel, self.stride, self.dilation = cin, cout, kernel, stride, dilation
        self.context = (kernel - 1) * dilation - (stride - 1)
        """Input samples of state this conv keeps (``(k - 1) d - (s - 1)``)."""

    def __call__(self, x: tf.Tensor, state: tf.Tensor | None):
        if self.context > 0:
            if state is None:
                state = tf.zeros([tf.shape(x)[0], self.context, self.cin], x.dtype)
            x = tf.concat([state, x], axis=1)
            new_state = x[:, -self.context:, :]
        else:
            new_state = None
        # tf.nn.convolution, not tf.nn.conv1d: a dilated conv then runs as space-to-batch around
        # an undilated one (the same sums), whose gradients every CPU kernel has. TensorFlow's
        # default (Eigen) kernels have no gradient for a dilated conv, and oneDNN, which has one,
        # is on by default only on some CPUs (``TF_ENABLE_ONEDNN_OPTS``).
        y = tf.nn.convolution(x, self.w, strides=self.stride, padding="VALID", dilations=self.dilation)
        return y + self.b, new_state


class WavenetModel(tf.Module):
    """Analysis and synthesis transforms, gain units and one factorized prior per level.

    Shapes: waveforms are (batch, samples, 1) float32 in [-1, 1]; latents are
    (batch, frames, M) with ``frames = samples / config.hop``.
    """

    def __init__(self, config: ModelConfig, seed: int = 0) -> None:
        super().__init__(name="wavenet")
        self.config = config
        rng = np.random.default_rng(seed)
        p: dict[str, tf.Variable] = {}
        c = config
        self._enc_in = _Conv(p, "enc/in", 1, c.channels[0], 7, rng=rng)
        self._enc_stages = []
        for i, stride in enumerate(c.strides):
            down = _Conv(p, f"enc/s{i}/down", c.channels[i], c.channels[i + 1], 2 * stride, stride=stride, rng=rng)
            blocks = self._blocks(p, f"enc/s{i}", c.channels[i + 1], rng)
            self._enc_stages.append((down, blocks))
        self._enc_out = _Conv(p, "enc/out", c.channels[-1], c.latent_channels, 3, rng=rng)
        self._dec_in = _Conv(p, "dec/in", c.latent_channels, c.channels[-1], 3, rng=rng)
        self._dec_stages = []
        for j, i in enumerate(reversed(range(len(c.strides)))):
            stride = c.strides[i]
            blocks = self._blocks(p, f"dec/s{j}", c.channels[i + 1], rng)
            up = _Conv(p, f"dec/s{j}/up", c.channels[i + 1], stride * c.channels[i], 3, rng=rng)
            self._dec_stages.append((blocks, up, stride, c.channels[i]))
        self._dec_out = _Conv(p, "dec/out", c.channels[0], 1, 7, scale=0.1, rng=rng)
        # Levels start apart (coarser quantization for lower levels) so rates separate at once.
        start = np.linspace(-1.2, 0.6, c.levels, dtype=np.float32)[:, None] if c.levels > 1 else np.zeros((1, 1))
        start = np.broadcast_to(start, (c.levels, c.latent_channels)).astype(np.float32) / GAIN_SCALE
        self.log_gains = tf.Variable(start, name="log_gains")
        self.log_inverse_gains = tf.Variable(-start, name="log_inverse_gains")
        p["log_gains"] = self.log_gains
        p["log_inverse_gains"] = self.log_inverse_gains
        self.params = p  # assigned once complete, so checkpoint tracking sees every variable
        self.priors = [tfc.NoisyDeepFactorized(batch_shape=[c.latent_channels], name=f"prior{level}")
                       for level in range(c.levels)]

    def _blocks(self, p: dict, prefix: str, channels: int, rng) -> list[tuple[_Conv, _Conv]]:
        blocks = []
        for k, dilation in enumerate(self.config.dilations):
            gate = _Conv(p, f"{prefix}/b{k}/gate", channels, 2 * channels, self.config.kernel,
                         dilation=dilation, rng=rng)
            mix = _Conv(p, f"{prefix}/b{k}/mix", channels, 2 * channels, 1, scale=0.5, rng=rng)
            blocks.append((gate, mix))
        return blocks

    # ------------------------------------------------------------------ transforms

    def _all_convs(self, which: str) -> list[_Conv]:
        if which == "analysis":
            convs = [self._enc_in]
            for down, blocks in self._enc_stages:
                convs.append(down)
                convs += [gate for gate, _ in blocks]
            return convs + [self._enc_out]
        convs = [self._dec_in]
        for blocks, up, _, _ in self._dec_stages:
            convs += [gate for gate, _ in blocks]
            convs.append(up)
        return convs + [self._dec_out]

    def state_specs(self, which: str, batch: int | None = None) -> list[tf.TensorSpec]:
        """TensorSpecs of the streaming state of ``analysis`` or ``synthesis``."""
        return [tf.TensorSpec([batch, conv.context, conv.cin], tf.float32)
                for conv in self._all_convs(which) if conv.context > 0]

    def zero_state(self, which: str, batch: int = 1) -> list[tf.Tensor]:
        """The state at the start of a stream: zeros, as at the left edge of a signal."""
        return [tf.zeros([batch, spec.shape[1], spec.shape[2]]) for spec in self.state_specs(which)]

    @staticmethod
    def _run_blocks(blocks, x, states, out):
        skip = tf.zeros_like(x)
        for gate, mix in blocks:
            h, s = gate(x, states.pop(0) if states is not None else None)
            out.append(s)
            a, b = tf.split(h, 2, axis=-1)
            r, _ = mix(tf.tanh(a) * tf.sigmoid(b), None)
            res, sk = tf.split(r, 2, axis=-1)
            x = x + res
            skip = skip + sk
        return x + skip

    def analysis(self, x: tf.Tensor, state: Sequence[tf.Tensor] | None = None):
        """Waveform (B, T, 1) -> latent (B, T / hop, M), and the new streaming state."""
        states = list(state) if state is not None else None
        out: list = []

        def conv(layer, h):
            y, s = layer(h, states.pop(0) if states is not None and layer.context > 0 else None)
            if layer.context > 0:
                out.append(s)
            return y

        h = conv(self._enc_in, x)
        for down, blocks in self._enc_stages:
            h = conv(down, h)
            h = self._run_blocks(blocks, h, states, out)
        y = conv(self._enc_out, h)
        return y, out

    def synthesis(self, y: tf.Tensor, state: Sequence[tf.Tensor] | None = None):
        """Latent (B, F, M) -> waveform (B, F * hop, 1), and the new streaming state."""
        states = list(state) if state is not None else None
        out: list = []

        def conv(layer, h):
            r, s = layer(h, states.pop(0) if states is not None and layer.context > 0 else None)
            if layer.context > 0:
                out.append(s)
            return r

        h = conv(self._dec_in, y)
        for blocks, up, stride, cout in self._dec_stages:
            h = self._run_blocks(blocks, h, states, out)
            h = conv(up, tf.nn.elu(h))
            shape = tf.shape(h)
            h = tf.reshape(h, [shape[0], shape[1] * stride, cout])
        x = conv(self._dec_out, tf.nn.elu(h))
        return x, out

    # ------------------------------------------------------------------ bottleneck

    def gain(self, level: int) -> tf.Tensor:
        """Per-channel gain (M,) applied to the latent before quantization at ``level``."""
        return tf.exp(GAIN_SCALE * self.log_gains[level])

    def inverse_gain(self, level: int) -> tf.Tensor:
        """Per-channel gain (M,) applied to the quantized latent before synthesis."""
        return tf.exp(GAIN_SCALE * self.log_inverse_gains[level])

    def training_entropy_model(self, level: int) -> tfc.ContinuousBatchedEntropyModel:
        """The noisy (differentiable) entropy model of ``level``, over (frames, M) units."""
        return tfc.ContinuousBatchedEntropyModel(self.priors[level], coding_rank=2, compression=False,
                                                 offset_heuristic=False)

    def forward(self, x: tf.Tensor, level: int, training: bool = True):
        """Full pass for training: returns (reconstruction (B, T, 1), bits per example (B,))."""
        y, _ = self.analysis(x)
        y = y * self.gain(level)
        em = self.training_entropy_model(level)
        _, bits = em(y, training=training)
        y_hat = em.quantize(y)  # integer rounding, straight-through gradient for the decoder ("mixed" quantization)
        x_hat, _ = self.synthesis(y_hat * self.inverse_gain(level))
        return x_hat, bits

    def coding_tables(self, level: int) -> dict[str, np.ndarray]:
        """Range-coding tables of ``level`` (fixed integers, so both sides agree bit for bit).

        Built in a graph (:func:`~neuralav.plugins.cae.model.prior_tables`): tfc's tail
        search takes seconds per prior when run eagerly.
        """
        from neuralav.plugins.cae.model import prior_tables

        tables = prior_tables(self.priors[level], offset_heuristic=False)
        return {"cdf": tables["cdf"].numpy(), "cdf_offset": tables["cdf_offset"].numpy()}

    # ------------------------------------------------------------------ weights

    def weights(self) -> dict[str, np.ndarray]:
        """Transform and gain parameters by name (what codecs need besides the coding tables)."""
        return {name: var.numpy() for name, var in self.params.items()}

    def load_weights(self, arrays: dict[str, np.ndarray]) -> None:
        """Assign parameters from ``weights()``-style arrays.

        Raises:
            ValueError: a name is missing or a shape differs.
        """
        for name, var in self.params.items():
            if name not in arrays:
                raise ValueError(f"weights lack `{name}`")
            value = np.asarray(arrays[name])
            if tuple(value.shape) != tuple(var.shape):
                raise ValueError(f"weight `{name}` has shape {value.shape}, the model needs {tuple(var.shape)}")
            var.assign(value)


def weights_for_config(arrays: dict[str, np.ndarray], stored: ModelConfig,
                       config: ModelConfig) -> dict[str, np.ndarray]:
    """``weights()`` arrays of a ``stored`` model, renamed for a ``config`` model that keeps a
    subset of its WaveNet blocks: block ``k`` of every stage takes the stored block of the same
    dilation (their other parameters are shared as they are).

    Raises:
        ValueError: the configs differ in anything but dropped dilations.
    """
    if config == stored:
        return arrays
    if len(set(stored.dilations)) != len(stored.dilations):
        raise ValueError(f"a {stored} model repeats a dilation: its blocks cannot be matched by dilation")
    kept = [d for d in stored.dilations if d in config.dilations]
    same_otherwise = dataclasses.replace(stored, dilations=config.dilations) == config
    if not same_otherwise or tuple(kept) != tuple(config.dilations):
        raise ValueError(f"weights of a {stored} model cannot start a {config} model "
                         "(only dropping dilations is supported)")
    renamed = {}
    for name, value in arrays.items():
        parts = name.split("/")
        block = next((i for i, part in enumerate(parts) if part[:1] == "b" and part[1:].isdigit()), None)
        if block is None:
            renamed[name] = value
            continue
        dilation = stored.dilations[int(parts[block][1:])]
        if dilation in config.dilations:
            parts[block] = f"b{config.dilations.index(dilation)}"
            renamed["/".join(parts)] = value
    return renamed


def read_weights(path) -> tuple[dict, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Read a ``wavenet.npz`` (``train.write_weights``'s format): ``(meta, weights, arrays)``
    with ``meta`` the decoded ``meta_json`` (``meta["config"]`` is a ``ModelConfig`` dict),
    ``weights`` the ``w/`` arrays by parameter name, ``arrays`` every array by key.

    Raises:
        OSError, KeyError, ValueError: not such a file.
    """
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(str(arrays["meta_json"]))
    return meta, {key[2:]: value for key, value in arrays.items() if key.startswith("w/")}, arrays
