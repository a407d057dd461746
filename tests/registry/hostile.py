"""Build, install (pip, for real) and uninstall throwaway plugin distributions for tests.

A distribution is a folder with a ``pyproject.toml`` (setuptools) and one package; it is
installed with ``pip install --no-deps --no-build-isolation`` into the test interpreter's
environment, so the registry meets it through ordinary entry-point discovery, exactly as a
user's ``pip install neuralav-something`` would present it.
"""

from __future__ import annotations

import contextlib
import importlib
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from neuralav import registry


def _pip(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "-q"],
                            capture_output=True, text=True, timeout=300)
    if result.returncode:
        pytest.fail(f"pip {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


@contextlib.contextmanager
def installed(folder: Path, distribution: str, package: str, modules: dict[str, str],
              entry_points: dict[str, str]) -> Iterator[None]:
    """Write distribution ``distribution`` (package ``package`` with ``modules``: file stem ->
    source) under ``folder``, pip-install it, yield, then pip-uninstall it and forget its modules.

    Args:
        entry_points: ``neuralav`` entry-point name -> module path (``package.module``).
    """
    root = folder / distribution
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    for stem, source in modules.items():
        (root / package / f"{stem}.py").write_text(textwrap.dedent(source))
    points = "\n".join(f'{name} = "{target}"' for name, target in entry_points.items())
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{distribution}"
        version = "1.0.0"

        [tool.setuptools]
        packages = ["{package}"]

        [project.entry-points.neuralav]
        """) + points + "\n")
    _pip("install", "--no-deps", "--no-build-isolation", str(root))
    importlib.invalidate_caches()
    registry.reset_default_registry()
    try:
        yield
    finally:
        _pip("uninstall", "-y", distribution)
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
        registry.reset_default_registry()
