"""The monitor: guests as virtual machines on one real hart, by trap and emulate.

The real machine is a `Hart` in host mode over host RAM:

    host RAM   [ shadow page-table pool | guest 1 RAM | guest 2 RAM | ... | free ]

Guest code always runs on the real hart in U-mode, with satp on one of that guest's
shadow page tables (shadow.py) and PMP confining it to its own RAM window.  The
guest's view — privilege, CSRs, interrupts — lives in its `VCpu`, which is the
machine's own `ArchState`, so every rule the hardware follows, the virtual hart
follows too.  What the guest cannot do directly traps to the VMM, and
`Guest.handle_exit` dispatches on the exit:

    illegal instruction   a privileged instruction (CSR, SRET/MRET, WFI, SFENCE.VMA):
                          emulate it on the VCpu, or inject the exception the guest's
                          own hardware would raise (a user program touching a CSR)
    ecall                 inject "ecall from <virtual mode>" at the guest's vector, or
                          serve a hypercall (the pv remedy)
    page fault            hidden (the shadow lacks a page the guest maps: fill it),
                          true (the guest's table forbids it: inject it), or a device
                          (the guest-physical address is MMIO: decode the load/store
                          and call the guest's device)
    anything else         inject it (breakpoints, misaligned accesses, ...)

Interrupts: the guest's devices set bits in its VCpu's mip; after every exit and at
every slice start the VMM asks the VCpu (`pending_interrupt`, the hardware's own
rule) and injects the one it would take.  Time: each guest's clock counts only its
own instructions (and the time it sleeps), and a slice never runs past the guest's
next timer alarm, so interrupts arrive at exactly the instruction they would on the
bare machine, and the same input gives the same run, every time.

Scheduling: each guest runs slice after slice of `slice_cycles` of its own virtual
time (instructions, or time asleep in WFI), so all guests' clocks advance together;
`run_round` runs each running guest one slice, and `serve` does the same as one
asyncio task per guest.  Loading another guest onto the real hart is a world switch:
its registers, its shadow's satp (which flushes the real TLBs), its PMP window, and
the ERET-flaw controls for its remedy.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import os
import time
from collections.abc import Callable
from pathlib import Path

from machine.board import RAM_BASE, Board
from machine.bus import Bus
from machine.clock import NEVER, TIMEBASE_HZ
from machine.cpu import csrs as C
from machine.cpu.hart import Hart
from machine.cpu.isa import decode as _decode_uncached
from machine.cpu.mmu import FETCH, LOAD, STORE
from machine.cpu.trap import Exit, ExitKind, Trap
from machine.loader import LoadError
from machine.memory import Ram, RamWindow
from tuivmm.vmm import traplog as T
from tuivmm.vmm.bt import BinaryTranslator
from tuivmm.vmm.shadow import (
    PTE_R,
    PTE_W,
    PTE_X,
    ShadowPool,
    ShadowPoolFull,
    ShadowTable,
)
from tuivmm.vmm.switch import VirtualSwitch
from tuivmm.vmm.vcpu import VCpu

MIB = 1024 * 1024
HOST_RAM_SIZE = 2048 * MIB - 4096  # RAM_BASE + this stays below 4 GiB
SHADOW_POOL_SIZE = 32 * MIB
WINDOW_ALIGN = MIB
DEFAULT_GUEST_RAM = 128 * MIB
SLICE_CYCLES = 20_000  # guest cycles per slice: a few milliseconds of host time
AROUND = 64  # fault-around: pages per aligned block mapped together on a hidden fault
SLICE_EXITS = 200  # ... or this many exits, whichever comes first (about 5 ms of host time)
STUCK_EXITS = 20_000  # exits in a row without one instruction retiring: the guest is stuck
PATIENCE = 5_000_000  # as machine.runner: a scripted line waits at most this long

# The VMM's own machine-mode state on the real hart: mepc always holds this door, so
# an MRET that the flawed hardware lets run in U-mode lands here, on a page no shadow
# ever maps, and the VMM sees it (a flawed MRET also sets the real mstatus.MPIE).
MRET_DOOR = 0xFFFF_F000
DOOR_PAGE = MRET_DOOR >> 12

REMEDIES = ("none", "bt", "pv", "hw")
LIMIT_REASON = "instruction limit reached"
HV_EID = 0x0854_564D  # guests/include/hypercall.h
HV_SRET = 0

_ACCESS_OF = {C.INSN_PAGE_FAULT: FETCH, C.LOAD_PAGE_FAULT: LOAD, C.STORE_PAGE_FAULT: STORE}
_PAGE_FAULT = (C.INSN_PAGE_FAULT, C.LOAD_PAGE_FAULT, C.STORE_PAGE_FAULT)
_ACCESS_FAULT = (C.INSN_ACCESS_FAULT, C.LOAD_ACCESS_FAULT, C.STORE_ACCESS_FAULT)
_ECALL = {C.U: C.ECALL_FROM_U, C.S: C.ECALL_FROM_S, C.M: C.ECALL_FROM_M}
_LOADS = {"lb": (1, True), "lh": (2, True), "lw": (4, True), "lbu": (1, False), "lhu": (2, False)}
_STORES = {"sb": 1, "sh": 2, "sw": 4}
_EMULATED = frozenset({"csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci", "mret", "sret", "wfi",
                       "sfence.vma"})  # fmt: skip


# Exits decode the same few instruction words over and over.
decode = functools.lru_cache(maxsize=8192)(_decode_uncached)


class VmmError(Exception):
    """Something the user asked of the VMM that cannot be done (one line)."""


class GuestCrash(Exception):
    """The guest reached a state the VMM cannot emulate; it stops, alone."""


class GuestState(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    IDLE = "idle"  # asleep in WFI with no timer armed: waits for input or a frame
    HALTED = "halted"  # powered off (pass or fail)
    CRASHED = "crashed"
    STOPPED = "stopped"  # stopped by the user
    DEBUG = "stopped in debugger"  # held by a debugger (gdbstub.py): runs only when it says so

    @property
    def finished(self) -> bool:
        return self in (GuestState.HALTED, GuestState.CRASHED, GuestState.STOPPED)


class Guest:
    """One virtual machine: a VCpu, the board's devices around it, a RAM window, its
    shadow page tables and its trap log."""

    def __init__(self, vmm: Vmm, name: str, image: str, window: RamWindow, *, remedy: str = "none",
                 disk: str | None = None, disk_read_only: bool = False, mac: bytes | None = None,
                 program=None):  # fmt: skip
        self.vmm = vmm
        self.name = name
        self.image = image
        self.window = window
        self.remedy = remedy
        self.vcpu = VCpu(window, Bus())
        self.port = vmm.switch.port(name) if mac is not None else None
        self.board = Board(cpu=self.vcpu, disk=disk, disk_read_only=disk_read_only, net=self.port,
                           mac=mac or bytes(6))  # fmt: skip
        self.program = program
        if program is not None:
            self.board.load_program(program.data, program.entry)
        else:
            self.board.load(image)
        self.vcpu.on_flush = self._flush_shadows
        if self.port is not None:
            self.port.on_delivery = self.kick
        self.shadows: dict[tuple, ShadowTable] = {}
        self.current: ShadowTable | None = None
        self.log = T.TrapLog(name, vmm.sequence)
        self.bt = BinaryTranslator(window) if remedy == "bt" else None
        self.state = GuestState.RUNNING
        self.reason = ""  # why it stopped (crash reason, halt kind)
        self.halt: tuple[str, int] | None = None
        self.hidden_faults = 0
        self.true_faults = 0
        self.flushes = 0
        self.direct_instructions = 0  # retired on the real hart
        self.emulated_instructions = 0  # retired by the VMM (CSR, xRET, MMIO, ...)
        self.slices = 0
        self.instruction_limit: int | None = None  # stop (STOPPED, LIMIT_REASON) at this many
        self.asleep_until = 0.0  # realtime: the wall-clock time its sleep reaches its timer
        self._wall_start = time.perf_counter()
        self._wall_base = 0  # its cycles when the wall clock was last (re)started
        self._stalled = 0
        self.input = bytearray()  # console input not yet handed to the UART
        self.input_interactive = False
        self._fed_at = 0
        # Record and replay (tuivmm/vmm/record.py): `passes` counts turns of the run loop,
        # so it names the exact moment a console chunk reached the UART; `on_feed` hears
        # of every chunk fed; a replay feeds its recorded chunks through `replay_feed`
        # when `passes` reaches `replay_due`.
        self.passes = 0
        self.on_feed: Callable[[bytes], None] | None = None
        self.replay_due = -1
        self.replay_feed: Callable[[Guest], None] | None = None
        self.wake = asyncio.Event()
        self.debug_stub = None  # a tuivmm.vmm.gdbstub.GdbStub while one serves this guest
        self.on_output: Callable[[bytes], None] = lambda data: None
        self.board.on_output = lambda data: self.on_output(data)

    # --- what the dashboard and tests read -------------------------------------------

    @property
    def output(self) -> bytearray:
        """Everything the guest has printed on its console."""
        return self.board.output

    @property
    def priv(self) -> int:
        return self.vcpu.priv

    @property
    def pc(self) -> int:
        return self.vcpu.pc

    @property
    def instructions(self) -> int:
        return self.vcpu.icount

    def registers(self) -> list[int]:
        return list(self.vcpu.x)

    # --- control -----------------------------------------------------------------------

    def send_input(self, data: bytes, *, interactive: bool = True) -> None:
        """Console input: handed to the UART a line at a time when the guest waits for
        it (as `tuivmm bare` does), or at once if `interactive`."""
        self.input += data
        self.input_interactive = interactive
        self.kick()

    def kick(self) -> None:
        """Something arrived for an idle guest (input, a frame): let it run."""
        if self.state is GuestState.IDLE:
            self.state = GuestState.RUNNING
            self.wake.set()

    def wall_cycles(self) -> int:
        """Realtime: the guest's cycle count the wall clock has reached."""
        return self._wall_base + int((time.perf_counter() - self._wall_start) * TIMEBASE_HZ)

    def pause(self) -> None:
        if self.state in (GuestState.RUNNING, GuestState.IDLE):
            self.state = GuestState.PAUSED

    def resume(self) -> None:
        if self.state is GuestState.PAUSED:
            self.state = GuestState.RUNNING
            self._wall_start, self._wall_base = time.perf_counter(), self.vcpu.cycles  # no catching up
            self.wake.set()

    def stop(self) -> None:
        if not self.state.finished:
            self.state = GuestState.STOPPED
            self.reason = "stopped"
            self.wake.set()

    def reset(self) -> None:
        """Power-cycle the guest: devices, virtual hart and RAM image, as the finisher's
        reset does on the bare board (the disk keeps its data).  A guest held by a
        debugger stays held, at its first instruction."""
        held = self.state is GuestState.DEBUG
        self._flush_shadows(True)
        if self.bt is not None:
            self.bt = BinaryTranslator(self.window)
        if self.vmm.loaded is self:
            self.vmm.unload()
        self.board.reset()
        if self.program is not None:
            self.window.fill(0)
            self.board.load_program(self.program.data, self.program.entry)
        self.halt = None
        self.reason = ""
        self._stalled = 0
        self.state = GuestState.DEBUG if held else GuestState.RUNNING
        if self.debug_stub is not None:
            self.debug_stub.guest_reset()  # the image came back over its breakpoints
        self._wall_start, self._wall_base = time.perf_counter(), self.vcpu.cycles
        self.wake.set()

    def set_remedy(self, remedy: str) -> None:
        """Change how the VMM copes with the ERET flaw for this guest, while it runs.
        Switching binary translation on scans code afresh; switching it off puts the
        guest's original instructions back."""
        if remedy not in REMEDIES:
            raise VmmError(f"unknown remedy {remedy!r} (choose from {', '.join(REMEDIES)})")
        if remedy == self.remedy:
            return
        if self.bt is not None:
            for page in list(self.bt.scanned):
                self.bt.unscan(page)
            self.bt = None
        if remedy == "bt":
            self.bt = BinaryTranslator(self.window)
        self.remedy = remedy
        self._flush_shadows(False)  # pages mapped under the old remedy are looked at again
        if self.vmm.loaded is self:
            self.vmm.hart.trap_xret = remedy == "hw"

    def crash(self, reason: str) -> None:
        self.state = GuestState.CRASHED
        self.reason = reason
        self.log.record(self.vcpu.cycles, self.vcpu.pc, self.vcpu.priv, 0, 0, T.EXCEPTION, T.CRASHED, reason)
        if self.vmm.loaded is self:
            self.vmm.unload()

    # --- shadows -----------------------------------------------------------------------

    def context_key(self) -> tuple:
        """Which shadow the guest's current mode needs.  Each distinct view of memory
        gets its own, so guest user code never runs on the kernel's view."""
        v = self.vcpu
        priv = v.priv
        if priv == C.M:
            return ("mprv",) if v.mstatus & C.MSTATUS_MPRV else ("m",)
        mxr = bool(v.mstatus & C.MSTATUS_MXR)
        if not v.satp & C.SATP_MODE:
            return ("bare", priv)
        if priv == C.S:
            return ("s", v.satp, bool(v.mstatus & C.MSTATUS_SUM), mxr)
        return ("u", v.satp, mxr)

    def shadow(self) -> ShadowTable:
        key = self.context_key()
        table = self.shadows.get(key)
        if table is None:
            lo = self.window.host_base
            try:
                table = ShadowTable(self.vmm.pool, key, lo, lo + self.window.size)
            except ShadowPoolFull:
                self._flush_shadows(True)
                table = ShadowTable(self.vmm.pool, key, lo, lo + self.window.size)
            self.shadows[key] = table
        return table

    def _flush_shadows(self, pmp_changed: bool = True) -> None:
        """SFENCE.VMA, satp, SUM/MXR or PMP changed: drop the shadows that depend on
        them (all of them but virtual M-mode's, which depends on nothing but PMP)."""
        self.flushes += 1
        for key in list(self.shadows):
            if key == ("m",) and not pmp_changed:
                continue
            self.shadows.pop(key).release()
        self.current = None
        self.vmm.hart.drop_address_spaces()  # their roots may come back as other tables

    # --- the exit loop ---------------------------------------------------------------

    def handle_exit(self, e: Exit) -> None:
        """One exit from the real hart, dispatched by kind (Firecracker's run loop has
        the same shape)."""
        hart = self.vmm.hart
        if hart.mstatus & C.MSTATUS_MPIE:
            # The flawed hardware ran an MRET in U-mode: it jumped to the VMM's door.
            hart.mstatus = 0
            self._flawed_mret(e)
            return
        cause = e.cause
        if cause == C.ILLEGAL_INSN:
            self._illegal_instruction(e)
        elif cause == C.ECALL_FROM_U:
            self._ecall(e)
        elif cause in _PAGE_FAULT:
            self._page_fault(e)
        elif cause == C.BREAKPOINT and self.debug_stub is not None and self.debug_stub.breakpoint_exit(e):
            pass  # the debugger's own EBREAK: the guest is stopped for it, and never sees it
        else:
            self.inject(cause, e.tval, e.epc, e.insn, T.EXCEPTION)

    def inject(self, cause: int, tval: int, epc: int, insn: int, reason: str, action: str = T.INJECTED,
               detail: str = "") -> None:  # fmt: skip
        """Deliver an exception to the guest at its own vector, as its hardware would."""
        v = self.vcpu
        self.log.record(v.cycles, epc, v.priv, insn, cause, reason, action, detail)
        v.take_trap(cause, tval, epc)
        self._trap_ends_reservation()

    def _trap_ends_reservation(self) -> None:
        """The guest took a trap, which ends its LR reservation, as on its hardware.
        Its LR/SC run on the real hart, which keeps the reservation across exits the
        guest never sees (hidden faults, emulated device accesses)."""
        if self.vmm.loaded is self:
            self.vmm.hart.reservation = None

    def _retire(self, next_pc: int) -> None:
        self.vcpu.pc = next_pc
        self.vcpu.icount += 1
        self.emulated_instructions += 1

    def _illegal_instruction(self, e: Exit) -> None:
        v = self.vcpu
        word = e.insn
        if self.bt is not None:
            gpa = self._fetch_gpa(e.epc)
            if gpa is not None:
                word = self.bt.original(gpa, word)
        d = decode(word)
        if d is None or d.name not in _EMULATED:
            self.inject(C.ILLEGAL_INSN, word, e.epc, word, T.EXCEPTION)
            return
        name = d.name
        reason = (T.CSR if name.startswith("csr") else T.XRET if name.endswith("ret")
                  else T.WFI if name == "wfi" else T.SFENCE)  # fmt: skip
        priv = v.priv
        try:
            next_pc = v.exec_system(d, e.epc)
        except Trap as trap:
            self.inject(trap.cause, trap.tval, e.epc, word, reason)
            return
        action = T.SLEPT if name == "wfi" else T.EMULATED
        self.log.record(v.cycles, e.epc, priv, word, C.ILLEGAL_INSN, reason, action)
        self._retire(next_pc)

    def _flawed_mret(self, e: Exit) -> None:
        """An MRET the flawed hardware let run (the door caught it): do what it should
        have done, from where it was.  The instruction's pc is not known (the hart
        jumped), so the log shows the door."""
        v = self.vcpu
        hart = self.vmm.hart
        epc, hart.flawed_xret_pc = hart.flawed_xret_pc, None
        if v.priv < C.M:
            # An MRET in virtual S or U mode: the guest's own hardware would trap on it
            # (the flaw lets xRET run only in real U-mode, which a guest kernel is not).
            if epc is None:
                raise GuestCrash("an MRET below virtual M-mode ran on the flawed hardware")
            self.inject(C.ILLEGAL_INSN, 0x3020_0073, epc, 0x3020_0073, T.XRET)
            return
        self.log.record(v.cycles, MRET_DOOR, v.priv, 0x3020_0073, C.ILLEGAL_INSN, T.XRET, T.EMULATED,
                        "caught at the VMM's door")  # fmt: skip
        self._retire(v._mret())
        v.icount -= 1  # the hart already counted it when it ran
        self.emulated_instructions -= 1

    def _ecall(self, e: Exit) -> None:
        v = self.vcpu
        x = v.x
        if self.remedy == "pv" and v.priv == C.S and x[17] == HV_EID and x[16] == HV_SRET:
            self._hv_sret(e)
            return
        self.inject(_ECALL[v.priv], 0, e.epc, e.insn, T.ECALL)

    def _hv_sret(self, e: Exit) -> None:
        """The HV_SRET hypercall (guests/include/hypercall.h): SRET's work, with the
        caller's a6/a7 taken from the save area at sscratch."""
        v = self.vcpu
        area = v.sscratch
        try:
            if area % 4 or not v.ram.contains(area, 8):
                raise GuestCrash(f"HV_SRET: bad save area {area:#x}")
            if v.mstatus & C.MSTATUS_TSR:
                raise Trap(C.ILLEGAL_INSN, 0)
        except Trap as trap:
            self.inject(trap.cause, trap.tval, e.epc, e.insn, T.HYPERCALL)
            return
        self.log.record(v.cycles, e.epc, v.priv, e.insn, C.ECALL_FROM_S, T.HYPERCALL, T.SERVED, "HV_SRET")
        v.x[16] = v.ram.read_u32(area)
        v.x[17] = v.ram.read_u32(area + 4)
        self._retire(v._sret())

    def _fetch_gpa(self, pc: int) -> int | None:
        """The guest-physical address of the instruction at `pc` in the current mode."""
        try:
            return self.vcpu.translate(pc, FETCH, self.vcpu.priv)
        except Trap:
            return None

    def _page_fault(self, e: Exit) -> None:
        v = self.vcpu
        access = _ACCESS_OF[e.cause]
        va = e.tval
        priv = v.priv if access == FETCH else v.data_priv()
        try:
            try:
                gpa = v.translate(va, access, priv)
            except Trap:
                gpa = self._naive_user_fetch(va, access, priv)
                if gpa is None:
                    raise
            if not v._pmp_allows(gpa, 1, access, priv):
                raise Trap(_ACCESS_FAULT[access], va)
        except Trap as trap:
            self.true_faults += 1
            self.inject(trap.cause, trap.tval, e.epc, e.insn, T.PAGE_FAULT, T.TRUE, f"va {va:#010x}")
            return
        in_ram = v.ram.contains(gpa & ~0xFFF, 4096)
        if not in_ram:
            if access == FETCH:
                self.inject(C.INSN_ACCESS_FAULT, va, e.epc, 0, T.PAGE_FAULT, T.TRUE, f"fetch from {gpa:#010x}")
            else:
                self._emulate_access(e, va, gpa, mmio=True)
            return
        page = gpa >> 12
        if access != FETCH and self.debug_stub is not None and self.debug_stub.watch_hit(e, gpa):
            return  # it touches a debugger's watchpoint: stopped before the access
        pmp_split = v.page_pmp(gpa & ~0xFFF, priv) is None
        if access == FETCH and (pmp_split or va >> 12 == DOOR_PAGE):
            self._step_unmappable(e, va, gpa, priv)
            return
        if (pmp_split or va >> 12 == DOOR_PAGE or (access != FETCH and self.context_key() == ("mprv",))
                or (access == STORE and page in v._watch_pages)):  # fmt: skip
            self._emulate_access(e, va, gpa, mmio=False)
            return
        bt = self.bt
        if bt is not None and access == STORE and page in bt.scanned:
            code = self._fetch_gpa(e.epc)
            if code is not None and code >> 12 == page:
                # Code writing its own page, which must stay executable: emulate the
                # store, keeping the page translated.
                self._emulate_access(e, va, gpa, mmio=False, bt_store=True)
                return
            # Code the guest is about to overwrite: put the originals back, and make
            # every shadow forget the page, so it is scanned again before it runs.
            bt.unscan(page)
            self._flush_shadows(False)
        leaf = v.walk(va) if priv != C.M and v.satp & C.SATP_MODE else None
        pte = leaf[0] if leaf is not None else None
        perms = self._perms(pte, gpa & ~0xFFF, priv)
        if bt is not None:
            # Binary translation: a page runs only once scanned, and is written only
            # while not.  A fetch scans it (and drops W), a store unscans it (and
            # drops X); a load keeps whatever the page is.
            if access == FETCH and page not in bt.scanned:
                found = bt.scan(page)
                self.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, T.PAGE_FAULT, "bt scan",
                                f"page {gpa & ~0xFFF:#010x}: {found} patched")  # fmt: skip
            if page not in bt.scanned:
                perms &= ~PTE_X
        open_perms, perms = perms, self._mappable(gpa & ~0xFFF, perms)
        table = self.current or self.shadow()
        if self.debug_stub is not None and self.debug_stub.let_through(e, table, va, gpa, open_perms, perms):
            return  # a page the debugger watches: this one access ran with the page open
        hpa = self._map(table, va & ~0xFFF, gpa & ~0xFFF, perms)
        extra = self._map_around(table, va, priv, leaf)
        self.hidden_faults += 1
        self.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, T.PAGE_FAULT, T.HIDDEN,
                        f"va {va & ~0xFFF:#010x} -> hpa {hpa:#010x} {_perm_text(perms)}"
                        + (f", {extra} more around it" if extra else ""))  # fmt: skip

    def _step_unmappable(self, e: Exit, va: int, gpa: int, priv: int) -> None:
        """Guest code on a page the VMM may not map whole (PMP changes within it, or
        the VMM's door page): check this one fetch, map the page execute-only just
        long enough to run this one instruction, and take the mapping back.  Its
        loads and stores, if they touch such a page, fault and are emulated."""
        v = self.vcpu
        if not v._pmp_allows(gpa, 4, FETCH, priv):
            self.true_faults += 1
            self.inject(C.INSN_ACCESS_FAULT, va, e.epc, 0, T.PAGE_FAULT, T.TRUE, f"PMP stops the fetch at {gpa:#010x}")
            return
        hart = self.vmm.hart
        table = self.current or self.shadow()
        page_va = va & ~0xFFF
        if self.bt is not None and (gpa >> 12) not in self.bt.scanned:
            self.bt.scan(gpa >> 12)
        self._map(table, page_va, gpa & ~0xFFF, PTE_X)
        self.log.record(v.cycles, e.epc, v.priv, 0, e.cause, T.PAGE_FAULT, T.HIDDEN,
                        f"va {va:#010x}: one instruction on a page the VMM cannot map whole")  # fmt: skip
        try:
            hart.pc = v.pc
            before = hart.icount
            inner = hart.run(1)
            ran = hart.icount - before
            v.icount += ran
            self.direct_instructions += ran
            v.pc = hart.pc
        finally:
            table.unmap(page_va)
            hart.drop_address_spaces()
        if inner.kind is ExitKind.TRAP:
            self.handle_exit(inner)

    @property
    def naive(self) -> bool:
        """The lecture's naive VMM: no remedy, on hardware with the ERET flaw."""
        return self.remedy == "none" and self.vmm.flawed_eret

    def _naive_user_fetch(self, va: int, access: int, priv: int) -> int | None:
        """The naive VMM's kernel shadow carries the guest's user pages as its PTEs
        allow (executable if X), without the rule that S-mode never runs user pages —
        so user code that the flawed SRET sent off unseen runs on the kernel's view,
        as the lecture tells.  The guest-physical address, or None to fault as usual."""
        if not self.naive or access != FETCH or priv != C.S:
            return None
        v = self.vcpu
        try:
            pte, _, level = v.walk(va)
            if pte & 0x10 and pte & PTE_X and pte & 0x40:  # U, X, A
                return v.leaf_address(pte, level, va, FETCH)
        except Trap:
            pass
        return None

    def _map(self, table: ShadowTable, va_page: int, gpa_page: int, perms: int) -> int:
        hpa = self.window.host_base + (gpa_page - self.window.base)
        if table.map(va_page, hpa, perms):
            self.vmm.hart.drop_address_spaces()  # the real TLBs may hold the wider mapping
        return hpa

    def _perms(self, pte: int | None, page: int, priv: int) -> int:
        """Every access the guest may make to this page right now without a fault of
        its own: its PTE allows it, the A (and for writes D) bit is already set, PMP
        allows it on the whole page.  `pte` is None for untranslated modes."""
        v = self.vcpu
        fetch_priv = v.priv
        pmp = v.page_pmp(page, priv) or 0  # PMP_R|W|X bits = PTE bits >> 1
        if fetch_priv != priv:
            pmp = (pmp & 3) | ((v.page_pmp(page, fetch_priv) or 0) & 4)
        perms = (pmp & 7) << 1  # PMP R,W,X (1,2,4) -> PTE R,W,X (2,4,8)
        if pte is None:
            return perms
        if not pte & 0x40:  # A clear: any access would set it
            return 0
        if not v.leaf_allows(pte, LOAD, priv):
            perms &= ~PTE_R
        if not pte & 0x80 or not v.leaf_allows(pte, STORE, priv):  # D clear: a store sets it
            perms &= ~PTE_W
        if not (v.leaf_allows(pte, FETCH, fetch_priv)
                or (self.naive and fetch_priv == C.S and pte & 0x10 and pte & PTE_X)):  # fmt: skip
            perms &= ~PTE_X
        return perms

    def _mappable(self, gpa_page: int, perms: int) -> int:
        """`perms` less what the VMM must still see: stores to scanned code (bt) and to
        HTIF's tohost page."""
        page = gpa_page >> 12
        if (self.bt is not None and page in self.bt.scanned) or page in self.vcpu._watch_pages:
            perms &= ~PTE_W
        if self.debug_stub is not None:
            perms = self.debug_stub.mappable(page, perms)  # watched pages fault on the watched accesses
        return perms

    def _map_around(self, table: ShadowTable, va: int, priv: int, leaf: tuple[int, int, int] | None) -> int:
        """Fault-around: map the other pages of the aligned AROUND-page block holding
        `va` that the guest could use right now without a fault of its own (for a
        paged mode: valid leaves whose A, and for writes D, bits are set already), so
        a kernel sweeping its memory takes one hidden fault per block, not per page.
        `leaf` is the guest's (pte, its address, level) for `va`, None if untranslated.
        Returns how many were mapped."""
        v = self.vcpu
        ram = v.ram
        first = va & ~(AROUND * 4096 - 1)
        pages: list[tuple[int, int, int | None]] = []  # (va, gpa, pte or None)
        if leaf is None:
            if self.context_key() == ("mprv",):
                return 0
            pages = [(first + 4096 * i, first + 4096 * i, None) for i in range(AROUND)]
        else:
            pte, pte_addr, level = leaf
            if level == 1:
                try:
                    base = v.leaf_address(pte, 1, first, LOAD)
                except Trap:
                    return 0
                pages = [(first + 4096 * i, base + 4096 * i, pte) for i in range(AROUND)]
            else:
                words = ram.words
                start = ((pte_addr & ~0xFFF) - ram.base) >> 2
                slot = (first >> 12) & 0x3FF
                for i, w in enumerate(words[start + slot : start + slot + AROUND]):
                    # valid, a leaf, accessed: anything else would fault for the guest
                    if w & 0x41 == 0x41 and w & 0xA:
                        pages.append((first + 4096 * i, (w >> 10) << 12, w))
        here = va >> 12
        mapped = 0
        scanned = self.bt.scanned if self.bt is not None else None
        present = table.leaves(first, AROUND)
        lo, hi = ram.base, ram.base + ram.size - 4096
        for page_va, gpa, pte in pages:
            if present[(page_va - first) >> 12] & 1 or not lo <= gpa <= hi:
                continue
            if page_va >> 12 == here or page_va >> 12 == DOOR_PAGE:
                continue
            perms = self._perms(pte, gpa, priv)
            if scanned is not None and (gpa >> 12) not in scanned:
                perms &= ~PTE_X
            perms = self._mappable(gpa, perms)
            if perms:
                self._map(table, page_va, gpa, perms)
                mapped += 1
        return mapped

    def _emulate_access(self, e: Exit, va: int, pa: int, *, mmio: bool, bt_store: bool = False) -> None:
        """Carry out the trapping load or store against the guest's device (or, for a
        page the VMM must not map, its RAM), then step past it."""
        v = self.vcpu
        d = decode(e.insn)
        name = d.name if d is not None else ""
        device = self._device_name(pa) if mmio else "ram"
        if name in _LOADS:
            size, signed = _LOADS[name]
            access = LOAD
        elif name in _STORES:
            size, signed, access = _STORES[name], False, STORE
        else:
            # AMOs and LR/SC on a device fault, as on the bare board; anything else
            # would be a VMM bug.
            cause = C.LOAD_ACCESS_FAULT if name == "lr.w" else C.STORE_ACCESS_FAULT
            self.inject(cause, va, e.epc, e.insn, T.MMIO, T.INJECTED, f"{name} at {device}")
            return
        if pa & (size - 1):
            cause = C.LOAD_MISALIGNED if access == LOAD else C.STORE_MISALIGNED
            if mmio:
                self.inject(cause, va, e.epc, e.insn, T.MMIO, T.INJECTED, f"misaligned at {device}")
                return
        if access == LOAD:
            try:
                value = v._read_phys(pa, size, C.LOAD_ACCESS_FAULT, va)
            except Trap as trap:
                self.inject(trap.cause, trap.tval, e.epc, e.insn, T.MMIO, T.INJECTED, f"no device at {pa:#010x}")
                return
            if signed and value >> (8 * size - 1):
                value -= 1 << (8 * size)
            if d.rd:
                v.x[d.rd] = value & 0xFFFF_FFFF
            self.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, T.MMIO, T.MMIO_READ,
                            f"{device} -> {value & 0xFFFF_FFFF:#x}")  # fmt: skip
        else:
            value = v.x[d.rs2] & ((1 << (8 * size)) - 1)
            try:
                if bt_store:
                    self.bt.store(pa, size, lambda: v._write_phys(pa, size, value, va))
                else:
                    v._write_phys(pa, size, value, va)
            except Trap as trap:
                self.inject(trap.cause, trap.tval, e.epc, e.insn, T.MMIO, T.INJECTED, f"no device at {pa:#010x}")
                return
            self.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, T.MMIO, T.MMIO_WRITE,
                            f"{device} <- {value:#x}")  # fmt: skip
        self._retire((e.epc + 4) & 0xFFFF_FFFF)

    def _device_name(self, pa: int) -> str:
        """`name+offset` of the device at guest-physical `pa`, for the trap log."""
        for base, end, name in self.vcpu.bus.regions():
            if base <= pa < end:
                return f"{name}+{pa - base:#x}"
        return f"{pa:#010x}"

    # --- interrupts, input, time -------------------------------------------------------------

    def deliver_interrupt(self) -> bool:
        """Inject the interrupt the guest's hardware would take now, if any."""
        v = self.vcpu
        irq = v.pending_interrupt()
        if irq is None:
            return False
        v.sleeping = False
        cause = C.INTERRUPT_BIT | irq
        self.log.record(v.cycles, v.pc, v.priv, 0, cause, T.INTERRUPT, T.INJECTED)
        v.take_trap(cause, 0, v.pc)
        self._trap_ends_reservation()
        return True

    def offer_input(self) -> None:
        """Hand the next console line to the UART if the guest is waiting for one."""
        if not self.input:
            return
        uart = self.board.uart
        if uart.rx_pending():
            return
        v = self.vcpu
        waiting = (self.input_interactive or v.sleeping or uart.polls_since_tx >= 2
                   or v.icount - self._fed_at >= PATIENCE)  # fmt: skip
        if not waiting:
            return
        if self.input_interactive:
            line = bytes(self.input)
        else:
            end = self.input.find(b"\n")
            if end < 0:
                end = self.input.find(b"\r")
            line = bytes(self.input if end < 0 else self.input[: end + 1])
        del self.input[: len(line)]
        self.feed_console(line)

    def feed_console(self, data: bytes) -> None:
        """Hand `data` to the guest's UART receiver now (its interrupt rises at once)."""
        self.board.uart.feed(data)
        self._fed_at = self.vcpu.icount
        if self.on_feed is not None:
            self.on_feed(data)

    def _check_halt(self) -> bool:
        halted = self.vcpu.halted
        if halted is None:
            return False
        kind, code = halted
        self.vcpu.halted = None
        if kind == "reset":
            self.reset()
            return True
        self.halt = (kind, code)
        self.reason = kind if kind != "fail" else f"fail (code {code})"
        self.state = GuestState.HALTED
        if self.vmm.loaded is self:
            self.vmm.unload()
        return True

    # --- inspection ----------------------------------------------------------------------

    def memory_map(self) -> list[tuple[int, int, str, int | None]]:
        """The guest-physical map: (start, end, what, host-physical start or None)."""
        regions = [(base, end, name, None) for base, end, name in self.vcpu.bus.regions()]
        regions.append((self.window.base, self.window.base + self.window.size, "ram", self.window.host_base))
        return sorted(regions)

    def page_table_view(self, limit: int = 4096) -> list[tuple[int, int | None, int, int | None, int]]:
        """The guest's own mappings beside the shadow's, for the guest's current mode:
        (guest-virtual page, guest-physical page or None, guest PTE bits (0 if none),
        host-physical page or None, shadow perms (PTE_R|W|X, 0 if not filled)).
        Untranslated modes (virtual M, bare S/U) list the shadow's pages as va = gpa."""
        table = self.shadows.get(self.context_key())
        shadow = {va: (hpa, perms) for va, hpa, perms in (table.mappings() if table else [])}
        rows = []
        seen = set()
        for va, gpa, bits in self.guest_mappings(limit):
            hpa, perms = shadow.get(va, (None, 0))
            rows.append((va, gpa, bits, hpa, perms))
            seen.add(va)
        translated = bool(self.vcpu.satp & C.SATP_MODE) and self.vcpu.priv != C.M
        for va, (hpa, perms) in sorted(shadow.items()):
            if va not in seen:
                rows.append((va, None if translated else va, 0, hpa, perms))
        rows.sort()
        return rows[:limit]

    def guest_mappings(self, limit: int = 4096) -> list[tuple[int, int, int]]:
        """The guest's own Sv32 mappings in its current satp: (va, gpa, pte bits), pages
        of megapages included one by one, at most `limit`."""
        v = self.vcpu
        if not v.satp & C.SATP_MODE:
            return []
        ram = v.ram
        found = []
        root = (v.satp & C.SATP_PPN) << 12
        for i in range(1024):
            addr = root + 4 * i
            if not ram.contains(addr, 4):
                break
            pte = ram.read_u32(addr)
            if not pte & 1:
                continue
            if pte & 0xA:
                for j in range(1024):
                    found.append(((i << 22) | (j << 12), ((pte >> 20) << 22) | (j << 12), pte & 0x3FF))
                    if len(found) >= limit:
                        return found
                continue
            table = (pte >> 10) << 12
            for j in range(1024):
                if not ram.contains(table + 4 * j, 4):
                    break
                leaf = ram.read_u32(table + 4 * j)
                if leaf & 1:
                    found.append(((i << 22) | (j << 12), (leaf >> 10) << 12, leaf & 0x3FF))
                    if len(found) >= limit:
                        return found
        return found


def _perm_text(perms: int) -> str:
    return ("r" if perms & PTE_R else "-") + ("w" if perms & PTE_W else "-") + ("x" if perms & PTE_X else "-")


class Vmm:
    """The monitor: the real machine, its guests, and the loop that runs them."""

    def __init__(self, *, flawed_eret: bool = False, host_ram_size: int = HOST_RAM_SIZE,
                 slice_cycles: int = SLICE_CYCLES, realtime: bool = False):  # fmt: skip
        """`realtime`: a guest asleep in WFI may not let its time run ahead of the wall
        clock (for the dashboard, where people watch `uptime` and `sleep`); off, time
        skips to the next timer at once, and a run depends only on its input."""
        self.realtime = realtime
        self.host_ram = Ram(RAM_BASE, host_ram_size)
        self.hart = Hart(self.host_ram, Bus())
        self.hart.host_mode = True
        self.hart.flawed_eret = flawed_eret
        self.pool = ShadowPool(self.host_ram, 0, SHADOW_POOL_SIZE // 4096)
        self.switch = VirtualSwitch()
        self.sequence = T.Sequence()
        self.guests: list[Guest] = []
        self.loaded: Guest | None = None
        self.slice_cycles = slice_cycles
        self.slice_exits = SLICE_EXITS
        self._windows: list[tuple[int, int]] = [(SHADOW_POOL_SIZE, host_ram_size - SHADOW_POOL_SIZE)]
        self._macs = 0
        self.world_switches = 0
        self.slices_run = 0  # slices run, all guests together: a place in the schedule
        # Called before each slice, with the guest about to run; it may stop that guest.
        # A replay uses it to wake a guest or quit at the place the recording did.
        self.before_slice: Callable[[Guest], None] | None = None

    @property
    def flawed_eret(self) -> bool:
        """The machine's ERET flaw (SRET/MRET run in U-mode instead of trapping)."""
        return self.hart.flawed_eret

    @flawed_eret.setter
    def flawed_eret(self, on: bool) -> None:
        self.hart.flawed_eret = on

    # --- guests ------------------------------------------------------------------------

    def add_guest(self, image: str | os.PathLike[str] | None = None, *, name: str | None = None,
                  ram_size: int = DEFAULT_GUEST_RAM, disk: str | None = None, disk_read_only: bool = False,
                  remedy: str = "none", net: bool = True, program=None, paused: bool = False) -> Guest:  # fmt: skip
        """Create a guest from an ELF image (or `program`, a `machine.cpu.asm.Program`:
        raw code at the start of its RAM) and start it, in virtual M-mode at its entry."""
        if (image is None) == (program is None):
            raise VmmError("a guest needs an image or a program, not both")
        if remedy not in REMEDIES:
            raise VmmError(f"unknown remedy {remedy!r} (choose from {', '.join(REMEDIES)})")
        if ram_size <= 0 or ram_size % 4096:
            raise VmmError("guest RAM must be a positive number of 4 KiB pages")
        base_name = name or (Path(image).stem if image is not None else "program")
        taken = {g.name for g in self.guests}
        name = base_name
        n = 2
        while name in taken:
            name = f"{base_name}-{n}"
            n += 1
        offset = self._allocate(ram_size)
        window = RamWindow(self.host_ram, offset, RAM_BASE, ram_size)  # zero: never used, or wiped
        mac = None
        if net:
            self._macs += 1
            mac = bytes([0x52, 0x54, 0, 0, 0, self._macs & 0xFF])
        try:
            guest = Guest(self, name, str(image or "(program)"), window, remedy=remedy, disk=disk,
                          disk_read_only=disk_read_only, mac=mac, program=program)  # fmt: skip
        except (LoadError, OSError) as exc:
            window.fill(0)
            self._release(offset, ram_size)
            raise VmmError(str(exc)) from None
        if paused:
            guest.state = GuestState.PAUSED
        self.guests.append(guest)
        return guest

    def remove_guest(self, guest: Guest) -> None:
        guest.stop()
        if guest.debug_stub is not None:
            guest.debug_stub.guest_changed()  # a debugger waiting on it hears it is gone
        if self.loaded is guest:
            self.unload()
        guest._flush_shadows(True)
        if guest.port is not None:
            self.switch.unplug(guest.port)
        guest.board.close()
        self.guests.remove(guest)
        guest.window.fill(0)  # the next guest there starts from zeroed RAM, as on power-on
        self._release(guest.window.host_offset, guest.window.size)

    def _allocate(self, size: int) -> int:
        size = -(-size // WINDOW_ALIGN) * WINDOW_ALIGN
        for i, (offset, length) in enumerate(self._windows):
            if length >= size:
                self._windows[i] = (offset + size, length - size)
                return offset
        free = sum(length for _, length in self._windows) // MIB
        raise VmmError(f"host RAM is full: a guest of {size // MIB} MiB does not fit ({free} MiB free)")

    def _release(self, offset: int, size: int) -> None:
        size = -(-size // WINDOW_ALIGN) * WINDOW_ALIGN
        self._windows.append((offset, size))
        self._windows.sort()
        merged: list[tuple[int, int]] = []
        for off, length in self._windows:
            if merged and merged[-1][0] + merged[-1][1] == off:
                merged[-1] = (merged[-1][0], merged[-1][1] + length)
            else:
                merged.append((off, length))
        self._windows = merged

    def host_map(self) -> list[tuple[int, int, str]]:
        """Host RAM by owner: (host-physical start, end, "shadow pool" / guest name / "free")."""
        base = self.host_ram.base
        regions = [(base, base + SHADOW_POOL_SIZE, f"shadow pool ({self.pool.used} of {self.pool.pages} pages used)")]
        for g in self.guests:
            regions.append((g.window.host_base, g.window.host_base + g.window.size, g.name))
        for off, length in self._windows:
            if length:
                regions.append((base + off, base + off + length, "free"))
        return sorted(regions)

    # --- the world switch ----------------------------------------------------------------

    def load(self, guest: Guest) -> None:
        """Put `guest` on the real hart."""
        if self.loaded is guest:
            return
        if self.loaded is not None:
            self.unload()
        hart = self.hart
        v = guest.vcpu
        hart.x[:] = v.x
        v.x = hart.x  # while loaded, the guest's registers are the real ones
        hart.priv = C.U
        lo, hi = guest.window.host_base, guest.window.host_base + guest.window.size
        pool_lo = self.host_ram.base
        pool_hi = pool_lo + SHADOW_POOL_SIZE
        # PMP: the guest's window, read-write-execute; the shadow pool, readable (for
        # the real MMU's walks); nothing else.  Entries 1 and 3 are TOR.
        hart.pmpaddr[:4] = [lo >> 2, hi >> 2, pool_lo >> 2, pool_hi >> 2]
        hart.pmpcfg[0] = (0x08 | 7) << 8 | (0x08 | 1) << 24
        # No flush: every kept address space belongs to one guest (its shadow roots)
        # and was filled under that guest's own PMP.
        hart._rebuild_pmp(flush=False)
        hart.trap_xret = guest.remedy == "hw"
        self.loaded = guest
        guest.current = None
        self.world_switches += 1

    def unload(self) -> None:
        guest = self.loaded
        if guest is None:
            return
        v = guest.vcpu
        v.x = list(self.hart.x)
        self.loaded = None

    def _enter(self, guest: Guest) -> None:
        """Point the real hart at the shadow for the guest's current mode, at its pc."""
        hart = self.hart
        v = guest.vcpu
        table = guest.shadow()
        if guest.current is not table or hart.satp != table.satp:
            guest.current = table
            hart.switch_address_space(table.satp)
        hart.pc = v.pc
        hart.priv = C.U
        # The naive part: the guest's supervisor state sits in the real CSRs, so an
        # SRET the flawed hardware lets run goes where the guest kernel meant.
        hart.sepc = v.sepc
        hart.mepc = MRET_DOOR
        hart.mstatus = 0

    # --- running -----------------------------------------------------------------------

    def run_slice(self, guest: Guest, cycles: int | None = None, *, exact: bool = False) -> None:
        """Run `guest` for up to `cycles` of its virtual time (default: one slice), or
        until it has made `slice_exits` exits (so a guest that traps all the time does
        not hold the host for long).  The end may run a few instructions over (to the
        end of a translated block) unless `exact`; either way it is deterministic."""
        if guest.state is not GuestState.RUNNING:
            return
        if self.before_slice is not None:
            self.before_slice(guest)
            if guest.state is not GuestState.RUNNING:
                return
        self.slices_run += 1
        v = guest.vcpu
        hart = self.hart
        end = v.cycles + (cycles or self.slice_cycles)
        exits_left = self.slice_exits
        guest.slices += 1
        try:
            self.load(guest)
            clock = v.clock
            while guest.state is GuestState.RUNNING and exits_left > 0:
                guest.passes += 1
                if guest.passes == guest.replay_due:
                    guest.replay_feed(guest)
                if guest.input:
                    guest.offer_input()
                if v.cycles >= clock.alarm_cycle:
                    clock.fire_due()
                if v.halted is not None and guest._check_halt():
                    return
                if v.mip & v.mie:
                    v.sleeping = False  # WFI ends when an enabled interrupt is pending, taken or not
                    guest.deliver_interrupt()
                if v.sleeping:
                    alarm = v.clock.alarm_cycle
                    if alarm >= NEVER:
                        if not guest.input:
                            guest.state = GuestState.IDLE
                            guest.wake.clear()
                        return
                    target = min(alarm, end)
                    if self.realtime:
                        # Sleeping time may not run ahead of the wall clock.
                        allowed = guest.wall_cycles()
                        if allowed <= v.cycles:
                            guest.asleep_until = time.perf_counter() + (target - v.cycles) / TIMEBASE_HZ
                            return
                        target = min(target, allowed)
                    if target > v.cycles:
                        v.idle_cycles += target - v.cycles
                    if v.cycles >= end:
                        return
                    continue
                now = v.cycles
                if now >= end:
                    return
                alarm = clock.alarm_cycle - now  # exact: the guest's timer fires right there
                if alarm <= 0:
                    continue
                if guest.instruction_limit is not None:
                    left = guest.instruction_limit - v.icount
                    if left <= 0:
                        guest.state = GuestState.STOPPED
                        guest.reason = LIMIT_REASON
                        return
                    alarm = min(alarm, left)
                self._enter(guest)
                before = hart.icount
                if exact:
                    exit_ = hart.run(min(alarm, end - now))
                else:
                    exit_ = hart.run(alarm, soft=end - now)  # the slice's end may run a block over
                ran = hart.icount - before
                v.pc = hart.pc
                v.icount += ran
                guest.direct_instructions += ran
                if exit_.kind is ExitKind.TRAP:
                    exits_left -= 1
                    guest._stalled = 0 if ran else guest._stalled + 1
                    if guest._stalled > STUCK_EXITS:
                        raise GuestCrash("stuck: it traps again and again without retiring an instruction")
                    guest.handle_exit(exit_)
                    guest._check_halt()
                elif exit_.kind is not ExitKind.BUDGET:
                    raise GuestCrash(f"unexpected exit from the real hart: {exit_.describe()}")
                else:
                    guest._stalled = 0
        except GuestCrash as exc:
            guest.crash(str(exc))
        except ShadowPoolFull as exc:
            guest.crash(str(exc))
        except Exception as exc:  # noqa: BLE001 -- a bug of the VMM's: it costs this guest only
            guest.crash(f"the VMM could not emulate this: {type(exc).__name__}: {exc}")

    def step(self, guest: Guest) -> None:
        """Single-step a paused (or running) guest: one instruction retired, or one
        exit handled.  It stays (or becomes) paused; one a debugger holds stays held."""
        if guest.state.finished:
            return
        held = guest.state is GuestState.DEBUG
        guest.state = GuestState.RUNNING
        before = (guest.vcpu.icount, guest.log.total)
        for _ in range(64):  # a few hidden faults may come before the instruction retires
            self.run_slice(guest, 1, exact=True)
            if guest.state is not GuestState.RUNNING or (guest.vcpu.icount, guest.log.total) != before:
                break
        if guest.state is GuestState.RUNNING or guest.state is GuestState.IDLE:
            guest.state = GuestState.DEBUG if held else GuestState.PAUSED

    def run_round(self) -> bool:
        """One slice for every running guest, in order; False when none ran."""
        ran = False
        for guest in list(self.guests):
            if guest.state is GuestState.RUNNING:
                self.run_slice(guest)
                ran = True
        return ran

    def run(self, max_rounds: int | None = None) -> None:
        """Run rounds until no guest can run (all finished, paused or idle)."""
        rounds = 0
        while self.run_round():
            rounds += 1
            if max_rounds is not None and rounds >= max_rounds:
                return

    async def serve(self, guest: Guest) -> None:
        """The asyncio task of one guest: a slice, then let everyone else have the loop."""
        while guest in self.guests:
            if guest.state is GuestState.RUNNING:
                self.run_slice(guest)
                if guest.debug_stub is not None:
                    guest.debug_stub.guest_changed()  # a breakpoint, a halt, a crash: tell the debugger
                wait = guest.asleep_until - time.perf_counter() if guest.asleep_until else 0
                guest.asleep_until = 0.0
                # A guest sleeping ahead of the wall clock (realtime) naps a little;
                # the wake event (input, a frame) cuts the nap short.
                if wait > 0:
                    guest.wake.clear()
                    try:
                        await asyncio.wait_for(guest.wake.wait(), min(wait, 0.02))
                    except TimeoutError:
                        pass
                else:
                    await asyncio.sleep(0)
            elif guest.state.finished:
                if guest.debug_stub is not None:
                    guest.debug_stub.guest_changed()
                return
            else:
                guest.wake.clear()
                if guest.state is not GuestState.RUNNING:
                    await guest.wake.wait()

    def close(self) -> None:
        for guest in list(self.guests):
            guest.board.close()
