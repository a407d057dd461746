"""Outputs and permissions: what `-y` may replace, the mode and owner it keeps, errors of the file system.

Issue 27.3: `-y` replaced a 0444 file and a file in a read-only folder, and a 0600 file came
back 0644; a read-only output folder and a full disk gave tracebacks.

Root may write any file (the kernel skips permission checks for it), so ffmpeg run by root
truncates a 0444 file and neuralav run by root replaces it (keeping 0444). What a user may
not write is tested as a user: the test forks and the child drops to ``nobody`` (root can;
under another user the child keeps that user) and runs ``container.cli.main`` there. It does
not exec a new interpreter because root's Python may sit in a folder only root can read;
everything the command needs is imported before the fork.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import pytest

from neuralav.container.cli import main

from . import media
from .conftest import run_tool

NEURALAV = Path(sys.executable).with_name("neuralav")


@pytest.fixture
def shared(clip):
    """A folder every user can enter, with ``in.mkv`` (a copy of the clip) readable by all; warmed up.

    The command runs once in this process first, so a child that cannot read root's Python
    installation has every module it needs.
    """
    folder = Path(tempfile.mkdtemp(prefix="neuralav-perm-", dir="/tmp"))
    os.chmod(folder, 0o777)
    source = folder / "in.mkv"
    shutil.copyfile(clip, source)
    os.chmod(source, 0o644)
    assert main(["transcode", "-y", "-i", str(source), "-c", "copy", str(folder / "warm.mkv")]) == 0
    (folder / "warm.mkv").unlink()
    yield folder
    for path in folder.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            os.chmod(path, 0o755)
    shutil.rmtree(folder)


def as_user(argv: list[str]) -> tuple[int, str]:
    """Run ``neuralav ARGV`` in a forked child as ``nobody`` (if root) or as this user; (status, stderr)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        code = 99
        try:
            os.close(read)
            sys.stderr = open(write, "w")
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgroups([])
                os.setresgid(nobody.pw_gid, nobody.pw_gid, nobody.pw_gid)
                os.setresuid(nobody.pw_uid, nobody.pw_uid, nobody.pw_uid)
            code = main(argv)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(write)
    with open(read) as pipe:
        errors = pipe.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), errors


def nobody_ids() -> tuple[int, int]:
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def test_y_onto_a_file_the_user_may_not_write_is_refused_and_the_file_kept(shared):
    target = shared / "locked.mkv"
    target.write_bytes(b"precious")
    os.chmod(target, 0o444)
    status, errors = as_user(["transcode", "-y", "-i", str(shared / "in.mkv"), "-c", "copy", str(target)])
    assert (status, errors) == (1, f"neuralav transcode: error: output `{target}` is not writable "
                                   "(permission denied): it was left as it is\n")
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in shared.iterdir()) == ["in.mkv", "locked.mkv"]


def test_ffmpeg_refuses_the_same_file_for_the_same_user(shared, tools):
    # The behaviour above is ffmpeg's: run it as the same user on the same kind of file.
    if not tools["ffmpeg"] or not shutil.which("setpriv"):
        pytest.skip("ffmpeg and setpriv needed")
    target = shared / "locked.mkv"
    target.write_bytes(b"precious")
    os.chmod(target, 0o444)
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.geteuid() == 0 else []
    result = run_tool(*prefix, "ffmpeg", "-v", "error", "-y", "-i", str(shared / "in.mkv"), "-c", "copy",
                      str(target))
    assert result.returncode != 0 and "Permission denied" in result.stderr
    assert target.read_bytes() == b"precious"


def test_a_read_only_output_folder_gives_one_line_and_leaves_nothing(shared):
    folder = shared / "readonly"
    folder.mkdir()
    existing = folder / "out.mkv"
    existing.write_bytes(b"precious")
    os.chmod(existing, 0o666)
    os.chmod(folder, 0o555)
    for output, overwrite in ((folder / "new.mkv", []), (existing, ["-y"])):
        status, errors = as_user(["transcode", *overwrite, "-i", str(shared / "in.mkv"), "-c", "copy", str(output)])
        assert (status, errors) == (1, f"neuralav transcode: error: output folder `{folder}` is not writable "
                                       "(permission denied)\n")
    assert sorted(p.name for p in folder.iterdir()) == ["out.mkv"] and existing.read_bytes() == b"precious"


def test_replacing_keeps_the_mode_and_owner_of_the_file_replaced(shared):
    target = shared / "private.mkv"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    uid, gid = (os.getuid(), os.getgid())
    if os.geteuid() == 0:  # root can give the file away: replacing must give it back
        uid, gid = nobody_ids()
        os.chown(target, uid, gid)
    inode = target.stat().st_ino
    assert main(["transcode", "-y", "-i", str(shared / "in.mkv"), "-c", "copy", str(target)]) == 0
    after = target.stat()
    assert (stat.S_IMODE(after.st_mode), after.st_uid, after.st_gid) == (0o600, uid, gid)
    assert after.st_ino != inode  # replaced by rename, atomically
    assert media.packets(target, 0) == media.packets(shared / "in.mkv", 0)


def test_a_read_only_file_replaced_by_root_stays_read_only(shared):
    if os.geteuid() != 0:
        pytest.skip("root only: other users may not replace a 0444 file (tested above)")
    target = shared / "readonly.mkv"
    target.write_bytes(b"old")
    os.chmod(target, 0o444)
    assert main(["transcode", "-y", "-i", str(shared / "in.mkv"), "-c", "copy", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    assert media.packets(target, 0) == media.packets(shared / "in.mkv", 0)


def test_a_file_of_another_owner_that_the_user_may_write_is_written_in_place(shared):
    # The user cannot give a new file away to the old owner: writing in place keeps the owner.
    if os.geteuid() != 0:
        pytest.skip("needs root to make a file of another user")
    uid, gid = nobody_ids()
    target = shared / "group.mkv"
    target.write_bytes(b"old")
    os.chown(target, 0, gid)
    os.chmod(target, 0o664)
    inode = target.stat().st_ino
    status, errors = as_user(["transcode", "-y", "-i", str(shared / "in.mkv"), "-c", "copy", str(target)])
    assert (status, errors) == (0, "")
    after = target.stat()
    assert (after.st_ino, after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (inode, 0, gid, 0o664)
    assert media.packets(target, 0) == media.packets(shared / "in.mkv", 0)
    assert sorted(p.name for p in shared.iterdir()) == ["group.mkv", "in.mkv"]


def test_a_new_file_gets_the_mode_the_umask_gives(shared):
    old = os.umask(0o027)
    try:
        assert main(["transcode", "-i", str(shared / "in.mkv"), "-c", "copy", str(shared / "new.mkv")]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((shared / "new.mkv").stat().st_mode) == 0o640


def test_a_full_disk_gives_one_line_and_leaves_no_temporary(clip, tmp_path):
    # A real full file system: a 16 KiB tmpfs, mounted in a private mount namespace.
    if not shutil.which("unshare"):
        pytest.skip("unshare not installed")
    disk = tmp_path / "disk"
    disk.mkdir()
    source = tmp_path / "big.mkv"
    assert main(["transcode", "-i", str(clip), "-map", "0:v", "-c:v", "zlibv", str(source)]) == 0
    assert source.stat().st_size > 16 * 1024
    script = (f"mount -t tmpfs -o size=16k tmpfs {disk} || exit 77; "
              f"{NEURALAV} transcode -i {source} -c copy {disk}/out.mkv; status=$?; ls -A {disk}; exit $status")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    if result.returncode == 77:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    assert result.returncode == 1
    assert result.stderr == (f"neuralav transcode: error: cannot write output `{disk}/out.mkv`: "
                             "No space left on device (nothing was written)\n")
    assert result.stdout == ""  # ls: nothing left on the full disk
