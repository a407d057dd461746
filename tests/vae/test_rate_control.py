"""`vae` rate control: a per-picture size target (``bpp``) and ``-b:v`` through the CLI, tiny model."""

from __future__ import annotations

import av
import numpy as np
import pytest

from neuralav import registry
from neuralav.registry import InvalidOptionError

from ..imaging.frames import frame_of
from .conftest import photo

pytestmark = pytest.mark.usefixtures("use_tiny_weights")


def packet_size(reg, image, **options):
    encoder = registry.create_encoder("vae", options, registry=reg)
    (packet,) = encoder.encode(frame_of(image))
    return packet, encoder


def payload_bits(packet) -> int:
    from neuralav.registry.api import parse_video_packet

    return 8 * len(parse_video_packet(bytes(packet)).payload)


@pytest.mark.parametrize("between", [0.3, 0.7])
def test_a_bpp_target_lands_within_three_percent(vae_registry, between):
    image = photo(128, 96, offset=(60, 100))
    pixels = 128 * 96
    low = payload_bits(packet_size(vae_registry, image, quality=1)[0]) / pixels
    high = payload_bits(packet_size(vae_registry, image, quality=6)[0]) / pixels
    target = low * (high / low) ** between
    packet, encoder = packet_size(vae_registry, image, quality=3, bpp=target)
    assert abs(payload_bits(packet) / pixels / target - 1) <= 0.03
    assert 1 < encoder.last_quality < 6
    decoder = registry.create_decoder("vae", encoder.header, registry=vae_registry)
    (frame,) = decoder.decode(packet)
    from neuralav.plugins.vae.codec import VAECodec

    reference = VAECodec.load_variable_rate().model.reconstruct(image, encoder.last_quality)
    np.testing.assert_array_equal(frame.to_ndarray(), reference)


def test_a_target_below_the_range_codes_at_its_lowest_quality(vae_registry):
    packet, encoder = packet_size(vae_registry, photo(64, 48), bpp=0.01)
    assert encoder.last_quality == 0.0
    assert packet.size == packet_size(vae_registry, photo(64, 48), quality=0)[0].size


def test_bpp_out_of_range_names_the_option(vae_registry):
    with pytest.raises(InvalidOptionError, match="bpp"):
        registry.create_encoder("vae", {"bpp": 0}, registry=vae_registry)


def test_b_v_sets_every_frame_near_rate_over_fps(tmp_path):
    from neuralav.container.cli import main
    from neuralav.container.samples import SAMPLE

    out = tmp_path / "rate.mkv"
    rate = 400_000  # bits/s at the sample's 352x288, 25 fps: ~0.158 bpp per picture
    assert main(["transcode", "-i", str(SAMPLE), "-t", "0.2", "-map", "0:v", "-c:v", "vae", "-b:v", "400k",
                 str(out)]) == 0
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        sizes = [packet.size for packet in container.demux(stream) if packet.size]
    # The packet holds a small frame prefix besides the payload: well under 1 % here.
    mean_bits = 8 * float(np.mean(sizes))
    assert len(sizes) == 5 and abs(mean_bits * fps / rate - 1) <= 0.05


def test_preset_slow_codes_other_latents_for_the_same_decoder(vae_registry):
    """The refined packet parses with the decoder of a ``medium`` stream (its R-D gain is measured
    on the shipped model in ``test_refine.py``)."""
    image = photo(96, 64, offset=(40, 80))
    medium, medium_encoder = packet_size(vae_registry, image, quality=3)
    slow, _ = packet_size(vae_registry, image, quality=3, preset="slow")
    decoder = registry.create_decoder("vae", medium_encoder.header, registry=vae_registry)
    (frame,) = decoder.decode(slow)
    assert bytes(slow) != bytes(medium) and frame.to_ndarray().shape == image.shape


def test_preset_slow_with_a_bpp_target_lands_within_three_percent(vae_registry):
    image = photo(128, 96, offset=(60, 100))
    pixels = 128 * 96
    target = payload_bits(packet_size(vae_registry, image, quality=3.5)[0]) / pixels
    packet, _ = packet_size(vae_registry, image, quality=3, bpp=target, preset="slow")
    assert abs(payload_bits(packet) / pixels / target - 1) <= 0.03


def test_neuralav_codecs_vae_documents_quality_rate_control_and_presets(capsys):
    from neuralav.container.cli import main

    assert main(["codecs", "vae"]) == 0
    out = capsys.readouterr().out
    assert "-quality" in out and "<float>" in out and "(from 0 to 7)" in out
    assert "-bpp" in out and "bits per pixel" in out and "(default not set)" in out
    assert "-preset" in out and "(one of medium, slow) (default medium)" in out
