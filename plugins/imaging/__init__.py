"""Pieces shared by the learned image/video codecs (``cae``, ``vae``).

:mod:`.training` is the resumable training loop and its command-line scaffolding
(checkpoints, ``--init-from`` fine-tuning, ``--export``). No TensorFlow is imported
here: each module imports it where it is needed.

The data pipeline (:mod:`neuralav.plugins.cae.data`), edge padding
(:func:`neuralav.plugins.cae.model.pad_to_multiple`) and the Kodak/JPEG evaluation
helpers (:mod:`neuralav.plugins.cae.evaluate`) are generic already and are imported
from ``cae`` directly.
"""
