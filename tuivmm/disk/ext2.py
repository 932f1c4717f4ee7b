"""Disk images for the `linux` guest: ext2, made on the host by e2fsprogs' mke2fs.

Linux mounts the disk (/dev/vda) on /mnt at boot (guests/linux/user/init.c); its
kernel reads ext2 (CONFIG_EXT2_FS), and so do the host's tools: `debugfs -R 'ls -l /'
IMG` lists it, `debugfs -R 'cat /FILE' IMG` prints a file, `e2fsck -fn IMG` checks it,
without root or a loop mount.  We write no ext2 code of our own: mke2fs is the
well-kept tool for this.

A fresh image is the same bytes every time (a fixed UUID, hash seed and creation
time, so a scripted run with a fresh disk is the same run), made whole in a temporary
file beside its place and renamed there, so it is never seen half-made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

DEFAULT_SIZE_MIB = 8
BLOCK_SIZE = 1024  # small blocks suit a small disk
LABEL = "linux"
UUID = "74756976-6d6d-4c69-6e75-780000000001"  # "tuivmm Linux", fixed: the same image each time
CREATED = 1_764_547_200  # 2025-12-01 00:00:00 UTC, the creation time written into a fresh image

# Where Debian puts mke2fs; a user's PATH often leaves out the sbin directories.
_PLACES = ("/usr/sbin/mke2fs", "/sbin/mke2fs")


class Ext2Error(Exception):
    """An ext2 image cannot be made; one line for a person."""


def find_mke2fs() -> str | None:
    """The mke2fs program, or None when e2fsprogs is not installed."""
    found = shutil.which("mke2fs")
    if found:
        return found
    return next((place for place in _PLACES if os.access(place, os.X_OK)), None)


def mkfs(path: str | os.PathLike[str], size_mib: int = DEFAULT_SIZE_MIB) -> Path:
    """Make an empty ext2 image of `size_mib` MiB at `path`, which must not exist yet."""
    path = Path(path)
    mke2fs = find_mke2fs()
    if mke2fs is None:
        raise Ext2Error("cannot make an ext2 disk: mke2fs not found (install e2fsprogs)")
    if path.exists():
        raise Ext2Error(f"{path} already exists; remove it first")
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.truncate(temp, size_mib << 20)
        command = [mke2fs, "-q", "-F", "-t", "ext2", "-b", str(BLOCK_SIZE), "-m", "0", "-L", LABEL,
                   "-U", UUID, "-E", f"hash_seed={UUID}", temp]  # fmt: skip
        env = dict(os.environ, E2FSPROGS_FAKE_TIME=str(CREATED), MKE2FS_CONFIG="/dev/null")
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            why = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
            raise Ext2Error(f"mke2fs could not make {path}: {why}")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
