"""Sv32 address translation (privileged spec 1.12, 4.3): pages, superpages, permission
bits, U/SUM/MXR, A/D bits, the faults and their tval.

Page tables are built by the test in RAM.  The code runs from RAM's 4 MiB megapage,
identity-mapped (U set for U-mode programs); test pages live at VA 0x4000_0000.
Traps to M halt the machine; M-mode itself never translates.
"""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C

from .privharness import (
    ENGINE_IDS, ENGINE_MODES, HALT, RAM_BASE, PageTables,
)  # fmt: skip

from .sv32harness import PA_A, PA_B, ROOT, SATP, VA, A, D, R, U, V, W, X, build  # noqa: F401

pytestmark = pytest.mark.parametrize("stepping", ENGINE_MODES, ids=ENGINE_IDS)





def map_user_code_then_supervisor_code(m, pt: PageTables, s_code: int) -> None:
    """Identity-map the program's pages: U pages up to `s_code`, then one S page."""
    for page in range(RAM_BASE, s_code, 0x1000):
        pt.map_page(page, page, V | R | X | U | A)
    pt.map_page(s_code, s_code, V | R | X | A)


def ecall_cause(mode: str) -> int:
    return {"S": C.ECALL_FROM_S, "U": C.ECALL_FROM_U, "M": C.ECALL_FROM_M}[mode]


def assert_fault(m, cause: int, tval: int, epc: int | None = None) -> None:
    h = m.hart
    assert (h.mcause, h.mtval) == (cause, tval), f"mcause={h.mcause} mtval={h.mtval:#x}"
    if epc is not None:
        assert h.mepc == epc


LOAD = f"li t1, {VA:#x}; lw a0, 0(t1)"
STORE = f"li t1, {VA:#x}; li t2, 0x5151; sw t2, 0(t1)"
FETCH = f"li t1, {VA:#x}; jalr t1"


# --- pages and superpages -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["S", "U"])
def test_4k_page_maps_va_to_pa(stepping, mode):
    m, pt = build(mode, f"li t1, {VA:#x}; lw a0, 0(t1); li t1, {VA + 0x1000:#x}; lw a1, 0(t1)", stepping=stepping)
    pt.map_page(VA, PA_A, V | R | A | (U if mode == "U" else 0))
    pt.map_page(VA + 0x1000, PA_B, V | R | A | (U if mode == "U" else 0))
    m.run_to_halt()
    assert m.hart.mcause == ecall_cause(mode)
    assert (m.hart.x[10], m.hart.x[11]) == (0xAAAA_0001, 0xBBBB_0002)


def test_store_through_4k_page_reaches_its_frame(stepping):
    m, pt = build("S", STORE, stepping=stepping)
    pt.map_page(VA, PA_B, V | R | W | A | D)
    m.run_to_halt()
    assert m.word(PA_B) == 0x5151


def test_4m_superpage_maps_va_to_pa(stepping):
    m, pt = build("S", f"li t1, {VA + (PA_B - RAM_BASE):#x}; lw a0, 0(t1)", stepping=stepping)
    pt.map_superpage(VA, RAM_BASE, V | R | A)
    m.run_to_halt()
    assert m.hart.x[10] == 0xBBBB_0002


def test_misaligned_superpage_is_a_page_fault(stepping):
    m, pt = build("S", f"li t1, {VA + 8:#x}; bad: lw a0, 0(t1)", stepping=stepping)
    pt.map_superpage(VA, PA_A, V | R | A)  # PPN[0] != 0
    m.run_to_halt()
    assert_fault(m, C.LOAD_PAGE_FAULT, VA + 8, m.sym("bad"))


def test_code_runs_from_a_4k_page(stepping):
    m, pt = build("S", FETCH, stepping=stepping)
    m.poke(PA_A, 0x0000_0073)  # ecall
    pt.map_page(VA, PA_A, V | X | A)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc) == (C.ECALL_FROM_S, VA)


def test_32bit_instruction_straddling_into_an_unmapped_page_faults_at_its_second_half(stepping):
    # RV32C: tval is the address of the half that could not be fetched, epc the
    # instruction's own (unprivileged 1.5, privileged 3.1.16).
    m, pt = build("S", f"li t1, {VA + 0xFFE:#x}; jalr t1", stepping=stepping)
    m.poke(PA_A + 0xFFC, 0x0513_0001)  # c.nop; the first half of `addi a0, zero, 0x7b`
    pt.map_page(VA, PA_A, V | X | A)
    m.run_to_halt()
    assert_fault(m, C.INSN_PAGE_FAULT, VA + 0x1000, VA + 0xFFE)


def test_32bit_instruction_straddling_two_mapped_pages_runs(stepping):
    m, pt = build("S", f"li t1, {VA + 0xFFE:#x}; jalr t1", stepping=stepping)
    m.poke(PA_A + 0xFFC, 0x0513_0001)  # c.nop; addi a0, zero, 0x7b (first half)
    m.poke(PA_B, 0x0073_07B0)  # its second half; ecall (first half)
    m.poke(PA_B + 4, 0x0000_0000)  # ecall (second half)
    pt.map_page(VA, PA_A, V | X | A)
    pt.map_page(VA + 0x1000, PA_B, V | X | A)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.x[10]) == (C.ECALL_FROM_S, VA + 0x1002, 0x7B)


def test_same_frame_at_two_addresses_runs_each_with_its_own_pc(stepping):
    body = f"li t1, {VA:#x}; jalr t1; mv s2, a0; li t1, {VA + 0x2000:#x}; jalr t1"
    m, pt = build("S", body, stepping=stepping)
    m.poke(PA_A, 0x0000_0517)  # auipc a0, 0
    m.poke(PA_A + 4, 0x0000_8067)  # ret
    pt.map_page(VA, PA_A, V | X | A)
    pt.map_page(VA + 0x2000, PA_A, V | X | A)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    assert (m.hart.x[18], m.hart.x[10]) == (VA, VA + 0x2000)


# --- faults and their tval ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "cause", "tval"),
    [
        (f"li t1, {VA:#x}; bad: lw a0, 0x124(t1)", C.LOAD_PAGE_FAULT, VA + 0x124),
        (f"li t1, {VA:#x}; bad: sw a0, 0x124(t1)", C.STORE_PAGE_FAULT, VA + 0x124),
        (f"li t1, {VA:#x}; bad: lbu a0, 0x7ff(t1)", C.LOAD_PAGE_FAULT, VA + 0x7FF),
        (f"li t1, {VA:#x}; bad: amoswap.w a0, a0, (t1)", C.STORE_PAGE_FAULT, VA),
        (f"li t1, {VA:#x}; bad: lr.w a0, (t1)", C.LOAD_PAGE_FAULT, VA),
        (f"li t1, {VA:#x}; bad: sc.w a0, a0, (t1)", C.STORE_PAGE_FAULT, VA),
    ],
)
def test_invalid_pte_faults_with_the_virtual_address(stepping, body, cause, tval):
    m, pt = build("S", body, stepping=stepping)
    pt.map_page(VA, PA_A, R | W | X | A | D)  # V clear
    m.run_to_halt()
    assert_fault(m, cause, tval, m.sym("bad"))


def test_fetch_from_invalid_pte_is_instruction_page_fault_at_target(stepping):
    m, pt = build("S", FETCH, stepping=stepping)
    m.run_to_halt()  # the second-level table was never made: the L1 entry is invalid
    assert_fault(m, C.INSN_PAGE_FAULT, VA, VA)


def test_running_off_the_end_of_a_page_faults_at_the_next_page(stepping):
    m, pt = build("S", f"li t1, {VA + 0xFFC:#x}; jalr t1", stepping=stepping)
    m.poke(PA_A + 0xFFC, 0x0000_0013)  # nop
    pt.map_page(VA, PA_A, V | X | A)
    m.run_to_halt()
    assert_fault(m, C.INSN_PAGE_FAULT, VA + 0x1000, VA + 0x1000)


def test_non_leaf_pte_at_the_last_level_is_a_page_fault(stepping):
    m, pt = build("S", f"{LOAD}", stepping=stepping)
    pt.map_page(VA, PA_A, V)  # a pointer where a leaf must be
    m.run_to_halt()
    assert_fault(m, C.LOAD_PAGE_FAULT, VA)


@pytest.mark.parametrize(("body", "cause"), [(LOAD, C.LOAD_PAGE_FAULT), (STORE, C.STORE_PAGE_FAULT)])
@pytest.mark.parametrize("flags", [V | W | A | D, V | W | X | A | D])
def test_writable_without_readable_is_reserved(stepping, body, cause, flags):
    m, pt = build("S", body, stepping=stepping)
    pt.map_page(VA, PA_A, flags)
    m.run_to_halt()
    assert_fault(m, cause, VA)


@pytest.mark.parametrize(("body", "cause"), [(LOAD, C.LOAD_ACCESS_FAULT), (STORE, C.STORE_ACCESS_FAULT),
                                             (FETCH, C.INSN_ACCESS_FAULT)])  # fmt: skip
def test_page_table_outside_ram_is_an_access_fault(stepping, body, cause):
    m, pt = build("S", body, stepping=stepping)
    pt.set_l1(VA, ((0x2000_0000 >> 12) << 10) | V)  # second level where nothing answers
    m.run_to_halt()
    assert_fault(m, cause, VA)


def test_root_table_outside_ram_faults_the_first_fetch(stepping):
    m, pt = build("S", "nop", stepping=stepping, setup=f"li t0, {(1 << 31) | 0x10000:#x}; csrw satp, t0")
    m.run_to_halt()
    body = m.sym("body")
    assert_fault(m, C.INSN_ACCESS_FAULT, body, body)


def test_page_fault_delegated_to_s_sets_scause_and_stval(stepping):
    handler = """
        .align 12               # a page of its own: S code, not U
s_trap: ecall                   # from S, to M: the end
"""
    setup = f"la t0, s_trap; csrw stvec, t0; li t0, {1 << C.LOAD_PAGE_FAULT}; csrw medeleg, t0"
    m, pt = build("U", f"li t1, {VA + 0x40:#x}; bad: lw a0, 0(t1)", stepping=stepping, setup=setup, extra=handler,
                  identity=False)  # fmt: skip
    map_user_code_then_supervisor_code(m, pt, m.sym("s_trap"))
    m.run_to_halt()
    h = m.hart
    assert (h.scause, h.stval, h.sepc) == (C.LOAD_PAGE_FAULT, VA + 0x40, m.sym("bad"))
    assert (h.mcause, h.mepc) == (C.ECALL_FROM_S, m.sym("s_trap"))


# --- R, W, X ------------------------------------------------------------------------------


def test_store_to_read_only_page_is_a_store_page_fault(stepping):
    m, pt = build("S", STORE, stepping=stepping)
    pt.map_page(VA, PA_A, V | R | A | D)
    m.run_to_halt()
    assert_fault(m, C.STORE_PAGE_FAULT, VA)
    assert m.word(PA_A) == 0xAAAA_0001


def test_amo_on_read_only_page_is_a_store_page_fault(stepping):
    m, pt = build("S", f"li t1, {VA:#x}; amoadd.w a0, t1, (t1)", stepping=stepping)
    pt.map_page(VA, PA_A, V | R | A | D)
    m.run_to_halt()
    assert_fault(m, C.STORE_PAGE_FAULT, VA)


def test_fetch_from_non_executable_page_is_an_instruction_page_fault(stepping):
    m, pt = build("S", FETCH, stepping=stepping)
    m.poke(PA_A, 0x0000_0073)
    pt.map_page(VA, PA_A, V | R | W | A | D)
    m.run_to_halt()
    assert_fault(m, C.INSN_PAGE_FAULT, VA, VA)


def test_load_from_execute_only_page_is_a_load_page_fault(stepping):
    m, pt = build("S", LOAD, stepping=stepping)
    pt.map_page(VA, PA_A, V | X | A)
    m.run_to_halt()
    assert_fault(m, C.LOAD_PAGE_FAULT, VA)


def test_mxr_makes_execute_only_page_readable(stepping):
    m, pt = build("S", LOAD, stepping=stepping, setup=f"li t0, {C.MSTATUS_MXR}; csrs mstatus, t0")
    pt.map_page(VA, PA_A, V | X | A)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S and m.hart.x[10] == 0xAAAA_0001


def test_mxr_does_not_make_execute_only_page_writable(stepping):
    m, pt = build("S", STORE, stepping=stepping, setup=f"li t0, {C.MSTATUS_MXR}; csrs mstatus, t0")
    pt.map_page(VA, PA_A, V | X | A | D)
    m.run_to_halt()
    assert_fault(m, C.STORE_PAGE_FAULT, VA)


def test_clearing_mxr_takes_away_the_read(stepping):
    body = f"li t0, {C.MSTATUS_MXR}; csrs sstatus, t0; {LOAD}; csrc sstatus, t0; bad: lw a1, 0(t1)"
    m, pt = build("S", body, stepping=stepping)
    pt.map_page(VA, PA_A, V | X | A)
    m.run_to_halt()
    assert_fault(m, C.LOAD_PAGE_FAULT, VA, m.sym("bad"))
    assert m.hart.x[10] == 0xAAAA_0001


# --- U and SUM --------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "cause"), [(LOAD, C.LOAD_PAGE_FAULT), (STORE, C.STORE_PAGE_FAULT),
                                             (FETCH, C.INSN_PAGE_FAULT)])  # fmt: skip
def test_u_mode_cannot_touch_supervisor_pages(stepping, body, cause):
    m, pt = build("U", body, stepping=stepping)
    m.poke(PA_A, 0x0000_0073)
    pt.map_page(VA, PA_A, V | R | W | X | A | D)
    m.run_to_halt()
    assert_fault(m, cause, VA)


@pytest.mark.parametrize(("body", "cause"), [(LOAD, C.LOAD_PAGE_FAULT), (STORE, C.STORE_PAGE_FAULT)])
def test_s_mode_cannot_touch_user_pages_without_sum(stepping, body, cause):
    m, pt = build("S", body, stepping=stepping)
    pt.map_page(VA, PA_A, V | R | W | U | A | D)
    m.run_to_halt()
    assert_fault(m, cause, VA)


def test_s_mode_touches_user_pages_with_sum(stepping):
    m, pt = build("S", f"{STORE}; lw a0, 0(t1)", stepping=stepping, setup=f"li t0, {C.MSTATUS_SUM}; csrs mstatus, t0")
    pt.map_page(VA, PA_A, V | R | W | U | A | D)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S and m.hart.x[10] == 0x5151


def test_s_mode_never_executes_user_pages(stepping):
    m, pt = build("S", FETCH, stepping=stepping, setup=f"li t0, {C.MSTATUS_SUM}; csrs mstatus, t0")
    m.poke(PA_A, 0x0000_0073)
    pt.map_page(VA, PA_A, V | R | X | U | A)
    m.run_to_halt()
    assert_fault(m, C.INSN_PAGE_FAULT, VA, VA)


def test_clearing_sum_takes_away_user_pages(stepping):
    body = f"li t0, {C.MSTATUS_SUM}; csrs sstatus, t0; {LOAD}; csrc sstatus, t0; bad: lw a1, 0(t1)"
    m, pt = build("S", body, stepping=stepping)
    pt.map_page(VA, PA_A, V | R | U | A)
    m.run_to_halt()
    assert_fault(m, C.LOAD_PAGE_FAULT, VA, m.sym("bad"))
    assert m.hart.x[10] == 0xAAAA_0001


def test_user_page_is_not_reachable_from_s_after_u_used_it(stepping):
    # U loads from VA (filling U's translation), then ECALLs to an S handler that tries too.
    handler = f"""
        .align 12               # a page of its own: S code, not U
s_trap: li   t1, {VA:#x}
s_bad:  lw   a1, 0(t1)
{HALT}"""
    setup = f"la t0, s_trap; csrw stvec, t0; li t0, {1 << C.ECALL_FROM_U}; csrw medeleg, t0"
    m, pt = build("U", LOAD, stepping=stepping, setup=setup, extra=handler, identity=False)
    map_user_code_then_supervisor_code(m, pt, m.sym("s_trap"))
    pt.map_page(VA, PA_A, V | R | U | A)
    m.run_to_halt()
    h = m.hart
    assert h.x[10] == 0xAAAA_0001  # U's load worked
    assert (h.mcause, h.mepc, h.mtval) == (C.LOAD_PAGE_FAULT, m.sym("s_bad"), VA)
