"""Back-to-back loads or stores through one base register.

The block translator lets such a run share one TLB lookup when all of it falls on one
page the TLB holds and the base is aligned (codegen `_add_group`); otherwise each
access takes its own path.  Each program here loops, so the second pass finds its
pages in the TLB and takes the shared path wherever it may; the single-stepper (the
`step` engine) never groups, and both must leave the same state.
"""

from __future__ import annotations

import pytest

from machine.cpu.csrs import STORE_ACCESS_FAULT

from .harness import DATA, ENGINES, RAM_BASE, RAM_SIZE, reg, run_asm, run_to_ecall, word

pytestmark = pytest.mark.parametrize(**ENGINES)


def test_a_prologue_and_epilogue_save_and_restore_every_register(steps):
    hart = run_to_ecall(
        f"""
        li sp, {DATA + 0x100}
        li s1, 3                # passes
        li t0, 0
    1:  addi sp, sp, -16
        addi s2, t0, 0x11
        addi s3, t0, 0x22
        addi s4, t0, 0x33
        sw s2, 12(sp)
        sw s3, 8(sp)
        sw s4, 4(sp)
        sw t0, 0(sp)
        li s2, 0
        li s3, 0
        li s4, 0
        lw a2, 4(sp)
        lw a1, 8(sp)
        lw a0, 12(sp)
        lw a3, 0(sp)
        addi sp, sp, 16
        addi t0, t0, 0x100
        addi s1, s1, -1
        bnez s1, 1b
        ecall
        """,
        steps=steps,
    )
    assert [reg(hart, r) for r in ("a0", "a1", "a2", "a3", "sp")] == [0x211, 0x222, 0x233, 0x200, DATA + 0x100]
    assert [word(hart, DATA + 0xF0 + 4 * k) for k in range(4)] == [0x200, 0x233, 0x222, 0x211]


def test_mixed_widths_are_sign_and_zero_extended(steps):
    hart = run_to_ecall(
        f"""
        li s0, {DATA}
        li t0, 0x80F08180
        sw t0, 0(s0)
        li t0, 0x7FFF8001
        sw t0, 4(s0)
        li s1, 2
    1:  lb a0, 0(s0)
        lbu a1, 1(s0)
        lh a2, 2(s0)
        lhu a3, 4(s0)
        lh a4, 6(s0)
        lw a5, 4(s0)
        sb a0, 8(s0)
        sh a2, 10(s0)
        sb a1, 9(s0)
        addi s1, s1, -1
        bnez s1, 1b
        ecall
        """,
        steps=steps,
    )
    assert [reg(hart, r) for r in ("a0", "a1", "a2", "a3", "a4", "a5")] == [
        0xFFFF_FF80, 0x81, 0xFFFF_80F0, 0x8001, 0x7FFF, 0x7FFF_8001,
    ]  # fmt: skip
    assert word(hart, DATA + 8) == 0x80F0_8180


def test_a_load_of_the_base_register_ends_the_run(steps):
    hart = run_to_ecall(
        f"""
        li s0, {DATA}
        li t0, {DATA + 0x40}
        sw t0, 4(s0)
        li t0, 0x1234
        sw t0, 0x48(s0)
        li t0, 0x5678
        sw t0, 8(s0)
        li s1, 2
    1:  mv a0, s0
        lw a1, 8(a0)
        lw a0, 4(a0)     # a new base ...
        lw a2, 8(a0)     # ... that this load uses
        addi s1, s1, -1
        bnez s1, 1b
        ecall
        """,
        steps=steps,
    )
    assert (reg(hart, "a1"), reg(hart, "a0"), reg(hart, "a2")) == (0x5678, DATA + 0x40, 0x1234)


def test_a_run_across_a_page_end_reaches_both_pages(steps):
    # Pass one: all on one page; pass two: the base moves so the run straddles the end.
    hart = run_to_ecall(
        f"""
        li s0, {DATA + 0xFE0}
        li s1, 2
    1:  li t0, 0x1111
        li t1, 0x2222
        li t2, 0x3333
        sw t0, 0(s0)
        sw t1, 8(s0)
        sw t2, 16(s0)
        lw a0, 0(s0)
        lw a1, 8(s0)
        lw a2, 16(s0)
        addi s0, s0, 0x18
        addi s1, s1, -1
        bnez s1, 1b
        ecall
        """,
        steps=steps,
    )
    assert [word(hart, DATA + 0xFF8 + 8 * k) for k in range(3)] == [0x1111, 0x2222, 0x3333]
    assert [reg(hart, r) for r in ("a0", "a1", "a2")] == [0x1111, 0x2222, 0x3333]


def test_a_store_faulting_part_way_leaves_the_earlier_ones_done(steps):
    end = RAM_BASE + RAM_SIZE
    hart, exit_ = run_asm(
        f"""
        li s0, {end - 0x28}
        li s1, 0
    1:  addi s1, s1, 1
        sw s1, 0(s0)
        sw s1, 4(s0)
        sw s1, 8(s0)     # pass two: the first word past RAM
        addi s0, s0, 0x20
        j 1b
        """,
        steps=steps,
    )
    assert (exit_.cause, exit_.tval, exit_.epc) == (STORE_ACCESS_FAULT, end, RAM_BASE + 24)
    assert (word(hart, end - 8), word(hart, end - 4), hart.icount) == (2, 2, 3 + 6 + 3)
    assert [word(hart, end - 0x28 + 4 * k) for k in range(3)] == [1, 1, 1]


def test_a_misaligned_base_still_works_byte_by_byte(steps):
    hart = run_to_ecall(
        f"""
        li s0, {DATA + 2}
        li t0, 0x44332211
        li t1, 0x88776655
        li s1, 2
    1:  sw t0, 0(s0)
        sw t1, 4(s0)
        lw a0, 0(s0)
        lw a1, 4(s0)
        lhu a2, 2(s0)
        addi s1, s1, -1
        bnez s1, 1b
        ecall
        """,
        steps=steps,
    )
    assert (reg(hart, "a0"), reg(hart, "a1"), reg(hart, "a2")) == (0x4433_2211, 0x8877_6655, 0x4433)
    assert (word(hart, DATA), word(hart, DATA + 4)) == (0x2211_AAAA, 0x6655_4433)


def test_stores_over_the_code_that_follows_them_run_the_new_code(steps):
    # The run of stores rewrites the two instructions after it (a page with translated
    # code is kept out of the store TLB, so each store takes the slow path).
    hart = run_to_ecall(
        """
        la s0, 2f
        la t0, 3f
        lw t1, 0(t0)
        lw t2, 4(t0)
        li a0, 0
        sw t1, 0(s0)
        sw t2, 4(s0)
    2:  addi a0, a0, 1
        addi a0, a0, 2
        ecall
    3:  addi a0, a0, 40
        addi a0, a0, 50
        """,
        steps=steps,
    )
    assert reg(hart, "a0") == 90
