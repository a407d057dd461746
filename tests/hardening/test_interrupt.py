"""Interruptions (issue 8, item 6): a transcode killed at any moment leaves no partial output.

``neuralav transcode`` runs as a real subprocess on the bundled sample clip and is sent
SIGKILL, SIGINT or SIGTERM at several moments (while starting, right after its temporary
file appears, half-way through writing it). The target must not exist afterwards, or keep
its old bytes when ``-y`` would have replaced it, and the next run must delete what a
killed run left and succeed.

Already tested elsewhere, not repeated here: a ``KeyboardInterrupt`` raised inside the
pipeline and one real Ctrl-C while writing (``tests/container/test_transcode.py``:
``test_interrupt_mid_transcode_leaves_nothing``, ``test_ctrl_c_on_the_real_command_leaves_no_file``),
an error while writing (``tests/container/test_writer_reader.py``:
``test_an_error_while_writing_leaves_nothing_behind``), existing outputs and ``-y``
(``test_existing_output_needs_y``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from neuralav.container import atomic, interrupts
from neuralav.container.cli import main
from neuralav.container.samples import SAMPLE

OLD = b"the previous output, which a failed run must not touch"


def _temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(".") and ".part" in p.name)


def _start(output: Path, *extra: str) -> subprocess.Popen:
    # zlib level 9 over the whole clip: a few seconds of writing, time to hit it mid-way.
    command = [sys.executable, "-m", "neuralav.container.cli", "transcode", "-i", str(SAMPLE),
               "-c:v", "zlibv", "-opt:v", "level=9", *extra, str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(process: subprocess.Popen, folder: Path, moment: str) -> None:
    """Return at ``moment``: ``start`` (just spawned), ``created`` (temporary file exists),
    ``half`` (temporary holds over 1 MB of the ~2.8 MB output)."""
    if moment == "start":
        time.sleep(0.2)
        return
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        found = _temporaries(folder)
        if found and (moment == "created" or found[0].stat().st_size > 1_000_000):
            return
        time.sleep(0.005)
    raise AssertionError(f"transcode finished or stalled before the `{moment}` moment "
                         f"(status {process.poll()})")


def _check_untouched(target: Path, existed: bool) -> None:
    if existed:
        assert target.read_bytes() == OLD, "the existing target was changed"
    else:
        assert not target.exists(), "a partial output appeared at the target"


def _next_run_cleans_up_and_succeeds(folder: Path, target: Path) -> None:
    assert main(["transcode", "-i", str(SAMPLE), "-t", "0.5", "-c:v", "zlibv", "-opt:v", "level=1", "-y",
                 str(target)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [target.name], "stray temporary files remain"
    with av.open(str(target)) as f:  # a complete Matroska file, read back by FFmpeg alone
        assert sum(1 for p in f.demux(video=0) if p.size) == 13


@pytest.mark.parametrize("moment,existed", [("created", False), ("half", True)])
def test_sigkill_leaves_no_output_and_the_next_run_removes_its_temporary(tmp_path, moment, existed):
    target = tmp_path / "out.mkv"
    if existed:
        target.write_bytes(OLD)
    process = _start(target, "-y")
    _wait_for(process, tmp_path, moment)
    process.kill()
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    _check_untouched(target, existed)
    # A killed process cannot clean up: its temporary stays, named with its pid, until the next run.
    left = _temporaries(tmp_path)
    assert [p.name.split(".")[3].split("-")[0] for p in left] == [str(process.pid)]
    _next_run_cleans_up_and_succeeds(tmp_path, target)


@pytest.mark.parametrize("sig,moment,existed", [
    (signal.SIGINT, "start", True),
    (signal.SIGINT, "created", False),
    (signal.SIGINT, "half", True),
    (signal.SIGTERM, "half", False),
])
def test_sigint_and_sigterm_clean_up_at_once(tmp_path, sig, moment, existed):
    target = tmp_path / "out.mkv"
    if existed:
        target.write_bytes(OLD)
    process = _start(target, "-y")
    _wait_for(process, tmp_path, moment)
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    _check_untouched(target, existed)
    if moment != "start":  # a signal during start-up may come before Python's handler exists
        # 130 from the CLI; now and then CPython re-raises SIGINT at exit instead (status -2).
        assert process.returncode in (130, -signal.SIGINT) and "interrupted" in err, (process.returncode,
                                                                                     err[-2000:])
        assert _temporaries(tmp_path) == [], "the interrupted run left its temporary file"
    _next_run_cleans_up_and_succeeds(tmp_path, target)


class _SwallowsAnInterrupt:
    """Ctrl-C arriving while Python runs a finalizer: CPython prints "Exception ignored in"
    and the ``KeyboardInterrupt`` is gone (seen in CI during start-up, in importlib's
    module-lock weakref callback)."""

    def __del__(self):
        signal.raise_signal(signal.SIGINT)
        self.after = True  # a bytecode boundary inside the finalizer: the handler raises here


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_interrupt_python_lost_still_stops_the_output_being_moved_into_place(tmp_path):
    target = tmp_path / "out.mkv"
    target.write_bytes(OLD)
    ran_on = False
    with interrupts.recorded(), pytest.raises(KeyboardInterrupt, match="received earlier"):
        with atomic.atomic_output(target, overwrite=True) as temporary:
            temporary.write_bytes(b"a complete new output")
            _SwallowsAnInterrupt()  # dropped at once: its finalizer loses the interrupt
            ran_on = True
    assert ran_on, "the interrupt was not lost, so this test does not test the loss"
    _check_untouched(target, existed=True)
    assert _temporaries(tmp_path) == []
    # Once the command is over nothing is recorded: later outputs (library use, the next
    # command in this process) are not stopped by it.
    assert interrupts.received() is None
    interrupts.check()
    with interrupts.recorded():
        interrupts.check()


def test_the_command_line_records_interrupts_before_its_heavy_imports():
    """``neuralav`` installs its handler before PyAV, numpy or the registry are imported, so
    the window where start-up can lose a Ctrl-C is the interpreter's own (~0.1 s)."""
    code = ("import sys\nfrom neuralav.container import cli\n"
            "print(sorted(m for m in ('av', 'numpy', 'neuralav.registry', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_temporary_being_written_is_never_removed(tmp_path):
    """Stale cleanup spares a temporary whose writer is alive, even a fresh unlocked one."""
    target = tmp_path / "out.mkv"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
         "from neuralav.container import atomic\n"
         "atomic.claim(atomic.temporary_path(Path(sys.argv[1])))\nprint('locked', flush=True)\ntime.sleep(60)",
         str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        (held,) = _temporaries(tmp_path)
        # This process's own, not yet locked (a writer between creating and locking it).
        fresh = target.with_name(f".out.mkv.{os.getpid()}-0123abcd.part.mkv")
        fresh.write_bytes(b"")
        dead = _dead_pid()
        orphan = target.with_name(f".out.mkv.{dead}-89abcdef.part.mkv")
        orphan.write_bytes(b"partial")
        other = tmp_path / f".other.mkv.{dead}-89abcdef.part.mkv"  # another target's
        other.write_bytes(b"partial")
        unrelated = tmp_path / ".out.mkv.notes"
        unrelated.write_bytes(b"")
        # Names without a pid (older neuralav): stale only once untouched for STALE_AFTER seconds.
        legacy_old, legacy_new = (target.with_name(f".out.mkv.{token}.part.mkv") for token in ("aaaa0000", "bbbb1111"))
        legacy_old.write_bytes(b"partial")
        legacy_new.write_bytes(b"partial")
        long_ago = time.time() - atomic.STALE_AFTER - 60
        os.utime(legacy_old, (long_ago, long_ago))
        assert sorted(atomic.remove_stale(target)) == sorted([orphan, legacy_old])
        assert held.exists() and fresh.exists() and other.exists() and unrelated.exists() and legacy_new.exists()
        assert not orphan.exists() and not legacy_old.exists()
    finally:
        holder.kill()
        holder.wait()
    # Once its writer is gone, the held one is stale too.
    assert atomic.remove_stale(target) == [held]


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
