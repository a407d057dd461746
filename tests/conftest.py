"""Shared fixtures: the example third-party plugin, installed for real.

The session installs ``examples/neuralav-zlib`` into the running environment
with pip (unless it is already installed) so that tests exercise genuine
entry-point discovery, and uninstalls it afterwards if it installed it.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_PLUGIN = REPO / "examples" / "neuralav-zlib"
SHARED_DATA = REPO.parent / "shared" / "data"


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def pip(*args: str) -> None:
    """Run pip in the test interpreter's environment; fail the test with pip's output."""
    result = subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "-q"],
                            capture_output=True, text=True)
    if result.returncode:
        pytest.fail(f"pip {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session", autouse=True)
def example_plugin_installed():
    """Install the example plugin package for the session (real entry points)."""
    from neuralav.registry import reset_default_registry

    installed_here = False
    if not _installed("neuralav-zlib"):
        pip("install", "--no-deps", "--no-build-isolation", str(EXAMPLE_PLUGIN))
        installed_here = True
    reset_default_registry()
    yield
    if installed_here:
        pip("uninstall", "-y", "neuralav-zlib")
    reset_default_registry()


@pytest.fixture
def shared_data() -> Path:
    """The shared media folder (../shared/data); skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared media not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def camera_frame():
    """Frame 10 of the bundled sample clip (foreman, 352x288 camera footage), HxWx3 uint8.

    Bundled with the package, so these tests never skip for want of shared media.
    """
    import av

    from neuralav.container.samples import SAMPLE

    with av.open(str(SAMPLE)) as source:
        for index, frame in enumerate(source.decode(video=0)):
            if index == 10:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError("the sample clip has fewer than 11 frames")
