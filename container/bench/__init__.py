"""``neuralav bench``: rate–distortion and speed of neural codecs against standard codecs.

Modules:

- :mod:`.image_codecs` / :mod:`.audio_codecs`: one small codec interface for
  registry codecs (neural or not) and the baselines (JPEG, WebP, AVIF through
  Pillow; HEVC, H.264 intra and Opus through PyAV), CompressAI style.
- :mod:`neuralav.registry.metrics` (shared with the codecs' own ``evaluate`` commands): bpp,
  kbps, RGB PSNR, MS-SSIM (TensorFlow, imported lazily), SNR, log-spectral
  distance, wideband PESQ, STOI, and the Bjøntegaard delta rate.
- :mod:`.timing`: wall-clock timing and RSS-based peak memory.
- :mod:`.images` / :mod:`.audio`: the runs, returning JSON-ready dicts.
- :mod:`.report`: text tables, strict JSON, matplotlib plots (Agg).

The command line is :mod:`neuralav.container.commands.bench`. Nothing here
imports TensorFlow unless MS-SSIM is computed or a neural codec runs.
"""

from .errors import BenchError, NoMediaError

__all__ = ["BenchError", "NoMediaError"]
