"""A non-editable install into a fresh virtual environment, then the plugin listed.

The new venv reuses the test environment's third-party packages (TensorFlow,
PyAV...) through a path entry, so nothing is downloaded; neuralav itself and the
example plugin are built from copies of their sources (setuptools writes ``build/`` and
``*.egg-info`` next to what it builds: not into the user's clone) and installed into it with pip.
"""

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import copy_source

REPO = Path(__file__).resolve().parents[2]


def run(*args, **kwargs):
    # Without PYTHONPATH: the session's temporary copy of the example plugin stays out of the new venv.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, env=env,
                            **kwargs)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    # Third-party dependencies from the test environment (its .pth files, such as
    # an editable neuralav, are not processed from a plain path entry).
    (site / "_parent_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
           "--no-build-isolation", "--disable-pip-version-check", "-q"]
    sources = tmp_path_factory.mktemp("sources")
    run(*pip, copy_source(REPO, sources / "neuralav"))
    run(*pip, copy_source(REPO / "examples" / "neuralav-zlib", sources / "neuralav-zlib"))
    return root, site


def test_non_editable_install_puts_everything_under_the_neuralav_namespace(fresh_venv):
    root, site = fresh_venv
    assert (site / "neuralav" / "registry" / "__init__.py").is_file()
    assert (site / "neuralav" / "container" / "cli.py").is_file()
    for bare in ("registry", "plugins", "container"):
        assert not (site / bare).exists(), f"bare top-level package {bare!r} installed"
    where = run(root / "bin" / "python", "-c", "import neuralav.registry as r; print(r.__file__)", cwd=root)
    assert where.strip().startswith(str(site))


def test_installed_script_lists_the_example_plugin(fresh_venv):
    root, _ = fresh_venv
    codecs = json.loads(run(root / "bin" / "neuralav", "codecs", "--json", cwd=root))
    by_name = {c["name"]: c for c in codecs}
    assert by_name["zlibv"]["distribution"] == "neuralav-zlib"
    assert by_name["zliba"]["type"] == "audio"
    assert {by_name[name]["distribution"] for name in ("cae", "vae", "wavenet")} == {"neuralav"}


def test_non_editable_install_ships_the_weights_and_runs_the_demo(fresh_venv, tmp_path):
    """The README's first command, from a non-editable install (weights are package data)."""
    root, site = fresh_venv
    for codec in ("cae", "vae"):
        assert sorted(p.name for p in (site / "neuralav" / "plugins" / codec / "weights").glob("q*.npz")) == \
            ["q1.npz", "q2.npz", "q3.npz", "q4.npz"], codec
    assert (site / "neuralav" / "plugins" / "wavenet" / "weights" / "wavenet.npz").is_file()
    out = tmp_path / "demo-out"
    printed = run(root / "bin" / "neuralav", "demo", "-y", "--output", out, cwd=tmp_path)
    assert "cae" in printed
    assert any(out.glob("*.mkv"))
