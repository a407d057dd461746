"""Encoder-side latent refinement by stochastic Gumbel annealing (the ``vae`` codec's slow preset).

After Y. Yang, R. Bamler, S. Mandt, "Improving Inference for Neural Image
Compression", NeurIPS 2020 (SGA, method M1 of their Table 1): the analysis
transforms only *predict* the latents; for one image the encoder can do better
by optimising ``y`` and ``z`` themselves against the rate–distortion loss the
model was trained with, ``bpp + λ·MSE``. Rounding has no useful gradient, so
during the search each latent element is rounded down or up at random with a
Gumbel-softmax (concrete) relaxation whose temperature τ is annealed towards
0: early on the soft values carry gradients, at the end they are nearly hard
integers, so what is optimised is nearly what is coded.

Only the encoder changes: the refined latents are rounded and range-coded
exactly as the analysis transforms' ones are
(``model.code_latents(*model.code_hyper_latent(y, z))``), with the same tables
and the same integer hyper-synthesis, so the bitstream format and the decoder
are untouched and old decoders read the result.

Shapes and units: images H x W x 3 uint8 RGB (edge-padded to a multiple of 16
by :meth:`VAEModel.padded`, as the encoder does); ``y`` 1 x h x w x M and
``z`` 1 x zh x zw x C float32 (NHWC); rates in bits, the objective in bits per
(real) pixel plus λ times the MSE of 0–255 RGB over the real H x W pixels.

TensorFlow is imported here, so import this module lazily.
"""

from __future__ import annotations

import math
import weakref

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

__all__ = ["LEARNING_RATE", "TAU_MAX", "TAU_MIN", "WARMUP", "refine_latents", "temperature"]

TAU_MAX = 0.5
"""Temperature at the start of the search (Yang et al.'s upper bound)."""

TAU_MIN = 0.1
"""Temperature at the last iteration: the soft latents are then nearly the coded integers
while gradients still flow."""

WARMUP = 0.2
"""Fraction of the iterations spent at :data:`TAU_MAX` before annealing."""

LEARNING_RATE = 0.02
"""Adam step size, in latent units (one quantization bin is 1)."""

_EPSILON = 1e-5
"""Keeps atanh finite: distances to the rounding candidates are clipped to 1 - ε."""

_PROB_FLOOR = 1e-9
"""Smallest probability a rate term takes (the log of 0 would be -inf)."""


def temperature(step: int, iterations: int) -> float:
    """τ at 0-based `step` of `iterations`: :data:`TAU_MAX` for the first :data:`WARMUP`
    of the iterations, then exponential decay to :data:`TAU_MIN` at the last step
    (Yang et al.'s ``min(0.5, exp(-c·(t - t0)))`` with ``t0`` and ``c`` set by the
    iteration count, so that short searches also end nearly hard)."""
    start = WARMUP * iterations
    if step <= start or iterations < 2:
        return TAU_MAX
    rate = math.log(TAU_MAX / TAU_MIN) / (iterations - 1 - start)
    return float(max(TAU_MIN, TAU_MAX * math.exp(-rate * (step - start))))


class _Refiner:
    """The traced functions of one model (built once per model, traced once)."""

    def __init__(self, model) -> None:
        self._model = weakref.ref(model)
        image = tf.TensorSpec((None, None, 3), tf.uint8)
        latent = tf.TensorSpec((1, None, None, None), tf.float32)
        vector = tf.TensorSpec((None,), tf.float32)
        scalar = tf.TensorSpec((), tf.float32)
        self.initial = tf.function(self._initial, input_signature=[image, vector])
        self.step = tf.function(self._step, input_signature=[
            image, latent, latent, latent, latent, latent, latent, vector, scalar,
            tf.TensorSpec((), tf.int32), scalar, scalar, tf.TensorSpec((), tf.int32)])

    @property
    def model(self):
        return self._model()

    def _initial(self, image, log_gain):
        y = self.model.analysis_transform(self.model.padded(image)) * tf.exp(log_gain)
        return y, self.model.hyper_analysis_transform(tf.abs(y))

    def _objective(self, image, y_hat, z_hat, log_inverse_gain, lmbda):
        """bpp + λ·MSE of (possibly soft) ŷ, ẑ over the real pixels of `image`."""
        model = self.model
        indexes, means = model.scales_and_means(
            model.hyper_synthesis_transform(z_hat)[:, :tf.shape(y_hat)[1], :tf.shape(y_hat)[2], :])
        # As tfc's LocationScaleIndexedEntropyModel does before its scale function.
        indexes = tfc.upper_bound(tfc.lower_bound(indexes, 0.0), model.config.num_scales - 1.0)
        scale = model.index_scales(indexes)
        y_prob = tfc.NoisyNormal(loc=0.0 if means is None else means, scale=scale).prob(y_hat)
        z_prob = model.hyperprior.prob(z_hat)
        bits = -(tf.reduce_sum(tf.math.log(tf.maximum(y_prob, _PROB_FLOOR)))
                 + tf.reduce_sum(tf.math.log(tf.maximum(z_prob, _PROB_FLOOR)))) / math.log(2.0)
        x = tf.cast(image, tf.float32)
        x_hat = model.synthesis_transform(y_hat * tf.exp(log_inverse_gain))
        x_hat = x_hat[0, :tf.shape(x)[0], :tf.shape(x)[1], :]
        num_pixels = tf.cast(tf.shape(x)[0] * tf.shape(x)[1], tf.float32)
        mse = tf.reduce_mean(tf.math.squared_difference(x, x_hat))
        return bits / num_pixels + lmbda * mse

    def _step(self, image, y, z, y_m, y_v, z_m, z_v, log_inverse_gain, lmbda, step, tau, lr, seed):
        """One Adam step on the SGA objective; returns the new (y, z, moments..., objective)."""
        with tf.GradientTape() as tape:
            tape.watch([y, z])
            y_soft = _sga_round(y, tau, tf.stack([seed, 2 * step]))
            z_soft = _sga_round(z, tau, tf.stack([seed, 2 * step + 1]))
            loss = self._objective(image, y_soft, z_soft, log_inverse_gain, lmbda)
        y_grad, z_grad = tape.gradient(loss, [y, z])
        t = tf.cast(step + 1, tf.float32)
        y, y_m, y_v = _adam(y, y_grad, y_m, y_v, t, lr)
        z, z_m, z_v = _adam(z, z_grad, z_m, z_v, t, lr)
        return y, z, y_m, y_v, z_m, z_v, loss


def _sga_round(v, tau, seed):
    """One SGA sample: ``floor(v)`` or ``ceil(v)``, relaxed as in Yang et al..

    The logits of rounding down / up are ``-atanh(distance)/τ``; the sample is a
    two-class Gumbel-softmax at temperature τ. For two classes the difference of
    the two Gumbel noises is logistic, so the weight of ``ceil`` is
    ``sigmoid((logit_up - logit_down + logistic noise) / τ)``.
    """
    floor = tf.math.floor(v)
    ceil = tf.math.ceil(v)
    down = -tf.math.atanh(tf.clip_by_value(v - floor, 0.0, 1.0 - _EPSILON)) / tau
    up = -tf.math.atanh(tf.clip_by_value(ceil - v, 0.0, 1.0 - _EPSILON)) / tau
    u = tf.random.stateless_uniform(tf.shape(v), seed, minval=1e-7, maxval=1.0 - 1e-7)
    weight_up = tf.sigmoid((up - down + tf.math.log(u) - tf.math.log1p(-u)) / tau)
    return floor + (ceil - floor) * weight_up


def _adam(value, grad, m, v, t, lr, beta1=0.9, beta2=0.999, epsilon=1e-8):
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * tf.square(grad)
    m_hat = m / (1.0 - beta1 ** t)
    v_hat = v / (1.0 - beta2 ** t)
    return value - lr * m_hat / (tf.sqrt(v_hat) + epsilon), m, v


_REFINERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _refiner(model) -> _Refiner:
    refiner = _REFINERS.get(model)
    if refiner is None:
        refiner = _REFINERS[model] = _Refiner(model)
    return refiner


def refine_latents(model, image: np.ndarray, log_gain, log_inverse_gain, lmbda: float,
                   iterations: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Latents of `image` optimised for the rate–distortion objective by SGA.

    Starts from the analysis transforms' prediction (``y = g_a(x)·exp(log_gain)``,
    ``z = h_a(|y|)``, as the encoder computes them) and runs `iterations` Adam
    steps (:data:`LEARNING_RATE`) on ``bits(ŷ | σ(ẑ), μ(ẑ)) / P + bits(ẑ) / P + λ·MSE``,
    where ``ŷ``, ``ẑ`` are SGA soft roundings of ``y``, ``z`` at temperature
    :func:`temperature`, ``P`` the number of real pixels (H·W) and MSE that of the
    0–255 RGB picture ``g_s(ŷ·exp(log_inverse_gain))`` over the real pixels: the
    training loss of :meth:`VAEModel.call` for this one image. Rates are in bits:
    ``-log2`` of the noisy-normal (``y``) and factorized (``z``) priors.

    The result is coded as usual (``model.code_latents(*model.code_hyper_latent(y, z))``):
    the bitstream and the decoder do not change, only which latents the encoder sends. The last iterate
    is returned (keeping the iterate of lowest hard-rounded objective instead
    changed nothing measurable and cost a forward pass per step). An iteration
    costs about one forward and one backward pass of the whole model; the
    schedule's constants were chosen on training photos for 50 to 400 iterations.

    Args:
        model: A :class:`~neuralav.plugins.vae.model.VAEModel`.
        image: H x W x 3 uint8 RGB, any H, W >= 1.
        log_gain: M float32, the level's log gains (e.g. ``model.log_gain[row]``).
        log_inverse_gain: M float32, the level's log inverse gains.
        lmbda: λ of the level (loss ``bpp + λ·MSE``, MSE of 0–255 RGB).
        iterations: Adam steps; 0 returns the unrefined latents.
        seed: Seed of the rounding noise; the result is a deterministic function
            of (image, model, arguments, seed) for a given TensorFlow thread setup.

    Returns:
        (y, z): y 1 x h x w x M float32 (gain applied, as :meth:`VAEModel.analyze`
        returns it), z 1 x zh x zw x C float32 (the hyper-latent before quantization).

    Raises:
        ValueError: `image` is not H x W x 3 uint8, or `iterations` is negative.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or 0 in image.shape:
        raise ValueError(f"`image` must be H x W x 3 uint8, not {image.shape} {image.dtype}")
    if iterations < 0:
        raise ValueError(f"`iterations` must be >= 0, not {iterations}")
    refiner = _refiner(model)
    log_gain = tf.convert_to_tensor(log_gain, tf.float32)
    log_inverse_gain = tf.convert_to_tensor(log_inverse_gain, tf.float32)
    lmbda = tf.constant(lmbda, tf.float32)
    y, z = refiner.initial(image, log_gain)
    y_m, y_v, z_m, z_v = (tf.zeros_like(y), tf.zeros_like(y), tf.zeros_like(z), tf.zeros_like(z))
    lr = tf.constant(LEARNING_RATE, tf.float32)
    seed = tf.constant(seed, tf.int32)
    for step in range(iterations):
        tau = tf.constant(temperature(step, iterations), tf.float32)
        y, z, y_m, y_v, z_m, z_v, _ = refiner.step(image, y, z, y_m, y_v, z_m, z_v, log_inverse_gain,
                                                   lmbda, tf.constant(step, tf.int32), tau, lr, seed)
    return y.numpy(), z.numpy()
