"""Which disk a guest runs with, making a fresh one when it needs it.

The policy (`tuivmm bare` uses it; the monitor will, to give each guest its own disk):

    --disk FILE, FILE exists       FILE, as it is
    --disk FILE, no such FILE      a fresh empty image made at FILE and kept
                                   (not with --disk-ro: an empty read-only disk is
                                   no use, so that is an error)
    no --disk, a guest that wants  a fresh empty image in a temporary directory,
      a disk (packaged.WANTS_DISK) removed when the run ends (for linux without
                                   mke2fs on the host: no disk, and a notice)
    --no-disk, or no --disk for    no disk
      any other guest

A fresh image has the guest's file system (packaged.disk_format): TUFS for unix (and
any image that is not a packaged guest), made by tufs.mkfs; ext2 for linux, made by
e2fsprogs' mke2fs (ext2.py).  Either is written whole to a temporary file beside its
place and renamed there, so it is never seen half-written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from tuivmm.disk import ext2, tufs
from tuivmm.lineup.packaged import disk_format, packaged_name, wants_disk

FRESH_SIZE_BLOCKS = tufs.DEFAULT_SIZE_BLOCKS
FRESH_SIZE_TEXT = f"{FRESH_SIZE_BLOCKS * tufs.BSIZE // (1024 * 1024)} MiB"
# What a fresh disk of each kind is, as the notices say it.
FRESH = {"tufs": f"{FRESH_SIZE_TEXT} unix disk (TUFS)", "ext2": f"{ext2.DEFAULT_SIZE_MIB} MiB ext2 disk"}
THROWAWAY = {"tufs": FRESH_SIZE_TEXT, "ext2": f"{ext2.DEFAULT_SIZE_MIB} MiB ext2"}


class DiskSetupError(Exception):
    """The disk asked for cannot be had; one line for a person."""


@dataclass
class GuestDisk:
    """The disk a guest gets: `path` (None for none) and `notice`, one line to tell the
    user (without a "tuivmm: " prefix), or None when there is nothing to say.  Close it
    (or use it as a context manager) when the guest is done, after the device has let
    go of the file: that removes a throwaway disk."""

    path: str | None
    notice: str | None = None
    _scratch: str | None = field(default=None, repr=False)

    @property
    def throwaway(self) -> bool:
        """A fresh disk in a temporary directory, removed when closed."""
        return self._scratch is not None

    def close(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def disk_for(image: str, disk: str | os.PathLike[str] | None = None, *, read_only: bool = False,
             no_disk: bool = False, keep_hint: str = "use --disk FILE to keep its files",
             name: str | None = None) -> GuestDisk:  # fmt: skip
    """The disk for a guest run from IMAGE (a packaged guest's name or a path) with the
    user's --disk (None if not given), --disk-ro and --no-disk; see the module's policy.
    `keep_hint` tells the user how to keep a throwaway disk's files where they started;
    `name` is the guest's name for the notice (by default, the packaged guest's).
    DiskSetupError says why it cannot be done."""
    if no_disk:
        if disk is not None:
            raise DiskSetupError("--no-disk and --disk contradict each other")
        if read_only:
            raise DiskSetupError("--disk-ro needs --disk FILE")
        return GuestDisk(None)
    if disk is None:
        if read_only:
            raise DiskSetupError("--disk-ro needs --disk FILE")
        if not wants_disk(image):
            return GuestDisk(None)
        name = name or packaged_name(image)
        kind = disk_format(image)
        if kind == "ext2" and ext2.find_mke2fs() is None:
            return GuestDisk(None, f"{name} has no --disk, and without mke2fs (e2fsprogs) no fresh ext2 disk "
                             "can be made: it runs with no disk")  # fmt: skip
        scratch = tempfile.mkdtemp(prefix=f"tuivmm-{name}-disk-")
        try:
            path = _make(Path(scratch) / f"{name}.img", kind)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return GuestDisk(path, f"{name} has no --disk, so it gets a fresh empty {THROWAWAY[kind]} disk "
                         f"that is thrown away at exit ({keep_hint})", scratch)  # fmt: skip
    path = Path(disk)
    if path.is_dir():
        raise DiskSetupError(f"{disk}: is a directory, not a disk image")
    if path.exists():
        return GuestDisk(str(disk))
    if read_only:
        raise DiskSetupError(f"{disk}: no such disk image (with --disk-ro it must exist)")
    if not path.parent.is_dir():
        raise DiskSetupError(f"{disk}: cannot make a disk image there: no such directory {path.parent}")
    kind = disk_format(image)
    return GuestDisk(_make(path, kind), f"made a fresh empty {FRESH[kind]} at {disk}")


def _make(path: Path, kind: str) -> str:
    try:
        if kind == "ext2":
            ext2.mkfs(path)
        else:
            tufs.mkfs(path, FRESH_SIZE_BLOCKS)
    except (tufs.DiskError, ext2.Ext2Error) as exc:
        raise DiskSetupError(str(exc)) from None
    except OSError as exc:
        raise DiskSetupError(f"{path}: cannot make a disk image there: {exc.strerror or exc}") from None
    return str(path)
