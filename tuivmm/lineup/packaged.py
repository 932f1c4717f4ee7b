"""The packaged guests: images built from guests/ and shipped in tuivmm/images/.

Wherever a command takes an IMAGE, a packaged guest's name works as well as a path.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

IMAGES = Path(__file__).resolve().parent.parent / "images"

# name -> one line saying what it is (shown by `tuivmm guests`)
DESCRIPTIONS = {
    "unix": "a small Unix-like teaching kernel: Sv32 processes, preemption, fork/exec/wait, "
    "a file system on the virtio disk, ping and UDP over virtio-net, a shell (ls, cat, write, rm, ps, "
    "kill, ping, bench, ...)",
    "hello": "the smallest guest: prints one line on the UART and powers off",
    "compute": "a CPU-bound benchmark: CRC-32, shell sort, matrix multiply and a sieve, "
    "printing a checksum per kernel",
    "basic": "a 1980s-style BASIC home computer in M-mode: type, LIST, RUN and edit numbered "
    "programs; keys by UART interrupt, WFI when idle, Ctrl-C breaks, BYE powers off",
    "trapstorm": "a storm of sensitive operations (sscratch accesses, ecalls to M-mode, "
    "timer interrupts) that prints how many it did, for measuring trap costs",
    "eret-escape": "the lecture's gotcha: a user program tries to reach kernel state; "
    "prints ERET-ESCAPE: PROTECTED or ESCAPED",
    "eret-escape-pv": "eret-escape built paravirtual: the kernel returns to user mode with a "
    "hypercall instead of SRET",
    "linux": "Debian's Linux 6.1, unmodified, behind our own SBI firmware, with a small userland "
    "(sh, ls, cat, ps, mount, dmesg, ping, ...) in its initramfs; boots to `$ ` in ~30 M instructions",
}

# Packaged guests that keep their files on a virtio disk, and its file system: unix's
# own (TUFS, tuivmm/disk/tufs.py) or ext2 for linux (tuivmm/disk/ext2.py).  Run without
# one, they get a fresh empty disk of that kind (tuivmm/disk/attach.py).
DISK_FORMATS = {"unix": "tufs", "linux": "ext2"}
WANTS_DISK = set(DISK_FORMATS)


@dataclass(frozen=True)
class Guest:
    name: str
    description: str
    path: Path


def packaged() -> list[Guest]:
    """Every packaged guest whose image is present, in catalogue order."""
    return [Guest(name, text, IMAGES / f"{name}.elf") for name, text in DESCRIPTIONS.items()
            if (IMAGES / f"{name}.elf").is_file()]  # fmt: skip


def resolve(image: str) -> str:
    """A packaged guest's name becomes its image path; anything else is a path as given.
    A file of that name in the current directory wins over a packaged guest."""
    if not Path(image).exists() and image in DESCRIPTIONS:
        return str(IMAGES / f"{image}.elf")
    return image


def packaged_name(image: str | os.PathLike[str]) -> str | None:
    """The packaged guest an IMAGE argument means: its name, or the path of its image
    (compared resolved, so `./tuivmm/images/unix.elf` counts); None for anything else.
    As in `resolve`, a file of the guest's name in the current directory is not it."""
    path = Path(resolve(os.fspath(image))).resolve()
    for name in DESCRIPTIONS:
        if path == (IMAGES / f"{name}.elf").resolve():
            return name
    return None


# Packaged guests built to show the ERET flaw: without a remedy they are meant to be
# broken by it (the dashboard does not offer to protect them when the flaw goes on).
SHOWS_THE_FLAW = {"eret-escape"}


def shows_the_flaw(image: str | os.PathLike[str]) -> bool:
    """Whether IMAGE is a guest built to show what the ERET flaw does."""
    return packaged_name(image) in SHOWS_THE_FLAW


def wants_disk(image: str | os.PathLike[str]) -> bool:
    """Whether IMAGE (a packaged guest's name or its image's path) is a guest that wants a disk."""
    return packaged_name(image) in WANTS_DISK


def disk_format(image: str | os.PathLike[str]) -> str:
    """The file system a fresh disk for IMAGE gets: "ext2" for linux, else "tufs"
    (unix's; also what `--disk FILE` makes for an image that is not a packaged guest)."""
    return DISK_FORMATS.get(packaged_name(image), "tufs")


# Packaged guests that need more RAM than their image's size says: linux's kernel, given
# less, runs out of memory while it boots ("System is deadlocked on memory") and spins.
MIN_RAM_MIB = {"linux": 16}


def too_little_ram(image: str | os.PathLike[str], ram_mib: int) -> str | None:
    """Why `ram_mib` MiB is too little for IMAGE (one line), or None if it is enough."""
    name = packaged_name(image)
    least = MIN_RAM_MIB.get(name)
    if least is None or ram_mib >= least:
        return None
    return f"{name} needs at least {least} MiB of RAM (with {ram_mib} MiB its kernel runs out of memory as it boots)"


@dataclass(frozen=True)
class VerdictRule:
    """How a packaged guest tells, on its console, what its run showed: `prefix`
    followed by one of the words of `outcomes`, which says of each whether it is the
    outcome one hopes for (the dashboard shows those green, the others red).  The last
    one printed counts."""

    prefix: bytes
    outcomes: dict[str, bool]

    @functools.cached_property
    def pattern(self) -> re.Pattern[bytes]:
        words = b"|".join(re.escape(word.encode()) for word in self.outcomes)
        return re.compile(re.escape(self.prefix) + b"(" + words + b")")


_ERET_VERDICT = VerdictRule(b"ERET-ESCAPE: ", {"ESCAPED": False, "PROTECTED": True})

# Packaged guests that end with a verdict: the guest list shows it where it would say
# "pass", as does the comparison of the guests' exits; `tuivmm run --stats` names it.
VERDICTS = {"eret-escape": _ERET_VERDICT, "eret-escape-pv": _ERET_VERDICT}


def verdict_rule(image: str | os.PathLike[str]) -> VerdictRule | None:
    """The verdict IMAGE's console gives, if it is a packaged guest that gives one."""
    return VERDICTS.get(packaged_name(image))
