"""Fixtures of the `cae` tests."""

import av
import pytest


@pytest.fixture(scope="session")
def camera_frame():
    """Frame 10 of the bundled sample clip (foreman, 352x288 camera footage), HxWx3 uint8.

    Bundled with the package, so these tests never skip for want of shared media.
    """
    from neuralav.container.samples import SAMPLE

    with av.open(str(SAMPLE)) as source:
        for index, frame in enumerate(source.decode(video=0)):
            if index == 10:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError("the sample clip has fewer than 11 frames")
