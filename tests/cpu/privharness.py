"""A small bare machine for the privileged-architecture tests.

`harness.py` runs user-level code in host mode; these tests need more of a board:
RAM (poisoned with 0xAA), a finisher at 0x0010_0000, a CLINT at 0x0200_0000, the
hart in bare mode taking its own traps, and Sv32 page tables built in RAM.

Snippets are plain assembly text to paste into a test program:
  HALT          write 0x5555 to the finisher: `run` returns Exit(HALT)
  PMP_ALL       pmpaddr0/pmpcfg0 = NAPOT over all memory, RWX (S/U may access)
  HALT_HANDLER  `trap_halt:` a handler that halts, leaving the trap CSRs to inspect
and `enter(mode, label)` leaves M-mode for `mode` at `label` through MRET.
"""

from __future__ import annotations

from dataclasses import dataclass

from machine.bus import Bus
from machine.cpu.asm import Program, assemble
from machine.cpu.hart import Hart
from machine.cpu.trap import Exit, ExitKind
from machine.devices.clint import CLINT_SIZE, Clint
from machine.devices.finisher import Finisher
from machine.memory import Ram

RAM_BASE = 0x8000_0000
RAM_SIZE = 1 << 20
FINISHER_BASE = 0x0010_0000
CLINT_BASE = 0x0200_0000

HALT = """
        li   t6, 0x100000
        li   t5, 0x5555
        sw   t5, 0(t6)
"""

PMP_ALL = """
        li   t0, -1
        csrw pmpaddr0, t0
        li   t0, 0x1f           # NAPOT, R W X
        csrw pmpcfg0, t0
"""

HALT_HANDLER = """
        .align 2
trap_halt:
""" + HALT

ENGINE_MODES = [True, False]
ENGINE_IDS = ["step", "block"]


@dataclass
class Machine:
    hart: Hart
    ram: Ram
    bus: Bus
    clint: Clint
    program: Program

    def sym(self, name: str) -> int:
        return self.program.symbols[name]

    def run(self, budget: int = 100_000) -> Exit:
        return self.hart.run(budget)

    def run_to_halt(self, budget: int = 100_000) -> Exit:
        exit_ = self.hart.run(budget)
        assert exit_.kind is ExitKind.HALT, exit_.describe()
        return exit_

    def word(self, addr: int) -> int:
        return self.ram.read_u32(addr)

    def poke(self, addr: int, value: int) -> None:
        self.ram.write_u32(addr, value)



def machine(source: str, *, stepping: bool, host_mode: bool = False) -> Machine:
    """Assemble `source` at the RAM base and build a machine ready to run it in M-mode."""
    program = assemble(source, base=RAM_BASE)
    ram = Ram(RAM_BASE, RAM_SIZE, fill=0xAA)
    bus = Bus()
    hart = Hart(ram, bus)
    bus.attach(FINISHER_BASE, 0x1000, Finisher(hart.request_halt), "finisher")
    clint = Clint(hart.clock, hart.set_pending)
    bus.attach(CLINT_BASE, CLINT_SIZE, clint, "clint")
    ram.write_bytes(program.base, program.data)
    hart.pc = program.entry
    hart.stepping = stepping
    hart.host_mode = host_mode
    return Machine(hart, ram, bus, clint, program)


# --- Sv32 page tables ---------------------------------------------------------------

PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_G, PTE_A, PTE_D = 1, 2, 4, 8, 16, 32, 64, 128
RWX = PTE_R | PTE_W | PTE_X


class PageTables:
    """Builds Sv32 tables in the machine's RAM, starting at `root` (4 KiB aligned).

    Second-level tables are taken from the pages after the root as needed.
    """

    def __init__(self, m: Machine, root: int):
        self.m = m
        self.root = root
        self.next_table = root + 0x1000
        self._zero(root)

    def _zero(self, page: int) -> None:
        self.m.ram.write_bytes(page, bytes(4096))

    @property
    def satp(self) -> int:
        return (1 << 31) | (self.root >> 12)

    def l1_addr(self, va: int) -> int:
        return self.root + ((va >> 22) & 0x3FF) * 4

    def map_page(self, va: int, pa: int, flags: int) -> int:
        """Map the 4 KiB page at `va` to `pa`; returns the leaf PTE's address."""
        l1 = self.l1_addr(va)
        pte = self.m.word(l1)
        if not pte & PTE_V:
            table = self.next_table
            self.next_table += 0x1000
            self._zero(table)
            self.m.poke(l1, ((table >> 12) << 10) | PTE_V)
        else:
            table = (pte >> 10) << 12
        leaf = table + ((va >> 12) & 0x3FF) * 4
        self.m.poke(leaf, ((pa >> 12) << 10) | flags)
        return leaf

    def map_superpage(self, va: int, pa: int, flags: int) -> int:
        """Map the 4 MiB megapage at `va` to `pa` (need not be aligned: tests use that)."""
        l1 = self.l1_addr(va)
        self.m.poke(l1, ((pa >> 12) << 10) | flags)
        return l1

    def set_l1(self, va: int, pte: int) -> int:
        l1 = self.l1_addr(va)
        self.m.poke(l1, pte)
        return l1

    def identity_ram(self, flags: int = RWX | PTE_A | PTE_D | PTE_V) -> None:
        """Map all of RAM's 4 MiB megapage to itself (the code and data pages)."""
        self.map_superpage(RAM_BASE, RAM_BASE, flags)


def enter(mode: str, label: str) -> str:
    """Assembly that leaves M-mode for `mode` ("S", "U" or "M") at `label` through MRET."""
    mpp = {"U": 0, "S": 1, "M": 3}[mode]
    return f"""
        li   t0, 0x1800
        csrc mstatus, t0
        li   t0, {mpp << 11}
        csrs mstatus, t0
        la   t0, {label}
        csrw mepc, t0
        mret
"""
