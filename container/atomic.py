"""Write-then-rename: an output appears at its path only once complete.

The file is written under a hidden temporary name in the target's folder (same
file system, so the final rename is atomic). On any exception, Ctrl-C included,
the temporary file is removed and nothing is left at the target. Without
``overwrite`` an existing target is never replaced, even if it appears while
the output is being written (the final step is a hard link, which fails if the
name exists, where the file system supports it).

A process killed outright (``SIGKILL``, a power cut) cannot clean up, so its
temporary file stays. Temporary names carry the writer's process id
(``.x.mkv.4242-1a2b3c4d.part.mkv``) and the writer holds an exclusive
``flock`` on the file while it writes; the next output to the same target
deletes the temporaries nobody holds whose process is gone (or that have not
been touched for :data:`STALE_AFTER` seconds, in case the pid was reused).

Permissions follow ffmpeg's: ``overwrite`` replaces only a file the user may write
(:func:`check_target`), and the replacement keeps the old file's permission bits,
owner and group (:func:`commit`); a new file gets the mode the umask gives. A folder
the user may not write, a read-only file system, a full disk are
:class:`~neuralav.container.errors.OutputPathError` with the reason, and the
temporary file is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import stat
import time
from pathlib import Path
from typing import Iterable, Iterator

from . import interrupts
from .errors import OutputExistsError, OutputPathError

__all__ = ["STALE_AFTER", "check_target", "refuse_input_as_output", "temporary_path", "claim", "release",
           "remove_stale", "commit", "atomic_output"]

STALE_AFTER = 600.0
"""Seconds after which an unlocked temporary file is stale even if its pid is alive (pid reuse)."""


def check_target(path: str | os.PathLike, overwrite: bool) -> Path:
    """Return ``path`` as a Path; raise if it cannot or must not be written.

    With ``overwrite``, an existing file the user may not write (mode 0444 for a user
    other than root, a read-only file system) is refused, as ffmpeg refuses it; root may
    write any file, for ffmpeg as here. A symlink at the target is replaced by the new
    file, never written through, so only the folder's permission counts for it.

    Raises:
        OutputExistsError: the target exists and ``overwrite`` is false.
        OutputPathError: the target is a folder, its folder does not exist, or the user
            may not write the target (with ``overwrite``) or create files in its folder.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputPathError(f"output `{target}` is a folder")
    if target.exists() and not overwrite:
        raise OutputExistsError(f"output `{target}` already exists (use -y to overwrite it)")
    if not target.parent.is_dir():
        raise OutputPathError(f"output folder `{target.parent}` does not exist")
    if overwrite and target.exists() and not target.is_symlink() and not _may_write(target, os.W_OK):
        raise OutputPathError(f"output `{target}` is not writable ({_why_not_writable(target)}): "
                              "it was left as it is")
    if not _may_write(target.parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"output folder `{target.parent}` is not writable "
                              f"({_why_not_writable(target.parent)})")
    return target


def _may_write(path: Path, mode: int) -> bool:
    """``os.access`` with the effective user and groups (those the file system checks on open)."""
    if os.access in os.supports_effective_ids:
        return os.access(path, mode, effective_ids=True)
    return os.access(path, mode)


def _why_not_writable(path: Path) -> str:
    with contextlib.suppress(OSError):
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "read-only file system"
    return "permission denied"


def refuse_input_as_output(inputs: Iterable[object], target: str | os.PathLike) -> None:
    """Refuse an output that is the same file as one of the inputs, however it is spelled.

    Files are compared by device and inode (``os.path.samestat``), so ``x.mkv``,
    ``./x.mkv``, an absolute path, a hard link and a symlink to the input (either way
    round) are all the same file. Writing it would replace the input with a file made
    from it; ffmpeg refuses this too. Inputs that are not paths (``-``, file objects)
    are skipped.

    Args:
        inputs: The command's inputs, in ``-i`` order.
        target: The output path.

    Raises:
        OutputPathError: the output is one of the inputs (names both).
    """
    try:
        output = os.stat(target)
    except (OSError, ValueError):  # does not exist (yet): cannot be an input
        return
    for number, source in enumerate(inputs):
        if not isinstance(source, (str, os.PathLike)) or os.fspath(source) == "-":
            continue
        try:
            same = os.path.samestat(os.stat(source), output)
        except (OSError, ValueError):  # the reader says what is wrong with this input
            continue
        if same:
            raise OutputPathError(f"output `{target}` is the same file as input #{number} `{source}`: "
                                  "writing it would destroy the input (choose another output name)")


def temporary_path(target: Path) -> Path:
    """A fresh hidden name next to ``target`` that keeps its suffix (``.x.mkv.4242-1a2b3c4d.part.mkv``)."""
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.part{target.suffix}")


def _temporary_pattern(target: Path) -> re.Pattern[str]:
    # The pid is optional: names written before it was added (``.x.mkv.1a2b3c4d.part.mkv``).
    return re.compile(rf"\.{re.escape(target.name)}\.(?:(\d+)-)?[0-9a-f]{{8}}\.part{re.escape(target.suffix)}")


def claim(temporary: Path) -> int:
    """Create ``temporary`` (it must not exist) and lock it; returns the descriptor holding the lock.

    The file gets the mode the umask leaves of 0666, like any new file. The lock lives as
    long as the descriptor (or the process): pass it to :func:`release`.

    Raises:
        OutputPathError: the file cannot be created (names the folder and the reason).
    """
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as error:
        raise OutputPathError(f"cannot create a file in output folder `{temporary.parent}`: "
                              f"{error.strerror or error}") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def release(descriptor: int | None) -> None:
    """Drop the lock taken by :func:`claim` (closing its descriptor); ``None`` does nothing."""
    if descriptor is not None:
        with contextlib.suppress(OSError):
            os.close(descriptor)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process
        return True
    return True


def remove_stale(target: Path) -> list[Path]:
    """Delete the temporary files of ``target`` left by writers that were killed.

    A temporary is stale when no one holds its lock and its process is gone (or it has
    not been modified for :data:`STALE_AFTER` seconds, the only test for names without a
    pid). Files being written are never touched.

    Anyone who may write the output folder (``/tmp``...) can put anything under a
    temporary's name: only regular files are considered. The type is checked with
    ``lstat`` before opening, the open never follows a symlink and never blocks (a FIFO
    would wait for a writer forever), and the file opened must be the one checked.
    Symlinks, FIFOs, sockets, devices and folders are left alone.

    Returns:
        The paths removed.
    """
    pattern = _temporary_pattern(target)
    removed = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return removed
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        path = target.parent / name
        descriptor = _open_regular_file(path)
        if descriptor is None:
            continue
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a live writer holds it
                continue
            old = time.time() - os.fstat(descriptor).st_mtime > STALE_AFTER
            pid = match.group(1)
            if old or (pid is not None and not _pid_alive(int(pid))):
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                except OSError:  # e.g. not ours to delete (a sticky folder)
                    continue
                removed.append(path)
        finally:
            os.close(descriptor)
    return removed


def _open_regular_file(path: Path) -> int | None:
    """Open ``path`` read-only if it is a regular file (not through a symlink); else ``None``.

    Never blocks: the type is checked before the open (``lstat``), the open is
    non-blocking and refuses symlinks, and the descriptor must be the file checked
    (same device and inode), in case the name was swapped in between.
    """
    try:
        checked = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(checked.st_mode):
        return None
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    opened = os.fstat(descriptor)
    if not stat.S_ISREG(opened.st_mode) or not os.path.samestat(opened, checked):
        os.close(descriptor)
        return None
    return descriptor


def commit(temporary: Path, target: Path, overwrite: bool) -> None:
    """Move the finished ``temporary`` file to ``target``.

    A file that is replaced (``overwrite``) passes its permission bits and its owner
    and group on to the new one: a 0600 file stays 0600. Where the owner cannot be
    kept (a user replacing a file of another user that they may write), the new bytes
    are copied into the existing file instead, as ffmpeg writes it, which keeps its
    owner, mode and inode but is not atomic.

    Raises:
        OutputExistsError: ``target`` exists and ``overwrite`` is false.
        OutputPathError: the file system refused the rename or the copy (names the reason).
        KeyboardInterrupt: the command was interrupted, even if Python lost the
            ``KeyboardInterrupt`` on the way (:func:`.interrupts.check`).
    """
    interrupts.check()
    try:
        if overwrite:
            if _keep_owner_and_mode(temporary, target):
                os.replace(temporary, target)
            else:
                _copy_into(temporary, target)
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
    except OutputExistsError:
        raise
    except OSError as error:
        raise OutputPathError(f"cannot move the finished output into place at `{target}`: "
                              f"{error.strerror or error}") from None


def _keep_owner_and_mode(temporary: Path, target: Path) -> bool:
    """Give ``temporary`` the permission bits, owner and group of the regular file at ``target``.

    Set-user-id, set-group-id and sticky bits are not carried over (a media file is not a
    program). A symlink or a missing target leaves the new file as it is.

    Returns:
        False if the owner or group could not be kept (the caller then writes in place).
    """
    try:
        old = os.lstat(target)
    except FileNotFoundError:
        return True
    if not stat.S_ISREG(old.st_mode):
        return True
    new = os.stat(temporary)
    if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid):
        try:
            os.chown(temporary, old.st_uid, old.st_gid)
        except PermissionError:
            return False
    os.chmod(temporary, stat.S_IMODE(old.st_mode) & 0o777)
    return True


def _copy_into(temporary: Path, target: Path) -> None:
    """Copy ``temporary``'s bytes over the existing file ``target`` (never through a symlink), then delete it."""
    descriptor = os.open(target, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC)
    with open(descriptor, "wb") as out, open(temporary, "rb") as source:
        shutil.copyfileobj(source, out, 1 << 20)
    os.unlink(temporary)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success move it to ``path``, else delete it.

    Stale temporaries of ``path`` left by killed writers are removed first.

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is false.
    """
    target = check_target(path, overwrite)
    remove_stale(target)
    temporary = temporary_path(target)
    lock = None
    try:
        lock = claim(temporary)
        yield temporary
        commit(temporary, target, overwrite)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    finally:
        release(lock)
