"""Which guests the dashboard starts with: the default lineup, or a TOML file.

A lineup file looks like this (every key but `image` is optional; each means what
the same option means on `tuivmm dash`'s command line, and is checked the same way):

    flawed_eret = false            # the machine's ERET flaw, for the gotcha demo

    [[guest]]
    image = "unix"                 # a packaged guest's name, an ELF path or an assembly file
    name = "alice"                 # default: the image's name (unix, unix-2, ...)
    ram_mib = 128                  # 1 to 1024
    disk = "alice.img"             # made fresh if missing; default: a throwaway disk
    remedy = "none"                # none | bt | pv | hw
    sbi = "firmware"               # firmware | vmm: who answers the kernel's SBI calls
    net = true                     # false: no network card
    max_insns = 5000000            # stop the guest after that many instructions
    gdb = 1234                     # serve gdb on 127.0.0.1:1234; the guest waits for it

    [[guest]]
    image = "basic"

Each [[guest]] table becomes a GuestSpec (spec.py), as a GUEST on the command line
does; its image is looked for when the guest is added.

Lineups shipped with tuivmm sit beside this module (NAME.toml) and are named by NAME
wherever a lineup file is (`tuivmm dash --config gotcha`); as for packaged guests, a
file of that name in the current directory wins.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tuivmm.lineup.spec import DEFAULT_RAM_MIB, NAME_RULE, RAM_RULE, GuestSpec, SpecError, valid_name, valid_ram_mib
from tuivmm.vmm.monitor import REMEDIES, SBI_MODES

__all__ = [
    "GuestSpec",
    "Lineup",
    "LineupError",
    "default_lineup",
    "lineup_from_names",
    "load_lineup",
    "shipped_lineups",
]

SHIPPED = Path(__file__).resolve().parent  # the lineups shipped with tuivmm: NAME.toml


class LineupError(SpecError):
    """A lineup that cannot be used; one line for a person."""


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


_GUEST_KEYS = {"image", "name", "ram_mib", "disk", "remedy", "sbi", "net", "max_insns", "gdb"}


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def shipped_lineups() -> list[str]:
    """The names of the lineups shipped with tuivmm."""
    return sorted(file.stem for file in SHIPPED.glob("*.toml"))


def load_lineup(path: str | Path) -> Lineup:
    """Read a lineup file (or a shipped lineup, by its name); LineupError says what is
    wrong with it, in one line."""
    if not Path(path).exists() and str(path) in shipped_lineups():
        path = SHIPPED / f"{path}.toml"
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        shipped = ", ".join(shipped_lineups())
        raise LineupError(f"{path}: no such lineup file (shipped with tuivmm: {shipped})") from None
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
        ram = entry.get("ram_mib", DEFAULT_RAM_MIB)
        if not valid_ram_mib(ram):
            raise LineupError(f"{where}: ram_mib must be {RAM_RULE}")
        remedy = entry.get("remedy", "none")
        if remedy not in REMEDIES:
            raise LineupError(f"{where}: remedy must be one of {', '.join(REMEDIES)}")
        sbi = entry.get("sbi", "firmware")
        if sbi not in SBI_MODES:
            raise LineupError(f"{where}: sbi must be one of {', '.join(SBI_MODES)}")
        name = entry.get("name")
        if name is not None and not valid_name(name):
            raise LineupError(f"{where}: name must be {NAME_RULE}")
        disk = entry.get("disk")
        if disk is not None and (not isinstance(disk, str) or not disk):
            raise LineupError(f"{where}: disk must be a file name")
        net = entry.get("net", True)
        if not isinstance(net, bool):
            raise LineupError(f"{where}: net must be true or false")
        max_insns = entry.get("max_insns")
        if max_insns is not None and not (_whole(max_insns) and max_insns > 0):
            raise LineupError(f"{where}: max_insns must be a positive whole number")
        gdb = entry.get("gdb")
        if gdb is not None and not (_whole(gdb) and 0 <= gdb <= 65535):
            raise LineupError(f"{where}: gdb must be a TCP port, 0 to 65535 (0: a free one)")
        guests.append(GuestSpec(image, name, ram, disk, remedy, net, max_insns=max_insns, gdb_port=gdb, sbi=sbi))
    return Lineup(guests, flaw)
