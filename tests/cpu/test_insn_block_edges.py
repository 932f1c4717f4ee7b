"""Instruction semantics where the block translator cuts or repeats code.

A translated block ends at a jump, a page end, a system instruction or its length
limit; a block that branches to its own start repeats inside one Python call.  A trap
or a budget end part way must leave exactly the state the single-stepper leaves.
"""

from __future__ import annotations

import pytest

from machine.cpu.csrs import LOAD_MISALIGNED, STORE_MISALIGNED
from machine.cpu.trap import ExitKind

from .harness import ENGINES, RAM_BASE, reg, run_asm, run_to_ecall

pytestmark = pytest.mark.parametrize(**ENGINES)


def test_trap_part_way_through_a_block_keeps_earlier_results_only(steps):
    source = """
        li a0, 1
        li s0, 0x80020002
        li a1, 2
        lr.w a2, (s0)
        li a3, 3
        ecall
    """
    hart, exit_ = run_asm(source, steps=steps)
    assert (exit_.cause, exit_.epc) == (LOAD_MISALIGNED, RAM_BASE + 16)
    assert (reg(hart, "a0"), reg(hart, "a1"), reg(hart, "a3"), hart.icount) == (1, 2, 0, 4)


def test_trap_in_the_third_pass_of_a_self_loop(steps):
    source = """
        li s0, 0x80020000
        li a1, 1
        li a0, 0
    1:  addi a0, a0, 1
        amoadd.w a2, a1, (s0)
        addi s0, s0, 4
        xori a3, a0, 2
        seqz a3, a3
        slli a3, a3, 1
        add s0, s0, a3       # after pass 2, s0 = DATA + 10: misaligned
        j 1b
    """
    hart, exit_ = run_asm(source, steps=steps)
    assert (exit_.cause, exit_.tval, exit_.epc) == (STORE_MISALIGNED, 0x8002_000A, RAM_BASE + 16)
    assert (reg(hart, "a0"), reg(hart, "a2"), hart.icount) == (3, 0xAAAA_AAAA, 3 + 2 * 8 + 1)
    assert [hart.ram.read_u32(0x8002_0000 + 4 * k) for k in range(3)] == [0xAAAA_AAAB] * 2 + [0xAAAA_AAAA]


def test_endless_self_loop_stops_exactly_at_the_budget(steps):
    hart, exit_ = run_asm("li a0, 0; 1: addi a0, a0, 1; j 1b", steps=steps, max_insns=101)
    assert exit_.kind is ExitKind.BUDGET
    assert (reg(hart, "a0"), hart.pc, hart.icount) == (50, RAM_BASE + 4, 101)


def test_budget_ending_inside_a_block_resumes_there(steps):
    source = "li a0, 1; li a1, 2; li a2, 3; li a3, 4; ecall"
    hart, exit_ = run_asm(source, steps=steps, max_insns=2)
    assert exit_.kind is ExitKind.BUDGET and hart.pc == RAM_BASE + 8
    assert (reg(hart, "a1"), reg(hart, "a2")) == (2, 0)
    exit_ = hart.run(100)
    assert exit_.kind is ExitKind.TRAP and (reg(hart, "a3"), hart.icount) == (4, 4)


def test_straight_line_longer_than_one_block(steps):
    hart = run_to_ecall("li a0, 0\n" + "addi a0, a0, 1\n" * 200 + "ecall", steps=steps)
    assert (reg(hart, "a0"), hart.icount) == (200, 201)


def test_code_running_across_a_page_boundary(steps):
    source = """
        li a0, 0
        j 1f
        .balign 4096
        .skip 4096 - 12
    1:  addi a0, a0, 1
        addi a0, a0, 2
        addi a0, a0, 4       # first instruction of the next page
        addi a0, a0, 8
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert reg(hart, "a0") == 15 and hart.pc == RAM_BASE + 0x2000 + 4


def test_loop_body_with_a_load_store_and_branch_inside(steps):
    source = """
        li s0, 0x80020000
        sw x0, 0(s0)
        li a1, 10
    1:  lw a0, 0(s0)
        andi a2, a1, 1
        beqz a2, 2f
        addi a0, a0, 100
    2:  addi a0, a0, 1
        sw a0, 0(s0)
        addi a1, a1, -1
        bnez a1, 1b
        ecall
    """
    assert reg(run_to_ecall(source, steps=steps), "a0") == 10 + 5 * 100


def test_step_retires_exactly_one_instruction_whatever_the_engine_setting(steps):
    hart, exit_ = run_asm("li a0, 1; li a1, 2; add a2, a0, a1; ecall", steps=steps, max_insns=0)
    pcs = []
    while (exit_ := hart.step()).kind is ExitKind.BUDGET:
        pcs.append(hart.pc)
    assert pcs == [RAM_BASE + 4, RAM_BASE + 8, RAM_BASE + 12] and hart.icount == 3
    assert exit_.kind is ExitKind.TRAP and reg(hart, "a2") == 3 and hart.stepping is (steps is True)


EARLY_EXIT_LOOP = """
        li a1, 10
        li a0, 0
    1:  addi a0, a0, 1
        li t0, 7
        beq a0, t0, 2f       # leaves the loop part way; skips the back edge
        addi a1, a1, -1
        bnez a1, 1b
        li a2, 99
    2:  addi a3, a3, 1
        ecall
"""


def test_loop_with_a_forward_branch_over_its_back_edge(steps):
    hart = run_to_ecall(EARLY_EXIT_LOOP, steps=steps)
    assert (reg(hart, "a0"), reg(hart, "a1"), reg(hart, "a2"), reg(hart, "a3")) == (7, 4, 0, 1)
    assert hart.icount == 2 + 6 * 5 + 3 + 1


@pytest.mark.parametrize("budget", [1, 3, 4, 7])
def test_loop_with_a_forward_branch_over_its_back_edge_in_small_budgets(steps, budget):
    hart, exit_ = run_asm(EARLY_EXIT_LOOP, steps=steps, max_insns=budget)
    while exit_.kind is ExitKind.BUDGET:
        exit_ = hart.run(budget)
    assert exit_.kind is ExitKind.TRAP
    assert (reg(hart, "a0"), reg(hart, "a1"), reg(hart, "a2"), reg(hart, "a3")) == (7, 4, 0, 1)
    assert hart.icount == 2 + 6 * 5 + 3 + 1

