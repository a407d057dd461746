"""Shared fixtures: the example third-party plugin, installed for real, and the test media.

The session installs ``examples/neuralav-zlib`` with pip onto a temporary path entry
(ahead of any copy the environment has), so that tests exercise genuine entry-point
discovery without changing the user's environment or tree.

Media: everything the suite needs ships with the repository (``tests/data/``, the bundled
sample clip) or is made by the tests. Tests that also want larger real media take the
``shared_data`` fixture; they are marked ``shared_data`` and run only where that folder
exists (``NEURALAV_TEST_DATA``, default ``../shared/data`` next to the clone), and are
deselected, with a line saying so, where it does not.
"""

from __future__ import annotations

import functools
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_PLUGIN = REPO / "examples" / "neuralav-zlib"
TEST_DATA = REPO / "tests" / "data"
"""Media shipped for the tests (sources and licences in its README.md)."""
SPEECH_CLIP = TEST_DATA / "speech" / "198-209-0000.ogg"
"""13.9 s of read speech, 16 kHz mono Ogg Vorbis (LibriSpeech, the wavenet held-out clip)."""
SHARED_DATA = Path(os.environ.get("NEURALAV_TEST_DATA") or REPO.parent / "shared" / "data")
"""Larger real media for the ``shared_data`` tests (optional)."""


def pip(*args: str) -> None:
    """Run pip in the test interpreter's environment; fail the test with pip's output."""
    result = subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "-q"],
                            capture_output=True, text=True)
    if result.returncode:
        pytest.fail(f"pip {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


SOURCE_LEFTOVERS = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                    ".hypothesis", "demo-out", "bench-out")
"""What :func:`copy_source` leaves out: version control, environments and build outputs."""


def copy_source(source: Path, destination: Path) -> Path:
    """Copy a source tree to build it out of tree (setuptools writes ``build/`` and
    ``*.egg-info`` next to the sources it builds, which must not land in the user's clone)."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*SOURCE_LEFTOVERS))
    return destination


@pytest.fixture(scope="session", autouse=True)
def example_plugin_installed(tmp_path_factory):
    """The example plugin, installed for the session on a temporary path entry.

    pip installs it (with its dist-info and entry points, so discovery is real) into a
    folder of the session's temporary directory, built from a copy of its sources; the folder
    goes first on ``sys.path`` and on ``PYTHONPATH`` (for the CLI in subprocesses) until the
    session ends, ahead of any copy the environment has. The user's environment and tree are
    left as they were.

    Yields:
        The temporary folder it was installed into.
    """
    from neuralav.registry import reset_default_registry

    temporary = tmp_path_factory.mktemp("example-plugin")
    site = temporary / "site"
    pip("install", "--no-deps", "--no-build-isolation", "--no-compile", "--target", str(site),
        str(copy_source(EXAMPLE_PLUGIN, temporary / "source")))
    previous_pythonpath = os.environ.get("PYTHONPATH")
    sys.path.insert(0, str(site))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), previous_pythonpath]))
    importlib.invalidate_caches()
    reset_default_registry()
    yield site
    sys.path.remove(str(site))
    if previous_pythonpath is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = previous_pythonpath
    importlib.invalidate_caches()
    reset_default_registry()


_DESELECTED = pytest.StashKey[int]()


def pytest_collection_modifyitems(config, items):
    """Marks the tests that take the ``shared_data`` fixture, and deselects them when the
    shared media folder is absent (they would only skip)."""
    needing = [item for item in items if "shared_data" in getattr(item, "fixturenames", ())]
    for item in needing:
        item.add_marker(pytest.mark.shared_data)
    if needing and not SHARED_DATA.is_dir():
        config.hook.pytest_deselected(items=needing)
        chosen = set(map(id, needing))
        items[:] = [item for item in items if id(item) not in chosen]
        config.stash[_DESELECTED] = len(needing)


def pytest_terminal_summary(terminalreporter, config):
    count = config.stash.get(_DESELECTED, 0)
    if count:
        terminalreporter.write_line(
            f"{count} tests marked shared_data deselected: no shared media at {SHARED_DATA} "
            "(set NEURALAV_TEST_DATA to run them)")
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped and os.environ.get("NEURALAV_TESTS_FORBID_SKIPS") == "1":
        terminalreporter.write_line(f"NEURALAV_TESTS_FORBID_SKIPS=1: {len(skipped)} tests skipped, "
                                    "which CI counts as a failure", red=True)


def pytest_sessionfinish(session, exitstatus):
    """With ``NEURALAV_TESTS_FORBID_SKIPS=1`` (CI) a skipped test fails the run: every
    dependency CI installs is there, so a skip means lost coverage."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and os.environ.get("NEURALAV_TESTS_FORBID_SKIPS") == "1" and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def shared_data() -> Path:
    """The larger shared media folder (``NEURALAV_TEST_DATA``, default ``../shared/data``)."""
    if not SHARED_DATA.is_dir():  # collection deselects its tests then: for other callers
        pytest.skip(f"shared media not found at {SHARED_DATA} (set NEURALAV_TEST_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def speech_clip() -> Path:
    """Path of the shipped speech clip (:data:`SPEECH_CLIP`)."""
    return SPEECH_CLIP


@functools.lru_cache(maxsize=None)
def sample_frame(index: int) -> np.ndarray:
    """Frame `index` (0-49) of the bundled sample clip (foreman, 352x288 camera footage), HxWx3 uint8."""
    import av

    from neuralav.container.samples import SAMPLE

    with av.open(str(SAMPLE)) as source:
        for number, frame in enumerate(source.decode(video=0)):
            if number == index:
                picture = frame.to_ndarray(format="rgb24")
                picture.flags.writeable = False
                return picture
    raise AssertionError(f"the sample clip has no frame {index}")


@pytest.fixture(scope="session")
def camera_frame():
    """Frame 10 of the bundled sample clip (foreman, 352x288 camera footage), HxWx3 uint8.

    Bundled with the package, so these tests never skip for want of shared media.
    """
    return sample_frame(10).copy()
