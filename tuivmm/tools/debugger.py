"""The guest side of a debugger: hold and release a guest, step it, breakpoints,
watchpoints, its memory and registers — what a GDB stub (gdbstub.py) needs, with no
protocol in it.

A `DebugStub` is attached to one guest (`Guest.debug_stub`); while none is, the
monitor pays one `is not None` test on the exits below and nothing else.

Holding.  A guest the debugger holds is in `GuestState.DEBUG`: the monitor never
runs it (only RUNNING guests get slices), while every other guest goes on.  The
debugger lets it run (`resume`) or steps it itself (`step`), one instruction on the
monitor's own exact path (`Vmm.run_slice(guest, 1, exact=True)`).

Breakpoints are EBREAK words (C.EBREAK parcels over compressed instructions)
patched into guest-physical memory, the original kept aside.  The guest's EBREAK
traps to the monitor like any exception; `Guest.handle_exit` asks `breakpoint_exit`
first, which claims the ones at its own patches (stopping the guest there, pc on the
breakpoint) and lets the guest's own EBREAKs be injected as usual.  An EBREAK on a
page the guest may not execute is never reached: the fetch faults first.  So a
fetch fault at a breakpoint is a hit too (`fetch_fault`, asked before the fault is
handled), and a breakpoint stops the guest before its word is fetched wherever it
is, as QEMU's (checked by pc) do — gdb calling a function puts the return
breakpoint on the stack.  Memory reads through the debugger see the original words
(and, under the binary-translation remedy, the guest's own xRETs rather than bt's
trapping words).
Writing through the guest's `RamWindow` drops translated code on the real hart, and
a breakpoint over a word bt patched takes the word over (and hands it back), so the
two never undo each other.  Stepping or continuing from a breakpoint runs the
original word for that one step.

Watchpoints (write, read, access) are guest-physical ranges.  The shadow page tables
never map a watched page with the watched access allowed (`mappable`): a write watch
drops W, a read or access watch drops R and W.  So every such access to the page is a
page fault, which the monitor hands to `watch_hit` before anything else: an access
that overlaps a watchpoint stops the guest *before* it happens, pc on the
instruction, as gdb expects of RISC-V ("non-steppable" watchpoints: gdb removes
them, steps, and compares values).  An access to the same page that misses every
watchpoint runs as one instruction with the page opened for it (`let_through`) —
the cost of a watchpoint is one exit per access to its page.  Accesses the VMM makes
itself (A/D bits, device DMA) are not watched.

Hardware breakpoints and watchpoints.  gdb's `hbreak` (Z1) is an execute trigger,
and `watch`, `rwatch` and `awatch` (Z2-Z4) are store/load triggers, from the
debugger's own four triggers on the real hart (the guest's four are its own:
tuivmm/vmm/triggers.py).  A trigger compares virtual addresses before the fetch or the
access, byte-exact, with no exit for the other accesses to the page, in any virtual
mode: so an `hbreak` changes no guest memory and stops code not loaded yet (a user
program unix has still to exec), and a watchpoint catches device registers and
accesses the VMM emulates (MMIO), or addresses not mapped yet.  A range that is not a
power of two takes several triggers (aligned power-of-two pieces).  Where triggers
cannot do it — `monitor phys on` (they do not match physical addresses), or no
trigger free — an `hbreak` is an EBREAK like `break` (with phys) or an error (none
free, as on hardware), and a watchpoint uses the page protection above.
`monitor points` lists what each one uses.

Addresses the debugger gives are guest-virtual, translated through the guest's own
page tables as its current privilege sees them (M-mode and bare mode: physical), or
guest-physical with `phys` set.  Only guest RAM can be read or written; a breakpoint
or watchpoint is set on the guest-physical place its address has when it is set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from machine.clock import NEVER
from machine.cpu import csrs as C
from machine.cpu.csrfile import IMPLEMENTED
from machine.cpu.mmu import LOAD, PTE_R, PTE_W
from machine.cpu.trap import Exit, Trap
from machine.cpu.triggers import (
    DISABLED,
    EXECUTE,
    MATCH_EQ,
    MATCH_NAPOT,
    MATCH_SHIFT,
    MODE_U,
    TYPE_MCONTROL6,
    TYPE_SHIFT,
)
from machine.cpu.triggers import LOAD as T_LOAD
from machine.cpu.triggers import STORE as T_STORE
from tuivmm.vmm import traplog as T
from tuivmm.vmm.bt import SENSITIVE, TRAP_WORD
from tuivmm.vmm.exits import _LOADS, _STORES, decode
from tuivmm.vmm.guest import Guest, GuestState
from tuivmm.vmm.monitor import Vmm
from tuivmm.vmm.shadow import ShadowTable

EBREAK = 0x0010_0073
C_EBREAK = 0x9002  # a 2-byte breakpoint, for gdb's kind 2 (over a compressed instruction)
M32 = 0xFFFF_FFFF
PC_REGNUM = 32
CSR_REGNUM = 65  # gdb's RISC-V numbering: CSR n is register 65 + n
PRIV_REGNUM = CSR_REGNUM + 4096
STEP_TRIES = 64  # run_slice calls for one step: hidden faults may come before it retires
DEBUGGER = "debugger"  # the trap log's action for exits the debugger took

# Why the guest stopped, as a debugger reports it.
STEPPED = "step"
BREAKPOINT = "breakpoint"
HW_BREAKPOINT = "hwbreak"
INTERRUPTED = "interrupt"
HELD = "held"
WATCH_KINDS = ("watch", "rwatch", "awatch")  # write, read, access: gdb's names
KILLED_REASON = "killed by the debugger"  # a killed guest's reason (its state: STOPPED)
DEBUG_TRIGGERS = 4  # the debugger's own triggers on the real hart, beside the guest's four
_WATCH_ACCESS = {"watch": T_STORE, "rwatch": T_LOAD, "awatch": T_LOAD | T_STORE}


@dataclass
class Breakpoint:
    gpa: int
    original: int  # the guest's own word (or parcel) under the EBREAK
    addrs: set[int] = field(default_factory=set)  # the debugger's addresses that put it here
    size: int = 4  # 4: EBREAK over a 32-bit instruction; 2: C.EBREAK over a 16-bit one


@dataclass
class Watchpoint:
    kind: str  # one of WATCH_KINDS
    addr: int  # the debugger's address and length, reported back on a hit
    length: int
    ranges: list[tuple[int, int]]  # guest-physical [lo, hi) (page protection; [] with triggers)
    slots: list[int] = field(default_factory=list)  # the debugger's triggers it uses, if any


def trigger_pieces(addr: int, length: int) -> list[tuple[int, int]]:
    """[addr, addr + length) as address-match triggers: (tdata2, match) for each aligned
    power-of-two piece, largest first — one byte: equal; 2**k bytes: NAPOT, tdata2
    the piece's base with k - 1 low ones."""
    pieces = []
    end = addr + length
    while addr < end:
        size = addr & -addr if addr else 1 << 31
        while size > end - addr:
            size >>= 1
        if size == 1:
            pieces.append((addr & M32, MATCH_EQ))
        else:
            pieces.append(((addr | (size // 2 - 1)) & M32, MATCH_NAPOT))
        addr += size
    return pieces


def _trigger(access: int, tdata2: int, match: int = MATCH_EQ) -> tuple[int, int]:
    """(tdata1, tdata2) of one of the debugger's triggers on the real hart."""
    return (TYPE_MCONTROL6 << TYPE_SHIFT) | (match << MATCH_SHIFT) | MODE_U | access, tdata2


@dataclass
class Stop:
    """Why the held guest last stopped: one of the reasons above or a watch kind, and
    for a watchpoint the debugger's address of it."""

    why: str
    addr: int = 0


class DebugError(Exception):
    """A debugger request that cannot be done (a bad address, an unknown register)."""


class DebugStub:
    """A debugger's hold on one guest.  `on_stop()` is called when the guest, let run
    by `resume`, stops for the debugger (a breakpoint, a watchpoint) or finishes
    (halts, crashes, is stopped) — from the monitor's loop, so the caller may answer
    at once."""

    def __init__(self, vmm: Vmm, guest: Guest, on_stop: Callable[[], None] = lambda: None):
        if guest.debug_stub is not None:
            raise DebugError(f"{guest.name} already has a debugger")
        self.vmm = vmm
        self.guest = guest
        self.on_stop = on_stop
        self.phys = False  # addresses are guest-physical, not translated
        self.running = False  # let run by resume(): on_stop comes when it stops
        self.stop = Stop(HELD)
        self.breakpoints: dict[int, Breakpoint] = {}  # by guest-physical address
        self._bp_at: dict[int, int] = {}  # debugger address -> guest-physical address
        self.watchpoints: dict[tuple[str, int, int], Watchpoint] = {}
        self._masks: dict[int, int] = {}  # guest-physical page -> PTE bits its shadows may not have
        self._enforced: dict[int, int] = {}  # the masks the shadows were last flushed for
        self._watch_at: int | None = None  # pc of the access a watchpoint stopped before
        self._quiet = False  # stepping over that access: watchpoints do not stop it
        self.hw_breakpoints: dict[int, int] = {}  # address -> the trigger it uses
        self._slots: list[tuple[int, int] | None] = [None] * DEBUG_TRIGGERS
        guest.debug_stub = self

    def release(self) -> None:
        """The debugger went away: every breakpoint and watchpoint out, and a held guest
        runs on.  The stub stays on the guest, for the next debugger."""
        self.clear()
        self.running = False
        self.phys = False
        if self.guest.state is GuestState.DEBUG:
            self._release_guest()

    def detach(self, *, resume: bool = True) -> None:
        """Take the stub off the guest: everything out, and (if `resume`) a held guest
        runs on."""
        if resume:
            self.release()
        else:
            self.clear()
            self.running = False
        if self.guest.debug_stub is self:
            self.guest.debug_stub = None

    # --- holding and running -----------------------------------------------------------

    @property
    def held(self) -> bool:
        return self.guest.state is GuestState.DEBUG

    @property
    def finished(self) -> bool:
        return self.guest.state.finished

    def hold(self, why: str = HELD) -> None:
        """Stop the guest where it is (between two instructions; it may be running,
        idle or paused) and keep it stopped."""
        g = self.guest
        self.running = False
        if g.state.finished:
            return
        if g.state is not GuestState.DEBUG:
            g.state = GuestState.DEBUG
            self.stop = Stop(why)
            self._watch_at = None

    def resume(self) -> None:
        """Let the held guest run until a breakpoint or watchpoint, or until it finishes.
        A breakpoint or watchpoint at its pc is stepped over first.  on_stop follows
        (at once, if stepping over already stopped it)."""
        g = self.guest
        if g.state.finished:
            self.on_stop()
            return
        if self._bp_under_pc() is not None or self._watch_at == g.vcpu.pc or g.vcpu.pc in self.hw_breakpoints:
            self.step()
            if self.finished or self.stop.why != STEPPED:
                self.on_stop()
                return
        self.running = True
        self._release_guest()

    def step(self) -> None:
        """Run the held guest for one instruction (the original word if a breakpoint is
        on it), or until a trap or interrupt lands it at a handler.  It stays held, with
        stop reason STEPPED, unless a watchpoint stopped it first or it finished."""
        g = self.guest
        v = g.vcpu
        if g.state.finished:
            return
        bp = self._bp_under_pc()
        if bp is not None:
            self._put_back(bp.gpa, bp.original, bp.size)
        self._quiet = self._watch_at == v.pc
        self._load_triggers(skip_at=v.pc)  # not the hbreak it steps from; no watch if quiet
        self.stop = Stop(STEPPED)
        self._watch_at = None
        start = (v.icount, v.pc, v.priv)
        g.state = GuestState.RUNNING
        exits, self.vmm.slice_exits = self.vmm.slice_exits, 1  # a trap ends the step at its handler
        try:
            for _ in range(STEP_TRIES):
                cycles = 1
                if v.sleeping and v.clock.alarm_cycle < NEVER:
                    cycles = max(1, v.clock.alarm_cycle - v.cycles)  # sleep to the timer at once
                self.vmm.run_slice(g, cycles, exact=True)
                if g.state is not GuestState.RUNNING or (v.icount, v.pc, v.priv) != start:
                    break
        finally:
            self.vmm.slice_exits = exits
            self._quiet = False
            self._load_triggers()
            if bp is not None and self.breakpoints.get(bp.gpa) is bp:
                bp.original = self._claim(bp.gpa, bp.size)
            if g.state in (GuestState.RUNNING, GuestState.IDLE, GuestState.PAUSED):
                g.state = GuestState.DEBUG

    def kill(self) -> None:
        """Stop the guest for good (as the dashboard's stop does)."""
        self.clear()
        self.running = False
        self.guest.stop()
        self.guest.reason = KILLED_REASON

    def _release_guest(self) -> None:
        # Through resume(), so a realtime guest's clock does not try to catch up.
        g = self.guest
        g.state = GuestState.PAUSED
        g.resume()

    # --- the monitor's hooks -----------------------------------------------------------

    def guest_changed(self) -> None:
        """After each slice the monitor runs (and when the guest finishes): tell the
        debugger if the guest it let run has stopped for it or finished."""
        if self.running and (self.guest.state is GuestState.DEBUG or self.guest.state.finished):
            self.running = False
            self.on_stop()

    def breakpoint_exit(self, e: Exit) -> bool:
        """The guest trapped on an EBREAK: True (and the guest held) if it is one of
        ours, False for the guest's own, which it gets as usual."""
        return self._hit(e, T.EXCEPTION, "breakpoint")

    def trigger_hit(self, e: Exit, slots: list[int]) -> bool:
        """The debugger's triggers `slots` fired (before the instruction at `e.epc`, or
        its access at `e.tval`): True, and the guest held there, for an hbreak or a
        watchpoint of ours."""
        g = self.guest
        v = g.vcpu
        for addr, slot in self.hw_breakpoints.items():
            if slot in slots:
                v.pc = e.epc
                g.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, T.EXCEPTION, DEBUGGER,
                             f"hbreak {addr:#010x} (trigger)")  # fmt: skip
                self._stopped(Stop(HW_BREAKPOINT))
                return True
        for wp in self.watchpoints.values():
            if any(slot in slots for slot in wp.slots):
                v.pc = e.epc
                g.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, T.EXCEPTION, DEBUGGER,
                             f"{wp.kind} {wp.addr:#010x} (trigger): access at {e.tval:#010x}")  # fmt: skip
                self._watch_at = e.epc
                self._stopped(Stop(wp.kind, wp.addr))
                return True
        return False

    def fetch_fault(self, e: Exit) -> bool:
        """The guest could not fetch the instruction at `e.epc` (a page or access
        fault): True (and the guest held, pc there) if one of our breakpoints is on
        it.  A breakpoint stops the guest before its instruction is fetched, as
        QEMU's do, so one on a page the guest may not execute still stops it rather
        than faulting — gdb's return address for a function it calls is on the stack."""
        return self._hit(e, T.PAGE_FAULT, "breakpoint before a fetch that faults")

    def _hit(self, e: Exit, reason: str, detail: str) -> bool:
        if not self.breakpoints:
            return False  # (every fetch fault asks while a debugger is attached)
        g = self.guest
        v = g.vcpu
        gpa = self.translate(e.epc, v.priv)
        if gpa is None or gpa not in self.breakpoints or not self._holds(self.breakpoints[gpa]):
            return False  # not ours, or being stepped over (its own bits are back)
        v.pc = e.epc
        g.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, reason, DEBUGGER, detail)
        self._stopped(Stop(BREAKPOINT))
        return True

    def watch_hit(self, e: Exit, gpa: int) -> bool:
        """A load or store page fault at guest-physical `gpa`: True (and the guest held,
        before the access) if the access overlaps a watchpoint of its kind."""
        if self._quiet or (gpa >> 12) not in self._masks:
            return False
        g = self.guest
        v = g.vcpu
        d = decode(e.insn)
        if d is None:
            return False
        name, x = d.name, v.x
        if name in _LOADS:
            ea, size, reads, writes = (x[d.rs1] + d.imm) & M32, _LOADS[name][0], True, False
        elif name in _STORES:
            ea, size, reads, writes = (x[d.rs1] + d.imm) & M32, _STORES[name], False, True
        elif name in ("lr.w", "sc.w") or name.startswith("amo"):
            ea, size, reads, writes = x[d.rs1], 4, name != "sc.w", name != "lr.w"
        else:
            return False
        spans = []
        priv = v.data_priv()
        for va, n in _pages(ea, size):
            pa = self.translate(va, priv)
            if pa is not None:
                spans.append((pa, pa + n))
        for wp in self.watchpoints.values():
            if (wp.kind == "watch" and not writes) or (wp.kind == "rwatch" and not reads):
                continue
            if any(a < hi and lo < b for lo, hi in wp.ranges for a, b in spans):
                v.pc = e.epc
                g.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, T.PAGE_FAULT, DEBUGGER,
                             f"{wp.kind} {wp.addr:#010x}")  # fmt: skip
                self._watch_at = e.epc
                self._stopped(Stop(wp.kind, wp.addr))
                return True
        return False

    def mappable(self, page: int, perms: int) -> int:
        """`perms` (shadow PTE R|W|X bits) less what a watchpoint on guest-physical
        `page` must still see fault."""
        return perms & ~self._masks.get(page, 0)

    def let_through(self, e: Exit, table: ShadowTable, va: int, gpa: int, open_perms: int, perms: int) -> bool:
        """A page fault the monitor is about to fill with `perms`, which a watchpoint
        narrowed from `open_perms` so much that the access would fault again: run that
        one instruction with the page mapped `open_perms`, then narrow it back.
        True if it did (the exit is handled)."""
        need = PTE_W if e.cause == C.STORE_PAGE_FAULT else PTE_R
        if e.cause == C.INSN_PAGE_FAULT or perms & need or not open_perms & need:
            return False
        g = self.guest
        v = g.vcpu
        page_va, page_gpa = va & ~0xFFF, gpa & ~0xFFF
        g._map(table, page_va, page_gpa, perms | (open_perms & (PTE_R | need)))  # no more than it needs
        g.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, T.PAGE_FAULT, T.HIDDEN,
                     f"va {va:#010x}: one access to a page the debugger watches")  # fmt: skip

        def narrow_back() -> None:
            if perms:
                g._map(table, page_va, page_gpa, perms)
            else:
                table.unmap(page_va)

        g.run_one_instruction(narrow_back)
        return True

    def guest_reset(self) -> None:
        """The guest was reset: its image is back in RAM, over the breakpoints."""
        for bp in self.breakpoints.values():
            if not self._holds(bp):
                bp.original = self._claim(bp.gpa, bp.size)
        self._watch_at = None

    def _stopped(self, stop: Stop) -> None:
        self.guest.state = GuestState.DEBUG
        self.stop = stop
        # The monitor's loop calls guest_changed after the slice; a step from the
        # dashboard does not, so say it from here too (it does nothing twice).
        self.guest_changed()

    # --- addresses and memory ------------------------------------------------------------

    def translate(self, va: int, priv: int) -> int | None:
        """Guest-physical address of `va` in the guest's own page tables as `priv` sees
        them (untranslated in M-mode and bare mode), without touching A/D bits and
        whatever the U/SUM rules say (a debugger sees every mapping); None if unmapped."""
        v = self.guest.vcpu
        if priv == C.M or not v.satp & C.SATP_MODE:
            return va
        try:
            pte, _, level = v.walk(va, LOAD)
            return v.leaf_address(pte, level, va, LOAD)
        except Trap:
            return None

    def address(self, addr: int) -> int | None:
        """Guest-physical address of a debugger's address, or None if it has none."""
        if self.phys:
            return addr
        return self.translate(addr, self.guest.vcpu.priv)

    def _spans(self, addr: int, length: int) -> list[tuple[int, int]]:
        """(guest-physical address, length) of `addr`'s range page by page, as far as
        it is mapped to guest RAM."""
        window = self.guest.window
        spans = []
        for va, n in _pages(addr, length):
            pa = self.address(va)
            if pa is None or not window.contains(pa, n):
                break
            spans.append((pa, n))
        return spans

    def read_memory(self, addr: int, length: int) -> bytes:
        """Guest memory as the guest's own code sees it (breakpoints hidden), up to the
        first byte that is not guest RAM; DebugError if not even the first is."""
        spans = self._spans(addr, length)
        if not spans and length:
            raise DebugError(f"no guest RAM at {addr:#010x}")
        return b"".join(self._read_physical(pa, n) for pa, n in spans)

    def _read_physical(self, pa: int, n: int) -> bytes:
        data = bytearray(self.guest.window.read_bytes(pa, n))
        bt = self.guest.bt
        hidden = [(bp.gpa, bp.size, bp.original) for bp in self.breakpoints.values()]
        if bt is not None:  # bt's patches are 4 bytes at any halfword (RV32C)
            hidden += [(at, 4, word) for at, word in bt.patched.items() if at not in self.breakpoints]
        for at, size, original in hidden:
            if at < pa + n and at + size > pa:
                for k, byte in enumerate(original.to_bytes(size, "little")):
                    if pa <= at + k < pa + n:
                        data[at + k - pa] = byte
        return bytes(data)

    def write_memory(self, addr: int, data: bytes) -> None:
        """Write guest memory (all of it, or nothing: DebugError if any byte is not
        guest RAM).  Breakpoints stay in and keep the new words as their originals;
        code the binary translator scanned there is looked at again before it runs."""
        spans = self._spans(addr, len(data))
        if sum(n for _, n in spans) != len(data):
            raise DebugError(f"no guest RAM at some of {addr:#010x}..{addr + len(data) - 1:#010x}")
        g = self.guest
        window = g.window
        at = 0
        flush = False
        for pa, n in spans:
            page = pa >> 12
            if g.bt is not None and page in g.bt.scanned:
                g.bt.unscan(page)  # scanned again (with the new words) before it next runs
                flush = True
            covered = [bp for bp in self.breakpoints.values() if bp.gpa < pa + n and bp.gpa + bp.size > pa]
            for bp in covered:
                window.write_bytes(bp.gpa, bp.original.to_bytes(bp.size, "little"))
            window.write_bytes(pa, data[at : at + n])
            for bp in covered:
                bp.original = self._claim(bp.gpa, bp.size)
            at += n
        if flush:
            g._flush_shadows(True)

    # --- registers ------------------------------------------------------------------------

    def read_register(self, number: int) -> int:
        """x0..x31 (0..31), pc (32), a CSR (65 + its number: gdb's numbering) or the
        virtual privilege (65 + 4096)."""
        v = self.guest.vcpu
        if 0 <= number < 32:
            return v.x[number]
        if number == PC_REGNUM:
            return v.pc
        if number == PRIV_REGNUM:
            return v.priv
        csr = number - CSR_REGNUM
        if csr in IMPLEMENTED:
            return v.csr_read(csr) & M32
        raise DebugError(f"no register {number}")

    def write_register(self, number: int, value: int) -> None:
        """Set a register as read_register numbers them; a CSR is written with the
        hardware's own rules (WARL; satp and the like flush the shadows); read-only
        CSRs are refused."""
        v = self.guest.vcpu
        value &= M32
        if 0 <= number < 32:
            if number:
                v.x[number] = value
            return
        if number == PC_REGNUM:
            v.pc = value
            self._watch_at = None
            return
        if number == PRIV_REGNUM:
            if value not in (C.U, C.S, C.M):
                raise DebugError(f"no privilege level {value}")
            v.priv = value
            return
        csr = number - CSR_REGNUM
        if csr not in IMPLEMENTED or csr >> 10 == 3:
            raise DebugError(f"register {number} cannot be written")
        v.csr_write(csr, value, by_instruction=False)

    # --- breakpoints and watchpoints -------------------------------------------------------

    def insert_breakpoint(self, addr: int, size: int = 4) -> None:
        """A breakpoint at the debugger's address `addr` (a whole instruction in guest
        RAM, at any halfword: RV32C), `size` bytes long (gdb's kind: 4 puts an EBREAK,
        2 a C.EBREAK over a compressed instruction); inserting one twice is one."""
        if addr in self._bp_at:
            return
        if addr & 1 or size not in (2, 4):
            raise DebugError(f"{addr:#010x} is not an instruction's address")
        pa = self.address(addr)
        if pa is None or not self.guest.window.contains(pa, size):
            raise DebugError(f"no guest RAM at {addr:#010x}")
        bt = self.guest.bt
        window = self.guest.window
        if (bt is not None and pa in bt.patched) or (window.read_bytes(pa, 1)[0] & 3 == 3 and window.contains(pa, 4)):
            # A whole EBREAK over a 32-bit instruction, even when gdb asks for 2 bytes
            # (it does wherever misa.C is set): the code keeps its instruction
            # boundaries, which bt's walk of the page relies on.
            size = 4
        bp = self.breakpoints.get(pa)
        if bp is None:
            bp = self.breakpoints[pa] = Breakpoint(pa, self._claim(pa, size), size=size)
        bp.addrs.add(addr)
        self._bp_at[addr] = pa

    def insert_hw_breakpoint(self, addr: int, size: int = 4) -> None:
        """gdb's hbreak: an execute trigger on the virtual address `addr`, in every
        address space and mode; no guest memory changes, so it may be anywhere, mapped
        or not.  With `phys` (triggers do not match physical addresses) it is an EBREAK
        as `insert_breakpoint` puts; with no trigger free, DebugError (gdb says it could
        not insert the hardware breakpoint, as on a board)."""
        if self.phys:
            self.insert_breakpoint(addr, size)
            return
        if addr in self.hw_breakpoints:
            return
        if addr & 1:
            raise DebugError(f"{addr:#010x} is not an instruction's address")
        slot = self._take_slots(1)
        if slot is None:
            raise DebugError("no hardware trigger free")
        self._slots[slot[0]] = _trigger(EXECUTE, addr & M32)
        self.hw_breakpoints[addr] = slot[0]
        self._load_triggers()

    def remove_hw_breakpoint(self, addr: int) -> None:
        slot = self.hw_breakpoints.pop(addr, None)
        if slot is None:
            self.remove_breakpoint(addr)  # inserted as an EBREAK (phys)
            return
        self._slots[slot] = None
        self._load_triggers()

    def _take_slots(self, n: int) -> list[int] | None:
        free = [i for i, used in enumerate(self._slots) if used is None]
        return free[:n] if len(free) >= n else None

    def _load_triggers(self, skip_at: int | None = None) -> None:
        """The debugger's triggers for the real hart (the monitor loads them at the
        guest's next entry): all in use, less — while stepping — the hbreak at
        `skip_at` and, stepping over a watched access, the watchpoints."""
        skip = set()
        if skip_at is not None and skip_at in self.hw_breakpoints:
            skip.add(self.hw_breakpoints[skip_at])
        if self._quiet:
            skip.update(slot for wp in self.watchpoints.values() for slot in wp.slots)
        pairs = [(DISABLED, 0) if used is None or i in skip else used for i, used in enumerate(self._slots)]
        self.guest.debug_triggers = tuple(pairs) if any(t1 != DISABLED for t1, _ in pairs) else ()

    def describe_points(self) -> list[str]:
        """One line for each breakpoint and watchpoint: where it is and what it uses."""
        lines = []
        for pa, bp in sorted(self.breakpoints.items()):
            for addr in sorted(bp.addrs):
                kind = "EBREAK" if bp.size == 4 else "C.EBREAK"
                lines.append(f"break  {addr:#010x}: {kind} at guest-physical {pa:#010x}")
        for addr, slot in sorted(self.hw_breakpoints.items()):
            lines.append(f"hbreak {addr:#010x}: trigger {slot} (execute, virtual address)")
        for (kind, addr, length), wp in self.watchpoints.items():
            how = (f"trigger{'s' if len(wp.slots) > 1 else ''} {', '.join(map(str, wp.slots))} (virtual address)"
                   if wp.slots else "page protection on guest-physical "
                   + ", ".join(f"{lo:#010x}..{hi - 1:#010x}" for lo, hi in wp.ranges))  # fmt: skip
            lines.append(f"{kind:<6} {addr:#010x} ({length} byte{'s' if length != 1 else ''}): {how}")
        return lines

    def remove_breakpoint(self, addr: int) -> None:
        """Take out the breakpoint inserted at `addr` (where it went then, whatever the
        page tables say now); nothing if there is none."""
        pa = self._bp_at.pop(addr, None)
        if pa is None:
            return
        bp = self.breakpoints[pa]
        bp.addrs.discard(addr)
        if not bp.addrs:
            del self.breakpoints[pa]
            self._put_back(pa, bp.original, bp.size)

    def insert_watchpoint(self, kind: str, addr: int, length: int) -> None:
        """Watch [addr, addr + length) for writes ("watch"), reads ("rwatch") or both
        ("awatch"); every byte must be guest RAM."""
        if kind not in WATCH_KINDS or length <= 0:
            raise DebugError(f"bad watchpoint {kind} {length}")
        key = (kind, addr, length)
        if key in self.watchpoints:
            return
        if not self.phys:
            pieces = trigger_pieces(addr, length)
            slots = self._take_slots(len(pieces))
            if slots is not None:
                for slot, (tdata2, match) in zip(slots, pieces, strict=True):
                    self._slots[slot] = _trigger(_WATCH_ACCESS[kind], tdata2, match)
                self.watchpoints[key] = Watchpoint(kind, addr, length, [], slots)
                self._load_triggers()
                return
        spans = self._spans(addr, length)
        if sum(n for _, n in spans) != length:
            raise DebugError(f"no guest RAM at some of {addr:#010x}..{addr + length - 1:#010x}")
        self.watchpoints[key] = Watchpoint(kind, addr, length, [(pa, pa + n) for pa, n in spans])
        self._update_masks()

    def remove_watchpoint(self, kind: str, addr: int, length: int) -> None:
        wp = self.watchpoints.pop((kind, addr, length), None)
        if wp is None:
            return
        if wp.slots:
            for slot in wp.slots:
                self._slots[slot] = None
            self._load_triggers()
        else:
            self._update_masks()

    def clear(self) -> None:
        """Every breakpoint and watchpoint out."""
        for addr in list(self._bp_at):
            self.remove_breakpoint(addr)
        self.hw_breakpoints.clear()
        if self.watchpoints:
            self.watchpoints.clear()
            self._update_masks()
        self._slots = [None] * DEBUG_TRIGGERS
        self._load_triggers()
        self._watch_at = None

    def _update_masks(self) -> None:
        masks: dict[int, int] = {}
        for wp in self.watchpoints.values():  # (those on triggers have no ranges)
            bits = PTE_W if wp.kind == "watch" else PTE_R | PTE_W  # no W without R in Sv32
            for lo, hi in wp.ranges:
                for page in range(lo >> 12, ((hi - 1) >> 12) + 1):
                    masks[page] = masks.get(page, 0) | bits
        self._masks = masks
        if any(bits & ~self._enforced.get(page, 0) for page, bits in masks.items()):
            # Shadows (and the real TLBs) may map a newly watched page: they start over.
            self.guest._flush_shadows(True)
        # A page no longer watched may get its full mapping back at its next fault; the
        # shadows keep only what is still asked.
        self._enforced = masks

    def _bp_under_pc(self) -> Breakpoint | None:
        v = self.guest.vcpu
        pa = self.translate(v.pc, v.priv)
        bp = self.breakpoints.get(pa) if pa is not None else None
        if bp is not None and self._holds(bp):
            return bp
        return None

    def _holds(self, bp: Breakpoint) -> bool:
        """True if the breakpoint's EBREAK (or C.EBREAK) is still in guest memory."""
        return self.guest.window.read_bytes(bp.gpa, bp.size) == _ebreak_bytes(bp.size)

    def _claim(self, pa: int, size: int = 4) -> int:
        """Put an EBREAK (`size` 4) or C.EBREAK (2) at `pa`; the guest's own bits that
        were there.  A word the binary translator patched becomes ours (bt forgets it),
        so unscanning its page does not write over the EBREAK."""
        window = self.guest.window
        word = int.from_bytes(window.read_bytes(pa, size), "little")
        bt = self.guest.bt
        if bt is not None:
            word = bt.patched.pop(pa, word)
        window.write_bytes(pa, _ebreak_bytes(size))
        return word

    def _put_back(self, pa: int, original: int, size: int = 4) -> None:
        """The guest's bits back at `pa` — unless the guest wrote over the EBREAK
        meanwhile; an xRET on a page bt scanned goes back as bt's trapping word."""
        window = self.guest.window
        if window.read_bytes(pa, size) != _ebreak_bytes(size):
            return
        bt = self.guest.bt
        if bt is not None and (pa >> 12) in bt.scanned and original in SENSITIVE:
            bt.patched[pa] = original
            window.write_u32(pa, TRAP_WORD)
        else:
            window.write_bytes(pa, original.to_bytes(size, "little"))


def _ebreak_bytes(size: int) -> bytes:
    return (EBREAK if size == 4 else C_EBREAK).to_bytes(size, "little")



def _pages(addr: int, length: int) -> list[tuple[int, int]]:
    """[addr, addr + length) cut at page boundaries: (start, length) pairs."""
    out = []
    while length > 0:
        n = min(length, 4096 - (addr & 0xFFF))
        out.append((addr & M32, n))
        addr += n
        length -= n
    return out

