"""Counters: cycle, time, instret and their gates (privileged spec 1.12, 3.1.10-3.1.12;
unprivileged spec, Zicntr).  Time is deterministic: one tick per retired instruction.
"""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C

from .privharness import ENGINE_IDS, ENGINE_MODES, HALT, HALT_HANDLER, PMP_ALL, enter, machine

pytestmark = pytest.mark.parametrize("stepping", ENGINE_MODES, ids=ENGINE_IDS)

A0, A1 = 10, 11


def run_m(body: str, *, stepping: bool):
    m = machine(f"_start:\n{body}\n{HALT_HANDLER}", stepping=stepping)
    m.run_to_halt()
    return m


def test_counters_read_the_retired_count_in_m_mode(stepping):
    m = run_m("csrr a0, cycle; csrr a1, instret; csrr a2, time; csrr a3, mcycle; csrr a4, minstret",
              stepping=stepping)  # fmt: skip
    assert m.hart.x[A0 : A0 + 5] == [0, 1, 2, 3, 4]


def test_high_halves_read_zero_early_on(stepping):
    m = run_m("csrr a0, cycleh; csrr a1, instreth; csrr a2, timeh", stepping=stepping)
    assert m.hart.x[A0 : A0 + 3] == [0, 0, 0]


def test_instret_counts_every_retired_instruction(stepping):
    m = run_m("csrr a0, instret; nop; addi t0, t0, 1; j 1f; 1: csrr a1, instret", stepping=stepping)
    assert m.hart.x[A1] - m.hart.x[A0] == 4


def test_instret_counts_a_loop_exactly(stepping):
    m = run_m("csrr a0, instret; li t0, 100; 1: addi t0, t0, -1; bnez t0, 1b; csrr a1, instret", stepping=stepping)
    assert m.hart.x[A1] - m.hart.x[A0] == 1 + 1 + 200


@pytest.mark.parametrize("fault", ["ecall", "ebreak", ".word 0xffffffff", "lw t0, 0(zero)", "csrw mhartid, zero"])
def test_trapping_instruction_does_not_retire(stepping, fault):
    src = f"""
_start: la   t0, handler
        csrw mtvec, t0
        csrr a0, instret
        {fault}
        .align 2
handler:
        csrr a1, instret
{HALT}"""
    m = machine(src, stepping=stepping)
    m.run_to_halt()
    assert m.hart.x[A1] - m.hart.x[A0] == 1  # only the first csrr


def test_icount_excludes_trapping_instructions(stepping):
    m = machine(f"_start: la t0, h; csrw mtvec, t0; ebreak\n.align 2\nh: {HALT}", stepping=stepping)
    m.run_to_halt()
    assert m.hart.icount == 2 + 1 + 4  # la (2), csrw, no ebreak, the halting li, li (2), sw


# --- writes (Zicsr: "the write is done instead of the increment"; 3.1.10) --------------------
# A CSR instruction reads a counter's value before it executes; one that writes a half
# replaces its own increment, so the next instruction reads the written 64-bit value: the
# other half is what it was before the writer, with no carry from the writer's retirement.

COUNTERS = pytest.mark.parametrize(("lo", "hi"), [("minstret", "minstreth"), ("mcycle", "mcycleh")])


@COUNTERS
def test_counter_write_is_what_the_next_instruction_reads(stepping, lo, hi):
    m = run_m(f"li t0, 1000; csrw {lo}, t0; csrr a0, {lo}; nop; csrr a1, {lo[1:]}", stepping=stepping)
    assert (m.hart.x[A0], m.hart.x[A1]) == (1000, 1002)


@COUNTERS
def test_counter_high_write_is_what_the_next_instruction_reads(stepping, lo, hi):
    m = run_m(f"li t0, 7; csrw {hi}, t0; csrr a0, {hi}; csrr a1, {hi[1:]}", stepping=stepping)
    assert (m.hart.x[A0], m.hart.x[A1]) == (7, 7)


@COUNTERS
def test_counter_low_half_carries_into_the_high_half(stepping, lo, hi):
    m = run_m(f"li t0, -2; csrw {lo}, t0; nop; nop; csrr a0, {lo}; csrr a1, {hi}", stepping=stepping)
    assert (m.hart.x[A0], m.hart.x[A1]) == (0, 1)


@COUNTERS
def test_counter_low_write_at_all_ones_does_not_carry(stepping, lo, hi):
    # The second write finds the low half at 0xFFFFFFFF: its own retirement would carry,
    # but the write is done instead of that increment.
    m = run_m(f"li t0, -1; csrw {lo}, t0; csrw {lo}, t0; csrr a0, {hi}; csrr a1, {hi}; csrr a2, {lo}",
              stepping=stepping)  # fmt: skip
    assert m.hart.x[A0 : A0 + 3] == [0, 1, 1]


@COUNTERS
def test_counter_high_write_keeps_the_low_half(stepping, lo, hi):
    m = run_m(f"li t0, 5; csrw {lo}, t0; li t1, 9; csrw {hi}, t1; csrr a0, {lo}; csrr a1, {hi}",
              stepping=stepping)  # fmt: skip
    assert (m.hart.x[A0], m.hart.x[A1]) == (6, 9)  # 5 at the li, 6 at the csrw, which adds nothing


@COUNTERS
def test_counter_high_write_keeps_an_all_ones_low_half(stepping, lo, hi):
    m = run_m(f"li t0, -1; csrw {lo}, t0; csrw {hi}, zero; csrr a0, {lo}; csrr a1, {hi}; csrr a2, {lo}",
              stepping=stepping)  # fmt: skip
    assert m.hart.x[A0 : A0 + 3] == [0xFFFF_FFFF, 1, 1]


@COUNTERS
def test_counter_write_high_then_low(stepping, lo, hi):
    m = run_m(f"li t0, 5; csrw {hi}, t0; li t1, -1; csrw {lo}, t1; csrr a0, {lo}; csrr a1, {hi}",
              stepping=stepping)  # fmt: skip
    assert (m.hart.x[A0], m.hart.x[A1]) == (0xFFFF_FFFF, 6)


@COUNTERS
def test_counter_wraps_from_all_ones_to_zero(stepping, lo, hi):
    # Issue 13's case: csrw lo,-1; csrw hi,-1; nop; csrr lo reads 0.
    m = run_m(f"li t0, -1; csrw {lo}, t0; csrw {hi}, t0; nop; csrr a0, {lo}; csrr a1, {hi}", stepping=stepping)
    assert (m.hart.x[A0], m.hart.x[A1]) == (0, 0)


@COUNTERS
def test_counter_read_at_all_ones_then_wrapped(stepping, lo, hi):
    m = run_m(f"li t0, -1; csrw {lo}, t0; csrw {hi}, t0; csrr a0, {hi}; csrr a1, {lo}; csrr a2, {hi}",
              stepping=stepping)  # fmt: skip
    assert m.hart.x[A0 : A0 + 3] == [0xFFFF_FFFF, 0, 0]


@COUNTERS
def test_counter_csrrw_returns_the_count_before_it(stepping, lo, hi):
    m = run_m(f"li t0, 100; csrw {lo}, t0; li t1, 7; csrrw a0, {lo}, t1; csrr a1, {lo}", stepping=stepping)
    assert (m.hart.x[A0], m.hart.x[A1]) == (101, 7)


@COUNTERS
def test_counter_csrrs_sets_bits_in_the_count_before_it(stepping, lo, hi):
    m = run_m(f"li t0, 0x100; csrw {lo}, t0; li t1, 0x10; csrrs a0, {lo}, t1; csrr a1, {lo}", stepping=stepping)
    assert (m.hart.x[A0], m.hart.x[A1]) == (0x101, 0x111)


@COUNTERS
def test_counter_csrrc_of_the_high_half_keeps_the_low_half(stepping, lo, hi):
    m = run_m(f"li t0, -1; csrw {lo}, t0; csrw {hi}, t0; csrrci a0, {hi}, 3; csrr a1, {hi}; csrr a2, {lo}",
              stepping=stepping)  # fmt: skip
    # csrrci reads 0xFFFFFFFF (the count is all ones) and writes 0xFFFFFFFC over it,
    # instead of wrapping the count to zero.
    assert m.hart.x[A0 : A0 + 3] == [0xFFFF_FFFF, 0xFFFF_FFFC, 0]


def test_mcountinhibit_is_hardwired_zero(stepping):
    m = run_m("li t0, -1; csrw mcountinhibit, t0; csrr a0, mcountinhibit; csrr a1, minstret; csrr a2, mcycle",
              stepping=stepping)  # fmt: skip
    assert m.hart.x[A0 : A0 + 3] == [0, 3, 4]


def test_writing_mcycle_does_not_move_time(stepping):
    m = run_m("li t0, 5000; csrw mcycle, t0; csrr a0, time", stepping=stepping)
    assert m.hart.x[A0] == 3


# --- mcounteren and scounteren (3.1.11, 4.1.5) ----------------------------------------------


def counter_read(mode: str, csr: str, mcounteren: int, scounteren: int) -> str:
    setup = f"li t0, {mcounteren}; csrw mcounteren, t0; li t0, {scounteren}; csrw scounteren, t0"
    return f"""
_start:
        la   t0, trap_halt
        csrw mtvec, t0
{PMP_ALL}
        {setup}
{enter(mode, "body")}
body:   csrr a0, {csr}
        ecall
{HALT_HANDLER}"""


COUNTER_BITS = [("cycle", 0), ("time", 1), ("instret", 2), ("cycleh", 0), ("timeh", 1), ("instreth", 2),
                ("hpmcounter3", 3), ("hpmcounter31h", 31)]  # fmt: skip


@pytest.mark.parametrize(("csr", "bit"), COUNTER_BITS)
def test_s_mode_counter_read_needs_mcounteren(stepping, csr, bit):
    m = machine(counter_read("S", csr, mcounteren=~(1 << bit) & 0xFFFF_FFFF, scounteren=-1), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc) == (C.ILLEGAL_INSN, m.sym("body"))


@pytest.mark.parametrize(("csr", "bit"), COUNTER_BITS)
def test_s_mode_counter_read_allowed_by_mcounteren_alone(stepping, csr, bit):
    m = machine(counter_read("S", csr, mcounteren=1 << bit, scounteren=0), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S


@pytest.mark.parametrize(("csr", "bit"), COUNTER_BITS)
def test_u_mode_counter_read_needs_scounteren(stepping, csr, bit):
    m = machine(counter_read("U", csr, mcounteren=-1, scounteren=~(1 << bit) & 0xFFFF_FFFF), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc) == (C.ILLEGAL_INSN, m.sym("body"))


@pytest.mark.parametrize(("csr", "bit"), COUNTER_BITS)
def test_u_mode_counter_read_needs_mcounteren(stepping, csr, bit):
    m = machine(counter_read("U", csr, mcounteren=~(1 << bit) & 0xFFFF_FFFF, scounteren=-1), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ILLEGAL_INSN


@pytest.mark.parametrize(("csr", "bit"), COUNTER_BITS)
def test_u_mode_counter_read_allowed_by_both_enables(stepping, csr, bit):
    m = machine(counter_read("U", csr, mcounteren=1 << bit, scounteren=1 << bit), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_U


def test_u_mode_reads_the_same_time_as_m_mode(stepping):
    m = machine(counter_read("U", "time", mcounteren=2, scounteren=2), stepping=stepping)
    m.run_to_halt()
    assert m.hart.x[A0] == m.hart.icount - 5  # then the csrr, no ecall, four halting instructions


def test_m_mode_ignores_counter_enables(stepping):
    m = machine(counter_read("M", "cycle", mcounteren=0, scounteren=0), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_M


def test_time_follows_a_clint_mtime_write(stepping):
    src = f"""
_start: li   t1, 0x200bff8      # CLINT mtime
        li   t2, 100000
        sw   zero, 4(t1)
        sw   t2, 0(t1)
        csrr a0, time
        lw   a1, 0(t1)
{HALT}"""
    m = machine(src, stepping=stepping)
    m.run_to_halt()
    # mtime is a device clock, not a CSR: it takes the value at the store and ticks on
    # when that store retires.
    assert (m.hart.x[A0], m.hart.x[A1]) == (100_001, 100_002)
