"""The CSR file: reads, writes, WARL legalisation and access rules.

`csr_read`/`csr_write` are raw (no privilege checks): the VMM uses them for world
switches.  `check_csr_access` applies the rules an instruction is subject to:
the address encodes read-only-ness and the lowest privilege (spec 2.1), counters
obey mcounteren/scounteren (3.1.11), satp obeys mstatus.TVM (3.1.6.5).
`sstatus`, `sie` and `sip` are views of the machine registers, not copies.
"""

from __future__ import annotations

from machine.cpu import csrs as C
from machine.cpu.trap import Trap
from machine.cpu.triggers import DISABLED, TRIGGER_CSRS, TRIGGERS

M32 = 0xFFFF_FFFF
M64 = (1 << 64) - 1
# misa: MXL=1 (RV32), extensions A, C, I, M, S, U.
MISA = (1 << 30) | (1 << 0) | (1 << 2) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20)
# Exceptions that may be delegated to S-mode; ECALL from M cannot be (3.1.8).
MEDELEG_WRITABLE = 0xB3FF & ~(1 << C.ECALL_FROM_M)
COUNTER_LO = range(C.CYCLE, C.HPMCOUNTER31 + 1)
COUNTER_HI = range(C.CYCLEH, C.HPMCOUNTER31H + 1)
ZERO_CSRS = frozenset(
    list(range(C.MHPMCOUNTER3, C.MHPMCOUNTER31 + 1))
    + list(range(C.MHPMCOUNTER3H, C.MHPMCOUNTER31H + 1))
    + list(range(C.MHPMEVENT3, C.MHPMEVENT31 + 1))
    + [C.MVENDORID, C.MARCHID, C.MIMPID, C.MHARTID, C.MCONFIGPTR, C.MSTATUSH, C.MENVCFGH, C.MCOUNTINHIBIT]
)
IMPLEMENTED = frozenset(C.CSR_NAMES) - {0x001, 0x002, 0x003}  # no F extension


class CsrMixin:
    """Control and status registers; mixed into `Hart`."""

    def _init_csrs(self) -> None:
        self.mstatus = 0
        self.medeleg = self.mideleg = 0
        self.mie = 0
        self.mip_sw = 0  # software-written bits of mip (SSIP, STIP, SEIP)
        self.mip_hw = 0  # bits driven by devices (MSIP, MTIP, MEIP, SEIP)
        self.mtvec = self.stvec = 0
        self.mscratch = self.sscratch = 0
        self.mepc = self.sepc = 0
        self.mcause = self.scause = 0
        self.mtval = self.stval = 0
        self.mcounteren = self.scounteren = 0
        self.menvcfg = self.senvcfg = 0
        self.satp = 0
        self.pmpcfg = [0] * 4
        self.pmpaddr = [0] * 16
        self.cycle_offset = 0  # mcycle = cycles + cycle_offset
        self.instret_offset = 0  # minstret = icount + instret_offset
        self.tselect = 0
        self.tdata1 = [DISABLED] * TRIGGERS
        self.tdata2 = [0] * TRIGGERS

    @property
    def mip(self) -> int:
        return self.mip_hw | self.mip_sw

    @property
    def cycles(self) -> int:
        return self.icount + self.idle_cycles

    # --- access rules ---------------------------------------------------------------

    def check_csr_access(self, num: int, write: bool) -> None:
        """Raise illegal-instruction if the current privilege may not do this access."""
        priv = self.priv
        if num not in IMPLEMENTED:
            raise Trap(C.ILLEGAL_INSN, self._insn)
        if write and (num >> 10) == 3:
            raise Trap(C.ILLEGAL_INSN, self._insn)
        if priv < (num >> 8) & 3:
            raise Trap(C.ILLEGAL_INSN, self._insn)
        if num in COUNTER_LO or num in COUNTER_HI:
            bit = 1 << (num & 31)
            if priv < C.M and not self.mcounteren & bit:
                raise Trap(C.ILLEGAL_INSN, self._insn)
            if priv == C.U and not self.scounteren & bit:
                raise Trap(C.ILLEGAL_INSN, self._insn)
        if num == C.SATP and priv == C.S and self.mstatus & C.MSTATUS_TVM:
            raise Trap(C.ILLEGAL_INSN, self._insn)
        if num in TRIGGER_CSRS and not self.trigger_count:
            raise Trap(C.ILLEGAL_INSN, self._insn)

    # --- reads -----------------------------------------------------------------------

    def csr_read(self, num: int) -> int:
        field = _FIELD.get(num)
        if field is not None:  # a plain field (none of the cases below): the common read, first
            return getattr(self, field)
        if num in ZERO_CSRS:
            return 0
        if num in (C.CYCLE, C.MCYCLE):
            return (self.cycles + self.cycle_offset) & M32
        if num in (C.CYCLEH, C.MCYCLEH):
            return ((self.cycles + self.cycle_offset) >> 32) & M32
        if num in (C.INSTRET, C.MINSTRET):
            return (self.icount + self.instret_offset) & M32
        if num in (C.INSTRETH, C.MINSTRETH):
            return ((self.icount + self.instret_offset) >> 32) & M32
        if num == C.TIME:
            return self.clock.mtime() & M32
        if num == C.TIMEH:
            return self.clock.mtime() >> 32
        if C.HPMCOUNTER3 <= num <= C.HPMCOUNTER31 or C.HPMCOUNTER3H <= num <= C.HPMCOUNTER31H:
            return 0
        if num == C.SSTATUS:
            return self.mstatus & C.SSTATUS_MASK
        if num == C.SIE:
            return self.mie & self.mideleg
        if num == C.SIP:
            return self.mip & self.mideleg
        if num == C.MISA:
            return MISA
        if C.PMPCFG0 <= num < C.PMPCFG0 + 4:
            return self.pmpcfg[num - C.PMPCFG0]
        if C.PMPADDR0 <= num < C.PMPADDR0 + 16:
            return self.pmpaddr[num - C.PMPADDR0]
        if num == C.MIP:
            return self.mip
        if num in TRIGGER_CSRS:
            return self._trigger_read(num)
        raise KeyError(num)  # (never: check_csr_access lets only implemented CSRs through)

    # --- writes ----------------------------------------------------------------------

    def csr_write(self, num: int, value: int, *, by_instruction: bool = True) -> None:
        """Write with WARL legalisation; effects on translation and interrupts follow.

        `by_instruction`: a CSR instruction is doing the write, and its own retirement
        must not count on top of a written mcycle/minstret (3.1.10).  A monitor setting
        state from outside (a world switch) passes False, and reads back what it wrote.
        """
        value &= M32
        step = 1 if by_instruction else 0
        if num in ZERO_CSRS or num == C.MISA:
            return
        if num == C.MSTATUS:
            self._write_mstatus((self.mstatus & ~C.MSTATUS_WRITABLE) | (value & C.MSTATUS_WRITABLE))
        elif num == C.SSTATUS:
            mask = C.SSTATUS_MASK & C.MSTATUS_WRITABLE
            self._write_mstatus((self.mstatus & ~mask) | (value & mask))
        elif num == C.MIE:
            self.mie = value & C.ALL_INTERRUPTS
        elif num == C.SIE:
            self.mie = (self.mie & ~self.mideleg) | (value & self.mideleg)
        elif num == C.MIP:
            self.mip_sw = value & C.MIP_WRITABLE
        elif num == C.SIP:
            mask = self.mideleg & (1 << C.SSIP)
            self.mip_sw = (self.mip_sw & ~mask) | (value & mask)
        elif num == C.MEDELEG:
            self.medeleg = value & MEDELEG_WRITABLE
        elif num == C.MIDELEG:
            self.mideleg = value & C.S_INTERRUPTS
        elif num in (C.MTVEC, C.STVEC):
            if value & 3 < 2:  # modes 2 and 3 are reserved: keep the old value
                setattr(self, _FIELD[num], value)
        elif num in (C.MEPC, C.SEPC):
            setattr(self, _FIELD[num], value & ~1)  # IALIGN=16: only bit 0 is always zero
        elif num == C.SATP:
            self.satp = value
            self.view_changed()
        elif num in (C.MENVCFG, C.SENVCFG):
            setattr(self, _FIELD[num], value & 1)  # only FIOM exists without more extensions
        elif num in (C.MCYCLE, C.MCYCLEH):
            self.cycle_offset = _written_offset(self.cycles, self.cycle_offset, num == C.MCYCLEH, value, step)
        elif num in (C.MINSTRET, C.MINSTRETH):
            self.instret_offset = _written_offset(self.icount, self.instret_offset, num == C.MINSTRETH, value, step)
        elif C.PMPCFG0 <= num < C.PMPCFG0 + 4:
            self._write_pmpcfg(num - C.PMPCFG0, value)
        elif C.PMPADDR0 <= num < C.PMPADDR0 + 16:
            self._write_pmpaddr(num - C.PMPADDR0, value)
        elif num in TRIGGER_CSRS:
            self._trigger_write(num, value)
        else:
            setattr(self, _FIELD[num], value)

    def _write_mstatus(self, value: int) -> None:
        if (value >> C.MSTATUS_MPP_SHIFT) & 3 == 2:  # reserved MPP: legalise to U
            value &= ~C.MSTATUS_MPP
        changed = self.mstatus ^ value
        self.mstatus = value
        if changed & (C.MSTATUS_SUM | C.MSTATUS_MXR):
            self.view_changed()

    def _write_pmpcfg(self, index: int, value: int) -> None:
        old = self.pmpcfg[index]
        new = 0
        for k in range(4):
            o = (old >> 8 * k) & 0xFF
            n = (value >> 8 * k) & 0xFF
            if o & 0x80:
                n = o  # locked
            else:
                n &= 0x9F  # bits 5-6 are reserved zero
                if n & 3 == 2:  # R=0 W=1 is reserved: drop W
                    n &= ~2
            new |= n << 8 * k
        self.pmpcfg[index] = new
        self._rebuild_pmp()

    def _pmp_cfg(self, i: int) -> int:
        return (self.pmpcfg[i // 4] >> 8 * (i % 4)) & 0xFF

    def _write_pmpaddr(self, i: int, value: int) -> None:
        if self._pmp_cfg(i) & 0x80:
            return
        if i < 15 and self._pmp_cfg(i + 1) & 0x80 and (self._pmp_cfg(i + 1) >> 3) & 3 == 1:
            return  # a locked TOR entry locks the address below it too
        self.pmpaddr[i] = value
        self._rebuild_pmp()


def _written_offset(count: int, offset: int, high: bool, value: int, step: int) -> int:
    """The offset that makes a 64-bit counter (`count` + `offset`) read back with one
    half replaced by `value` once the writing instruction's own `step` has counted.

    Zicsr: a CSR instruction reading instret "reads the value prior to the execution
    of the instruction"; one writing it, "the write is done instead of the increment"
    (and 3.1.10: "Any CSR write takes effect after the writing instruction has
    otherwise completed").  So the next instruction reads exactly what was written,
    and the half not written keeps what it held before the writer: writing minstret
    at 0xFFFFFFFF carries nothing into minstreth, writing minstreth leaves minstret
    as it was (Spike agrees).  mcycle follows the same rule.
    """
    now = (count + offset) & M64
    new = (value << 32) | (now & M32) if high else (now & ~M32) | value
    return new - count - step


_FIELD = {
    C.MSTATUS: "mstatus", C.MEDELEG: "medeleg", C.MIDELEG: "mideleg", C.MIE: "mie",
    C.MTVEC: "mtvec", C.STVEC: "stvec", C.MSCRATCH: "mscratch", C.SSCRATCH: "sscratch",
    C.MEPC: "mepc", C.SEPC: "sepc", C.MCAUSE: "mcause", C.SCAUSE: "scause",
    C.MTVAL: "mtval", C.STVAL: "stval", C.MCOUNTEREN: "mcounteren",
    C.SCOUNTEREN: "scounteren", C.MENVCFG: "menvcfg", C.SENVCFG: "senvcfg", C.SATP: "satp",
}  # fmt: skip
