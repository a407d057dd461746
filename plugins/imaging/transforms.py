"""The transforms every image codec here starts from, and helpers of their models.

The main analysis and synthesis transforms of Ballé, Laparra & Simoncelli,
"End-to-end Optimized Image Compression" (ICLR 2017), as in tensorflow-compression's
``models/bls2017.py``: ``cae`` codes their latent with a factorized prior, ``vae``
adds a scale hyperprior on top of the same layers (so a ``cae`` file can start a
``vae``'s training). Images are NHWC RGB, float 0–255 inside.

TensorFlow is imported here, so import this module lazily.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_compression as tfc

from .geometry import PAD_MULTIPLE

__all__ = ["AnalysisTransform", "SynthesisTransform", "PAD_MULTIPLE", "named_weights",
           "pad_to_multiple", "prior_tables"]


class AnalysisTransform(tf.keras.Sequential):
    """x (N,H,W,3 float 0–255) -> y (N,H/16,W/16,M): 4 stride-2 5x5 convs, GDN between.

    ``tfc.SignalConv2D`` layers as in tfc's ``models/bmshj2018.py``: their kernels
    are parameterized in the Fourier domain (RDFT), which trains much faster per step than
    plain Keras ``Conv2D`` though a step costs more (as measured: ``cae``'s
    ``weights/MODEL_CARD.md``).
    """

    def __init__(self, config) -> None:
        super().__init__(name="analysis")
        self.add(tf.keras.layers.Lambda(lambda x: x / 255.0, name="scale"))
        for i in range(3):
            self.add(tfc.SignalConv2D(
                config.num_filters, (5, 5), name=f"layer_{i}", corr=True, strides_down=2,
                padding="same_zeros", use_bias=True, activation=tfc.GDN(name=f"gdn_{i}")))
        self.add(tfc.SignalConv2D(
            config.latent_channels, (5, 5), name="layer_3", corr=True, strides_down=2,
            padding="same_zeros", use_bias=False, activation=None))


class SynthesisTransform(tf.keras.Sequential):
    """y_hat (N,h,w,M) -> x_hat (N,16h,16w,3 float, ~0–255): mirror with IGDN."""

    def __init__(self, config) -> None:
        super().__init__(name="synthesis")
        for i in range(3):
            self.add(tfc.SignalConv2D(
                config.num_filters, (5, 5), name=f"layer_{i}", corr=False, strides_up=2,
                padding="same_zeros", use_bias=True,
                activation=tfc.GDN(name=f"igdn_{i}", inverse=True)))
        self.add(tfc.SignalConv2D(
            3, (5, 5), name="layer_3", corr=False, strides_up=2,
            padding="same_zeros", use_bias=True, activation=None))
        self.add(tf.keras.layers.Lambda(lambda x: x * 255.0, name="unscale"))


def pad_to_multiple(x: tf.Tensor, multiple: int = PAD_MULTIPLE) -> tf.Tensor:
    """Edge-pads (replicates the last row/column) NHWC `x` so H and W divide `multiple`.

    Works for any H, W >= 1 (unlike reflect padding, which needs pad < size).
    """
    shape = tf.shape(x)
    height, width = shape[1], shape[2]
    padded_h = (height + multiple - 1) // multiple * multiple
    padded_w = (width + multiple - 1) // multiple * multiple
    rows = tf.minimum(tf.range(padded_h), height - 1)
    cols = tf.minimum(tf.range(padded_w), width - 1)
    x = tf.gather(x, rows, axis=1)
    return tf.gather(x, cols, axis=2)


def prior_tables(prior, offset_heuristic: bool = True) -> dict[str, tf.Tensor]:
    """``cdf``, ``cdf_offset`` (int32) and ``quantization_offset`` (float32, None without
    the offset heuristic) of a learned factorized prior, for range coding.

    Built in a graph: tfc estimates the prior's tails (and median) by iterative
    searches that take seconds when run eagerly.
    """
    @tf.function(autograph=False)
    def build():
        coder = tfc.ContinuousBatchedEntropyModel(prior, coding_rank=3, compression=True,
                                                  stateless=True, offset_heuristic=offset_heuristic)
        return coder.cdf, coder.cdf_offset, coder.quantization_offset

    cdf, cdf_offset, offset = build()
    return {"cdf": cdf, "cdf_offset": cdf_offset, "quantization_offset": offset}


def named_weights(transforms, priors: dict) -> dict[str, tf.Variable]:
    """Every weight of `transforms` (Keras ``Sequential``s) and `priors` under a stable name.

    A transform's weight is named ``<transform>/<layer>[/<gdn>]/<variable>``
    (independent of Keras name uniquing); a prior's variables ``<prefix>/00``, ...

    Args:
        transforms: The model's transforms.
        priors: ``{name prefix: tfc prior}``.
    """
    named: dict[str, tf.Variable] = {}
    for transform in transforms:
        for layer in transform.layers:
            for weight in layer.weights:
                parts = weight.name.split(":")[0].split("/")
                # keep the activation's (GDN) name: layer_0/gdn_0/reparam_beta
                inner = [p for p in parts if p.startswith(("gdn_", "igdn_"))][-1:]
                named["/".join([transform.name, layer.name, *inner, parts[-1]])] = weight
    for prefix, prior in priors.items():
        for i, variable in enumerate(prior.trainable_variables):
            named[f"{prefix}/{i:02d}"] = variable
    return named
