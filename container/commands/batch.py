"""``neuralav batch``: the same transcode over many files, on this machine or a Dask cluster.

Examples::

    neuralav batch photos/ -o out/{stem}.mkv -c:v cae -q:v 3
    neuralav batch 'talks/**/*.wav' -o 'out/{dir}/{stem}.mkv' -c:a wavenet -b:a 6k -j 2
    neuralav batch --manifest files.csv -c:v libx264 --scheduler tcp://10.0.0.5:8786

A manifest is CSV (a header row with ``input`` and optionally ``output`` and ``options``) or
JSON lines (``{"input": ..., "output": ..., "options": "-c:v cae -q:v 2"}``, options as one
string or a list); relative paths in it start from the manifest's folder. A file's options
come after the command's, as if written after them on the command line (the last ``-c``
that matches a stream wins). See :mod:`neuralav.container.batch` for how reruns, failures
and killed workers are handled.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import shlex
import sys
import time
from pathlib import Path

from neuralav.registry.errors import InvalidOptionError

from .. import batch
from ..atomic import atomic_output
from ..errors import InputError
from .transcode import add_coding_arguments, coding_options

__all__ = ["add_arguments", "run", "main", "jobs_from_args", "print_table"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="input files, folders or glob patterns ('in/**/*.wav', quoted)")
    parser.add_argument("--manifest", type=Path, default=None, metavar="FILE",
                        help="CSV or JSON-lines list of files: input, output, options")
    parser.add_argument("-o", dest="pattern", default=None, metavar="PATTERN",
                        help="output path pattern: {stem}, {name}, {ext}, {parent}, {dir} (e.g. out/{stem}.mkv)")
    parser.add_argument("-r", "--recursive", action="store_true", help="include the files of subfolders")
    add_coding_arguments(parser)
    parser.add_argument("-y", dest="overwrite", action="store_true",
                        help="overwrite outputs that exist even if no batch wrote them")
    parser.add_argument("--ignore-errors", action="store_true",
                        help="within each file, skip packets that fail to decode and frames that fail to encode")
    parser.add_argument("-j", dest="workers", type=int, default=None, metavar="N",
                        help=f"local worker processes (default: one per core, {batch.default_workers()} here); "
                             f"given, a local cluster is used even if DASK_SCHEDULER_ADDRESS is set")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on the Dask cluster of this scheduler (tcp://host:8786) instead of locally; "
                             "default: Dask's scheduler-address setting (DASK_SCHEDULER_ADDRESS)")
    parser.add_argument("--json", dest="json_path", default=None, metavar="FILE",
                        help="write the per-file results as JSON to FILE (- for stdout)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar over files (default: only on a terminal)")


class _OptionsParser(argparse.ArgumentParser):
    """Parses a manifest row's options; errors raise instead of exiting."""

    def error(self, message: str):
        raise InvalidOptionError(message)


def _file_options_parser() -> _OptionsParser:
    parser = _OptionsParser(prog="options", add_help=False)
    add_coding_arguments(parser)
    parser.add_argument("--ignore-errors", action="store_true")
    return parser


def _options(args: argparse.Namespace) -> dict:
    return {**coding_options(args), "ignore_errors": args.ignore_errors}


def _row_options(base: argparse.Namespace, parser: _OptionsParser, text, where: str) -> dict:
    if text in (None, "", []):
        return _options(base)
    words = shlex.split(text) if isinstance(text, str) else [str(w) for w in text]
    try:
        return _options(parser.parse_args(words, namespace=copy.deepcopy(base)))
    except InvalidOptionError as error:
        raise InvalidOptionError(f"{where}: options {text!r}: {error}") from None


def _manifest_rows(path: Path) -> list[tuple[str, dict]]:
    """(where, row) pairs of a CSV or JSON-lines manifest."""
    try:
        text = path.read_text()
    except OSError as error:
        raise InputError(f"cannot read manifest `{path}`: {error.strerror}") from None
    rows = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if "input" not in (reader.fieldnames or []):
            raise InputError(f"manifest `{path}` has no `input` column (header: {reader.fieldnames})")
        for number, row in enumerate(reader, start=2):
            rows.append((f"{path}:{number}", row))
        return rows
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise InputError(f"{path}:{number}: not JSON ({error})") from None
        if not isinstance(row, dict) or not row.get("input"):
            raise InputError(f"{path}:{number}: expected an object with an `input`")
        rows.append((f"{path}:{number}", row))
    return rows


def jobs_from_args(args: argparse.Namespace) -> list[batch.Job]:
    """The batch's files, outputs and options from parsed ``args``.

    Raises:
        InputError: no input, or an input or manifest cannot be read.
        InvalidOptionError: a bad output pattern or manifest options.
    """
    if not args.inputs and args.manifest is None:
        raise InputError("no input: name files, folders or globs, or a --manifest")
    jobs = []
    base = _options(args)
    if args.inputs:
        if args.pattern is None:
            raise InvalidOptionError("-o PATTERN is needed to name the outputs (e.g. -o out/{stem}.mkv)")
        for file, root in batch.find_inputs(args.inputs, recursive=args.recursive):
            jobs.append(batch.Job(str(file), str(batch.output_for(args.pattern, file, root)), base))
    if args.manifest is not None:
        parser = _file_options_parser()
        folder = args.manifest.parent
        for where, row in _manifest_rows(args.manifest):
            source = folder / str(row["input"]).strip()
            output = str(row.get("output") or "").strip()
            if output:
                target = folder / output
            elif args.pattern is not None:
                target = batch.output_for(args.pattern, source, source.parent)
            else:
                raise InvalidOptionError(f"{where}: no output, and no -o PATTERN to name it")
            jobs.append(batch.Job(str(source), str(target), _row_options(args, parser, row.get("options"), where)))
    return jobs


def _size(count: int | None) -> str:
    if count is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return "-"


def print_table(results: list[batch.FileResult], seconds: float, file=None) -> None:
    """One row per file (status, sizes, bitrate, time, worker), then the totals."""
    file = file or sys.stdout
    header = ("status", "input", "in", "out", "kbit/s", "s", "worker")
    rows = [(r.status, r.input, _size(r.input_bytes), _size(r.output_bytes),
             f"{r.kbps:.1f}" if r.kbps is not None else "-", f"{r.seconds:.2f}" if r.seconds is not None else "-",
             r.worker or "-") for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=file)
    for r in results:
        if r.status == "failed":
            print(f"failed: {r.input}: {r.error}", file=file)
    counts = {status: sum(r.status == status for r in results) for status in ("done", "skipped", "failed")}
    done = counts["done"]
    rate = f", {done / seconds * 60:.1f} files/min" if done and seconds > 0 else ""
    print(f"{len(results)} file(s): {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed "
          f"in {seconds:.1f} s{rate}", file=file)


def _write_json(results: list[batch.FileResult], seconds: float, target: str) -> None:
    text = json.dumps({"seconds": seconds, "files": [vars(r) for r in results]}, indent=1) + "\n"
    if target == "-":
        sys.stdout.write(text)
        return
    with atomic_output(target, overwrite=True) as temporary:
        Path(temporary).write_text(text)


def run(args: argparse.Namespace) -> int:
    """Run the batch described by parsed ``args``; 0 if every file is done or up to date, else 1."""
    batch.check_cluster_options(args.scheduler, args.workers)
    jobs = jobs_from_args(args)
    batch.check_jobs(jobs)
    began = time.monotonic()
    enabled = sys.stderr.isatty() if args.progress is None else args.progress
    bar = None
    if enabled:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="file", file=sys.stderr, desc="batch")

    def advance(result: batch.FileResult) -> None:
        if bar is not None:
            bar.set_postfix_str(f"{result.status} {Path(result.input).name}", refresh=False)
            bar.update(1)

    try:
        results = batch.run_batch(jobs, lambda: batch.cluster_client(args.scheduler, args.workers),
                                  overwrite=args.overwrite, on_result=advance)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.monotonic() - began
    out = sys.stderr if args.json_path == "-" else sys.stdout
    print_table(results, seconds, file=out)
    if args.json_path is not None:
        _write_json(results, seconds, args.json_path)
    failed = sum(r.status == "failed" for r in results)
    if failed:
        print(f"neuralav batch: {failed} of {len(results)} file(s) failed", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """``neuralav batch ...`` as a function (tests call it)."""
    from ..cli import main as cli_main

    return cli_main(["batch", *(argv if argv is not None else sys.argv[1:])])
