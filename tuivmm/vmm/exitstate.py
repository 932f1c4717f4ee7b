"""What one exit did to the guest: its virtual hart before and after, for the trap
inspector.

The trap log's events say *that* an exit happened and, in a few words, what the VMM
did.  When the dashboard asks (`Vmm.keep_exit_states`), each guest also keeps, for
its newest exits, an `ExitRecord`: the guest's pc, virtual privilege, the CSRs a
trap can touch and x1-x31 as they were when the real hart trapped and as the VMM
left them, and for a page fault the guest's own walk of the faulting address and the
shadow entry the VMM made.  Taking one is two C-level attribute sweeps and a copy of
the 32 registers (`bench/vmm.py --keep-states` measures it); turning it into "sepc
0x0 -> 0x80001234" happens only when someone opens the event.
"""

from __future__ import annotations

import operator
from typing import NamedTuple

# The CSRs an exit can change, as the inspector names them.
CSRS = ("mstatus", "medeleg", "mideleg", "mie", "mip", "mtvec", "mscratch", "mepc", "mcause", "mtval",
        "stvec", "sscratch", "sepc", "scause", "stval", "satp")  # fmt: skip
STATE_NAMES = ("pc", "priv", *CSRS)
snapshot = operator.attrgetter(*STATE_NAMES)  # the hart's (pc, priv, mstatus, ...) in one C call

PTE_V = 1


class WalkStep(NamedTuple):
    """One PTE the guest's Sv32 walk read: level 1 (the root table) or 0."""

    level: int
    address: int  # guest-physical address of the PTE
    pte: int


class ExitRecord(NamedTuple):
    before: tuple[int, ...]  # STATE_NAMES' values when the real hart trapped
    after: tuple[int, ...]  # ... and when the VMM was done
    x_before: tuple[int, ...]  # x0-x31
    x_after: tuple[int, ...]  # the same tuple when the exit changed none of them
    tval: int  # the real trap's tval (the faulting address of a page fault)
    walk: tuple[WalkStep, ...] = ()  # a page fault: the guest's walk of tval, as it was
    shadow: tuple[int, int] | None = None  # a page fault: (host page, R|W|X) the shadow now holds for tval

    def changes(self) -> list[tuple[str, int, int]]:
        """(name, before, after) of every register and CSR the exit changed, pc and
        privilege first, then the CSRs, then x1-x31 by number."""
        found = [(name, a, b) for name, a, b in zip(STATE_NAMES, self.before, self.after, strict=True) if a != b]
        if self.x_after is not self.x_before:
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
