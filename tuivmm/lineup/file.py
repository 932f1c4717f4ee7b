"""Which guests the dashboard starts with: the default lineup, or a TOML file.

A lineup file looks like this (every key but `image` is optional):

    flawed_eret = false            # the machine's ERET flaw, for the gotcha demo

    [[guest]]
    image = "unix"                 # a packaged guest's name or an ELF path
    name = "alice"                 # default: the image's name (unix, unix-2, ...)
    ram_mib = 128
    disk = "alice.img"             # made fresh if missing; default: a throwaway disk
    remedy = "none"                # none | bt | pv | hw

    [[guest]]
    image = "basic"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tuivmm.lineup import MAX_RAM_MIB
from tuivmm.vmm.monitor import REMEDIES


class LineupError(Exception):
    """A lineup that cannot be used; one line for a person."""


@dataclass
class GuestSpec:
    image: str
    name: str | None = None
    ram_mib: int = 128
    disk: str | None = None
    remedy: str = "none"
    net: bool = True


@dataclass
class Lineup:
    guests: list[GuestSpec] = field(default_factory=list)
    flawed_eret: bool = False


def default_lineup() -> Lineup:
    """Two unix machines on the switch (they can ping each other), the BASIC home
    computer, and the ERET gotcha."""
    return Lineup([GuestSpec("unix"), GuestSpec("unix"), GuestSpec("basic"), GuestSpec("eret-escape")])


def lineup_from_names(images: list[str], *, flawed_eret: bool = False, remedy: str = "none") -> Lineup:
    return Lineup([GuestSpec(image, remedy=remedy) for image in images], flawed_eret)


_GUEST_KEYS = {"image", "name", "ram_mib", "disk", "remedy", "net"}


def load_lineup(path: str | Path) -> Lineup:
    """Read a lineup file; LineupError says what is wrong with it, in one line."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise LineupError(f"{path}: no such lineup file") from None
    except OSError as exc:
        raise LineupError(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LineupError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"guest", "flawed_eret"}
    if unknown:
        raise LineupError(f"{path}: unknown key {sorted(unknown)[0]!r} (expected [[guest]] tables and flawed_eret)")
    flaw = data.get("flawed_eret", False)
    if not isinstance(flaw, bool):
        raise LineupError(f"{path}: flawed_eret must be true or false")
    entries = data.get("guest", [])
    if not isinstance(entries, list) or not entries:
        raise LineupError(f"{path}: no guests (add [[guest]] tables with an image)")
    guests = []
    for n, entry in enumerate(entries, 1):
        where = f"{path}: guest {n}"
        if not isinstance(entry, dict):
            raise LineupError(f"{where}: must be a table")
        extra = set(entry) - _GUEST_KEYS
        if extra:
            raise LineupError(f"{where}: unknown key {sorted(extra)[0]!r}")
        image = entry.get("image")
        if not isinstance(image, str) or not image:
            raise LineupError(f"{where}: needs image = \"NAME or PATH\"")
        ram = entry.get("ram_mib", 128)
        if not isinstance(ram, int) or isinstance(ram, bool) or not 1 <= ram <= MAX_RAM_MIB:
            raise LineupError(f"{where}: ram_mib must be a whole number of MiB from 1 to {MAX_RAM_MIB}")
        remedy = entry.get("remedy", "none")
        if remedy not in REMEDIES:
            raise LineupError(f"{where}: remedy must be one of {', '.join(REMEDIES)}")
        name = entry.get("name")
        if name is not None and (not isinstance(name, str) or not name or len(name) > 16):
            raise LineupError(f"{where}: name must be 1 to 16 characters")
        disk = entry.get("disk")
        if disk is not None and not isinstance(disk, str):
            raise LineupError(f"{where}: disk must be a file name")
        net = entry.get("net", True)
        if not isinstance(net, bool):
            raise LineupError(f"{where}: net must be true or false")
        guests.append(GuestSpec(image, name, ram, disk, remedy, net))
    return Lineup(guests, flaw)
