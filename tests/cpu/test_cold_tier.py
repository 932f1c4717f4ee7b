"""The cold tier (machine/cpu/interp.py): a block is interpreted for its first
`cold_passes` passes and compiled after; either way it computes the same."""

from __future__ import annotations

from machine.cpu.interp import ColdBlock

from .harness import RAM_BASE, reg, run_to_ecall

LOOP = """
    li a0, 0
    li a1, 0
    li a2, {n}
1:  addi a0, a0, 1
    add a1, a1, a0
    blt a0, a2, 1b
    ecall
"""
LOOP_PC = RAM_BASE + 12


def loop_block(hart):
    return hart.jcache[3][LOOP_PC][0]


def warming(passes: int):
    def setup(hart):
        hart.cold_passes = passes

    return setup


def test_a_loop_shorter_than_the_passes_stays_interpreted():
    hart = run_to_ecall(LOOP.format(n=3), setup=warming(10))
    assert (reg(hart, "a0"), reg(hart, "a1"), hart.icount) == (3, 6, 3 + 3 * 3)
    block = loop_block(hart)
    assert isinstance(block, ColdBlock) and block.hot is None
    assert hart.blocks_translated == 0 and hart.blocks_interpreted >= 2


def test_a_loop_that_outruns_its_passes_is_compiled_part_way():
    hart = run_to_ecall(LOOP.format(n=1000), setup=warming(10))
    assert (reg(hart, "a0"), reg(hart, "a1"), hart.icount) == (1000, 500500, 3 + 3 * 1000)
    block = loop_block(hart)
    # The jump cache and the block cache now hold the compiled block itself.
    assert hasattr(block, "__code__") and hart.blocks_translated == 1
    assert hart.blocks[(LOOP_PC - RAM_BASE, LOOP_PC)][0] is block


def test_no_cold_passes_compiles_every_block_at_once():
    hart = run_to_ecall(LOOP.format(n=3), setup=warming(0))
    assert hasattr(loop_block(hart), "__code__") and hart.blocks_interpreted == 0
    assert reg(hart, "a1") == 6
