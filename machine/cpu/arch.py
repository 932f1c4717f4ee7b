"""The architectural state of one RV32 hart (privileged spec 1.12), without an engine.

`ArchState` holds the registers and CSRs and carries out the spec's state machine:
trap entry and delegation, interrupt selection, xRET, WFI, SFENCE.VMA and CSR
instructions, Sv32 translation and PMP.  `machine.cpu.hart.Hart` adds the engine
that runs code; the VMM's virtual harts use `ArchState` as it is, so a guest's
virtual CSRs obey exactly the rules the real hart does.

`flawed_eret` models hardware whose xRET is not privileged (it runs in U-mode
instead of trapping); `trap_xret` is the execution control that makes xRET in U-mode
trap again even then — the "hardware assist" remedy.  In `host_mode` a trap that
would enter M-mode is returned as an `Exit` instead (see `Hart`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from machine.bus import Bus
from machine.clock import Clock
from machine.cpu import csrs as C
from machine.cpu.csrfile import CsrMixin
from machine.cpu.isa import Decoded
from machine.cpu.mmu import MmuMixin
from machine.cpu.trap import Exit, ExitKind, Trap
from machine.cpu.triggers import DISABLED, TRIGGERS, TriggerMixin
from machine.memory import Ram

_ECALL_CAUSE = {C.U: C.ECALL_FROM_U, C.S: C.ECALL_FROM_S, C.M: C.ECALL_FROM_M}


class ArchState(CsrMixin, TriggerMixin, MmuMixin):
    """The architectural state of a hart and the privileged spec's state machine:
    CSRs, traps and interrupts, xRET/WFI/SFENCE semantics, Sv32 walks and PMP.  No
    engine: `Hart` adds one to run code; a VMM's virtual hart uses this alone."""

    def __init__(self, ram: Ram, bus: Bus | None = None, *, cycles_per_tick: int = 1):
        self.ram = ram
        self.bus = bus if bus is not None else Bus()
        self.x = [0] * 32
        self.pc = ram.base
        self.priv = C.M
        self.icount = 0  # instructions retired
        self.idle_cycles = 0  # cycles skipped while sleeping in WFI
        self.clock = Clock(lambda: self.icount + self.idle_cycles, cycles_per_tick)
        self.host_mode = False
        self.flawed_eret = False
        self.trap_xret = False
        self.flawed_xret_pc: int | None = None  # where the flaw last let an xRET run in U-mode
        self.stepping = False
        self.exact = False  # executing on the step path: the instruction count is exact
        self.sleeping = False
        self.halted: tuple[str, int] | None = None
        self.tracer: Callable[[ArchState, int], None] | None = None
        self.on_trap: Callable[[int, int, int, int, int], None] | None = None
        self._insn = 0  # bits of the system instruction being executed (for tval)
        self._init_csrs()
        self._init_mmu()
        self._init_triggers()

    def reset(self, pc: int | None = None) -> None:
        """Power-on state (3.4): M-mode, pc at `pc` (RAM base by default), CSRs cleared."""
        self.x[:] = [0] * 32
        self.pc = self.ram.base if pc is None else pc
        self.priv = C.M
        self.sleeping = False
        self.halted = None
        self._init_csrs()
        self.reservation = None
        self._pmp_regions = []
        self._pmp_pages.clear()  # PMP decisions cached from the old regions
        self._rebuild_triggers()
        self.flush_tlb()

    def _flush_jump_caches(self, every_space: bool = False) -> None:
        """No translated code here; the engine (`Hart`) overrides this."""

    # --- snapshots ------------------------------------------------------------------------

    def save_state(self) -> dict:
        """The architectural state as plain data (ints, lists, None): registers, pc,
        privilege, every field the CSR file keeps (WARL-legalised values, the software
        and device halves of mip, the counter offsets, PMP), the LR/SC reservation,
        WFI sleep, a halt not yet reported, and the retired/idle counters.  The clock
        is the board's to save (its alarm belongs to the CLINT).  Caches — TLBs, PMP
        regions, translated code — are not state: `load_state` rebuilds them."""
        state = {name: getattr(self, name) for name in _SAVED_FIELDS + CSR_FIELDS}
        state["x"] = list(self.x)
        state["pmpcfg"] = list(self.pmpcfg)
        state["pmpaddr"] = list(self.pmpaddr)
        state["tdata1"] = list(self.tdata1)
        state["tdata2"] = list(self.tdata2)
        state["halted"] = list(self.halted) if self.halted is not None else None
        return state

    def load_state(self, state: dict) -> None:
        """Put back what `save_state` returned, then drop every cached translation and
        recompute PMP from the restored pmpcfg/pmpaddr."""
        state = {**_NO_TRIGGERS, **state}  # saved before the trigger module existed
        for name in _SAVED_FIELDS + CSR_FIELDS:
            setattr(self, name, state[name])
        self.x[:] = [value & 0xFFFF_FFFF for value in state["x"]]
        self.x[0] = 0
        self.pmpcfg = list(state["pmpcfg"])
        self.pmpaddr = list(state["pmpaddr"])
        self.tdata1 = list(state["tdata1"])
        self.tdata2 = list(state["tdata2"])
        self.halted = tuple(state["halted"]) if state["halted"] is not None else None
        self._rebuild_pmp()
        self._rebuild_triggers()
        self.flush_tlb()

    # --- pins -------------------------------------------------------------------------

    def set_pending(self, bit: int, level: bool) -> None:
        """An interrupt pin (MSIP, MTIP, MEIP from the CLINT/PLIC, SEIP from the PLIC)."""
        if level:
            self.mip_hw |= 1 << bit
        else:
            self.mip_hw &= ~(1 << bit)

    def request_halt(self, kind: str, code: int = 0) -> None:
        """Power-off, reset or a test result: `run` returns a HALT exit before the next
        instruction."""
        self.halted = (kind, code)

    # --- interrupts and traps (3.1.9, 3.3.1) ----------------------------------------------

    def pending_interrupt(self) -> int | None:
        """The interrupt the hart would take now, or None."""
        pend = self.mip & self.mie
        if not pend:
            return None
        priv = self.priv
        m_pend = pend & ~self.mideleg
        if m_pend and (priv < C.M or self.mstatus & C.MSTATUS_MIE):
            return _highest(m_pend)
        s_pend = pend & self.mideleg
        if s_pend and (priv < C.S or (priv == C.S and self.mstatus & C.MSTATUS_SIE)):
            return _highest(s_pend)
        return None

    def take_trap(self, cause: int, tval: int, epc: int, insn: int | None = None) -> Exit | None:
        """Enter the trap handler the spec chooses, or in host mode report the trap
        (with the instruction's bits: `insn` if the caller has them, else fetched)."""
        interrupt = bool(cause & C.INTERRUPT_BIT)
        code = cause & 0x7FFF_FFFF
        deleg = self.mideleg if interrupt else self.medeleg
        priv = self.priv
        status = self.mstatus
        if priv <= C.S and (deleg >> code) & 1:
            self.scause, self.sepc, self.stval = cause, epc, tval
            status &= ~(C.MSTATUS_SPP | C.MSTATUS_SPIE | C.MSTATUS_SIE)
            if priv == C.S:
                status |= C.MSTATUS_SPP
            if self.mstatus & C.MSTATUS_SIE:
                status |= C.MSTATUS_SPIE
            self.priv = C.S
            vector = self.stvec
        else:
            if self.host_mode:
                # Reported, not taken: the LR reservation stays, for the monitor to end
                # only if the guest itself takes a trap (a hidden page fault or an
                # emulated device access is no trap to the guest's hardware).
                if insn is None:
                    insn = 0 if interrupt else self._insn_bits(epc, cause)
                return Exit(ExitKind.TRAP, cause, tval, epc, insn, priv)
            self.mcause, self.mepc, self.mtval = cause, epc, tval
            status &= ~(C.MSTATUS_MPP | C.MSTATUS_MPIE | C.MSTATUS_MIE)
            status |= priv << C.MSTATUS_MPP_SHIFT
            if self.mstatus & C.MSTATUS_MIE:
                status |= C.MSTATUS_MPIE
            self.priv = C.M
            vector = self.mtvec
        self.mstatus = status
        self.reservation = None
        base = vector & ~3
        self.pc = base + 4 * code if interrupt and vector & 1 else base
        if self.on_trap is not None:
            self.on_trap(cause, tval, epc, priv, self.priv)
        return None

    def _insn_bits(self, epc: int, cause: int) -> int:
        if cause in (C.INSN_ACCESS_FAULT, C.INSN_PAGE_FAULT):
            return 0  # the instruction itself could not be fetched
        try:
            return self.fetch_insn(epc)
        except Trap:
            return 0

    # --- system instructions ---------------------------------------------------------------

    def exec_system(self, d: Decoded, pc: int) -> int:
        """Execute a SYSTEM-opcode instruction or FENCE.I; return the next pc."""
        name = d.name
        priv = self.priv
        self._insn = d.word
        if name.startswith("csr"):
            self._exec_csr(d)
        elif name == "ecall":
            raise Trap(_ECALL_CAUSE[priv], 0)
        elif name == "ebreak":
            raise Trap(C.BREAKPOINT, pc)
        elif name == "mret":
            if priv < C.M:
                if not self._flaw_lets_xret_run():
                    raise Trap(C.ILLEGAL_INSN, d.word)
                self.flawed_xret_pc = pc
            return self._mret()
        elif name == "sret":
            if priv == C.U:
                if not self._flaw_lets_xret_run():
                    raise Trap(C.ILLEGAL_INSN, d.word)
                self.flawed_xret_pc = pc
            if priv == C.S and self.mstatus & C.MSTATUS_TSR:
                raise Trap(C.ILLEGAL_INSN, d.word)
            return self._sret()
        elif name == "wfi":
            # U-mode may never wait; S-mode may not when TW is set (3.1.6.5).
            if priv == C.U or (priv == C.S and self.mstatus & C.MSTATUS_TW):
                raise Trap(C.ILLEGAL_INSN, d.word)
            if not self.mip & self.mie:
                self.sleeping = True
        elif name == "sfence.vma":
            if priv == C.U or (priv == C.S and self.mstatus & C.MSTATUS_TVM):
                raise Trap(C.ILLEGAL_INSN, d.word)
            if d.rs1:
                self.flush_tlb_page(self.x[d.rs1])  # one address (any ASID: the TLBs keep none)
            elif d.rs2:
                self.flush_tlb_asid(self.x[d.rs2] & 0x1FF)  # one address space (4.2.1)
            else:
                self.flush_tlb()  # every address in every address space
        elif name == "fence.i":
            self.flush_code()
        return (pc + d.length) & 0xFFFF_FFFF

    def _flaw_lets_xret_run(self) -> bool:
        return self.priv == C.U and self.flawed_eret and not self.trap_xret

    def _mret(self) -> int:
        status = self.mstatus
        new_priv = (status >> C.MSTATUS_MPP_SHIFT) & 3
        status &= ~(C.MSTATUS_MPP | C.MSTATUS_MIE)
        if status & C.MSTATUS_MPIE:
            status |= C.MSTATUS_MIE
        status |= C.MSTATUS_MPIE
        if new_priv != C.M:
            status &= ~C.MSTATUS_MPRV
        self.mstatus = status
        self.priv = new_priv
        return self.mepc

    def _sret(self) -> int:
        status = self.mstatus
        new_priv = C.S if status & C.MSTATUS_SPP else C.U
        status &= ~(C.MSTATUS_SPP | C.MSTATUS_SIE | C.MSTATUS_MPRV)
        if status & C.MSTATUS_SPIE:
            status |= C.MSTATUS_SIE
        status |= C.MSTATUS_SPIE
        self.mstatus = status
        self.priv = new_priv
        return self.sepc

    def _exec_csr(self, d: Decoded) -> None:
        name, num, rd = d.name, d.imm, d.rd
        operand = d.rs1 if name.endswith("i") else self.x[d.rs1]
        if name in ("csrrw", "csrrwi"):
            self.check_csr_access(num, True)
            old = self.csr_read(num) if rd else 0  # csrrw with rd=x0 does not read (2.8)
            self.csr_write(num, operand)
        else:
            write = d.rs1 != 0
            self.check_csr_access(num, write)
            old = self.csr_read(num)
            if write:
                base = old
                if num == C.MIP:
                    base = self.mip_sw  # read-modify-write sees the software bits (3.1.9)
                elif num == C.SIP:
                    base = self.mip_sw & self.mideleg
                self.csr_write(num, base | operand if name.startswith("csrrs") else base & ~operand)
        if rd:
            self.x[rd] = old


def _csr_fields() -> tuple[str, ...]:
    """Every attribute the CSR file keeps, as `_init_csrs` creates them (so a field
    added there is saved in snapshots without anyone remembering to list it)."""
    probe = SimpleNamespace()
    CsrMixin._init_csrs(probe)  # type: ignore[arg-type]
    return tuple(vars(probe))


CSR_FIELDS = _csr_fields()
_NO_TRIGGERS = {"tselect": 0, "tdata1": [DISABLED] * TRIGGERS, "tdata2": [0] * TRIGGERS}
_SAVED_FIELDS = ("pc", "priv", "icount", "idle_cycles", "sleeping", "reservation", "flawed_xret_pc", "_insn",
                 "flawed_eret", "trap_xret")  # fmt: skip


def _highest(pending: int) -> int:
    for irq in C.INTERRUPT_PRIORITY:
        if pending >> irq & 1:
            return irq
    raise AssertionError("pending bits outside the interrupt set")  # pragma: no cover
