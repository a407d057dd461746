"""Rate and quality metrics, one of each, shared by the codecs' own evaluations and the bench.

Home: inside ``registry``, the layer both sides of the one-way dependency rule
(``container`` → ``registry`` ← ``plugins``) already import, because its users are the
benchmark in ``container/bench`` and the ``evaluate`` commands in ``plugins``. It
depends only on numpy, the registry's error base and, lazily inside the functions that
need them, TensorFlow (MS-SSIM), ``scipy``, ``pesq`` and ``pystoi``; importing it
imports none of those, and nothing here knows a codec.

- :mod:`.measures`: bpp, kbps, PSNR, MS-SSIM (and its dB scale), SNR,
  log-spectral distance, PESQ-WB, STOI;
- :mod:`.bdrate`: the Bjøntegaard delta rate between two rate–quality curves.
"""

from __future__ import annotations

from .bdrate import METHOD, MIN_POINTS, bd_rate, bd_rates
from .errors import MetricError
from .measures import (MSSSIM_MIN_SIDE, bits_per_pixel, kbps, log_spectral_distance, msssim, msssim_db, pesq_wb,
                       psnr, snr_db, stoi)

__all__ = [
    "METHOD", "MIN_POINTS", "MSSSIM_MIN_SIDE", "MetricError", "bd_rate", "bd_rates", "bits_per_pixel", "kbps",
    "log_spectral_distance", "msssim", "msssim_db", "pesq_wb", "psnr", "snr_db", "stoi",
]
