"""What the user named: a guest to run and how (`GuestSpec`), the same from every front end.

Guests are named on `tuivmm run`'s and `tuivmm dash`'s command lines (GUEST and the
per-guest options), in a lineup file's [[guest]] tables (file.py) and on the line
typed after F9 in the dashboard; every one of them becomes a GuestSpec, by the rules
here (options.py has the command-line side: the option types, their help texts, the
F9 line):

- An IMAGE is a packaged guest's name, an ELF file, or an assembly file (.s, .S,
  .asm) that our own assembler turns into a program (`GuestSpec.resolve`).  One
  that is not there is a one-line SpecError that says which packaged guest was
  perhaps meant and that `tuivmm guests` lists them.
- A guest is called by its own name, else by its image's stem; the second of a name
  is name-2, the third name-3 (`guest_names`, as the VMM names them).
- A repeatable `--option [NAME=]VALUE` (`apply_options`): a value given for a guest's
  name beats one without NAME (the last one given), which beats the guest's own; a
  NAME that is no guest's is an error that lists the guests and the one perhaps
  meant.  (`hello` is hello's, not hello-2's: a disk or a gdb port is one guest's.)
- A guest has from 1 to MAX_RAM_MIB MiB of RAM; its name is 1 to 16 letters,
  digits, '.', '-' or '_' (it prefixes lines, and comes before '=' in options).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_RAM_MIB = 128
# The most RAM one guest may have, wherever a guest is set up (run, dash, a lineup
# file, F9; bare's --ram may use it too).  The monitor's host RAM (2 GiB, less its
# shadow page-table pool) holds one such guest with room to spare.
MAX_RAM_MIB = 1024
MAX_NAME = 16
ASSEMBLY_SUFFIXES = (".s", ".S", ".asm")

RAM_RULE = f"a whole number of MiB from 1 to {MAX_RAM_MIB}"
NAME_RULE = f"1 to {MAX_NAME} letters, digits, '.', '-' or '_'"
_NAME = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_NAME}}}")


class SpecError(Exception):
    """A guest named or set up wrong; one line for a person."""


def valid_ram_mib(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_RAM_MIB


def valid_name(value: object) -> bool:
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


@dataclass
class GuestSpec:
    """One guest as the user named it.  `image` is as given; `resolve()` fills in
    `path` (the file it names) and, for an assembly file, `program` (what our
    assembler made of it).  `name` None: the image's stem.  `disk` None: a throwaway
    disk for a guest that wants one, unless `no_disk`.  `gdb_port`: serve gdb for it
    from the start (it waits for the debugger); `max_insns`: stop it after that many
    instructions.  `sbi`: who answers its SBI calls, its own firmware or the VMM
    (tuivmm/vmm/sbi_server.py).  `snapshot` (a path, or a
    tuivmm.tools.snapshot.Snapshot): the guest is restored from it, keeping its own
    RAM, remedy, SBI and network card."""

    image: str
    name: str | None = None
    ram_mib: int = DEFAULT_RAM_MIB
    disk: str | None = None
    remedy: str = "none"
    net: bool = True
    no_disk: bool = False
    gdb_port: int | None = None
    max_insns: int | None = None
    sbi: str = "firmware"
    snapshot: Any = None
    path: str | None = field(default=None, compare=False)
    program: Any = field(default=None, compare=False, repr=False)

    @property
    def base(self) -> str:
        """The name it asks for (the VMM may add -2, -3 ...)."""
        if self.name:
            return self.name
        if self.snapshot is not None and hasattr(self.snapshot, "name"):
            return self.snapshot.name
        from tuivmm.lineup.packaged import resolve

        return Path(resolve(self.image)).stem

    def resolve(self) -> GuestSpec:
        """Find what `image` names (see `resolve_image`); SpecError if nothing.  Itself."""
        if self.path is None:
            self.path, self.program = resolve_image(self.image)
        return self

    def check_fits(self) -> None:
        """SpecError if its assembled program is larger than its RAM, or its RAM is less
        than the packaged guest needs."""
        from tuivmm.lineup.packaged import too_little_ram

        if self.program is not None and len(self.program.data) > self.ram_mib << 20:
            raise SpecError(f"{self.path}: the program ({len(self.program.data)} bytes) does not fit in RAM")
        if self.snapshot is None and (why := too_little_ram(self.image, self.ram_mib)):
            raise SpecError(why)


# --- images ------------------------------------------------------------------------------------


def resolve_image(image: str) -> tuple[str, Any]:
    """(the path IMAGE names, the assembled program or None): a packaged guest's name
    becomes its image's path, and an assembly file is assembled.  SpecError, one line,
    if there is no such file or packaged guest or the assembly is wrong."""
    path = image_path(image)
    program = assemble_file(path) if path.endswith(ASSEMBLY_SUFFIXES) else None
    return path, program


def image_path(image: str) -> str:
    """The path an IMAGE argument names (a packaged guest's name resolved); SpecError if none."""
    from tuivmm.lineup.packaged import resolve

    path = resolve(image)
    if not Path(path).exists():
        raise SpecError(missing_image(image, path))
    return path


def missing_image(image: str, path: str) -> str:
    """What to say of an IMAGE that names nothing: the packaged guest it is closest to,
    for a word that is not a path, and where the packaged guests are listed."""
    from tuivmm.lineup.packaged import packaged

    text = f"{path}: no such file or packaged guest"
    if "/" not in image and not Path(image).suffix:
        guess = difflib.get_close_matches(image, [g.name for g in packaged()], n=1)
        if guess:
            text += f"; did you mean {guess[0]}?"
    return text + " (`tuivmm guests` lists them)"


def assemble_file(path: str):
    """Our own assembler's Program for an assembly file; SpecError says what is wrong."""
    from machine.cpu.asm import AsmError, assemble

    try:
        source = Path(path).read_text()
    except OSError as exc:
        raise SpecError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a text file") from None
    try:
        return assemble(source)
    except AsmError as exc:
        raise SpecError(f"{path}: {exc}") from None


# --- names ----------------------------------------------------------------------------------------


def guest_names(bases: list[str]) -> list[str]:
    """The names the VMM gives guests with these base names: the second "hello" is
    "hello-2", as `Vmm.add_guest` does."""
    names: list[str] = []
    for base in bases:
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


def no_such_guest(option: str, name: str, names: Sequence[str], where: str = "in this run") -> str:
    """The error for `option NAME=...` naming no guest: the guests there are, and the
    one perhaps meant."""
    text = f"{option} {name}=...: no guest named {name} {where} ({', '.join(names) or 'none'})"
    guess = difflib.get_close_matches(name, list(names), n=1)
    return text + (f"; did you mean {guess[0]}?" if guess else "")


_UNSET = object()


def per_guest(option: str, values: list[tuple[str | None, Any]], names: list[str], defaults: list[Any], *,
              unnamed: list[bool] | None = None, where: str = "in this run") -> list[Any]:  # fmt: skip
    """Each guest's value of a repeatable `--option [NAME=]VALUE`: one given for its
    name wins over one without NAME (the last such), which wins over the guest's own
    in `defaults`.  `unnamed[i]` False: guest i takes no value without NAME.
    SpecError names a NAME that is no guest's.  (A value for hello is not hello-2's:
    every base name is a guest's name, the first guest's named from it.)"""
    given: dict[str, Any] = {}
    every = _UNSET
    for name, value in values:
        if name is None:
            every = value
        elif name in names:
            given[name] = value
        else:
            raise SpecError(no_such_guest(option, name, names, where))
    result = []
    for i, name in enumerate(names):
        if name in given:
            result.append(given[name])
        elif every is not _UNSET and (unnamed is None or unnamed[i]):
            result.append(every)
        else:
            result.append(defaults[i])
    return result


# --- the per-guest options of a command line ------------------------------------------------------


@dataclass
class GuestOptions:
    """The per-guest options of `run`'s and `dash`'s command lines: each repeatable one
    a list of (NAME or None, VALUE)."""

    ram: list[tuple[str | None, int]] = field(default_factory=list)
    disk: list[tuple[str | None, str]] = field(default_factory=list)
    remedy: list[tuple[str | None, str]] = field(default_factory=list)
    sbi: list[tuple[str | None, str]] = field(default_factory=list)
    gdb: list[tuple[str | None, int]] = field(default_factory=list)
    no_disk: bool = False
    no_net: bool = False
    max_insns: int | None = None


def apply_options(options: GuestOptions, specs: list[GuestSpec], *, keep: Sequence[GuestSpec] = (),
                  where: str = "in this run") -> None:  # fmt: skip
    """Give each spec the name the VMM will give it (`specs` in the order the guests
    are added) and what the options say for it; SpecError, one line, for an option
    that cannot be (`where` says where the guests are, in its messages).

    Options without NAME are for every guest but those in `keep` (a lineup file's,
    which keep what the file says unless an option names them).  A guest restored
    from a snapshot keeps its RAM, remedy, SBI and network card (an option naming it
    for those is an error) and gets no --no-disk; --disk names where its saved disk goes.
    --disk without NAME needs a run of one guest; --gdb without NAME is the first
    guest's that is neither kept nor restored.  Two guests cannot share a disk file,
    nor a gdb port other than 0."""
    names = guest_names([spec.base for spec in specs])
    restored = [spec.snapshot is not None for spec in specs]
    given = [not any(spec is k for k in keep) for spec in specs]
    new = [g and not r for g, r in zip(given, restored, strict=True)]
    for option, values in (("--ram", options.ram), ("--remedy", options.remedy), ("--sbi", options.sbi)):
        for name, _ in values:
            if name is not None and name in names and restored[names.index(name)]:
                raise SpecError(f"{option} {name}=...: {name} is restored from a snapshot and keeps its own")

    def pick(option: str, values: list, current: list, unnamed: list[bool]) -> list:
        return per_guest(option, values, names, current, unnamed=unnamed, where=where)

    rams = pick("--ram", options.ram, [s.ram_mib for s in specs], new)
    remedies = pick("--remedy", options.remedy, [s.remedy for s in specs], new)
    sbis = pick("--sbi", options.sbi, [s.sbi for s in specs], new)
    disk_values = options.disk
    if any(name is None for name, _ in disk_values) and len(specs) != 1:
        raise SpecError("--disk needs NAME=FILE when there is more than one guest")
    try:
        disks = pick("--disk", disk_values, [s.disk for s in specs], [True] * len(specs))
    except SpecError as exc:
        if len(specs) == 1:  # the typo it likely is, or a FILE with '=' in it
            raise SpecError(f"{exc} (a FILE with '=' in it needs its NAME: --disk {names[0]}=FILE)") from None
        raise
    gdb_values = options.gdb
    if any(name is None for name, _ in gdb_values):
        if not any(new):
            raise SpecError("--gdb PORT without NAME is for the first GUEST started from its image, and there "
                            "is none: use --gdb NAME=PORT")  # fmt: skip
        first = names[new.index(True)]
        gdb_values = [(name or first, port) for name, port in gdb_values]
    ports = pick("--gdb", gdb_values, [s.gdb_port for s in specs], given)
    taken = [port for port in ports if port]
    if len(taken) != len(set(taken)):
        raise SpecError("--gdb: each guest needs a port of its own")
    seen: dict[Path, str] = {}
    for name, file in zip(names, disks, strict=True):
        if file is None:
            continue
        key = Path(file).resolve()
        if key in seen:
            raise SpecError(f"{file}: one disk cannot be both {seen[key]}'s and {name}'s")
        seen[key] = name
    for i, spec in enumerate(specs):
        spec.name, spec.disk, spec.gdb_port = names[i], disks[i], ports[i]
        if not restored[i]:
            spec.ram_mib, spec.remedy, spec.sbi = rams[i], remedies[i], sbis[i]
        if new[i]:
            spec.no_disk = spec.no_disk or options.no_disk
            spec.net = spec.net and not options.no_net
        if given[i] and options.max_insns is not None:
            spec.max_insns = options.max_insns
