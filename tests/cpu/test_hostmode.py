"""Host mode (traps that would enter M-mode come back from `run` as exits) and the
lecture's flaw (xRET in U-mode runs instead of trapping) with its hardware-assist
control `trap_xret`.
"""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C
from machine.cpu.trap import ExitKind

from .privharness import ENGINE_IDS, ENGINE_MODES, PTE_A, PTE_R, PTE_U, PTE_V, PTE_X, RAM_BASE, PageTables, machine

pytestmark = pytest.mark.parametrize("stepping", ENGINE_MODES, ids=ENGINE_IDS)

ECALL, SRET, MRET, WFI = 0x0000_0073, 0x1020_0073, 0x3020_0073, 0x1050_0073
USER = RAM_BASE + 0x1000  # where the programs below start


def user_machine(body: str, *, stepping: bool, host_mode: bool = True, priv: int = C.U):
    """`body` at USER, entered directly in `priv` with PMP open; M's vector is a halt."""
    src = f"""
_start: j    _start             # M-mode never runs here
        .org {USER - RAM_BASE:#x}
user:
{body}
"""
    m = machine(src, stepping=stepping, host_mode=host_mode)
    h = m.hart
    h.csr_write(C.PMPADDR0, 0xFFFF_FFFF)
    h.csr_write(C.PMPCFG0, 0x1F)
    h.priv = priv
    h.pc = m.sym("user")
    return m


def snapshot(h) -> tuple:
    return (h.pc, h.priv, list(h.x), h.mstatus, h.mepc, h.mcause, h.mtval, h.sepc, h.scause, h.stval)


# --- host mode exits ---------------------------------------------------------------------------


def test_ecall_in_u_mode_exits_with_cause_epc_and_bits(stepping):
    m = user_machine("li a0, 1; here: ecall; li a0, 2", stepping=stepping)
    exit_ = m.run()
    assert exit_.kind is ExitKind.TRAP
    assert (exit_.cause, exit_.epc, exit_.insn) == (C.ECALL_FROM_U, m.sym("here"), ECALL)
    assert (exit_.tval, exit_.priv) == (0, C.U)
    assert not exit_.is_interrupt


def test_ecall_exit_leaves_the_hart_as_it_was(stepping):
    m = user_machine("li a0, 1; here: ecall; li a0, 2", stepping=stepping)
    h = m.hart
    before = snapshot(h)
    m.run()
    after = snapshot(h)
    assert after[0] == m.sym("here") and after[1] == C.U
    assert after[2][10] == 1
    assert after[3:] == before[3:]  # no CSR written


def test_exit_then_resume_at_next_instruction(stepping):
    m = user_machine("here: ecall; li a0, 2; ecall", stepping=stepping)
    first = m.run()
    m.hart.pc = first.epc + 4  # what a VMM does after emulating the call
    second = m.run()
    assert second.epc == m.sym("here") + 8 and m.hart.x[10] == 2


def test_exit_counts_retired_instructions_only(stepping):
    m = user_machine("nop; nop; ecall", stepping=stepping)
    m.run()
    assert m.hart.icount == 2


def test_illegal_instruction_exit_carries_the_raw_bits(stepping):
    m = user_machine("nop; bad: .word 0xffffffff", stepping=stepping)
    exit_ = m.run()
    assert (exit_.kind, exit_.cause, exit_.epc) == (ExitKind.TRAP, C.ILLEGAL_INSN, m.sym("bad"))
    assert exit_.insn == 0xFFFF_FFFF and exit_.tval == 0xFFFF_FFFF


@pytest.mark.parametrize(
    ("insn", "bits"),
    [("csrr a0, sstatus", 0x1000_2573), ("csrw satp, a0", 0x1805_1073), ("sret", SRET), ("mret", MRET),
     ("wfi", WFI), ("sfence.vma", 0x1200_0073)],
)  # fmt: skip
def test_sensitive_instruction_in_u_mode_exits_as_illegal_with_its_bits(stepping, insn, bits):
    m = user_machine(f"bad: {insn}", stepping=stepping)
    exit_ = m.run()
    assert (exit_.kind, exit_.cause, exit_.epc, exit_.insn, exit_.tval) == (
        ExitKind.TRAP, C.ILLEGAL_INSN, m.sym("bad"), bits, bits)  # fmt: skip
    assert m.hart.pc == m.sym("bad") and m.hart.priv == C.U


def test_page_fault_exit_carries_tval_and_load_bits(stepping):
    m = user_machine("li t1, 0x40000abc; bad: lw a0, 0(t1)", stepping=stepping)
    pt = PageTables(m, RAM_BASE + 0x1_0000)
    pt.map_superpage(RAM_BASE, RAM_BASE, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A)
    m.hart.csr_write(C.SATP, pt.satp)
    exit_ = m.run()
    assert (exit_.kind, exit_.cause, exit_.tval) == (ExitKind.TRAP, C.LOAD_PAGE_FAULT, 0x4000_0ABC)
    assert exit_.epc == m.sym("bad")
    assert exit_.insn == m.word(m.sym("bad"))
    assert m.hart.mcause == 0 and m.hart.mtval == 0


def test_instruction_page_fault_exit_has_no_bits(stepping):
    m = user_machine("li t1, 0x40000000; jr t1", stepping=stepping)
    pt = PageTables(m, RAM_BASE + 0x1_0000)
    pt.map_superpage(RAM_BASE, RAM_BASE, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A)
    m.hart.csr_write(C.SATP, pt.satp)
    exit_ = m.run()
    assert (exit_.cause, exit_.tval, exit_.epc, exit_.insn) == (C.INSN_PAGE_FAULT, 0x4000_0000, 0x4000_0000, 0)
    assert m.hart.pc == 0x4000_0000


def test_access_fault_exit_carries_tval(stepping):
    m = user_machine("li t1, 0x40000010; sw zero, 0(t1)", stepping=stepping)
    exit_ = m.run()
    assert (exit_.cause, exit_.tval) == (C.STORE_ACCESS_FAULT, 0x4000_0010)


def test_delegated_trap_is_taken_by_the_hart_not_exited(stepping):
    m = user_machine("ecall; s_trap: ecall", stepping=stepping)
    m.hart.csr_write(C.MEDELEG, 1 << C.ECALL_FROM_U)
    m.hart.csr_write(C.STVEC, m.sym("s_trap"))
    exit_ = m.run()
    assert (exit_.cause, exit_.epc, exit_.priv) == (C.ECALL_FROM_S, m.sym("s_trap"), C.S)
    assert m.hart.scause == C.ECALL_FROM_U


def test_interrupt_exit_has_the_next_pc_and_no_bits(stepping):
    m = user_machine("nop; nop; loop: j loop", stepping=stepping)
    m.hart.csr_write(C.MIE, 1 << C.MTIP)
    m.hart.set_pending(C.MTIP, True)
    exit_ = m.run()
    assert exit_.kind is ExitKind.TRAP and exit_.is_interrupt
    assert (exit_.cause, exit_.epc, exit_.insn) == (C.INTERRUPT_BIT | C.IRQ_M_TIMER, m.sym("user"), 0)
    assert m.hart.priv == C.U and m.hart.pc == m.sym("user")


def test_budget_exit(stepping):
    m = user_machine("loop: addi a0, a0, 1; j loop", stepping=stepping)
    exit_ = m.run(1001)
    assert exit_.kind is ExitKind.BUDGET
    assert m.hart.icount == 1001 and m.hart.x[10] == 501


def test_budget_exit_then_resume_is_the_same_as_one_run(stepping):
    sliced = user_machine("loop: addi a0, a0, 1; andi t0, a0, 3; bnez t0, loop; addi a1, a1, 1; j loop",
                          stepping=stepping)  # fmt: skip
    for _ in range(37):
        assert sliced.run(27).kind is ExitKind.BUDGET
    whole = user_machine("loop: addi a0, a0, 1; andi t0, a0, 3; bnez t0, loop; addi a1, a1, 1; j loop",
                         stepping=stepping)  # fmt: skip
    whole.run(37 * 27)
    assert (sliced.hart.pc, sliced.hart.x) == (whole.hart.pc, whole.hart.x)


def test_wfi_exit_in_s_mode(stepping):
    m = user_machine("nop; wfi; after: nop", stepping=stepping, priv=C.S)
    exit_ = m.run()
    assert (exit_.kind, exit_.epc) == (ExitKind.WFI, m.sym("after"))


def test_halt_exit(stepping):
    m = user_machine("li t1, 0x100000; li t2, 0x5555; sw t2, 0(t1); j user", stepping=stepping, priv=C.M)
    exit_ = m.run()
    assert (exit_.kind, exit_.halt) == (ExitKind.HALT, "pass")


def test_step_runs_one_instruction(stepping):
    m = user_machine("li a0, 5; li a0, 6", stepping=stepping)
    exit_ = m.hart.step()
    assert exit_.kind is ExitKind.BUDGET
    assert (m.hart.pc, m.hart.x[10], m.hart.icount) == (m.sym("user") + 4, 5, 1)
    assert m.hart.stepping is stepping


# --- the flaw: xRET in U-mode ------------------------------------------------------------------


def flawed(body: str, *, stepping: bool, host_mode: bool = False, trap_xret: bool = False):
    m = user_machine(body + "\ntarget: nop\nspin: j spin", stepping=stepping, host_mode=host_mode)
    h = m.hart
    h.csr_write(C.MTVEC, RAM_BASE)  # M's vector: the _start spin loop
    h.flawed_eret = True
    h.trap_xret = trap_xret
    h.csr_write(C.SEPC, m.sym("target"))
    h.csr_write(C.MEPC, m.sym("target"))
    return m


def test_sret_in_u_traps_by_default(stepping):
    m = user_machine("bad: sret\ntarget: nop", stepping=stepping, host_mode=False)
    m.hart.csr_write(C.MTVEC, RAM_BASE)
    m.hart.csr_write(C.SEPC, m.sym("target"))
    m.run(10)
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.ILLEGAL_INSN, m.sym("bad"), SRET)


def test_flawed_sret_in_u_jumps_to_sepc_and_takes_spp(stepping):
    m = flawed("sret", stepping=stepping)
    m.hart.mstatus |= C.MSTATUS_SPP
    m.run(10)
    assert m.hart.pc == m.sym("spin") and m.hart.priv == C.S
    assert m.hart.mcause == 0


def test_flawed_sret_in_u_with_spp_u_stays_in_u(stepping):
    m = flawed("sret", stepping=stepping)
    m.run(10)
    assert m.hart.pc == m.sym("spin") and m.hart.priv == C.U


def test_flawed_sret_updates_sstatus_like_a_real_sret(stepping):
    m = flawed("sret", stepping=stepping)
    m.hart.mstatus |= C.MSTATUS_SPP | C.MSTATUS_SPIE
    m.run(10)
    assert m.hart.mstatus & (C.MSTATUS_SPP | C.MSTATUS_SPIE | C.MSTATUS_SIE) == C.MSTATUS_SPIE | C.MSTATUS_SIE


def test_flawed_mret_in_u_jumps_to_mepc_and_takes_mpp(stepping):
    m = flawed("mret", stepping=stepping)
    m.hart.mstatus |= C.MSTATUS_MPP  # MPP = M: the flaw even lets U climb to M
    m.run(10)
    assert m.hart.pc == m.sym("spin") and m.hart.priv == C.M
    assert m.hart.mcause == 0


def test_flawed_mret_to_s(stepping):
    m = flawed("mret", stepping=stepping)
    m.hart.mstatus |= 1 << C.MSTATUS_MPP_SHIFT
    m.run(10)
    assert m.hart.pc == m.sym("spin") and m.hart.priv == C.S


@pytest.mark.parametrize(("insn", "bits"), [("sret", SRET), ("mret", MRET)])
def test_trap_xret_makes_flawed_xret_trap_again(stepping, insn, bits):
    m = flawed(f"bad: {insn}", stepping=stepping, trap_xret=True)
    m.hart.mstatus |= C.MSTATUS_SPP | C.MSTATUS_MPP
    m.run(10)
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.ILLEGAL_INSN, m.sym("bad"), bits)


@pytest.mark.parametrize(("insn", "bits"), [("sret", SRET), ("mret", MRET)])
def test_trap_xret_in_host_mode_exits(stepping, insn, bits):
    m = flawed(f"bad: {insn}", stepping=stepping, host_mode=True, trap_xret=True)
    exit_ = m.run()
    assert (exit_.kind, exit_.cause, exit_.epc, exit_.insn) == (ExitKind.TRAP, C.ILLEGAL_INSN, m.sym("bad"), bits)


def test_flawed_sret_in_host_mode_runs_silently(stepping):
    m = flawed("sret", stepping=stepping, host_mode=True)
    m.hart.mstatus |= C.MSTATUS_SPP
    exit_ = m.run(50)
    assert exit_.kind is ExitKind.BUDGET
    assert m.hart.pc == m.sym("spin") and m.hart.priv == C.S


def test_flaw_does_not_change_s_mode_sret(stepping):
    # In S, SRET is legal anyway, and TSR still makes it trap.
    m = flawed("bad: sret", stepping=stepping)
    m.hart.priv = C.S
    m.hart.mstatus |= C.MSTATUS_TSR
    m.run(10)
    assert (m.hart.mcause, m.hart.mepc) == (C.ILLEGAL_INSN, m.sym("bad"))


def test_flaw_does_not_make_mret_legal_in_s(stepping):
    m = flawed("bad: mret", stepping=stepping)
    m.hart.priv = C.S
    m.run(10)
    assert (m.hart.mcause, m.hart.mepc) == (C.ILLEGAL_INSN, m.sym("bad"))
