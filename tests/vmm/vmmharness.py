"""Helpers the VMM tests share: tiny assembly guests run under `tuivmm.vmm.Vmm`, and
the same programs on a bare `machine.board.Board`, to compare one with the other.

A guest program is assembled at the guest's RAM base (0x8000_0000) and entered in
virtual M-mode, as `Vmm.add_guest(program=...)` does; it ends by writing to the
finisher (HALT: pass; FAIL(n): fail with code n).
"""

from __future__ import annotations

from machine.board import RAM_BASE, Board
from machine.clock import NEVER
from machine.cpu import csrs as C
from machine.cpu.asm import Program, assemble
from machine.cpu.csrfile import IMPLEMENTED
from machine.cpu.trap import ExitKind
from tuivmm.vmm import Guest, GuestState, Vmm
from tuivmm.vmm.traplog import HIDDEN

MIB = 1 << 20
FINISHER = 0x0010_0000
CLINT = 0x0200_0000
MTIMECMP = CLINT + 0x4000
MTIME = CLINT + 0xBFF8
UART = 0x1000_0000

HALT = """
        li   t6, 0x100000
        li   t5, 0x5555
        sw   t5, 0(t6)
1:      j    1b
"""


def fail(code: int) -> str:
    return f"""
        li   t6, 0x100000
        li   t5, {(code << 16) | 0x3333:#x}
        sw   t5, 0(t6)
1:      j    1b
"""


PMP_ALL = """
        li   t0, -1
        csrw pmpaddr0, t0
        li   t0, 0x1f           # NAPOT over everything, RWX
        csrw pmpcfg0, t0
"""


def enter(mode: str, label: str) -> str:
    """Leave virtual M-mode for `mode` at `label` through MRET (MPIE, MIE left as they are)."""
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


def program(source: str) -> Program:
    return assemble(source, RAM_BASE)


def guest(source: str | Program, vmm: Vmm | None = None, *, name: str = "t", ram_size: int = MIB,
          **options) -> tuple[Vmm, Guest]:  # fmt: skip
    """A VMM (new unless given) with one guest running `source` in virtual M-mode."""
    vmm = vmm if vmm is not None else Vmm()
    prog = program(source) if isinstance(source, str) else source
    g = vmm.add_guest(program=prog, name=name, ram_size=ram_size, net=False, **options)
    g.symbols = prog.symbols
    return vmm, g


def run_guest(source: str | Program, *, rounds: int = 200, expect: tuple[str, int] | None = ("pass", 0),
              **options) -> Guest:  # fmt: skip
    """Run `source` as the only guest until it can run no more; check how it ended."""
    vmm, g = guest(source, **options)
    vmm.run(max_rounds=rounds)
    if expect is not None:
        assert g.state is GuestState.HALTED, (g.state, g.reason, last_events(g))
        assert g.halt == expect, (g.halt, last_events(g))
    return g


def last_events(g: Guest, n: int = 12) -> str:
    return "\n".join(e.describe() for e in list(g.log.events)[-n:])


def events(g: Guest, reason: str | None = None, action: str | None = None) -> list:
    return [e for e in g.log.events if (reason is None or e.reason == reason)
            and (action is None or e.action == action)]  # fmt: skip


def event_at(g: Guest, label: str, reason: str | None = None):
    """The (single) trap-log event at the guest's symbol `label` (of `reason`; by default
    any but the hidden page faults that fetching the instruction may take first)."""
    pc = g.symbols[label]
    found = [e for e in g.log.events if e.pc == pc and (e.reason == reason if reason is not None
                                                        else e.action not in (HIDDEN, "bt scan"))]  # fmt: skip
    assert len(found) == 1, (label, hex(pc), found, last_events(g, 30))
    return found[0]


def bare(source: str | Program, *, ram_size: int = MIB, budget: int = 2_000_000) -> Board:
    """The same program on the bare board (same devices, same RAM size), run to its halt."""
    prog = program(source) if isinstance(source, str) else source
    board = Board(ram_size)
    board.load_program(prog.data, prog.entry)
    hart = board.hart
    done = 0
    while done < budget:
        before = hart.icount
        exit_ = hart.run(budget - done)
        done += max(hart.icount - before, 1)
        if exit_.kind is ExitKind.HALT:
            board.halt = (exit_.halt, exit_.code)
            return board
        if exit_.kind is ExitKind.WFI:
            assert hart.clock.alarm_cycle < NEVER, "the bare program sleeps forever"
            hart.skip_to_alarm()
    raise AssertionError("the bare program did not halt")


# CSRs whose value is the same on any run of the same program (all of them: time is
# the guest's own retired instructions on both sides).
COMPARED_CSRS = sorted(IMPLEMENTED)


def arch_state(cpu) -> dict:
    """What a program leaves behind: registers, pc, privilege and every CSR."""
    state = {"x": list(cpu.x), "pc": cpu.pc, "priv": cpu.priv}
    for num in COMPARED_CSRS:
        state[C.CSR_NAMES[num]] = cpu.csr_read(num)
    return state


def diff_states(a: dict, b: dict) -> list[str]:
    out = []
    for key, ours in a.items():
        if ours != b[key]:
            if key == "x":
                out += [f"x{i}: {p:#x} != {q:#x}" for i, (p, q) in enumerate(zip(ours, b[key])) if p != q]
            else:
                out.append(f"{key}: {ours:#x} != {b[key]:#x}")
    return out


# --- the same program on both sides ------------------------------------------------------

PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_G, PTE_A, PTE_D = 1, 2, 4, 8, 16, 32, 64, 128


class Sv32:
    """Sv32 page tables to poke into RAM before a program runs (both sides get the
    same words).  Second-level tables come from the pages after the root."""

    def __init__(self, root: int):
        self.root = root
        self.next_table = root + 0x1000
        self.words: dict[int, int] = {}

    @property
    def satp(self) -> int:
        return (1 << 31) | (self.root >> 12)

    def map_mega(self, va: int, pa: int, flags: int) -> int:
        addr = self.root + 4 * (va >> 22)
        self.words[addr] = ((pa >> 12) << 10) | flags
        return addr

    def map_page(self, va: int, pa: int, flags: int) -> int:
        """Map the 4 KiB page at `va`; returns the leaf PTE's address."""
        l1 = self.root + 4 * (va >> 22)
        pte = self.words.get(l1, 0)
        if not pte & PTE_V:
            table = self.next_table
            self.next_table += 0x1000
            self.words[l1] = ((table >> 12) << 10) | PTE_V
        else:
            table = (pte >> 10) << 12
        leaf = table + 4 * ((va >> 12) & 0x3FF)
        self.words[leaf] = ((pa >> 12) << 10) | flags
        return leaf


def poke_all(ram, pokes: dict[int, int]) -> None:
    for addr, value in pokes.items():
        ram.write_u32(addr, value)


def side_by_side(source: str, *, pokes: dict[int, int] | None = None, ram_size: int = MIB,
                 rounds: int = 200, **options) -> tuple[Board, Guest]:  # fmt: skip
    """Run `source` (with `pokes` in RAM first) on the bare board and as a guest; both
    must halt the same way with the same registers, CSRs, RAM and console output."""
    prog = program(source)
    board = Board(ram_size)
    board.load_program(prog.data, prog.entry)
    poke_all(board.ram, pokes or {})
    done = 0
    hart = board.hart
    while True:
        exit_ = hart.run(2_000_000)
        if exit_.kind is ExitKind.HALT:
            board.halt = (exit_.halt, exit_.code)
            break
        assert exit_.kind is ExitKind.WFI and hart.clock.alarm_cycle < NEVER, exit_.describe()
        hart.skip_to_alarm()
        done += 1
        assert done < 1000
    vmm, g = guest(prog, ram_size=ram_size, **options)
    poke_all(g.window, pokes or {})
    vmm.run(max_rounds=rounds)
    assert g.state is GuestState.HALTED, (g.state, g.reason, last_events(g))
    assert g.halt == board.halt
    assert diff_states(arch_state(board.hart), arch_state(g.vcpu)) == [], last_events(g)
    assert bytes(g.output) == bytes(board.output)
    assert bytes(g.window.data) == bytes(board.ram.data), "RAM differs"
    board.symbols = prog.symbols
    return board, g
