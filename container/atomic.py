"""Write-then-rename: an output appears at its path only once complete.

The file is written under a hidden temporary name in the target's folder (same
file system, so the final rename is atomic). On any exception, Ctrl-C included,
the temporary file is removed and nothing is left at the target. Without
``overwrite`` an existing target is never replaced, even if it appears while
the output is being written (the final step is a hard link, which fails if the
name exists, where the file system supports it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator

from .errors import OutputExistsError, OutputPathError

__all__ = ["check_target", "temporary_path", "commit", "atomic_output"]


def check_target(path: str | os.PathLike, overwrite: bool) -> Path:
    """Return ``path`` as a Path; raise if it exists and ``overwrite`` is false.

    Raises:
        OutputExistsError: the target exists.
        OutputPathError: the target is a folder, or its folder does not exist.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputPathError(f"output `{target}` is a folder")
    if target.exists() and not overwrite:
        raise OutputExistsError(f"output `{target}` already exists (use -y to overwrite it)")
    if not target.parent.is_dir():
        raise OutputPathError(f"output folder `{target.parent}` does not exist")
    return target


def temporary_path(target: Path) -> Path:
    """A fresh hidden name next to ``target`` that keeps its suffix (``.x.mkv.1a2b.part.mkv``)."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.part{target.suffix}")


def commit(temporary: Path, target: Path, overwrite: bool) -> None:
    """Move the finished ``temporary`` file to ``target``.

    Raises:
        OutputExistsError: ``target`` exists and ``overwrite`` is false.
    """
    if overwrite:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise OutputExistsError(f"output `{target}` already exists (use -y to overwrite it)") from None
    except OSError:  # no hard links here: check, then rename
        if target.exists():
            raise OutputExistsError(f"output `{target}` already exists (use -y to overwrite it)") from None
        os.replace(temporary, target)
        return
    os.unlink(temporary)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success move it to ``path``, else delete it.

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is false.
    """
    target = check_target(path, overwrite)
    temporary = temporary_path(target)
    try:
        yield temporary
        commit(temporary, target, overwrite)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
