"""`neuralav batch --scheduler` on a real `dask scheduler` + `dask worker` started as
subprocesses on 127.0.0.1: a worker process killed (SIGKILL) in the middle of a file, and the
batch still completes with every output identical to a one-by-one transcode."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuralav.container.pipeline import StreamChoice, transcode

from . import media

# `dask scheduler` / `dask worker`, run by this interpreter so workers import this neuralav.
DASK = [sys.executable, "-m", "dask"]
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.part\.mkv")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL to its whole process group after 20 s: no process a test started
    (a `dask worker`'s nannies and workers included) outlives it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(timeout=20)


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and a `dask worker` with 2 single-threaded worker processes (and their
    nannies, which restart a killed worker), all on 127.0.0.1; yields the scheduler address."""
    scheduler_file = tmp_path / "scheduler.json"
    logs = tmp_path / "logs"
    logs.mkdir()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    processes = [subprocess.Popen([*DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(scheduler_file)],
                                  stdout=subprocess.DEVNULL, stderr=open(logs / "scheduler.log", "w"), env=env,
                                  start_new_session=True)]
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists():
            assert time.monotonic() < deadline, "the scheduler did not start"
            assert processes[0].poll() is None, (logs / "scheduler.log").read_text()
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        processes.append(subprocess.Popen([*DASK, "worker", address, "--nworkers", "2", "--nthreads", "1",
                                           "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "0"],
                                          stdout=subprocess.DEVNULL, stderr=open(logs / "worker.log", "w"),
                                          env=env, start_new_session=True))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def test_a_worker_killed_mid_file_has_its_file_redone_elsewhere(cluster, tmp_path):
    folder, out, single = tmp_path / "in", tmp_path / "out", tmp_path / "single"
    for path in (folder, single):
        path.mkdir()
    files = [media.make_clip(folder / f"k{i}.mkv", frames=2) for i in range(3)]
    # The `cae` codec: each worker's first file imports TensorFlow and loads the model while
    # its temporary output exists, which leaves seconds to kill it mid-file.
    command = [sys.executable, "-m", "neuralav.container.cli", "batch", str(folder), "-o", str(out / "{stem}.mkv"),
               "-c:v", "cae", "-q:v", "1", "-c:a", "copy", "--scheduler", cluster,
               "--json", str(tmp_path / "summary.json")]
    batch = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    killed = None
    try:
        deadline = time.monotonic() + 240
        while killed is None and time.monotonic() < deadline and batch.poll() is None:
            for name in (os.listdir(out) if out.is_dir() else []):
                match = _TEMPORARY.fullmatch(name)
                if match:
                    killed = (match["name"], int(match["pid"]))
                    os.kill(killed[1], signal.SIGKILL)
                    break
            time.sleep(0.05)
        stdout, stderr = batch.communicate(timeout=400)
    finally:
        _stop(batch)
    assert killed is not None, "no file was seen in progress"
    assert batch.returncode == 0, stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [f["status"] for f in summary["files"]] == ["done"] * 3
    redone = next(f for f in summary["files"] if Path(f["output"]).name == killed[0])
    assert redone["pid"] != killed[1]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["k0.mkv", "k1.mkv", "k2.mkv"]
    assert [p.name for p in out.iterdir() if ".part" in p.name] == []  # the killed temporary was removed
    for clip in files:
        alone = single / f"{clip.stem}.mkv"
        transcode([clip], alone, codecs=[StreamChoice("v", "cae"), StreamChoice("a", "copy")],
                  qualities=[StreamChoice("v", "1")])
        assert (out / clip.name).read_bytes() == alone.read_bytes()
    # Rerun, the scheduler named by Dask's environment variable: only the deleted output is redone,
    # on that cluster.
    (out / "k0.mkv").unlink()
    env = dict(os.environ, DASK_SCHEDULER_ADDRESS=cluster)
    again = subprocess.run(command[:-4] + ["--json", str(tmp_path / "again.json"), "--progress"],
                           capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0, again.stderr
    assert "3 file(s): 1 done, 2 skipped, 0 failed" in again.stdout
    assert "3/3" in again.stderr  # the progress bar over files
    from distributed import Client

    with Client(cluster, timeout=60) as client:
        workers = set(client.scheduler_info()["workers"])
    rerun = json.loads((tmp_path / "again.json").read_text())["files"]
    assert [f["status"] for f in rerun] == ["done", "skipped", "skipped"] and rerun[0]["worker"] in workers
    assert (out / "k0.mkv").read_bytes() == (single / "k0.mkv").read_bytes()
