"""The runtime the learned image/video codecs (``cae``, ``vae``) stand on.

A codec adds only its model and its payload fields; everything else is here:

- :mod:`.zoo`: the level table as data (λ, architecture, weights file, hash) and
  the weights lookup with its environment-variable override;
- :mod:`.payload`: the framing of a frame's payload (format, level, model id,
  the codec's fields, strings, CRC-32);
- :mod:`.runtime`: models loaded once per weights file and process, behind a lock;
- :mod:`.codec`: encoder and decoder bases with the hooks a codec implements;
- :mod:`.weights`: the ``.npz`` weights format (hashing, reading, writing);
- :mod:`.geometry` and :mod:`.transforms`: latent sizes, edge padding and the
  main analysis/synthesis transforms;
- :mod:`.data`, :mod:`.training`, :mod:`.evaluation`: training images, the
  resumable training loop, and the Kodak/JPEG evaluation helpers.

Only :mod:`.transforms` imports TensorFlow at import time; the others import it
where it is needed, so listing codecs stays fast.
"""
