"""Many transcodes at once, on this machine's cores or on a Dask cluster (``distributed``).

Each file is one Dask task that calls :func:`~neuralav.container.pipeline.transcode`, the
code behind ``neuralav transcode``, so a batch writes the same bytes as one run per file.
Dask does the scheduling: with no cluster named, a :class:`distributed.LocalCluster` of
single-threaded worker processes on this machine; otherwise the scheduler at an address
(``tcp://host:8786``, or Dask's ``scheduler-address`` setting, e.g. the
``DASK_SCHEDULER_ADDRESS`` environment variable). Workers must see the inputs and outputs at
the same paths (a shared file system) and have neuralav installed.

A worker process runs one file at a time and keeps what the codecs load (TensorFlow, each
quality level's model) for the files after it: the plugins cache models per process.

Nothing lost, nothing done twice:

* An output appears only once complete (the pipeline writes a temporary file, then renames
  it). A worker killed mid-file leaves its temporary, which the next writer of that output
  deletes (:func:`neuralav.container.atomic.remove_stale`); Dask gives the task of a dead
  worker to another one (up to ``distributed.scheduler.allowed-failures`` times).
* Beside each output, a hidden sidecar ``.NAME.batch.json`` records the fingerprint of
  what made it: the input's SHA-256, the coding options and the neuralav version, with the
  output's size and modification time. A rerun skips a file whose sidecar matches its
  input, options and output; the input is hashed again only if its size or modification
  time changed. An output with no matching sidecar is not replaced without ``overwrite``,
  unless its sidecar shows that a batch wrote it (then its input or options changed).
* A file that fails is reported with its error; the others go on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Sequence

from neuralav.registry.errors import InvalidOptionError, NeuralavError

from .errors import InputError, OutputPathError

__all__ = ["BatchError", "Job", "FileResult", "find_inputs", "output_for", "sidecar_path", "fingerprint",
           "is_done", "run_job", "cluster_client", "check_cluster_options", "run_batch", "default_workers", "SIDECAR_FORMAT"]

SIDECAR_FORMAT = 1
"""Version of the sidecar's layout; a sidecar of another version never matches."""

_HASH_CHUNK = 1 << 20


class BatchError(NeuralavError, RuntimeError):
    """A batch cannot start: no inputs, two files writing one output, no cluster at the address."""


@dataclasses.dataclass(frozen=True)
class Job:
    """One file of a batch.

    Attributes:
        input: Input file path.
        output: Output file path.
        options: Keyword arguments of :func:`~neuralav.container.pipeline.transcode` that say how
            the file is coded (``maps``, ``codecs``, ``qualities``, ``bitrates``, ``codec_options``,
            ``start``, ``duration``, ``input_format``, ``ignore_errors``).
    """

    input: str
    output: str
    options: dict[str, Any]


@dataclasses.dataclass
class FileResult:
    """What happened to one file.

    Attributes:
        input: Input path.
        output: Output path.
        status: ``done``, ``skipped`` (its output was up to date) or ``failed``.
        error: One line naming the problem (``failed`` only).
        input_bytes: Input file size.
        output_bytes: Output file size (``done`` and ``skipped``).
        kbps: Output bitrate, kbit/s: output size over the span of its streams.
        seconds: Wall time of the transcode on the worker, s (``done`` only).
        worker: Dask address of the worker that ran it.
        pid: Process id of that worker.
        task_number: How many files that worker process had run before this one plus one
            (1: the first, which pays for imports and model loads).
    """

    input: str
    output: str
    status: str
    error: str | None = None
    input_bytes: int | None = None
    output_bytes: int | None = None
    kbps: float | None = None
    seconds: float | None = None
    worker: str | None = None
    pid: int | None = None
    task_number: int | None = None


# ---------------------------------------------------------------------------- inputs and outputs


def find_inputs(patterns: Sequence[str], recursive: bool = False) -> list[tuple[Path, Path]]:
    """Files named by folders, globs or paths, with the folder their relative name starts from.

    Folders and globs leave out hidden files (names starting with ``.``: sidecars,
    temporaries) and the outputs of earlier batches (files with a sidecar), so a batch whose
    outputs go into its input folder does not take them as inputs when run again.

    Args:
        patterns: Paths of files or folders, or glob patterns (``**`` recursive).
        recursive: Whether a folder includes its subfolders' files.

    Returns:
        ``(file, root)`` pairs in order, without duplicates.

    Raises:
        InputError: a pattern matches no file.
    """
    found: dict[Path, Path] = {}
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            walk = path.rglob("*") if recursive else path.iterdir()
            files = sorted(p for p in walk if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(path).parts))
            root = path
        elif path.is_file():
            files, root = [path], path.parent
        else:
            files = sorted(Path(p) for p in glob.glob(pattern, recursive=True)
                           if Path(p).is_file() and not Path(p).name.startswith("."))
            root = _glob_root(pattern)
        if not path.is_file():
            files = [f for f in files if not sidecar_path(f).exists()]
        if not files:
            raise InputError(f"no input file matches `{pattern}`")
        for file in files:
            found.setdefault(file, root)
    return list(found.items())


def _glob_root(pattern: str) -> Path:
    """The folder a glob pattern starts from: its parts before the first one with a wildcard."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


_FIELDS = ("stem", "name", "ext", "parent", "dir")


def output_for(pattern: str, file: Path, root: Path) -> Path:
    """The output path of ``file`` from ``pattern`` (``out/{stem}.mkv``).

    Fields: ``{stem}`` (name without suffix), ``{name}``, ``{ext}`` (suffix without the dot),
    ``{parent}`` (the input's folder name), ``{dir}`` (the input's folder relative to the
    folder or glob it was found in, ``.`` at its top).

    Raises:
        InvalidOptionError: the pattern names another field or is malformed.
    """
    relative = file.parent.relative_to(root) if file.parent.is_relative_to(root) else Path(".")
    values = {"stem": file.stem, "name": file.name, "ext": file.suffix.lstrip("."), "parent": file.parent.name,
              "dir": str(relative)}
    try:
        return Path(pattern.format(**values))
    except (KeyError, IndexError, ValueError) as error:
        raise InvalidOptionError(f"output pattern {pattern!r}: {error} (fields: "
                                 f"{', '.join('{' + f + '}' for f in _FIELDS)})") from None


def check_jobs(jobs: Sequence[Job]) -> None:
    """Refuse a batch where two files write one output, or a file would replace its input.

    Raises:
        BatchError: naming the files.
    """
    writers: dict[str, str] = {}
    for job in jobs:
        output = os.path.realpath(job.output)
        if output == os.path.realpath(job.input):
            raise BatchError(f"output `{job.output}` of `{job.input}` is the input itself")
        if output in writers:
            raise BatchError(f"`{writers[output]}` and `{job.input}` would both write `{job.output}` "
                             f"(use a pattern with {{stem}} or {{dir}})")
        writers[output] = job.input


# ---------------------------------------------------------------------------- fingerprints


def sidecar_path(output: str | os.PathLike) -> Path:
    """The hidden file beside ``output`` that records what made it (``.x.mkv.batch.json``)."""
    output = Path(output)
    return output.with_name(f".{output.name}.batch.json")


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 of a file's content, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return [_jsonable(v) for v in dataclasses.astuple(value)]
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items())}
    return value


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("neuralav")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def fingerprint(input_sha256: str, options: dict[str, Any]) -> str:
    """SHA-256 (hex) of what decides an output's bytes: the input's content, the coding
    options and the neuralav version (its codecs and weights)."""
    record = {"input": input_sha256, "options": _jsonable(options), "neuralav": _version()}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _read_sidecar(output: Path) -> dict | None:
    try:
        record = json.loads(sidecar_path(output).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("format") == SIDECAR_FORMAT else None


def _output_matches(record: dict, output: Path) -> bool:
    """Whether ``output`` is still the file the sidecar describes (size and mtime)."""
    try:
        stat = output.stat()
    except OSError:
        return False
    seen = record.get("output", {})
    return seen.get("size") == stat.st_size and seen.get("mtime_ns") == stat.st_mtime_ns


def _input_sha256(record: dict | None, path: Path) -> str:
    """The input's SHA-256, from the sidecar if the file's size and mtime are those recorded."""
    stat = path.stat()
    if record is not None:
        seen = record.get("input", {})
        if seen.get("size") == stat.st_size and seen.get("mtime_ns") == stat.st_mtime_ns and seen.get("sha256"):
            return seen["sha256"]
    return sha256_of(path)


def is_done(job: Job) -> bool:
    """Whether ``job``'s output exists and was made from its input as it is now, with its options."""
    output = Path(job.output)
    record = _read_sidecar(output)
    if record is None or not _output_matches(record, output):
        return False
    try:
        digest = _input_sha256(record, Path(job.input))
    except OSError:
        return False
    return record.get("fingerprint") == fingerprint(digest, job.options)


def _write_sidecar(job: Job, input_sha256: str, input_stat: os.stat_result, kbps: float | None) -> None:
    """Record, beside the output just written, what made it (written to a temporary, then renamed)."""
    output = Path(job.output)
    stat = output.stat()
    record = {"format": SIDECAR_FORMAT, "fingerprint": fingerprint(input_sha256, job.options),
              "input": {"path": job.input, "size": input_stat.st_size, "mtime_ns": input_stat.st_mtime_ns,
                        "sha256": input_sha256},
              "options": _jsonable(job.options), "neuralav": _version(),
              "output": {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "kbps": kbps}}
    path = sidecar_path(output)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(temporary, path)


# ---------------------------------------------------------------------------- on a worker

_TASKS_RUN = [0]
"""Files this process has started (a worker process keeps it across tasks)."""


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text if isinstance(error, NeuralavError) else f"{type(error).__name__}: {text}".rstrip(": ")


def run_job(job: Job, overwrite: bool = False) -> FileResult:
    """Transcode one file (a Dask task) and record its fingerprint; never raises for a bad file.

    Args:
        job: The file, its output and options.
        overwrite: Replace an output that exists even if no batch wrote it.

    Returns:
        The file's result: ``done``, or ``failed`` with a one-line error.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _TASKS_RUN[0] += 1
    result = FileResult(job.input, job.output, "failed", worker=_worker_address(), pid=os.getpid(),
                        task_number=_TASKS_RUN[0])
    began = time.monotonic()
    try:
        from .pipeline import transcode

        source = Path(job.input)
        input_stat = source.stat()
        result.input_bytes = input_stat.st_size
        digest = _input_sha256(None, source)
        output = Path(job.output)
        record = _read_sidecar(output)
        ours = record is not None and _output_matches(record, output)
        done = transcode([job.input], job.output, **job.options, overwrite=overwrite or ours, progress=False)
        result.output_bytes = os.path.getsize(job.output)
        result.kbps = _kbps(result.output_bytes, done.streams)
        _write_sidecar(job, digest, input_stat, result.kbps)
    except Exception as error:  # reported in the summary; the other files go on
        result.error = _one_line(error)
        return result
    result.status = "done"
    result.seconds = time.monotonic() - began
    return result


def _kbps(size: int, streams: Sequence[Any]) -> float | None:
    """Bitrate of a file of ``size`` bytes over the span its streams cover, kbit/s."""
    spans = [(s.first, s.last) for s in streams if s.first is not None and s.last is not None]
    if not spans:
        return None
    span = max(last for _, last in spans) - min(first for first, _ in spans)
    return size * 8 / span / 1000 if span > 0 else None


# ---------------------------------------------------------------------------- on the client


def default_workers() -> int:
    """Worker processes for this machine: one per CPU core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def cluster_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A Dask client of the cluster at ``scheduler``, or of a new local one.

    Args:
        scheduler: Scheduler address (``tcp://host:8786``); default Dask's ``scheduler-address``
            setting (``DASK_SCHEDULER_ADDRESS``) unless ``workers`` is given, else a
            :class:`distributed.LocalCluster` on 127.0.0.1 that lives as long as the block.
        workers: Worker processes of a local cluster (default :func:`default_workers`).

    How long to wait for a scheduler is Dask's ``distributed.comm.timeouts.connect`` setting
    (``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT``, 30 s by default).

    Raises:
        BatchError: no scheduler answers at the address.
        InvalidOptionError: both a scheduler and a worker count, or fewer than 1 worker.
    """
    check_cluster_options(scheduler, workers)
    import dask
    from distributed import Client, LocalCluster

    address = scheduler or (dask.config.get("scheduler-address", None) if workers is None else None)
    if address:
        try:
            client = Client(address, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise BatchError(f"no Dask scheduler answers at `{address}`: {_one_line(error)}") from None
        with client:
            yield client
        return
    count = workers or default_workers()
    # One thread per process: a worker runs one file at a time, and the codecs' own threads
    # (TensorFlow, BLAS, FFmpeg) use the cores. No memory limit: a model's memory is not a leak.
    with LocalCluster(n_workers=count, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, memory_limit=0, silence_logs=40) as cluster:
        with Client(cluster, set_as_default=False) as client:
            yield client


def check_cluster_options(scheduler: str | None, workers: int | None) -> None:
    """Refuse a worker count below 1, or one given with a scheduler (its cluster has its own workers).

    Raises:
        InvalidOptionError: naming the options.
    """
    if workers is not None and workers < 1:
        raise InvalidOptionError(f"-j {workers}: the number of local worker processes must be at least 1")
    if workers is not None and scheduler:
        raise InvalidOptionError(f"-j {workers} is for a local cluster; the cluster at `{scheduler}` has "
                                 f"its own workers (leave out -j or --scheduler)")


def run_batch(jobs: Sequence[Job], connect: Callable[[], ContextManager[Any]], overwrite: bool = False,
              on_result: Callable[[FileResult], None] | None = None) -> list[FileResult]:
    """Run ``jobs`` on a Dask cluster; files whose outputs are up to date are skipped.

    Args:
        jobs: The files (see :func:`check_jobs`).
        connect: Opens the cluster: returns a context manager yielding a
            :class:`distributed.Client` (e.g. ``lambda: cluster_client(address)``); called only
            if some file is not up to date.
        overwrite: Replace outputs that exist even if no batch wrote them.
        on_result: Called with each result as it arrives (progress).

    Returns:
        One result per job, in the jobs' order.
    """
    check_jobs(jobs)
    results: list[FileResult | None] = [None] * len(jobs)
    pending = []
    for number, job in enumerate(jobs):
        if is_done(job):
            recorded = (_read_sidecar(Path(job.output)) or {}).get("output", {})
            results[number] = FileResult(job.input, job.output, "skipped", input_bytes=_size(job.input),
                                         output_bytes=_size(job.output), kbps=recorded.get("kbps"))
            if on_result is not None:
                on_result(results[number])
        else:
            make_output_folder(Path(job.output))
            pending.append(number)
    if pending:
        with connect() as client:
            _submit_and_wait(client, jobs, pending, overwrite, results, on_result)
    return [r for r in results if r is not None]


def _submit_and_wait(client: Any, jobs: Sequence[Job], pending: list[int], overwrite: bool,
                     results: list[FileResult | None], on_result: Callable[[FileResult], None] | None) -> None:
    from distributed import as_completed

    futures = {}
    for number in pending:
        job = jobs[number]
        future = client.submit(run_job, job, overwrite, pure=False,
                               key=f"neuralav-batch-{number}-{Path(job.input).name}-{os.urandom(4).hex()}")
        futures[future] = number
    for future in as_completed(list(futures), loop=client.loop):
        number = futures[future]
        job = jobs[number]
        try:
            result = future.result()
        except Exception as error:  # the task itself failed: e.g. its workers kept dying (KilledWorker)
            result = FileResult(job.input, job.output, "failed", error=_one_line(error),
                                input_bytes=_size(job.input))
        results[number] = result
        if on_result is not None:
            on_result(result)


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def make_output_folder(path: Path) -> None:
    """Create ``path``'s folder if needed.

    Raises:
        OutputPathError: it cannot be created.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputPathError(f"cannot create output folder `{path.parent}`: {error.strerror}") from None
