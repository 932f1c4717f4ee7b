"""What one exit did to the guest: its virtual hart before and after, for the trap
inspector.

The trap log's events say *that* an exit happened and, in a few words, what the VMM
did.  When the dashboard asks (`Vmm.keep_exit_states`), each guest also keeps, for
its newest exits, an `ExitRecord`: the guest's pc, virtual privilege, the CSRs a
trap can touch and x1-x31 as they were when the real hart trapped and as the VMM
left them, and for a page fault the guest's own walk of the faulting address and the
shadow entry the VMM made.  Taking one is two C-level attribute sweeps and a copy of
the 32 registers, kept as one plain tuple in a ring (`bench/vmm.py` measures what
it adds to an exit); an ExitRecord, and "sepc 0x0 -> 0x80001234", are made only
when someone opens the event.
"""

from __future__ import annotations

import operator
from typing import NamedTuple

# The CSRs an exit can change, as the inspector names them.
CSRS = ("mstatus", "medeleg", "mideleg", "mie", "mip", "mtvec", "mscratch", "mepc", "mcause", "mtval",
        "stvec", "sscratch", "sepc", "scause", "stval", "satp")  # fmt: skip
STATE_NAMES = ("pc", "priv", *CSRS)
# What a snapshot reads: plain attributes only (mip is a property of two halves, read
# as the halves), so taking one is a single C call.
_READ = tuple("mip_hw" if name == "mip" else name for name in STATE_NAMES) + ("mip_sw",)
snapshot = operator.attrgetter(*_READ)  # the hart's (pc, priv, mstatus, ..., mip_hw, ..., mip_sw)
_MIP = STATE_NAMES.index("mip")

PTE_V = 1


class WalkStep(NamedTuple):
    """One PTE the guest's Sv32 walk read: level 1 (the root table) or 0."""

    level: int
    address: int  # guest-physical address of the PTE
    pte: int


def _state(raw: tuple[int, ...]) -> tuple[int, ...]:
    """A snapshot as STATE_NAMES' values (mip whole)."""
    values = list(raw[:-1])
    values[_MIP] |= raw[-1]
    return tuple(values)


class ExitRecord(NamedTuple):
    """Made only when someone looks (TrapLog.state_of): the log keeps its fields as a
    plain tuple, `before` and `after` as `snapshot` took them."""

    raw_before: tuple[int, ...]  # snapshot() when the real hart trapped
    raw_after: tuple[int, ...]  # ... and when the VMM was done
    x_before: tuple[int, ...]  # x0-x31
    x_after: tuple[int, ...]
    tval: int  # the real trap's tval (the faulting address of a page fault)
    walk: tuple[WalkStep, ...] = ()  # a page fault: the guest's walk of tval, as it was
    shadow: tuple[int, int] | None = None  # a page fault: (host page, R|W|X) the shadow now holds for tval

    @property
    def before(self) -> tuple[int, ...]:
        """STATE_NAMES' values when the real hart trapped."""
        return _state(self.raw_before)

    @property
    def after(self) -> tuple[int, ...]:
        """STATE_NAMES' values when the VMM was done."""
        return _state(self.raw_after)

    def changes(self) -> list[tuple[str, int, int]]:
        """(name, before, after) of every register and CSR the exit changed, pc and
        privilege first, then the CSRs, then x1-x31 by number."""
        found = [(name, a, b) for name, a, b in zip(STATE_NAMES, self.before, self.after, strict=True) if a != b]
        if self.x_after != self.x_before:
            found += [(f"x{i}", a, b) for i, (a, b) in enumerate(zip(self.x_before, self.x_after)) if a != b]
        return found

    def value_before(self, name: str) -> int:
        if name.startswith("x") and name[1:].isdigit():
            return self.x_before[int(name[1:])]
        return self.before[STATE_NAMES.index(name)]

    def value_after(self, name: str) -> int:
        if name.startswith("x") and name[1:].isdigit():
            return self.x_after[int(name[1:])]
        return self.after[STATE_NAMES.index(name)]


def guest_walk(vcpu, va: int) -> tuple[WalkStep, ...]:
    """The PTEs the guest's own Sv32 walk of `va` reads under its satp, as they are
    now, stopping at a leaf, an invalid entry or a table outside its RAM.  Reads
    only: no A/D bit is set, nothing faults.  () when paging is off."""
    satp = vcpu.satp
    if not satp >> 31:
        return ()
    ram = vcpu.ram
    table = (satp & 0x3F_FFFF) << 12
    steps = []
    for level in (1, 0):
        address = table + (((va >> (22 if level else 12)) & 0x3FF) << 2)
        if not ram.contains(address, 4):
            break
        pte = ram.words[(address - ram.base) >> 2]
        steps.append(WalkStep(level, address, pte))
        if not pte & PTE_V or pte & 0xA:  # invalid, or a leaf (R or X)
            break
        table = (pte >> 10) << 12
    return tuple(steps)
