"""Each kind of VMM exit, one small guest each: what the guest sees (compared with the
same program on the bare board wherever that makes sense, and with the spec's values)
and what the trap log says the VMM did (reason, action)."""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C
from machine.cpu.csrfile import MISA
from tuivmm.vmm import GuestState
from tuivmm.vmm import traplog as T

from .vmmharness import (
    CLINT,
    FINISHER,
    HALT,
    MTIMECMP,
    PMP_ALL,
    PTE_A,
    PTE_D,
    PTE_R,
    PTE_V,
    PTE_W,
    PTE_X,
    UART,
    Sv32,
    enter,
    event_at,
    events,
    fail,
    guest,
    poke_all,
    run_guest,
    side_by_side,
)  # fmt: skip

RAM = 0x8000_0000
IRQ = C.INTERRUPT_BIT
MRET_WORD, SRET_WORD = 0x3020_0073, 0x1020_0073


def word_at(g, label: str) -> int:
    return g.window.read_u32(g.symbols[label])


def in_mode(mode: str, body: str, *, setup: str = "", tail: str = "") -> str:
    """mtvec -> m_trap (which halts), PMP open, `setup` in M, then `body` in `mode`."""
    return f"""
_start:
        la   t0, m_trap
        csrw mtvec, t0
{PMP_ALL}
{setup}
{enter(mode, "body")}
body:
{body}
spin:   j    spin
        .align 2
m_trap:
{HALT}
{tail}
"""


# --- CSR instructions ---------------------------------------------------------------------


def test_csr_read_and_write_in_virtual_m_mode_are_emulated():
    src = f"""
_start: li   a0, 0x12345678
wr:     csrw mscratch, a0
rd:     csrr a1, mscratch
swap:   csrrw a2, mscratch, zero
{HALT}"""
    _board, g = side_by_side(src)
    assert g.vcpu.x[11] == g.vcpu.x[12] == 0x12345678
    assert g.vcpu.mscratch == 0
    for label in ("wr", "rd", "swap"):
        e = event_at(g, label)
        assert (e.reason, e.action, e.cause, e.priv) == (T.CSR, T.EMULATED, C.ILLEGAL_INSN, C.M)
    assert g.log.counts[T.CSR] == 3


def test_csr_writes_are_legalised_as_warl_fields_say():
    src = f"""
_start: li   t0, 0x1000             # mstatus.MPP = 2: reserved
        csrw mstatus, t0
        csrr a0, mstatus
        li   t0, -1
        csrw medeleg, t0
        csrr a1, medeleg
        csrw mideleg, t0
        csrr a2, mideleg
        csrw misa, zero
        csrr a3, misa
        la   t0, _start
        csrw mtvec, t0
        addi t0, t0, 2           # mode 2: reserved, the write is ignored
        csrw mtvec, t0
        csrr a4, mtvec
        li   t0, 0x80000003
        csrw mepc, t0
        csrr a5, mepc
        li   t0, -1
        csrw mie, t0
        csrr a6, mie
        csrw sstatus, t0
        csrr a7, mstatus
        csrr s2, sstatus
{HALT}"""
    _board, g = side_by_side(src)
    x = g.vcpu.x
    assert (x[10] >> C.MSTATUS_MPP_SHIFT) & 3 != 2
    assert x[11] == 0xB3FF  # ECALL from M (bit 11) and the reserved bits read 0
    assert x[12] == (1 << C.SSIP) | (1 << C.STIP) | (1 << C.SEIP)
    assert x[13] == MISA == g.vcpu.csr_read(C.MISA)
    assert x[14] == g.symbols["_start"]
    assert x[15] == 0x8000_0002  # IALIGN=16 (RV32C): mepc clears bit 0 only
    assert x[16] == C.ALL_INTERRUPTS
    # sstatus writes reach only the sstatus bits of mstatus
    assert x[17] & ~C.SSTATUS_MASK == x[10] & ~C.SSTATUS_MASK
    assert x[18] == x[17] & C.SSTATUS_MASK
    assert all(e.reason == T.CSR and e.action == T.EMULATED for e in events(g, T.CSR))


@pytest.mark.parametrize("delegated", [False, True], ids=["to-m", "medeleg-to-s"])
def test_user_csr_read_of_sstatus_is_an_illegal_instruction_in_the_guests_own_handler(delegated):
    setup = "la t0, s_trap; csrw stvec, t0; li t0, 4; csrw medeleg, t0" if delegated else ""
    src = in_mode("U", "bad: csrr a0, sstatus", setup=setup, tail=f".align 2\ns_trap:\n{HALT}")
    _board, g = side_by_side(src)
    v = g.vcpu
    bits = word_at(g, "bad")
    if delegated:
        assert (v.priv, v.scause, v.sepc, v.stval) == (C.S, C.ILLEGAL_INSN, g.symbols["bad"], bits)
        assert v.mcause == 0 and v.mstatus & C.MSTATUS_SPP == 0
    else:
        assert (v.priv, v.mcause, v.mepc, v.mtval) == (C.M, C.ILLEGAL_INSN, g.symbols["bad"], bits)
        assert v.mstatus & C.MSTATUS_MPP == 0  # came from U
    assert v.x[10] == 0
    e = event_at(g, "bad")
    assert (e.reason, e.action, e.cause, e.priv, e.insn) == (T.CSR, T.INJECTED, C.ILLEGAL_INSN, C.U, bits)


def test_user_read_of_a_counter_mcounteren_forbids_is_injected():
    src = in_mode("U", "bad: rdcycle a0", setup="csrwi mcounteren, 0")
    _board, g = side_by_side(src)
    assert (g.vcpu.mcause, g.vcpu.mepc) == (C.ILLEGAL_INSN, g.symbols["bad"])
    assert event_at(g, "bad").action == T.INJECTED


# --- MRET and SRET ---------------------------------------------------------------------------


def test_mret_and_sret_change_privilege_and_mstatus_exactly_as_the_spec_says():
    src = f"""
_start: la   t0, m_trap
        csrw mtvec, t0
{PMP_ALL}
        li   t0, {(1 << 11) | C.MSTATUS_MPIE | C.MSTATUS_SPIE | C.MSTATUS_SPP:#x}   # MPP=S
        csrw mstatus, t0
        la   t0, kernel
        csrw mepc, t0
m_ret:  mret
kernel: csrr s0, sstatus
        li   t0, 0x100
        csrc sstatus, t0            # SPP = U
        la   t0, user
        csrw sepc, t0
s_ret:  sret
user:   ecall
        .align 2
m_trap: csrr s1, mstatus
{HALT}"""
    _board, g = side_by_side(src)
    x, v = g.vcpu.x, g.vcpu
    # MRET to S: MIE <- MPIE (1), MPIE <- 1, MPP <- U; SPIE/SPP untouched.
    assert x[8] == C.MSTATUS_SPIE | C.MSTATUS_SPP
    # SRET to U: SIE <- SPIE (1), SPIE <- 1, SPP <- U; ecall to M: MPIE <- MIE (1), MIE <- 0, MPP <- U.
    assert x[9] == C.MSTATUS_MPIE | C.MSTATUS_SIE | C.MSTATUS_SPIE
    assert (v.mcause, v.mepc) == (C.ECALL_FROM_U, g.symbols["user"])
    m, s = event_at(g, "m_ret"), event_at(g, "s_ret")
    assert (m.reason, m.action, m.priv, m.insn) == (T.XRET, T.EMULATED, C.M, MRET_WORD)
    assert (s.reason, s.action, s.priv, s.insn) == (T.XRET, T.EMULATED, C.S, SRET_WORD)
    e = event_at(g, "user")
    assert (e.reason, e.action, e.priv, e.cause) == (T.ECALL, T.INJECTED, C.U, C.ECALL_FROM_U)


@pytest.mark.parametrize(("mode", "insn", "word", "setup"), [
    ("S", "mret", MRET_WORD, ""), ("U", "mret", MRET_WORD, ""), ("U", "sret", SRET_WORD, ""),
    ("S", "sret", SRET_WORD, f"li t0, {C.MSTATUS_TSR:#x}; csrs mstatus, t0"),
], ids=["mret-in-s", "mret-in-u", "sret-in-u", "sret-in-s-with-tsr"])  # fmt: skip
def test_xret_the_guests_mode_may_not_run_is_an_illegal_instruction(mode, insn, word, setup):
    _board, g = side_by_side(in_mode(mode, f"bad: {insn}", setup=setup))
    v = g.vcpu
    assert (v.priv, v.mcause, v.mepc, v.mtval) == (C.M, C.ILLEGAL_INSN, g.symbols["bad"], word)
    assert v.mstatus & C.MSTATUS_MPP == {"S": 1, "U": 0}[mode] << C.MSTATUS_MPP_SHIFT
    e = event_at(g, "bad")
    assert (e.reason, e.action, e.priv) == (T.XRET, T.INJECTED, {"S": C.S, "U": C.U}[mode])


# --- WFI --------------------------------------------------------------------------------------


def timer_program(enable_mie: bool) -> str:
    return f"""
_start: la   t0, m_trap
        csrw mtvec, t0
        li   t1, {MTIMECMP:#x}
        li   t2, 500
        sw   zero, 4(t1)
        sw   t2, 0(t1)              # mtimecmp = 500
        li   t0, 0x80
        csrw mie, t0                # MTIE
        {"csrsi mstatus, 8" if enable_mie else "nop"}
sleep:  wfi
after:  csrr a0, mip
        csrr a1, time
{HALT}
        .align 2
m_trap: csrr a2, mcause
        csrr a3, mepc
        csrr a1, time
{HALT}"""


def test_wfi_sleeps_until_mtimecmp_and_wakes_with_mtip_pending_even_with_mie_clear():
    _board, g = side_by_side(timer_program(False))
    x = g.vcpu.x
    assert x[10] & (1 << C.MTIP)
    assert x[11] >= 500
    assert x[12] == 0  # no trap taken: MIE was clear
    assert g.vcpu.idle_cycles > 0
    e = event_at(g, "sleep")
    assert (e.reason, e.action) == (T.WFI, T.SLEPT)


def test_wfi_woken_by_the_timer_takes_the_interrupt_when_enabled():
    _board, g = side_by_side(timer_program(True))
    x = g.vcpu.x
    assert x[12] == IRQ | C.IRQ_M_TIMER
    assert x[13] == g.symbols["after"]
    assert x[11] >= 500
    (irq,) = events(g, T.INTERRUPT)
    assert (irq.action, irq.cause, irq.pc) == (T.INJECTED, IRQ | C.IRQ_M_TIMER, g.symbols["after"])
    assert event_at(g, "sleep").action == T.SLEPT


def test_wfi_with_no_timer_idles_until_a_software_interrupt_arrives():
    src = f"""
_start: la   t0, m_trap
        csrw mtvec, t0
        li   t0, 8
        csrw mie, t0                # MSIE
        csrsi mstatus, 8
sleep:  wfi
after:  j    after
        .align 2
m_trap: csrr a2, mcause
        csrr a3, mepc
        li   t1, {CLINT:#x}
        sw   zero, 0(t1)            # clear msip
{HALT}"""
    vmm, g = guest(src)
    vmm.run(max_rounds=50)
    assert g.state is GuestState.IDLE  # nothing will ever wake it by itself
    assert event_at(g, "sleep").action == T.SLEPT
    g.vcpu.bus.write(CLINT, 4, 1)  # another hart's IPI: msip = 1
    g.kick()
    vmm.run(max_rounds=50)
    assert g.halt == ("pass", 0)
    assert g.vcpu.x[12] == IRQ | C.IRQ_M_SOFT
    assert g.vcpu.x[13] == g.symbols["after"]
    (irq,) = events(g, T.INTERRUPT)
    assert irq.cause == IRQ | C.IRQ_M_SOFT


def test_wfi_with_a_software_interrupt_already_pending_does_not_sleep():
    src = f"""
_start: li   t0, 8
        csrw mie, t0
        li   t1, {CLINT:#x}
        li   t2, 1
        sw   t2, 0(t1)              # msip = 1, MIE clear: pending, not taken
        wfi
        csrr a0, mip
        csrr a1, time
{HALT}"""
    _board, g = side_by_side(src)
    assert g.vcpu.x[10] & (1 << C.MSIP)
    assert g.vcpu.idle_cycles == 0


# --- paging helpers for S-mode tests ------------------------------------------------------

ROOT = RAM + 0x1_0000
PA_A, PA_B = RAM + 0x4_0000, RAM + 0x4_1000
VA = 0x4000_0000
KERNEL = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D


def paged(body: str, *, setup: str = "", tail: str = "") -> tuple[str, Sv32]:
    pt = Sv32(ROOT)
    pt.map_mega(RAM, RAM, KERNEL)  # the code and the tables, to the kernel (no U)
    pt.map_mega(0, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)  # the finisher, for S handlers
    src = in_mode("S", body, setup=f"li t0, {pt.satp:#x}; csrw satp, t0\n{setup}", tail=tail)
    return src, pt


def data_pokes(pt: Sv32) -> dict[int, int]:
    return {**pt.words, PA_A: 0xAAAA_0001, PA_B: 0xBBBB_0002}


# --- SFENCE.VMA --------------------------------------------------------------------------------


@pytest.mark.parametrize("fence", ["sfence.vma", "sfence.vma t1, zero"], ids=["all", "one-page"])
def test_sfence_vma_makes_a_changed_pte_take_effect(fence):
    body = f"""
        li   t1, {VA:#x}
        lw   a0, 0(t1)
        li   t2, {{leaf}}
        li   t3, {((PA_B >> 12) << 10) | PTE_V | PTE_R | PTE_A:#x}
        sw   t3, 0(t2)              # VA now maps PA_B
fence:  {fence}
        lw   a1, 0(t1)
        ecall"""
    pt = Sv32(ROOT)
    leaf = pt.map_page(VA, PA_A, PTE_V | PTE_R | PTE_A)
    src, pt2 = paged(body.replace("{leaf}", hex(leaf)))
    pt2.words.update(pt.words)
    _board, g = side_by_side(src, pokes=data_pokes(pt2))
    assert (g.vcpu.x[10], g.vcpu.x[11]) == (0xAAAA_0001, 0xBBBB_0002)
    e = event_at(g, "fence")
    assert (e.reason, e.action, e.priv) == (T.SFENCE, T.EMULATED, C.S)
    s_views = [t for k, t in g.shadows.items() if k[0] == "s"]
    assert s_views and all(t.lookup(VA) in (None, (g.window.host_base + (PA_B - RAM), PTE_R)) for t in s_views)
    src_nofence = src.replace(f"fence:  {fence}", "fence:  nop")
    _, g2 = guest(src_nofence)
    poke_all(g2.window, data_pokes(pt2))
    g2.vmm.run(max_rounds=50)
    assert g2.halt == ("pass", 0)
    # The fence is one more flush than the same program without it: of every shadow,
    # or (naming an address) of that page only.
    if fence == "sfence.vma":
        assert (g.flushes, g.page_flushes) == (g2.flushes + 1, 0)
    else:
        assert (g.flushes, g.page_flushes) == (g2.flushes, 1)


# --- ECALL ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "cause"), [("U", C.ECALL_FROM_U), ("S", C.ECALL_FROM_S), ("M", C.ECALL_FROM_M)])
def test_ecall_is_injected_into_the_guests_m_handler_with_the_mode_as_cause(mode, cause):
    _board, g = side_by_side(in_mode(mode, "call: ecall"))
    v = g.vcpu
    assert (v.priv, v.mcause, v.mepc, v.mtval) == (C.M, cause, g.symbols["call"], 0)
    e = event_at(g, "call")
    assert (e.reason, e.action, e.cause, e.priv) == (T.ECALL, T.INJECTED, cause, {"U": 0, "S": 1, "M": 3}[mode])


@pytest.mark.parametrize(("mode", "cause", "lands"), [
    ("U", C.ECALL_FROM_U, C.S), ("S", C.ECALL_FROM_S, C.S), ("M", C.ECALL_FROM_M, C.M)])  # fmt: skip
def test_ecall_delegated_by_medeleg_goes_to_the_guests_s_handler(mode, cause, lands):
    setup = "la t0, s_trap; csrw stvec, t0; li t0, 0xb00; csrw medeleg, t0"  # ecall from U, S, M
    _board, g = side_by_side(in_mode(mode, "call: ecall", setup=setup, tail=f".align 2\ns_trap:\n{HALT}"))
    v = g.vcpu
    assert v.priv == lands
    if lands == C.S:
        assert (v.scause, v.sepc, v.stval, v.mcause) == (cause, g.symbols["call"], 0, 0)
        assert bool(v.mstatus & C.MSTATUS_SPP) == (mode == "S")
    else:  # ECALL from M is never delegated
        assert (v.mcause, v.scause) == (cause, 0)
    e = event_at(g, "call")
    assert (e.reason, e.action, e.cause) == (T.ECALL, T.INJECTED, cause)


# --- page faults -----------------------------------------------------------------------------------


def test_a_page_the_guest_maps_faults_only_for_the_vmm_hidden():
    body = f"li t1, {VA:#x}; ld_a: lw a0, 0(t1); st_a: sw a0, 8(t1); ecall"
    setup = "la t0, s_trap; csrw stvec, t0; li t0, 0xb000; csrw medeleg, t0"  # page faults to S
    src, pt = paged(body, setup=setup, tail=f".align 2\ns_trap:\n{fail(9)}")
    pt.map_page(VA, PA_A, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
    _board, g = side_by_side(src, pokes=data_pokes(pt))
    v = g.vcpu
    assert v.x[10] == 0xAAAA_0001
    assert (v.scause, v.stval, v.mcause) == (0, 0, C.ECALL_FROM_S)  # the guest saw no fault
    assert g.true_faults == 0 and g.hidden_faults >= 2
    e = event_at(g, "ld_a", T.PAGE_FAULT)
    assert (e.action, e.cause) == (T.HIDDEN, C.LOAD_PAGE_FAULT)
    assert all(e.action in (T.HIDDEN, "bt scan") for e in events(g, T.PAGE_FAULT))


@pytest.mark.parametrize(("insn", "flags", "cause"), [
    ("lw a0, 0(t1)", 0, C.LOAD_PAGE_FAULT),
    ("sw a0, 0(t1)", PTE_V | PTE_R | PTE_A | PTE_D, C.STORE_PAGE_FAULT),
    ("jalr t1", PTE_V | PTE_R | PTE_W | PTE_A | PTE_D, C.INSN_PAGE_FAULT),
], ids=["load-unmapped", "store-read-only", "fetch-not-executable"])  # fmt: skip
def test_a_fault_the_guests_table_causes_reaches_its_handler_with_scause_and_stval(insn, flags, cause):
    body = f"li t1, {VA + 0x10:#x}; bad: {insn}; ecall"
    setup = "la t0, s_trap; csrw stvec, t0; li t0, 0xb000; csrw medeleg, t0"
    src, pt = paged(body, setup=setup, tail=f".align 2\ns_trap:\n{HALT}")
    if flags:
        pt.map_page(VA, PA_A, flags)
    _board, g = side_by_side(src, pokes=data_pokes(pt))
    v = g.vcpu
    epc = VA + 0x10 if cause == C.INSN_PAGE_FAULT else g.symbols["bad"]
    assert (v.priv, v.scause, v.stval, v.sepc, v.mcause) == (C.S, cause, VA + 0x10, epc, 0)
    assert g.true_faults == 1
    (true,) = events(g, T.PAGE_FAULT, T.TRUE)
    assert (true.cause, true.pc) == (cause, epc)


# --- MMIO --------------------------------------------------------------------------------------------


def test_uart_and_finisher_accesses_are_emulated_against_the_guests_devices():
    src = f"""
_start: li   t0, {UART:#x}
lsr:    lbu  a0, 5(t0)
        li   t1, 0x41
thr:    sb   t1, 0(t0)
        li   t6, {FINISHER:#x}
        li   t5, 0x5555
fin:    sw   t5, 0(t6)
"""
    board, g = side_by_side(src)
    assert g.vcpu.x[10] == board.hart.x[10] == 0x60  # THR empty, transmitter idle
    assert bytes(g.output) == b"A"
    lsr, thr, fin = event_at(g, "lsr"), event_at(g, "thr"), event_at(g, "fin")
    assert (lsr.reason, lsr.action, lsr.cause) == (T.MMIO, T.MMIO_READ, C.LOAD_PAGE_FAULT)
    assert "uart0+0x5" in lsr.detail and "0x60" in lsr.detail
    assert (thr.reason, thr.action) == (T.MMIO, T.MMIO_WRITE) and "uart0+0x0" in thr.detail
    assert (fin.reason, fin.action) == (T.MMIO, T.MMIO_WRITE) and "finisher" in fin.detail
    assert g.reason == "pass"


def test_mmio_through_the_guests_own_page_table_reaches_the_device():
    body = f"""
        li   t0, {VA:#x}
lsr:    lbu  a0, 5(t0)
        li   t1, 0x42
        sb   t1, 0(t0)
        ecall"""
    src, pt = paged(body)
    pt.map_page(VA, UART, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
    _board, g = side_by_side(src, pokes=data_pokes(pt))
    assert bytes(g.output) == b"B"
    assert g.vcpu.x[10] == 0x60
    assert event_at(g, "lsr").action == T.MMIO_READ


def test_finisher_failure_code_reaches_the_guests_halt():
    g = run_guest(f"_start: nop\n{fail(7)}", expect=("fail", 7))
    assert g.reason == "fail (code 7)"


# --- the pv hypercall ----------------------------------------------------------------------------------

HV_EID = 0x0854_564D


def pv_program() -> str:
    return f"""
_start: la   t0, m_trap
        csrw mtvec, t0
{PMP_ALL}
{enter("S", "kernel")}
kernel: la   t0, area
        csrw sscratch, t0
        la   t0, user
        csrw sepc, t0
        li   t0, 0x100
        csrc sstatus, t0            # SPP = U
        li   t0, 0x20
        csrs sstatus, t0            # SPIE
        li   a0, 42
        li   a7, {HV_EID:#x}
        li   a6, 0                  # HV_SRET
hv:     ecall
        {fail(5)}
user:   ecall
        .align 2
m_trap: csrr s0, mcause
        csrr s1, mepc
        csrr s2, mstatus
{HALT}
        .align 2
area:   .word 0x11111111, 0x22222222
"""


def test_hv_sret_hypercall_does_sret_with_a6_a7_from_the_save_area():
    g = run_guest(pv_program(), remedy="pv")
    x = g.vcpu.x
    assert (x[8], x[9]) == (C.ECALL_FROM_U, g.symbols["user"])  # it arrived in U-mode at sepc
    assert (x[10], x[16], x[17]) == (42, 0x1111_1111, 0x2222_2222)
    assert x[18] & (C.MSTATUS_SIE | C.MSTATUS_SPIE | C.MSTATUS_SPP) == C.MSTATUS_SIE | C.MSTATUS_SPIE
    e = event_at(g, "hv")
    assert (e.reason, e.action, e.cause, e.priv) == (T.HYPERCALL, T.SERVED, C.ECALL_FROM_S, C.S)
    assert "HV_SRET" in e.detail
    assert g.log.counts[T.HYPERCALL] == 1


def test_without_the_pv_remedy_the_hypercall_is_an_ordinary_ecall_for_the_guest():
    _board, g = side_by_side(pv_program())
    x = g.vcpu.x
    assert (x[8], x[9]) == (C.ECALL_FROM_S, g.symbols["hv"])
    e = event_at(g, "hv")
    assert (e.reason, e.action) == (T.ECALL, T.INJECTED)
    assert g.log.counts[T.HYPERCALL] == 0


def test_a_hypercall_from_user_mode_is_not_served():
    src = in_mode("U", f"li a7, {HV_EID:#x}; li a6, 0; call: ecall")
    g = run_guest(src, remedy="pv")
    assert (g.vcpu.mcause, g.vcpu.mepc) == (C.ECALL_FROM_U, g.symbols["call"])
    assert event_at(g, "call").reason == T.ECALL


def test_fetch_running_off_a_pmp_region_that_ends_inside_a_page_is_an_access_fault():
    # PMP entry 0: NAPOT over 32 bytes of code (R X); U-mode runs its 8 nops and then the
    # next fetch, in the same page, is outside every entry: instruction access fault.
    src = f"""
_start: la   t0, m_trap
        csrw mtvec, t0
        la   t0, code
        srli t0, t0, 2
        ori  t0, t0, 3              # NAPOT, 32 bytes
        csrw pmpaddr0, t0
        li   t0, 0x1d               # NAPOT, R X
        csrw pmpcfg0, t0
{enter("U", "code")}
        .align 2
m_trap:
{HALT}
        .align 5
code:   nop; nop; nop; nop; nop; nop; nop; nop
past:   nop
"""
    _board, g = side_by_side(src)
    past = g.symbols["past"]
    assert (g.vcpu.mcause, g.vcpu.mepc, g.vcpu.mtval) == (C.INSN_ACCESS_FAULT, past, past)


# --- binary translation (the bt remedy) must not change what a guest does -----------------------------


@pytest.fixture
def impatient(monkeypatch):
    """A guest the VMM livelocks on is reported stuck after 2_000 exits, not 20_000."""
    from tuivmm.vmm import monitor

    monkeypatch.setattr(monitor, "STUCK_EXITS", 2_000, raising=False)


def test_bt_guest_stores_to_a_page_it_has_not_touched_yet(impatient):
    # The page is outside the fault-around block of the code: its first access is this store.
    _board, g = side_by_side(f"_start: li t0, {PA_A:#x}\n li t1, 77\n sw t1, 0(t0)\n lw a0, 0(t0)\n{HALT}",
                            remedy="bt")  # fmt: skip
    assert g.vcpu.x[10] == 77


def test_bt_guest_that_writes_code_then_fences_runs_the_new_code(impatient):
    src = f"""
_start: la   t0, patch
        li   t1, 0x02a00513         # li a0, 42
        sw   t1, 0(t0)
        fence.i
patch:  li   a0, 1
{HALT}"""
    _board, g = side_by_side(src, remedy="bt")
    assert g.vcpu.x[10] == 42
