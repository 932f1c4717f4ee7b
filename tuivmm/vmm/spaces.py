"""Address spaces: which page tables a guest has used, each walked as its hardware
would walk it, beside the shadows the VMM built for it.

A guest names an address space by the satp it writes: the root of its Sv32 table
(and an ASID).  `SatpHistory` remembers the distinct values written, in the order
each was first used (a kernel like unix writes one per process and its own), with
a CRC of the root table as it was then: a dict update and a 4 KiB CRC per satp
write, a few microseconds beside the exit's own cost.  It is the dashboard's to
read, not the guest's state: snapshots and recordings leave it out (a restored
guest starts with an empty history, and its current satp is listed all the same),
and a reset clears it.

`walk_space` reads a table as the hardware would walk it, both levels, without
setting A/D bits or faulting: runs of leaves that map contiguous memory with the
same bits become one row, 4 MiB superpages are marked, and an entry the hardware
would fault on says why.  `inspect_space` puts a walk beside the shadows the VMM
keeps for that satp (one per view: S with its SUM/MXR bits, U) and tells, for every
guest mapping, how many of its pages are filled, and for every shadow entry,
whether the guest's table still says the same.

The table is read as it is now: a satp written long ago may name a page the guest
has since freed and used for something else, so its walk may be nonsense (still
safely read); `SpaceView.root_changed` says so when the root's CRC no longer
matches.  The VMM drops every shadow but virtual M-mode's at each satp write, so
only the current address space, as a rule, has shadows to show.
"""

from __future__ import annotations

import zlib
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from machine.cpu import csrs as C
from machine.memory import Ram
from tuivmm.vmm.exits import DOOR_PAGE
from tuivmm.vmm.shadow import ShadowTable

if TYPE_CHECKING:
    from tuivmm.vmm.guest import Guest

PAGE = 4096
MAX_SPACES = 64  # distinct satp values remembered; the one least recently written goes first
WALK_LIMIT = 4096  # rows a walk gives at most (a stale satp may name a page full of junk)

# Sv32 PTE bits (privileged spec 4.3.1)
V, R, W, X, U, G, A, D = 1, 2, 4, 8, 16, 32, 64, 128


# --- which address spaces a guest has used -----------------------------------------------


@dataclass
class SpaceUse:
    """One address space the guest has used: satp None is no paging at all (M-mode,
    or satp's MODE off)."""

    satp: int | None
    first: int  # the order of its first use: 1, 2, ... (0: never written, only current)
    writes: int  # satp writes that chose it
    last_cycles: int  # the guest's clock at the last of them
    fingerprint: int | None = None  # a CRC of its root table then (None: not in RAM, or never written)

    @property
    def root(self) -> int | None:
        return None if self.satp is None else (self.satp & C.SATP_PPN) << 12

    @property
    def asid(self) -> int | None:
        return None if self.satp is None else (self.satp >> 22) & 0x1FF


class SatpHistory:
    """The distinct satp values a guest has written, at most `limit` of them."""

    def __init__(self, limit: int = MAX_SPACES):
        self.limit = limit
        self._uses: OrderedDict[int, SpaceUse] = OrderedDict()  # least recently written first
        self._count = 0
        self.bare = SpaceUse(None, 0, 0, 0)
        self.forgotten = 0  # distinct values dropped to keep `limit`

    def note(self, satp: int, cycles: int, ram: Ram) -> None:
        """The guest wrote `satp` (its clock at `cycles`, its RAM `ram`)."""
        if not satp & C.SATP_MODE:
            self.bare.writes += 1
            self.bare.last_cycles = cycles
            return
        use = self._uses.get(satp)
        if use is None:
            self._count += 1
            use = self._uses[satp] = SpaceUse(satp, self._count, 0, cycles)
            if len(self._uses) > self.limit:
                self._uses.popitem(last=False)
                self.forgotten += 1
        else:
            self._uses.move_to_end(satp)
        use.writes += 1
        use.last_cycles = cycles
        use.fingerprint = root_fingerprint(ram, satp)

    def clear(self) -> None:
        self._uses.clear()
        self._count = self.forgotten = 0
        self.bare = SpaceUse(None, 0, 0, 0)

    def uses(self) -> list[SpaceUse]:
        """The satp values written, in the order of their first use."""
        return sorted(self._uses.values(), key=lambda use: use.first)

    def __len__(self) -> int:
        return len(self._uses)


def root_fingerprint(ram: Ram, satp: int) -> int | None:
    """A CRC of the root table `satp` names (None if it is not in `ram`): a page
    the guest has freed and used again no longer matches what it was."""
    root = (satp & C.SATP_PPN) << 12
    if not ram.contains(root, PAGE):
        return None
    offset = root - ram.base
    return zlib.crc32(ram.data[offset : offset + PAGE])


def address_spaces(guest: Guest) -> list[SpaceUse]:
    """Every address space to look at: no paging first, then each satp the guest has
    written in the order of first use, and its current satp if it is in none of those
    (a guest restored from a snapshot has written none yet)."""
    spaces = [guest.spaces.bare, *guest.spaces.uses()]
    satp = guest.vcpu.satp
    if satp & C.SATP_MODE and all(use.satp != satp for use in spaces):
        spaces.append(SpaceUse(satp, 0, 0, 0))
    return spaces


def current_space(guest: Guest) -> int | None:
    """The satp of the address space the guest runs in now, None when untranslated."""
    v = guest.vcpu
    return v.satp if v.satp & C.SATP_MODE and v.priv != C.M else None


# --- the guest's table, walked ---------------------------------------------------------------


@dataclass(frozen=True)
class GuestRun:
    """A row of a walk: one first-level entry that points to a table, or a run of
    leaves in one table mapping contiguous virtual to contiguous guest-physical
    memory with the same bits; or, untranslated, a region of the guest-physical map."""

    kind: str  # "pointer", "superpage" (a first-level leaf, 4 MiB), "page" (second level), "untranslated"
    va: int
    pages: int  # 4 KiB pages of virtual memory it covers
    gpa: int  # the first page's guest-physical address (a pointer: its second-level table's)
    hpa: int | None  # ... and host-physical: None outside guest RAM (a device, or nothing)
    bits: int  # the PTEs' low eight bits (V R W X U G A D); 0 untranslated
    slot: int  # the first entry's index in its table: VPN[1], or VPN[0]
    entries: int  # PTEs in the run (1 for a pointer)
    problem: str = ""  # why the hardware's walk would fault here, "" if it would not
    what: str = ""  # untranslated: the region's name

    @property
    def end(self) -> int:
        return self.va + self.pages * PAGE

    @property
    def leaf(self) -> bool:
        return self.kind != "pointer"

    @property
    def holds_door(self) -> bool:
        """Whether it maps the VMM's door page, which no shadow ever maps."""
        return self.leaf and self.va >> 12 <= DOOR_PAGE < self.end >> 12


@dataclass
class SpaceWalk:
    satp: int
    root: int
    root_hpa: int | None
    runs: list[GuestRun] = field(default_factory=list)
    truncated: bool = False  # WALK_LIMIT rows reached: the rest left off
    problem: str = ""  # the root itself cannot be read


def _host(ram: Ram, gpa: int) -> int | None:
    if not ram.contains(gpa, PAGE):
        return None
    return getattr(ram, "host_base", ram.base) + gpa - ram.base


def _leaf_problem(pte: int, level: int) -> str:
    if pte & W and not pte & R:
        return "W without R is reserved: faults"
    if level == 1 and (pte >> 10) & 0x3FF:
        return "misaligned superpage: faults"
    return ""


def walk_space(ram: Ram, satp: int, limit: int = WALK_LIMIT) -> SpaceWalk:
    """Walk the Sv32 table `satp` names in `ram` (guest-physical addresses) as the
    hardware would, both levels, reading only: first-level entries in order, each
    pointer followed by the runs of its table.  Never faults and sets no bits."""
    root = (satp & C.SATP_PPN) << 12
    walk = SpaceWalk(satp, root, _host(ram, root))
    if walk.root_hpa is None:
        walk.problem = f"the root {root:#010x} is outside guest RAM: every access faults"
        return walk
    words = ram.words
    runs = walk.runs
    open_run: list | None = None  # [kind, va, pages, gpa, bits, slot, entries, problem]

    def close() -> None:
        nonlocal open_run
        if open_run is not None:
            kind, va, pages, gpa, bits, slot, entries, problem = open_run
            runs.append(GuestRun(kind, va, pages, gpa, _host(ram, gpa), bits, slot, entries, problem))
            open_run = None

    def leaf(kind: str, va: int, gpa: int, bits: int, slot: int, problem: str) -> None:
        nonlocal open_run
        step = 1024 if kind == "superpage" else 1
        r = open_run
        if (r is not None and r[0] == kind and r[4] == bits and r[7] == problem and r[1] + r[2] * PAGE == va
                and r[3] + r[2] * PAGE == gpa):  # fmt: skip
            r[2] += step
            r[6] += 1
            return
        close()
        open_run = [kind, va, step, gpa, bits, slot, 1, problem]

    base = (root - ram.base) >> 2
    for i, pte in enumerate(words[base : base + 1024]):
        if len(runs) >= limit:
            walk.truncated = True
            break
        if not pte & V:
            close()
            continue
        va = i << 22
        if pte & (R | W | X):
            leaf("superpage", va, ((pte >> 20) << 22), pte & 0xFF, i, _leaf_problem(pte, 1))
            continue
        close()
        table = (pte >> 10) << 12
        problem = "pointer with A, D or U set: faults" if pte & (A | D | U) else ""
        if not ram.contains(table, PAGE):
            problem = f"its table {table:#010x} is outside guest RAM: faults"
        runs.append(GuestRun("pointer", va, 1024, table, _host(ram, table), pte & 0xFF, i, 1, problem))
        if problem:
            continue
        start = (table - ram.base) >> 2
        for j, entry in enumerate(words[start : start + 1024]):
            if not entry & V:
                close()
                continue
            if not entry & (R | W | X):
                close()
                runs.append(GuestRun("page", va | (j << 12), 1, (entry >> 10) << 12, None, entry & 0xFF, j, 1,
                                     "a pointer at the last level: faults"))  # fmt: skip
                continue
            leaf("page", va | (j << 12), (entry >> 10) << 12, entry & 0xFF, j, _leaf_problem(entry, 0))
            if len(runs) >= limit:
                walk.truncated = True
                break
        close()
    close()
    del runs[limit:]
    return walk


def untranslated_runs(guest: Guest) -> list[GuestRun]:
    """No paging: virtual = guest-physical, the guest-physical map itself."""
    runs = []
    for start, end, what, host in guest.memory_map():
        runs.append(GuestRun("untranslated", start, (end - start + PAGE - 1) // PAGE, start, host, 0, 0, 0,
                             what=what))  # fmt: skip
    return runs


# --- beside the shadows ----------------------------------------------------------------------


@dataclass(frozen=True)
class ShadowRun:
    """A run of filled shadow entries in one shadow table: contiguous virtual pages
    mapped to contiguous host pages with the same permissions, which the guest's table
    either maps the same way ("same"), not at all ("none") or elsewhere ("differs")."""

    key: tuple  # the shadow's key (Guest.context_key): its view
    va: int
    pages: int
    hpa: int
    perms: int  # PTE_R|W|X
    guest: str

    @property
    def end(self) -> int:
        return self.va + self.pages * PAGE


@dataclass(frozen=True)
class ShadowSummary:
    """One shadow table the VMM keeps: its root, its second-level tables, how full."""

    key: tuple
    root: int  # host-physical
    tables: tuple[tuple[int, int], ...]  # (VPN[1], host-physical address of its table), by VPN[1]
    filled: int


@dataclass
class SpaceView:
    """An address space and its shadows, side by side."""

    satp: int | None
    walk: SpaceWalk | None  # None untranslated
    runs: list[GuestRun]  # the guest's side: the walk's rows, or the guest-physical map
    shadows: list[ShadowSummary]
    shadow_runs: list[ShadowRun]
    filled: list[dict[tuple, int]]  # per guest run: pages filled, by shadow key (only keys with some)
    root_changed: bool = False  # the root table is not what it was when the guest last wrote this satp

    @property
    def truncated(self) -> bool:
        return self.walk is not None and self.walk.truncated


def belongs(key: tuple, satp: int | None) -> bool:
    """Whether a shadow with this key serves the address space `satp` (None: no paging)."""
    if satp is None:
        return key[0] in ("m", "mprv", "bare")
    return key[0] in ("s", "u") and key[1] == satp


def inspect_space(guest: Guest, satp: int | None) -> SpaceView:
    """The address space `satp` names (None: no paging) as the guest's table has it
    now, beside the shadow tables the VMM keeps for it."""
    ram = guest.window
    if satp is None:
        walk = None
        runs = untranslated_runs(guest)
    else:
        walk = walk_space(ram, satp)
        runs = walk.runs
    tables = [t for key, t in guest.shadows.items() if belongs(key, satp)]
    leaves = sorted((r for r in runs if r.leaf), key=lambda r: r.va)
    starts = [r.va for r in leaves]

    def expected(va: int) -> int | None:
        """The host page the guest's table sends `va` to, or None."""
        i = bisect_right(starts, va) - 1
        if i < 0 or va >= leaves[i].end or leaves[i].hpa is None or leaves[i].problem:
            return None
        return leaves[i].hpa + (va - leaves[i].va)

    shadows, shadow_runs = [], []
    filled_vas: dict[tuple, list[int]] = {}
    for table in tables:
        mappings = table.mappings()
        filled_vas[table.key] = [va for va, _, _ in mappings]
        shadows.append(ShadowSummary(table.key, table.root, tuple(sorted(table.tables.items())), table.filled))
        shadow_runs += _coalesce(table, mappings, expected)
    filled = []
    for run in runs:
        counts = {}
        if run.leaf:
            for key, vas in filled_vas.items():
                n = bisect_right(vas, run.end - 1) - bisect_right(vas, run.va - 1)
                if n:
                    counts[key] = n
        filled.append(counts)
    use = next((u for u in guest.spaces.uses() if u.satp == satp), None) if satp is not None else None
    changed = use is not None and use.fingerprint is not None and use.fingerprint != root_fingerprint(ram, satp)
    return SpaceView(satp, walk, runs, shadows, shadow_runs, filled, changed)


def _coalesce(table: ShadowTable, mappings: list[tuple[int, int, int]], expected) -> list[ShadowRun]:
    runs: list[ShadowRun] = []
    open_run: list | None = None  # [va, pages, hpa, perms, guest]
    for va, hpa, perms in mappings:
        want = expected(va)
        guest = "none" if want is None else ("same" if want == hpa else "differs")
        r = open_run
        if r is not None and r[0] + r[1] * PAGE == va and r[2] + r[1] * PAGE == hpa and r[3] == perms and r[4] == guest:
            r[1] += 1
            continue
        if r is not None:
            runs.append(ShadowRun(table.key, *r))
        open_run = [va, 1, hpa, perms, guest]
    if open_run is not None:
        runs.append(ShadowRun(table.key, *open_run))
    return runs
