"""Branches, jal and jalr: taken and not taken, link values, 2-byte-aligned targets.

With the C extension IALIGN is 16: a branch or jump may go to any even address and
never raises instruction-address-misaligned (jalr clears bit 0 of its target and
branch/jump offsets are even), unprivileged 2.5.  `.half 0x0001` is c.nop.
"""

from __future__ import annotations

import pytest

from machine.cpu.csrs import ECALL_FROM_M, ILLEGAL_INSN
from machine.cpu.trap import ExitKind

from .harness import ENGINES, RAM_BASE, reg, run_asm, run_to_ecall

pytestmark = pytest.mark.parametrize(**ENGINES)

# a0 = 1 if the branch was taken, 2 if it fell through.
TAKEN, FELL_THROUGH = 1, 2


def branch(setup: str, insn: str, steps: bool) -> int:
    source = f"""
        {setup}
        {insn}, 1f
        li a0, 2
        ecall
    1:  li a0, 1
        ecall
    """
    return reg(run_to_ecall(source, steps=steps), "a0")


def test_beq_equal_is_taken(steps):
    assert branch("li a1, -1; li a2, -1", "beq a1, a2", steps) == TAKEN


def test_beq_unequal_falls_through(steps):
    assert branch("li a1, 1; li a2, 2", "beq a1, a2", steps) == FELL_THROUGH


def test_bne_unequal_is_taken(steps):
    assert branch("li a1, 0x80000000; li a2, 0", "bne a1, a2", steps) == TAKEN


def test_bne_equal_falls_through(steps):
    assert branch("li a1, 5; li a2, 5", "bne a1, a2", steps) == FELL_THROUGH


def test_blt_minus_one_less_than_zero_is_taken(steps):
    assert branch("li a1, -1; li a2, 0", "blt a1, a2", steps) == TAKEN


def test_blt_int_min_less_than_int_max_is_taken(steps):
    assert branch("li a1, 0x80000000; li a2, 0x7FFFFFFF", "blt a1, a2", steps) == TAKEN


def test_blt_int_max_not_less_than_int_min_falls_through(steps):
    assert branch("li a1, 0x7FFFFFFF; li a2, 0x80000000", "blt a1, a2", steps) == FELL_THROUGH


def test_blt_equal_falls_through(steps):
    assert branch("li a1, 3; li a2, 3", "blt a1, a2", steps) == FELL_THROUGH


def test_bge_equal_is_taken(steps):
    assert branch("li a1, -3; li a2, -3", "bge a1, a2", steps) == TAKEN


def test_bge_zero_not_less_than_minus_one_is_taken(steps):
    assert branch("li a1, 0; li a2, -1", "bge a1, a2", steps) == TAKEN


def test_bge_int_min_against_int_max_falls_through(steps):
    assert branch("li a1, 0x80000000; li a2, 0x7FFFFFFF", "bge a1, a2", steps) == FELL_THROUGH


def test_bltu_zero_less_than_all_ones_is_taken(steps):
    assert branch("li a1, 0; li a2, -1", "bltu a1, a2", steps) == TAKEN


def test_bltu_all_ones_not_less_than_zero_falls_through(steps):
    assert branch("li a1, -1; li a2, 0", "bltu a1, a2", steps) == FELL_THROUGH


def test_bltu_int_max_less_than_int_min_is_taken(steps):
    assert branch("li a1, 0x7FFFFFFF; li a2, 0x80000000", "bltu a1, a2", steps) == TAKEN


def test_bgeu_all_ones_against_zero_is_taken(steps):
    assert branch("li a1, -1; li a2, 0", "bgeu a1, a2", steps) == TAKEN


def test_bgeu_equal_is_taken(steps):
    assert branch("li a1, 0x80000000; li a2, 0x80000000", "bgeu a1, a2", steps) == TAKEN


def test_bgeu_one_against_int_min_falls_through(steps):
    assert branch("li a1, 1; li a2, 0x80000000", "bgeu a1, a2", steps) == FELL_THROUGH


def test_branch_against_x0_reads_zero(steps):
    assert branch("li a1, 0; li x0, 5", "beq a1, x0", steps) == TAKEN


def test_backward_branch_loop_runs_its_count(steps):
    source = """
        li a1, 10
        li a0, 0
    1:  addi a0, a0, 3
        addi a1, a1, -1
        bnez a1, 1b
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert reg(hart, "a0") == 30 and hart.icount == 2 + 30


def test_one_instruction_self_loop_stops_on_its_condition(steps):
    source = """
        li a1, 100
    1:  addi a1, a1, -1
        bnez a1, 1b
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert reg(hart, "a1") == 0 and hart.icount == 1 + 200


def test_self_loop_leaves_at_exactly_the_budget(steps):
    source = """
        li a1, 100
    1:  addi a1, a1, -1
        bnez a1, 1b
        ecall
    """
    hart, exit_ = run_asm(source, steps=steps, max_insns=1 + 2 * 37)
    assert exit_.kind is ExitKind.BUDGET
    assert (hart.pc, reg(hart, "a1"), hart.icount) == (RAM_BASE + 4, 63, 75)


def test_taken_branch_to_halfword_aligned_target_lands_there(steps):
    hart, exit_ = run_asm("nop; beq x0, x0, .+6; .half 0x0001; ecall", steps=steps)
    assert (exit_.cause, exit_.epc) == (ECALL_FROM_M, RAM_BASE + 10)
    assert hart.icount == 2


def test_not_taken_branch_to_halfword_aligned_target_falls_through(steps):
    hart = run_to_ecall("li a0, 1; bne x0, x0, .+6; li a0, 2; ecall", steps=steps)
    assert reg(hart, "a0") == 2


def test_backward_branch_to_halfword_aligned_target(steps):
    source = """
        j 2f
        .half 0x0001
    1:  ecall
    2:  li a1, 1
        bnez a1, 1b
    """
    hart, exit_ = run_asm(source, steps=steps)
    assert (exit_.cause, exit_.epc) == (ECALL_FROM_M, RAM_BASE + 6)
    assert hart.icount == 3


# --- jal -----------------------------------------------------------------------------


def test_jal_links_the_next_pc_and_jumps(steps):
    source = """
        nop
        jal ra, 1f
        li a0, 2
    1:  ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert reg(hart, "ra") == RAM_BASE + 8 and reg(hart, "a0") == 0


def test_jal_backwards(steps):
    source = """
        j 2f
    1:  li a0, 7
        ecall
    2:  jal t0, 1b
    """
    hart = run_to_ecall(source, steps=steps)
    assert reg(hart, "a0") == 7 and reg(hart, "t0") == RAM_BASE + 16


def test_jal_x0_does_not_write_x0(steps):
    hart = run_to_ecall("jal x0, 1f; nop; 1: mv a0, x0; ecall", steps=steps)
    assert hart.x[0] == 0 and reg(hart, "a0") == 0


def test_jal_to_halfword_aligned_target_links_and_jumps(steps):
    hart, exit_ = run_asm("li ra, 0x123; jal ra, .+6; .half 0x0001; ecall", steps=steps)
    assert (exit_.cause, exit_.epc) == (ECALL_FROM_M, RAM_BASE + 10)
    assert reg(hart, "ra") == RAM_BASE + 8


# --- jalr ------------------------------------------------------------------------------


def test_jalr_jumps_to_rs1_plus_offset_and_links(steps):
    source = """
        la a1, target - 8
        jalr ra, 8(a1)
        li a0, 2
    target:
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert reg(hart, "ra") == RAM_BASE + 12 and reg(hart, "a0") == 0


def test_jalr_negative_offset(steps):
    source = """
        la a1, target + 2048
        jalr ra, -2048(a1)
        li a0, 2
    target:
        ecall
    """
    assert reg(run_to_ecall(source, steps=steps), "a0") == 0


def test_jalr_clears_bit_zero_of_the_target(steps):
    source = """
        la a1, target + 1
        jalr ra, 0(a1)
        li a0, 2
    target:
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert reg(hart, "a0") == 0 and hart.pc == RAM_BASE + 16


def test_jalr_with_rd_equal_to_rs1_jumps_to_the_old_value(steps):
    source = """
        la a1, target
        jalr a1, 0(a1)
        li a0, 2
    target:
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert reg(hart, "a0") == 0 and reg(hart, "a1") == RAM_BASE + 12


def test_jalr_x0_does_not_write_x0(steps):
    hart = run_to_ecall("la a1, 1f; jalr x0, 0(a1); nop; 1: mv a0, x0; ecall", steps=steps)
    assert hart.x[0] == 0 and reg(hart, "a0") == 0


# RAM is poisoned with 0xAA: the parcel 0xAAAA there is c.fsdsp, illegal here, so
# arriving at an unwritten address shows as an illegal instruction at that address.


def test_jalr_to_target_with_bit_1_set_jumps_there(steps):
    hart, exit_ = run_asm("li a1, 0x80000102; li ra, 5; jalr ra, 0(a1); ecall", steps=steps)
    assert (exit_.cause, exit_.tval, exit_.epc) == (ILLEGAL_INSN, 0xAAAA, 0x8000_0102)
    assert reg(hart, "ra") == RAM_BASE + 16


def test_jalr_clears_only_bit_0_of_the_target(steps):
    hart, exit_ = run_asm("li a1, 0x80000100; jalr ra, 7(a1); ecall", steps=steps)
    assert (exit_.cause, exit_.epc) == (ILLEGAL_INSN, 0x8000_0106) and reg(hart, "ra") == RAM_BASE + 12


def test_jalr_with_rd_equal_to_rs1_jumps_to_the_old_rs1(steps):
    hart, exit_ = run_asm("li a1, 0x80000102; jalr a1, 0(a1); ecall", steps=steps)
    assert exit_.epc == 0x8000_0102 and reg(hart, "a1") == RAM_BASE + 12


def test_call_and_ret_round_trip(steps):
    source = """
        li a0, 1
        call double
        call double
        ecall
    double:
        add a0, a0, a0
        ret
    """
    assert reg(run_to_ecall(source, steps=steps), "a0") == 4
