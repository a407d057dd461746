"""Load (issue 8, item 7): transcodes run at the same time give the same bytes as one at a time.

Three real transcodes of different inputs and codec mixes (the shipped ``cae`` and
``wavenet`` models sharing one loaded model per level between threads, the example
plugin's ``zlibv``/``zliba``, PyAV's ffv1, libx264 and libopus) run first one after the other, then all at
once in threads of this process (twice each, through the command's ``main``), then all at
once as separate ``neuralav transcode`` processes (with ``MALLOC_PERTURB_`` set, so that
no output byte may come from uninitialised memory). Every output must equal, byte for byte,
the one-at-a-time output of the same job. (Matroska is written bit-exact, without a random
segment id, so equal inputs give equal files.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import pytest

from neuralav.container.cli import main
from neuralav.container.samples import SAMPLE

from ..container import media

pytest.importorskip("tensorflow_compression")


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> dict[str, list[str]]:
    """Job name -> ``neuralav transcode`` arguments without the output."""
    folder = tmp_path_factory.mktemp("inputs")
    small = media.make_clip(folder / "small.mkv", frames=8)
    other = media.make_clip(folder / "other.mkv", frames=6, gop=2)
    return {
        "camera": ["-i", str(SAMPLE), "-t", "0.12", "-c:v", "cae", "-q:v", "1", "-c:a", "wavenet", "-q:a", "1"],
        "small": ["-i", str(small), "-c:v", "cae", "-q:v", "3", "-c:a", "wavenet", "-q:a", "2"],
        # One source feeding two encoders (its decoder is flushed once for both).
        "shared": ["-i", str(other), "-map", "0:v", "-map", "0:a", "-map", "0:v", "-c:v:0", "ffv1",
                   "-c:v:1", "zlibv", "-c:a", "zliba"],
        # libx264's macroblock-tree reads memory it never wrote: its output changes with the
        # heap's old contents (`MALLOC_PERTURB_=165 ffmpeg -i small.mkv -c:v libx264 ...` gives
        # other bytes than `MALLOC_PERTURB_=0`, with the system ffmpeg too), so it is turned off.
        "standard": ["-i", str(small), "-c:v", "libx264", "-opt:v", "x264-params=mbtree=0",
                     "-c:a", "libopus"],
    }


@pytest.fixture(scope="module")
def one_at_a_time(jobs, tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("sequential")
    outputs = {}
    for name, arguments in jobs.items():
        out = folder / f"{name}.mkv"
        assert main(["transcode", *arguments, str(out)]) == 0
        outputs[name] = out.read_bytes()
    with av.open(str(folder / "camera.mkv")) as f:  # real, readable files with every track
        assert len(f.streams) == 2
    with av.open(str(folder / "shared.mkv")) as f:
        assert [s.type for s in f.streams] == ["video", "audio", "video"]
        counts = [0, 0, 0]
        for packet in f.demux():
            counts[packet.stream.index] += packet.size > 0
        assert counts[0] == counts[2] == 6  # both encoders of the one source got every frame
    return outputs


def _differences(expected: dict[str, bytes], outputs: dict[str, Path]) -> list[str]:
    return [f"{path.name} differs from the one-at-a-time `{path.stem.split('-')[0]}`"
            for path in outputs.values() if path.read_bytes() != expected[path.stem.split("-")[0]]]


def test_threads_give_the_same_bytes_as_one_at_a_time(jobs, one_at_a_time, tmp_path):
    runs = {f"{name}-{copy}": arguments for name, arguments in jobs.items() for copy in (1, 2)}
    outputs = {run: tmp_path / f"{run}.mkv" for run in runs}
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        codes = list(pool.map(lambda run: main(["transcode", *runs[run], str(outputs[run])]), runs))
    assert codes == [0] * len(runs)
    assert not _differences(one_at_a_time, outputs)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{run}.mkv" for run in runs)


def test_processes_give_the_same_bytes_as_one_at_a_time(jobs, one_at_a_time, tmp_path):
    outputs = {name: tmp_path / f"{name}-p.mkv" for name in jobs}
    # glibc fills fresh and freed heap memory with 0x5a / 0xa5 here: any byte that
    # depends on memory never written (ours or a codec's) would differ from the reference.
    env = {**os.environ, "MALLOC_PERTURB_": "165"}
    processes = {name: subprocess.Popen([sys.executable, "-m", "neuralav.container.cli", "transcode",
                                         *arguments, str(outputs[name])], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for name, arguments in jobs.items()}
    for name, process in processes.items():
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, f"{name}: {err[-2000:]}"
    assert not _differences(one_at_a_time, outputs)
