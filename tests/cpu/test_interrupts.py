"""Interrupts: priority, enables, delegation, the CLINT and WFI (privileged spec 1.12,
3.1.6.1, 3.1.9, 3.3.3).
"""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C
from machine.cpu.trap import ExitKind

from .privharness import ENGINE_IDS, ENGINE_MODES, HALT, HALT_HANDLER, PMP_ALL, enter, machine

pytestmark = pytest.mark.parametrize("stepping", ENGINE_MODES, ids=ENGINE_IDS)

IRQ = C.INTERRUPT_BIT
MSI, MTI, MEI = C.IRQ_M_SOFT, C.IRQ_M_TIMER, C.IRQ_M_EXT
SSI, STI, SEI = C.IRQ_S_SOFT, C.IRQ_S_TIMER, C.IRQ_S_EXT
M_PINS = {MSI: C.MSIP, MTI: C.MTIP, MEI: C.MEIP}


def program(*, mode: str = "M", setup: str = "", body: str = "nop") -> str:
    """M-mode setup, then `body` in `mode`, then a marker (a1 = 1) and a halt.

    Traps to M and S both halt, so `a1 == 0` means an interrupt was taken in `body`.
    """
    return f"""
_start:
        la   t0, trap_halt
        csrw mtvec, t0
        la   t0, s_trap
        csrw stvec, t0
{PMP_ALL}
{setup}
{enter(mode, "body")}
body:
{body}
        li   a1, 1
        ecall                   # the end (not delegated: M's handler halts)
{HALT_HANDLER}
        .align 2
s_trap:
{HALT}
"""


def pend(m, *irqs: int) -> None:
    """Raise interrupt lines before the run: M ones as device pins, S ones in mip."""
    for irq in irqs:
        if irq in M_PINS:
            m.hart.set_pending(M_PINS[irq], True)
        else:
            m.hart.mip_sw |= 1 << irq


# --- priority (3.1.9) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pending", "taken"),
    [
        ((MEI, MSI, MTI, SEI, SSI, STI), MEI),
        ((MSI, MTI, SEI, SSI, STI), MSI),
        ((MTI, SEI, SSI, STI), MTI),
        ((SEI, SSI, STI), SEI),
        ((SSI, STI), SSI),
        ((STI,), STI),
    ],
)
def test_highest_priority_interrupt_is_taken_first(stepping, pending, taken):
    m = machine(program(setup="li t0, -1; csrw mie, t0; csrsi mstatus, 8", mode="M"), stepping=stepping)
    pend(m, *pending)
    m.run_to_halt()
    assert m.hart.mcause == IRQ | taken


def test_m_interrupt_beats_delegated_s_interrupt_in_s_mode(stepping):
    setup = "li t0, -1; csrw mie, t0; li t0, 0x222; csrw mideleg, t0; csrsi sstatus, 2"
    m = machine(program(setup=setup, mode="S"), stepping=stepping)
    pend(m, SEI, MTI)
    m.run_to_halt()
    assert m.hart.mcause == IRQ | MTI and m.hart.priv == C.M


def test_interrupt_epc_is_the_next_instruction(stepping):
    m = machine(program(setup="li t0, 8; csrw mie, t0", body="csrsi mstatus, 8; after: nop"), stepping=stepping)
    pend(m, MSI)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (IRQ | MSI, m.sym("after"), 0)


# --- enables -----------------------------------------------------------------------------


def test_interrupt_disabled_in_mie_is_not_taken(stepping):
    m = machine(program(setup="li t0, 0x777; csrw mie, t0; csrsi mstatus, 8"), stepping=stepping)  # all but MEIE
    pend(m, MEI)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_M and m.hart.x[11] == 1


def test_m_interrupt_in_m_mode_waits_for_mstatus_mie(stepping):
    m = machine(program(setup="li t0, 0x80; csrw mie, t0"), stepping=stepping)
    pend(m, MTI)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_M


@pytest.mark.parametrize("mode", ["S", "U"])
def test_m_interrupt_is_taken_in_lower_modes_even_with_mie_clear(stepping, mode):
    m = machine(program(setup="li t0, 0x80; csrw mie, t0", mode=mode), stepping=stepping)
    pend(m, MTI)
    m.run_to_halt()
    assert m.hart.mcause == IRQ | MTI
    assert m.hart.mepc == m.sym("body")
    assert (m.hart.mstatus >> C.MSTATUS_MPP_SHIFT) & 3 == {"S": C.S, "U": C.U}[mode]


def test_delegated_s_interrupt_is_not_taken_in_m_mode(stepping):
    setup = "li t0, 2; csrw mideleg, t0; csrw mie, t0; csrsi mstatus, 0xa"  # SIE and MIE
    m = machine(program(setup=setup, mode="M"), stepping=stepping)
    pend(m, SSI)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_M and m.hart.scause == 0


def test_delegated_s_interrupt_is_taken_on_entering_s(stepping):
    setup = "li t0, 2; csrw mideleg, t0; csrw mie, t0; csrsi mstatus, 2"
    m = machine(program(setup=setup, mode="S"), stepping=stepping)
    pend(m, SSI)
    m.run_to_halt()
    h = m.hart
    assert (h.scause, h.sepc, h.priv) == (IRQ | SSI, m.sym("body"), C.S)
    assert h.mstatus & (C.MSTATUS_SPP | C.MSTATUS_SPIE | C.MSTATUS_SIE) == C.MSTATUS_SPP | C.MSTATUS_SPIE


def test_delegated_s_interrupt_in_s_mode_waits_for_sie(stepping):
    setup = "li t0, 2; csrw mideleg, t0; csrw mie, t0"
    m = machine(program(setup=setup, mode="S"), stepping=stepping)
    pend(m, SSI)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S and m.hart.scause == 0


def test_delegated_s_interrupt_in_u_mode_is_taken_with_sie_clear(stepping):
    setup = "li t0, 0x20; csrw mideleg, t0; csrw mie, t0"
    m = machine(program(setup=setup, mode="U"), stepping=stepping)
    pend(m, STI)
    m.run_to_halt()
    assert (m.hart.scause, m.hart.sepc) == (IRQ | STI, m.sym("body"))
    assert m.hart.mstatus & C.MSTATUS_SPP == 0


def test_undelegated_s_interrupt_goes_to_m_from_s(stepping):
    m = machine(program(setup="li t0, 2; csrw mie, t0", mode="S"), stepping=stepping)
    pend(m, SSI)
    m.run_to_halt()
    assert m.hart.mcause == IRQ | SSI and m.hart.scause == 0


def test_undelegated_s_interrupt_in_m_mode_obeys_mstatus_mie(stepping):
    m = machine(program(setup="li t0, 0x20; csrw mie, t0", body="nop; csrsi mstatus, 8; after: nop"), stepping=stepping)
    pend(m, STI)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc) == (IRQ | STI, m.sym("after"))


def test_software_set_ssip_through_mip_interrupts_s(stepping):
    setup = "li t0, 2; csrw mideleg, t0; csrw mie, t0"
    m = machine(program(setup=setup, mode="S", body="csrsi sstatus, 2; csrsi sip, 2; after: nop"), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.scause, m.hart.sepc) == (IRQ | SSI, m.sym("after"))


def test_software_set_stip_through_mip_interrupts_s(stepping):
    setup = "li t0, 0x20; csrw mideleg, t0; csrw mie, t0; csrs mip, t0"
    m = machine(program(setup=setup, mode="U"), stepping=stepping)
    m.run_to_halt()
    assert m.hart.scause == IRQ | STI


def test_s_mode_cannot_set_stip_through_sip(stepping):
    setup = "li t0, 0x20; csrw mideleg, t0; csrw mie, t0"
    m = machine(program(setup=setup, mode="S", body="csrsi sstatus, 2; li t0, 0x20; csrs sip, t0"), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S and m.hart.scause == 0


# --- the CLINT timer and software interrupt ------------------------------------------------

TIMER = """
_start:
        la   t0, handler
        csrw mtvec, t0
        li   t1, 0x2004000      # mtimecmp
        li   t2, {when}
        sw   zero, 4(t1)
        sw   t2, 0(t1)
        li   t0, 0x80
        csrw mie, t0
        csrsi mstatus, 8
        li   a0, 0
loop:   addi a0, a0, 1
        andi t3, a0, 7
        bnez t3, loop
        addi a2, a2, 1
        j    loop
        .align 2
handler:
        csrr s0, minstret
        csrr s1, time
""" + HALT


@pytest.mark.parametrize("when", [40, 41, 100, 257, 1000])
def test_clint_timer_interrupt_fires_when_mtime_reaches_mtimecmp(stepping, when):
    m = machine(TIMER.replace("{when}", str(when)), stepping=stepping)
    taken = []
    m.hart.on_trap = lambda cause, tval, epc, old, new: taken.append((cause, epc, m.hart.icount))
    m.run_to_halt()
    assert taken[0][0] == IRQ | MTI
    assert taken[0][2] == when  # one mtime tick per retired instruction
    assert m.hart.x[8] == when and m.hart.x[9] == when + 1


@pytest.mark.parametrize("when", [40, 41, 100, 257, 1000])
def test_clint_timer_interrupt_is_the_same_in_step_and_block_mode(stepping, when):
    runs = []
    for mode in (True, False):
        m = machine(TIMER.replace("{when}", str(when)), stepping=mode)
        taken = []
        m.hart.on_trap = lambda cause, tval, epc, old, new, h=m.hart, t=taken: t.append((cause, epc, h.icount))
        m.run_to_halt()
        runs.append((taken, list(m.hart.x), m.hart.mepc))
    assert runs[0] == runs[1]


def test_clint_timer_interrupt_is_the_same_across_budget_slices(stepping):
    whole = machine(TIMER.replace("{when}", "300"), stepping=stepping)
    whole.run_to_halt()
    sliced = machine(TIMER.replace("{when}", "300"), stepping=stepping)
    while sliced.run(7).kind is ExitKind.BUDGET:
        pass
    assert (sliced.hart.mepc, sliced.hart.x) == (whole.hart.mepc, whole.hart.x)


def test_clint_mtip_follows_mtimecmp(stepping):
    src = f"""
_start: li   t1, 0x2004000
        sw   zero, 4(t1)
        sw   zero, 0(t1)        # due now
        csrr a0, mip
        li   t2, -1
        sw   t2, 4(t1)          # far future
        csrr a1, mip
{HALT}"""
    m = machine(src, stepping=stepping)
    m.run_to_halt()
    assert m.hart.x[10] == 1 << C.MTIP and m.hart.x[11] == 0


def test_clint_msip_raises_machine_software_interrupt(stepping):
    src = f"""
_start: la   t0, trap_halt
        csrw mtvec, t0
        li   t0, 8
        csrw mie, t0
        csrsi mstatus, 8
        li   t1, 0x2000000
        li   t2, 1
        sw   t2, 0(t1)
after:  nop
        li   a1, 1
{HALT_HANDLER}"""
    m = machine(src, stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc) == (IRQ | MSI, m.sym("after"))
    assert m.hart.x[11] == 0


def test_clearing_clint_msip_lowers_the_interrupt(stepping):
    src = f"""
_start: li   t1, 0x2000000
        li   t2, 1
        sw   t2, 0(t1)
        csrr a0, mip
        sw   zero, 0(t1)
        csrr a1, mip
{HALT}"""
    m = machine(src, stepping=stepping)
    m.run_to_halt()
    assert (m.hart.x[10], m.hart.x[11]) == (1 << C.MSIP, 0)


# --- WFI (3.3.3) -----------------------------------------------------------------------------

WFI_TIMER = """
_start: la   t0, handler
        csrw mtvec, t0
        li   t1, 0x2004000
        li   t2, 500
        sw   zero, 4(t1)
        sw   t2, 0(t1)          # mtimecmp = 500
        li   t0, 0x80
        csrw mie, t0
        {enable}
sleep:  wfi
after:  li   a1, 1
        j    done
        .align 2
handler:
        csrr s0, mcause
        csrr s1, time
done:
""" + HALT


def test_wfi_with_nothing_pending_exits_wfi(stepping):
    m = machine(WFI_TIMER.replace("{enable}", "csrsi mstatus, 8"), stepping=stepping)
    exit_ = m.run()
    assert exit_.kind is ExitKind.WFI
    assert exit_.epc == m.sym("after") and m.hart.pc == m.sym("after")
    assert m.hart.icount < 500


def test_wfi_exits_again_until_time_passes(stepping):
    m = machine(WFI_TIMER.replace("{enable}", "csrsi mstatus, 8"), stepping=stepping)
    first = m.run()
    icount = m.hart.icount
    assert m.run().kind is ExitKind.WFI is first.kind
    assert m.hart.icount == icount


def test_wfi_wakes_into_the_timer_interrupt_at_the_alarm(stepping):
    m = machine(WFI_TIMER.replace("{enable}", "csrsi mstatus, 8"), stepping=stepping)
    assert m.run().kind is ExitKind.WFI
    icount = m.hart.icount
    assert m.hart.skip_to_alarm()
    assert m.hart.icount == icount and m.hart.cycles == 500
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc) == (IRQ | MTI, m.sym("after"))
    assert m.hart.x[8] == IRQ | MTI and m.hart.x[9] == 501  # read one instruction in
    assert m.hart.x[11] == 0


def test_wfi_wakes_without_trap_when_interrupts_are_globally_disabled(stepping):
    m = machine(WFI_TIMER.replace("{enable}", "nop"), stepping=stepping)
    assert m.run().kind is ExitKind.WFI
    assert m.hart.skip_to_alarm()
    m.run_to_halt()
    assert m.hart.x[11] == 1 and m.hart.mcause == 0


def test_wfi_with_interrupt_pending_but_globally_disabled_goes_on(stepping):
    src = WFI_TIMER.replace("li   t2, 500", "li   t2, 0").replace("{enable}", "nop")
    m = machine(src, stepping=stepping)
    exit_ = m.run()
    assert exit_.kind is ExitKind.HALT
    assert m.hart.x[11] == 1 and m.hart.mcause == 0


def test_wfi_with_interrupt_disabled_in_mie_still_sleeps(stepping):
    src = WFI_TIMER.replace("li   t2, 500", "li   t2, 0").replace("li   t0, 0x80\n", "li   t0, 0\n")
    m = machine(src.replace("{enable}", "csrsi mstatus, 8"), stepping=stepping)
    assert m.run().kind is ExitKind.WFI


def test_skip_to_alarm_without_an_alarm_does_nothing(stepping):
    m = machine(f"_start: wfi\n{HALT}", stepping=stepping)
    assert m.run().kind is ExitKind.WFI
    cycles = m.hart.cycles
    assert not m.hart.skip_to_alarm()
    assert m.hart.cycles == cycles


def test_wfi_retires(stepping):
    m = machine(f"_start: wfi\n{HALT}", stepping=stepping)
    m.run()
    assert m.hart.icount == 1


def test_vectored_stvec_sends_s_interrupts_to_base_plus_four_times_cause(stepping):
    src = f"""
_start:
        la   t0, trap_halt
        csrw mtvec, t0
{PMP_ALL}
        la   t0, s_vectors
        ori  t0, t0, 1
        csrw stvec, t0
        li   t0, 0x20
        csrw mideleg, t0
        csrw mie, t0
        csrs mip, t0            # STIP
{enter("U", "body")}
body:   j    body
        .align 6
s_vectors:
        j    s_other            # 0
        j    s_other            # 1
        j    s_other            # 2
        j    s_other            # 3
        j    s_other            # 4
        j    s_timer            # 5: supervisor timer
s_other: li  a0, 1
        ecall
s_timer: li  a0, 5
        ecall
{HALT_HANDLER}"""
    m = machine(src, stepping=stepping)
    m.run_to_halt()
    assert m.hart.scause == IRQ | STI
    assert m.hart.x[10] == 5 and m.hart.mcause == C.ECALL_FROM_S
