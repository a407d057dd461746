"""`neuralav batch` on a real `distributed.LocalCluster` of 2 worker processes (libx264/libopus
and the `cae` codec): same bytes as one-by-one transcodes, reruns, failures, manifests."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import av
import dask
import pytest

from neuralav.container import batch
from neuralav.container.commands.batch import main
from neuralav.container.pipeline import StreamChoice, transcode

from . import media

# Video copied, audio re-encoded: libopus gives the same bytes for the same input in every
# process. (libx264 with its default frame threads gave other bytes in rare runs on a loaded
# machine, in `neuralav transcode` alone too; the `cae` case below covers an encoder.)
COPY_OPUS = [StreamChoice("v", "copy"), StreamChoice("a", "libopus")]
OPTIONS = {"maps": [], "codecs": COPY_OPUS, "qualities": [], "bitrates": [], "codec_options": [],
           "start": 0.0, "duration": None, "input_format": None, "ignore_errors": False}


@pytest.fixture(scope="module")
def client():
    """A real LocalCluster of 2 single-threaded worker processes, shared by this module's tests."""
    with batch.cluster_client(workers=2) as client:
        yield client


def _connect(client):
    return lambda: contextlib.nullcontext(client)


def _no_cluster():
    raise AssertionError("the batch asked for a cluster although every output was up to date")


@pytest.fixture
def clips(tmp_path):
    """Three 6-frame H.264 + Opus clips of different content lengths in tmp_path/in."""
    folder = tmp_path / "in"
    folder.mkdir()
    return [media.make_clip(folder / f"c{i}.mkv", frames=4 + i) for i in range(3)]


def _jobs(files, out: Path, options=OPTIONS):
    return [batch.Job(str(f), str(out / f"{Path(f).stem}.mkv"), dict(options)) for f in files]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


def test_local_cluster_writes_the_bytes_of_one_by_one_transcodes(client, clips, tmp_path):
    out, single = tmp_path / "out", tmp_path / "single"
    single.mkdir()
    results = batch.run_batch(_jobs(clips, out), _connect(client))
    assert [r.status for r in results] == ["done"] * 3
    for clip, result in zip(clips, results):
        alone = single / f"{clip.stem}.mkv"
        transcode([clip], alone, codecs=COPY_OPUS)
        assert Path(result.output).read_bytes() == alone.read_bytes()
        assert result.output_bytes == alone.stat().st_size and result.kbps > 0
        assert result.worker.startswith("tcp://127.0.0.1:") and result.pid != os.getpid()
    with av.open(results[2].output) as f:
        assert [s.codec_context.name for s in f.streams] == ["h264", "opus"]
        assert sum(1 for _ in f.decode(video=0)) == 6


def test_rerun_skips_up_to_date_files_without_a_cluster_and_redoes_changed_ones(client, clips, tmp_path):
    out = tmp_path / "out"
    jobs = _jobs(clips, out)
    batch.run_batch(jobs, _connect(client))
    stamps = [os.stat(j.output).st_mtime_ns for j in jobs]
    again = batch.run_batch(jobs, _no_cluster)
    assert [r.status for r in again] == ["skipped"] * 3
    assert [os.stat(j.output).st_mtime_ns for j in jobs] == stamps
    # New content in one input, other options for another: those two are redone (their
    # outputs replaced, as the sidecars show a batch wrote them), the third is skipped.
    media.make_clip(clips[0], frames=8)
    changed = list(jobs)
    changed[1] = batch.Job(jobs[1].input, jobs[1].output, {**OPTIONS, "codecs": [StreamChoice("", "copy")]})
    redone = batch.run_batch(changed, _connect(client))
    assert [r.status for r in redone] == ["done", "done", "skipped"]
    with av.open(jobs[0].output) as f:
        assert sum(1 for _ in f.decode(video=0)) == 8
    assert media.packets(Path(jobs[1].output), 0) == media.packets(clips[1], 0)
    # A touched input whose content is the same is hashed again and found unchanged.
    os.utime(clips[2], ns=(1, 1))
    assert [r.status for r in batch.run_batch(changed, _no_cluster)] == ["skipped"] * 3


def test_a_corrupt_input_is_reported_and_the_others_finish(client, clips, tmp_path):
    out = tmp_path / "out"
    broken = tmp_path / "in" / "broken.mkv"
    broken.write_bytes(clips[0].read_bytes()[:300])
    files = [clips[0], broken, clips[1]]
    results = batch.run_batch(_jobs(files, out), _connect(client))
    assert [r.status for r in results] == ["done", "failed", "done"]
    assert "broken.mkv" in results[1].error and "\n" not in results[1].error
    assert not (out / "broken.mkv").exists() and not batch.sidecar_path(out / "broken.mkv").exists()
    assert _leftovers(out) == []
    # Fixed, it is the only file the next run does.
    broken.write_bytes(clips[2].read_bytes())
    assert [r.status for r in batch.run_batch(_jobs(files, out), _connect(client))] == ["skipped", "done", "skipped"]


def test_an_output_no_batch_wrote_is_kept_unless_y(client, clips, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "c0.mkv").write_bytes(b"the user's own file")
    results = batch.run_batch(_jobs(clips[:1], out), _connect(client))
    assert results[0].status == "failed" and "already exists" in results[0].error
    assert (out / "c0.mkv").read_bytes() == b"the user's own file"
    assert batch.run_batch(_jobs(clips[:1], out), _connect(client), overwrite=True)[0].status == "done"
    with av.open(str(out / "c0.mkv")) as f:
        assert sum(1 for _ in f.decode(video=0)) == 4


def test_workers_load_a_model_once_and_reuse_it_for_later_files(client, tmp_path):
    """4 files through the `cae` codec on 2 worker processes: each process builds the level's
    model once (counted on the workers), however many files it codes."""

    def count_model_loads():
        from neuralav.plugins.imaging import runtime

        original = runtime.LoadedModel.__init__
        runtime.LOADS_COUNTED = 0

        def counted(self, *args, **kwargs):
            runtime.LOADS_COUNTED += 1
            original(self, *args, **kwargs)

        runtime.LoadedModel.__init__ = counted
        runtime._MODELS.clear()

    def model_loads():
        from neuralav.plugins.imaging import runtime

        return runtime.LOADS_COUNTED

    client.run(count_model_loads)
    folder = tmp_path / "in"
    folder.mkdir()
    files = [media.make_clip(folder / f"n{i}.mkv", frames=1) for i in range(4)]
    options = {**OPTIONS, "codecs": [StreamChoice("v", "cae"), StreamChoice("a", "copy")],
               "qualities": [StreamChoice("v", "1")]}
    results = batch.run_batch(_jobs(files, tmp_path / "out", options), _connect(client))
    assert [r.status for r in results] == ["done"] * 4, [r.error for r in results]
    loads = client.run(model_loads)
    files_per_worker = {w: sum(r.worker == w for r in results) for w in loads}
    assert sum(files_per_worker.values()) == 4
    assert {loads[w] for w, n in files_per_worker.items() if n} == {1}
    assert max(r.task_number for r in results) >= 2  # a process ran several files
    alone = tmp_path / "alone.mkv"
    transcode([files[3]], alone, codecs=options["codecs"], qualities=options["qualities"])
    assert Path(results[3].output).read_bytes() == alone.read_bytes()


def test_cli_runs_a_folder_with_two_local_workers_and_reports_failures(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        media.make_clip(folder / f"c{i}.mkv", frames=3)
    (folder / "junk.mkv").write_bytes(b"not media")
    command = [sys.executable, "-m", "neuralav.container.cli", "batch", str(folder), "-o",
               str(tmp_path / "out" / "{stem}.mkv"), "-c:v", "libx264", "-c:a", "copy", "-j", "2",
               "--json", str(tmp_path / "summary.json")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "neuralav batch: 1 of 3 file(s) failed"
    assert "Traceback" not in done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [(Path(f["input"]).name, f["status"]) for f in summary["files"]] == [
        ("c0.mkv", "done"), ("c1.mkv", "done"), ("junk.mkv", "failed")]
    assert "junk.mkv" in summary["files"][2]["error"]
    assert "3 file(s): 2 done, 0 skipped, 1 failed" in done.stdout
    # Without the bad file, a rerun does nothing and succeeds.
    (folder / "junk.mkv").unlink()
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "2 file(s): 0 done, 2 skipped, 0 failed" in again.stdout


def test_manifest_rows_give_outputs_and_per_file_options(tmp_path, client, clips):
    (tmp_path / "m.csv").write_text("input,output,options\n"
                                    "in/c0.mkv,o/a.mkv,\n"
                                    "in/c1.mkv,o/b.mkv,-c:v copy -t 0.2\n")
    (tmp_path / "m.jsonl").write_text(json.dumps({"input": "in/c2.mkv", "options": ["-c:a", "copy"]}) + "\n")
    from neuralav.container.commands import batch as command

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    jobs = command.jobs_from_args(parser.parse_args(["--manifest", str(tmp_path / "m.csv"), "-c:v", "libx264"]))
    jobs += command.jobs_from_args(parser.parse_args(["--manifest", str(tmp_path / "m.jsonl"), "-c:v", "libx264",
                                                      "-o", str(tmp_path / "o" / "{stem}.mkv")]))
    assert [Path(j.output).name for j in jobs] == ["a.mkv", "b.mkv", "c2.mkv"]
    assert jobs[1].options["codecs"] == [StreamChoice("v", "libx264"), StreamChoice("v", "copy")]
    assert jobs[1].options["duration"] == 0.2
    results = batch.run_batch(jobs, _connect(client))
    assert [r.status for r in results] == ["done"] * 3
    assert media.packets(Path(jobs[1].output), 0) == media.packets(clips[1], 0)
    assert media.packets(Path(jobs[2].output), 1) == media.packets(clips[2], 1)


def test_bad_batches_fail_before_starting_with_one_line(tmp_path, capsys):
    clip = media.make_clip(tmp_path / "a.mkv", frames=2)
    assert main([str(tmp_path / "nothing*.mkv"), "-o", "x/{stem}.mkv"]) == 1
    assert "no input file matches" in capsys.readouterr().err
    assert main([str(clip), "-o", str(tmp_path / "{title}.mkv")]) == 1
    assert "fields: {stem}" in capsys.readouterr().err
    assert main([str(clip), "-o", str(tmp_path / "{stem}.mkv")]) == 1
    assert "is the input itself" in capsys.readouterr().err
    other = media.make_clip(tmp_path / "b.mkv", frames=2)
    assert main([str(clip), str(other), "-o", str(tmp_path / "o" / "same.mkv")]) == 1
    assert "would both write" in capsys.readouterr().err
    assert main([str(clip), "-o", "x/{stem}.mkv", "-j", "0"]) == 1
    assert "at least 1" in capsys.readouterr().err
    assert main([str(clip), "-o", "x/{stem}.mkv", "-j", "2", "--scheduler", "tcp://127.0.0.1:1"]) == 1
    assert "has its own workers" in capsys.readouterr().err
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        assert main([str(clip), "-o", str(tmp_path / "o" / "{stem}.mkv"), "--scheduler", "tcp://127.0.0.1:9"]) == 1
    assert "no Dask scheduler answers at `tcp://127.0.0.1:9`" in capsys.readouterr().err


def test_folders_and_globs_leave_out_hidden_files_and_earlier_outputs(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.mkv", "b.mkv", "a.out.mkv", ".a.out.mkv.batch.json", ".x.mkv.1-0a1b2c3d.part.mkv",
                 "sub/c.mkv"):
        (tmp_path / name).write_bytes(b"x")
    names = lambda pairs: [str(f.relative_to(tmp_path)) for f, _ in pairs]  # noqa: E731
    assert names(batch.find_inputs([str(tmp_path)])) == ["a.mkv", "b.mkv"]
    assert names(batch.find_inputs([str(tmp_path)], recursive=True)) == ["a.mkv", "b.mkv", "sub/c.mkv"]
    assert names(batch.find_inputs([str(tmp_path / "**" / "*.mkv")])) == ["a.mkv", "b.mkv", "sub/c.mkv"]
    assert names(batch.find_inputs([str(tmp_path / "a.out.mkv")])) == ["a.out.mkv"]  # named: taken
    file, root = batch.find_inputs([str(tmp_path / "**" / "*.mkv")])[2]
    assert batch.output_for("out/{dir}/{stem}.{ext}", file, root) == Path("out/sub/c.mkv")

