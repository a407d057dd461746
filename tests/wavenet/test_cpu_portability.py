"""``wavenet`` training runs on any x86-64 CPU, whether TensorFlow's oneDNN kernels are on or off.

TensorFlow turns oneDNN on by default only on some CPUs (``TF_ENABLE_ONEDNN_OPTS`` overrides
the choice), and its default kernels have no gradient for a dilated convolution. Each mode
runs in its own process, since TensorFlow reads the variable once, at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("tensorflow_compression")

TRAINING_STEP = """
import json
import numpy as np
import tensorflow as tf
from neuralav.plugins.wavenet.model import CONFIGS, WavenetModel

model = WavenetModel(CONFIGS["tiny"])
level = model.config.levels - 1
x = tf.constant(np.random.default_rng(0).uniform(-0.8, 0.8, (2, 640, 1)).astype(np.float32))
before = {name: var.numpy() for name, var in model.params.items()}
optimizer = tf.keras.optimizers.Adam(1e-3)
with tf.GradientTape() as tape:
    x_hat, bits = model.forward(x, level)
    loss = tf.reduce_mean((x - x_hat) ** 2) + 1e-4 * tf.reduce_mean(bits)
variables = list(model.params.values())
optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
print(json.dumps({"loss": float(loss),
                  "moved": sorted(n for n, v in model.params.items() if not np.array_equal(v.numpy(), before[n]))}))
"""
"""One Adam step of the ``tiny`` model (dilations 1 and 2); prints its loss and the parameters it moved."""


def _training_step(onednn: str) -> dict:
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", TRAINING_STEP], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, f"TF_ENABLE_ONEDNN_OPTS={onednn}:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.splitlines()[-1])


def test_a_training_step_moves_every_dilated_conv_with_onednn_off_and_on_alike():
    off, on = _training_step("0"), _training_step("1")
    gates = {f"{side}/s{stage}/b{block}/gate_w" for side in ("enc", "dec") for stage in range(3)
             for block in range(2)}
    assert gates <= set(off["moved"]), sorted(gates - set(off["moved"]))
    assert off["moved"] == on["moved"]
    assert off["loss"] == pytest.approx(on["loss"], rel=1e-3)  # float rounding differs between the kernels
