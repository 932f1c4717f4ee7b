"""Trap entry and return (privileged spec 1.12, 3.1.6-3.1.9, 3.3.2, 4.1.1).

Every test runs in both engine modes (single-step and translated blocks).
"""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C
from machine.cpu.trap import ExitKind

from .privharness import ENGINE_IDS, ENGINE_MODES, HALT, HALT_HANDLER, PMP_ALL, enter, machine

pytestmark = pytest.mark.parametrize("stepping", ENGINE_MODES, ids=ENGINE_IDS)

MPP_S = 1 << C.MSTATUS_MPP_SHIFT
MPP_M = 3 << C.MSTATUS_MPP_SHIFT
ILLEGAL_WORD = 0xFFFF_FFFF
MRET, SRET, WFI = 0x3020_0073, 0x1020_0073, 0x1050_0073


def in_mode(mode: str, body: str, *, setup: str = "") -> str:
    """A program: PMP open, mtvec -> trap_halt, `setup` in M, then `body` in `mode`."""
    return f"""
_start:
        la   t0, trap_halt
        csrw mtvec, t0
{PMP_ALL}
{setup}
{enter(mode, "body")}
body:
{body}
spin:   j    spin
{HALT_HANDLER}
"""


# --- where traps go ---------------------------------------------------------------


def test_direct_mtvec_sends_exceptions_to_base(stepping):
    m = machine(in_mode("M", "ecall"), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_M
    assert m.hart.mepc == m.sym("body")


VECTORED = f"""
_start:
        la   t0, vectors
        ori  t0, t0, 1
        csrw mtvec, t0
        {{trigger}}
        li   a0, 99             # not reached when the trap is taken
        j    done
        .align 6
vectors:
        j    on_exception       # base + 0: every exception
        j    done
        j    done
        j    on_msi             # base + 4*3: machine software interrupt
        j    done
        j    done
        j    done
        j    on_mti             # base + 4*7: machine timer interrupt
on_exception:
        li   a0, 1
        j    done
on_msi: li   a0, 3
        j    done
on_mti: li   a0, 7
done:
{HALT}
"""


def test_vectored_mtvec_sends_exceptions_to_base(stepping):
    m = machine(VECTORED.replace("{trigger}", "ebreak"), stepping=stepping)
    m.run_to_halt()
    assert m.hart.x[10] == 1
    assert m.hart.mcause == C.BREAKPOINT


def test_vectored_mtvec_sends_interrupts_to_base_plus_four_times_cause(stepping):
    trigger = """
        li   t0, 8              # mie.MSIE
        csrw mie, t0
        li   t1, 0x2000000      # CLINT msip
        li   t2, 1
        sw   t2, 0(t1)
        csrsi mstatus, 8        # MIE
"""
    m = machine(VECTORED.replace("{trigger}", trigger), stepping=stepping)
    m.run_to_halt()
    assert m.hart.x[10] == 3
    assert m.hart.mcause == C.INTERRUPT_BIT | C.IRQ_M_SOFT


def test_vectored_mtvec_timer_interrupt_goes_to_entry_seven(stepping):
    trigger = """
        li   t1, 0x2004000      # CLINT mtimecmp
        sw   zero, 4(t1)
        sw   zero, 0(t1)        # mtimecmp = 0: due now
        li   t0, 0x80           # mie.MTIE
        csrw mie, t0
        csrsi mstatus, 8
"""
    m = machine(VECTORED.replace("{trigger}", trigger), stepping=stepping)
    m.run_to_halt()
    assert m.hart.x[10] == 7


# --- M-mode trap entry: the CSRs it writes ----------------------------------------------


def test_trap_to_m_from_s_sets_mepc_mcause_mtval_and_status(stepping):
    setup = f"li t0, {C.MSTATUS_MPIE}; csrs mstatus, t0; li t0, 0x12345678; csrw mtval, t0"
    m = machine(in_mode("S", "ecall", setup=setup), stepping=stepping)
    m.run_to_halt()
    h = m.hart
    assert (h.mcause, h.mepc, h.mtval) == (C.ECALL_FROM_S, m.sym("body"), 0)
    # MRET into S set MIE from MPIE (1) and MPIE to 1; the trap moved MIE into MPIE.
    assert h.mstatus & (C.MSTATUS_MPP | C.MSTATUS_MPIE | C.MSTATUS_MIE) == MPP_S | C.MSTATUS_MPIE
    assert h.priv == C.M


def test_trap_from_m_with_mie_clear_leaves_mpie_clear(stepping):
    m = machine(in_mode("M", "ebreak"), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mstatus & (C.MSTATUS_MPP | C.MSTATUS_MPIE | C.MSTATUS_MIE) == MPP_M


def test_trap_from_m_with_mie_set_moves_it_to_mpie(stepping):
    m = machine(in_mode("M", "csrsi mstatus, 8; ebreak"), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mstatus & (C.MSTATUS_MPP | C.MSTATUS_MPIE | C.MSTATUS_MIE) == MPP_M | C.MSTATUS_MPIE


def test_trap_from_u_records_mpp_u(stepping):
    m = machine(in_mode("U", "ecall"), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_U
    assert m.hart.mstatus & C.MSTATUS_MPP == 0


@pytest.mark.parametrize(("mode", "cause"), [("U", 8), ("S", 9), ("M", 11)])
def test_ecall_cause_names_the_mode(stepping, mode, cause):
    m = machine(in_mode(mode, "ecall"), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == cause
    assert m.hart.mepc == m.sym("body")


def test_ebreak_sets_mtval_to_its_pc(stepping):
    m = machine(in_mode("S", "nop; nop; brk: ebreak"), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.BREAKPOINT, m.sym("brk"), m.sym("brk"))


def test_illegal_instruction_sets_mtval_to_its_bits(stepping):
    m = machine(in_mode("U", f"nop; bad: .word {ILLEGAL_WORD:#x}"), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.ILLEGAL_INSN, m.sym("bad"), ILLEGAL_WORD)


def test_illegal_instruction_first_in_a_block_sets_mtval_to_its_bits(stepping):
    m = machine(in_mode("M", f"bad: .word {ILLEGAL_WORD:#x}"), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.ILLEGAL_INSN, m.sym("bad"), ILLEGAL_WORD)


# --- delegation to S (3.1.8) ------------------------------------------------------------


S_HANDLER = f"""
        .align 2
s_trap:
{HALT}
"""


def delegated(mode: str, body: str, medeleg: int, *, setup: str = "", stvec_mode: int = 0) -> str:
    setup = f"""
        la   t0, s_trap
        ori  t0, t0, {stvec_mode}
        csrw stvec, t0
        li   t0, {medeleg:#x}
        csrw medeleg, t0
        {setup}
"""
    return in_mode(mode, body, setup=setup) + S_HANDLER


def test_delegated_ecall_from_u_goes_to_stvec(stepping):
    m = machine(delegated("U", "ecall", 1 << 8), stepping=stepping)
    m.run_to_halt()
    h = m.hart
    assert h.priv == C.S
    assert (h.scause, h.sepc, h.stval) == (C.ECALL_FROM_U, m.sym("body"), 0)
    assert h.mcause == 0 and h.mepc == m.sym("body")  # mepc still from the MRET into U
    assert h.mstatus & C.MSTATUS_SPP == 0


def test_delegated_trap_from_s_sets_spp_and_moves_sie_to_spie(stepping):
    m = machine(delegated("S", "csrsi sstatus, 2; ebreak", 1 << 3), stepping=stepping)
    m.run_to_halt()
    h = m.hart
    assert (h.scause, h.sepc, h.stval) == (C.BREAKPOINT, m.sym("body") + 4, m.sym("body") + 4)
    assert h.mstatus & (C.MSTATUS_SPP | C.MSTATUS_SPIE | C.MSTATUS_SIE) == C.MSTATUS_SPP | C.MSTATUS_SPIE


def test_delegated_trap_with_sie_clear_leaves_spie_clear(stepping):
    m = machine(delegated("U", "ecall", 1 << 8, setup=f"li t0, {C.MSTATUS_SPIE}; csrs mstatus, t0"),
                stepping=stepping)  # fmt: skip
    m.run_to_halt()
    assert m.hart.mstatus & (C.MSTATUS_SPP | C.MSTATUS_SPIE | C.MSTATUS_SIE) == 0


def test_delegated_trap_leaves_m_state_alone(stepping):
    m = machine(delegated("U", "ecall", 1 << 8, setup="li t0, 0x55; csrw mtval, t0"), stepping=stepping)
    mstatus_m_bits = C.MSTATUS_MPP | C.MSTATUS_MPIE | C.MSTATUS_MIE
    m.run_to_halt()
    assert m.hart.mtval == 0x55
    assert m.hart.mstatus & mstatus_m_bits == C.MSTATUS_MPIE  # as MRET to U left it


def test_delegated_exception_in_m_mode_stays_in_m(stepping):
    m = machine(delegated("M", f".word {ILLEGAL_WORD:#x}", 1 << C.ILLEGAL_INSN), stepping=stepping)
    m.run_to_halt()
    assert m.hart.priv == C.M
    assert m.hart.mcause == C.ILLEGAL_INSN
    assert m.hart.scause == 0


def test_undelegated_exception_from_s_goes_to_m(stepping):
    m = machine(delegated("S", "ecall", 1 << 8), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S and m.hart.scause == 0


def test_delegated_access_fault_sets_stval(stepping):
    # A load from an address with no device is an access fault; delegate it.
    m = machine(delegated("S", "li t1, 0x40000010; lw t2, 0(t1)", 1 << C.LOAD_ACCESS_FAULT), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.scause, m.hart.stval) == (C.LOAD_ACCESS_FAULT, 0x4000_0010)


def test_stvec_vectored_mode_does_not_move_exceptions(stepping):
    m = machine(delegated("U", "ecall", 1 << 8, stvec_mode=1), stepping=stepping)
    m.run_to_halt()
    assert m.hart.scause == C.ECALL_FROM_U


# --- MRET and SRET ---------------------------------------------------------------------------


def test_mret_restores_mie_from_mpie_and_enters_mpp(stepping):
    setup = f"li t0, {C.MSTATUS_MPIE}; csrs mstatus, t0"
    m = machine(in_mode("S", "nop", setup=setup), stepping=stepping)
    m.run(200)
    h = m.hart
    assert h.priv == C.S and h.pc == m.sym("spin")
    # MIE <- MPIE, MPIE <- 1, MPP <- U.
    assert h.mstatus & (C.MSTATUS_MPP | C.MSTATUS_MPIE | C.MSTATUS_MIE) == C.MSTATUS_MPIE | C.MSTATUS_MIE


def test_mret_with_mpie_clear_leaves_mie_clear(stepping):
    m = machine(in_mode("S", "nop", setup="csrsi mstatus, 8"), stepping=stepping)
    m.run(200)
    assert m.hart.mstatus & (C.MSTATUS_MPIE | C.MSTATUS_MIE) == C.MSTATUS_MPIE


def test_mret_to_u_clears_mprv(stepping):
    setup = f"li t0, {C.MSTATUS_MPRV}; csrs mstatus, t0"
    m = machine(in_mode("U", "nop", setup=setup), stepping=stepping)
    m.run(200)
    assert m.hart.priv == C.U
    assert m.hart.mstatus & C.MSTATUS_MPRV == 0


def test_mret_to_m_keeps_mprv(stepping):
    setup = f"li t0, {C.MSTATUS_MPRV}; csrs mstatus, t0"
    m = machine(in_mode("M", "nop", setup=setup), stepping=stepping)
    m.run(200)
    assert m.hart.priv == C.M
    assert m.hart.mstatus & C.MSTATUS_MPRV


def sret_program(spp: int, spie: int) -> str:
    return in_mode("S", f"""
        la   t0, after
        csrw sepc, t0
        li   t0, {C.MSTATUS_SPP | C.MSTATUS_SPIE | C.MSTATUS_SIE}
        csrc sstatus, t0
        li   t0, {(C.MSTATUS_SPP if spp else 0) | (C.MSTATUS_SPIE if spie else 0)}
        csrs sstatus, t0
        sret
        j    spin
after:  j    after
""")


def test_sret_to_u_restores_sie_from_spie(stepping):
    m = machine(sret_program(spp=0, spie=1), stepping=stepping)
    m.run(200)
    h = m.hart
    assert h.priv == C.U and h.pc == m.sym("after")
    assert h.mstatus & (C.MSTATUS_SPP | C.MSTATUS_SPIE | C.MSTATUS_SIE) == C.MSTATUS_SPIE | C.MSTATUS_SIE


def test_sret_to_s_with_spie_clear(stepping):
    m = machine(sret_program(spp=1, spie=0), stepping=stepping)
    m.run(200)
    h = m.hart
    assert h.priv == C.S and h.pc == m.sym("after")
    assert h.mstatus & (C.MSTATUS_SPP | C.MSTATUS_SPIE | C.MSTATUS_SIE) == C.MSTATUS_SPIE


def test_sret_in_m_mode_returns_to_spp(stepping):
    src = f"""
_start:
{PMP_ALL}
        la   t0, after
        csrw sepc, t0
        li   t0, {C.MSTATUS_SPP}
        csrs mstatus, t0
        sret
after:  j    after
"""
    m = machine(src, stepping=stepping)
    m.run(100)
    assert m.hart.priv == C.S and m.hart.pc == m.sym("after")


def test_mret_in_s_is_illegal(stepping):
    m = machine(in_mode("S", "mret"), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mtval, m.hart.mepc) == (C.ILLEGAL_INSN, MRET, m.sym("body"))


def test_mret_in_u_is_illegal(stepping):
    m = machine(in_mode("U", "mret"), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mtval) == (C.ILLEGAL_INSN, MRET)


def test_sret_in_u_is_illegal(stepping):
    m = machine(in_mode("U", "sret"), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mtval) == (C.ILLEGAL_INSN, SRET)


# --- CSR access rules (2.1, 2.8) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "insn"),
    [
        ("S", "csrr a0, mstatus"),
        ("S", "csrr a0, mscratch"),
        ("S", "csrw mepc, zero"),
        ("U", "csrr a0, sstatus"),
        ("U", "csrw sscratch, zero"),
        ("U", "csrr a0, satp"),
        ("U", "csrr a0, mhartid"),
        ("M", "csrw mhartid, zero"),
        ("M", "csrrs a0, mvendorid, t1"),
        ("M", "csrrc a0, mhartid, t2"),  # t2 holds 0, but rs1 != x0 still means a write
        ("M", "csrw cycle, zero"),
        ("M", "csrrwi a0, instret, 0"),
        ("M", "csrrw zero, time, zero"),
        ("M", "csrr a0, 0x7c0"),  # unimplemented (custom) CSR
        ("M", "csrr a0, fcsr"),  # no F extension
    ],
)
def test_csr_access_is_illegal(stepping, mode, insn):
    m = machine(in_mode(mode, f"li t1, 1; bad: {insn}"), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ILLEGAL_INSN
    assert m.hart.mepc == m.sym("bad")
    assert m.hart.mtval == m.word(m.sym("bad"))


@pytest.mark.parametrize(
    "insn",
    ["csrrs a0, mhartid, zero", "csrrc a0, marchid, zero", "csrrsi a0, mimpid, 0",
     "csrrci a0, mvendorid, 0", "csrr a0, cycle", "csrr a0, misa"],
)  # fmt: skip
def test_reading_read_only_csr_without_writing_is_legal(stepping, insn):
    m = machine(in_mode("M", f"{insn}; ebreak"), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.BREAKPOINT


def test_s_mode_reaches_s_csrs(stepping):
    m = machine(in_mode("S", "li t1, 0x77; csrw sscratch, t1; csrr a0, sscratch; ecall"), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    assert m.hart.x[10] == 0x77


# --- TVM, TW, TSR (3.1.6.5) and WFI --------------------------------------------------------


@pytest.mark.parametrize(
    ("bit", "insn"),
    [
        (C.MSTATUS_TVM, "csrr a0, satp"),
        (C.MSTATUS_TVM, "csrw satp, zero"),
        (C.MSTATUS_TVM, "sfence.vma"),
        (C.MSTATUS_TW, "wfi"),
        (C.MSTATUS_TSR, "sret"),
    ],
)
def test_trap_virtual_memory_wait_and_sret_controls_make_s_mode_insns_illegal(stepping, bit, insn):
    m = machine(in_mode("S", f"bad: {insn}", setup=f"li t0, {bit}; csrs mstatus, t0"), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc) == (C.ILLEGAL_INSN, m.sym("bad"))
    assert m.hart.mtval == m.word(m.sym("bad"))


@pytest.mark.parametrize("insn", ["csrr a0, satp", "sfence.vma", "wfi"])
def test_s_mode_insns_are_legal_without_the_trap_controls(stepping, insn):
    # WFI here would sleep: make an interrupt pending (delegated, but sstatus.SIE is clear)
    # so that it goes on.
    setup = "li t0, 2; csrw mideleg, t0; csrs mip, t0; csrs mie, t0"
    m = machine(in_mode("S", f"{insn}; ecall", setup=setup), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S


@pytest.mark.parametrize("bit", [C.MSTATUS_TVM, C.MSTATUS_TW, C.MSTATUS_TSR])
def test_trap_controls_do_not_affect_m_mode(stepping, bit):
    body = "csrr a0, satp; sfence.vma; la t0, 1f; csrw sepc, t0; li t0, 0x100; csrs mstatus, t0; sret; 1: ecall"
    m = machine(in_mode("M", body, setup=f"li t0, {bit}; csrs mstatus, t0"), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S  # SRET in M went on to S, and the ECALL is S's


def test_wfi_in_u_is_illegal(stepping):
    m = machine(in_mode("U", "bad: wfi"), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.ILLEGAL_INSN, m.sym("bad"), WFI)


def test_sfence_vma_in_u_is_illegal(stepping):
    m = machine(in_mode("U", "bad: sfence.vma"), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc) == (C.ILLEGAL_INSN, m.sym("bad"))


def test_run_returns_when_the_trap_handler_cannot_be_fetched(stepping):
    # mtvec = 0: nothing there, so every fetch of the handler faults again.
    m = machine("_start: csrw mtvec, zero; ebreak", stepping=stepping)
    exit_ = m.run(50)
    assert exit_.kind is ExitKind.BUDGET
    assert m.hart.mcause == C.INSN_ACCESS_FAULT and m.hart.mepc == 0


def test_sret_clears_mprv(stepping):
    src = f"""
_start:
{PMP_ALL}
        la   t0, after
        csrw sepc, t0
        li   t0, {C.MSTATUS_MPRV | C.MSTATUS_MPP | C.MSTATUS_SPP}
        csrs mstatus, t0
        sret
after:  j    after
"""
    m = machine(src, stepping=stepping)
    m.run(100)
    assert m.hart.priv == C.S
    assert m.hart.mstatus & C.MSTATUS_MPRV == 0


def test_delegated_ecall_from_s_is_handled_in_s(stepping):
    m = machine(delegated("S", "ecall", 1 << C.ECALL_FROM_S), stepping=stepping)
    m.run_to_halt()
    h = m.hart
    assert (h.scause, h.sepc, h.priv) == (C.ECALL_FROM_S, m.sym("body"), C.S)
    assert h.mstatus & C.MSTATUS_SPP


def test_step_over_a_trapping_instruction_stops_at_the_handler(stepping):
    m = machine(f"_start: la t0, trap_halt; csrw mtvec, t0; ebreak; nop\n{HALT_HANDLER}", stepping=stepping)
    m.run(3)
    exit_ = m.hart.step()
    assert exit_.kind is ExitKind.BUDGET
    assert (m.hart.pc, m.hart.mcause, m.hart.icount) == (m.sym("trap_halt"), C.BREAKPOINT, 3)
