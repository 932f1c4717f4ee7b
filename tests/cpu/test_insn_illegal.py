"""Illegal and reserved encodings raise illegal-instruction with tval = the bits.

The machine is RV32IMA without C, F or D: compressed-looking words (low bits not 11),
RV64-only widths and reserved funct7/funct3 values are all illegal (unprivileged 2.2,
privileged 3.1.16: mtval gets the faulting instruction bits).
"""

from __future__ import annotations

import pytest

from machine.cpu.csrs import ILLEGAL_INSN

from .harness import ENGINES, RAM_BASE, reg, run_asm

pytestmark = pytest.mark.parametrize(**ENGINES)

ILLEGAL_WORDS = {
    "all_zeros": 0x0000_0000,
    "all_ones": 0xFFFF_FFFF,
    "compressed_c_li": 0x0000_4501,  # c.li a0, 0 padded to a word
    "compressed_quadrant_2": 0x0000_8082,  # c.ret
    "add_with_reserved_funct7": 0x0400_0033,
    "and_with_funct7_0x20": 0x4000_7033,
    "slli_with_shamt_bit_5": 0x0200_1013,  # reserved on RV32
    "srai_with_shamt_bit_5": 0x4200_5013,
    "srli_with_reserved_funct7": 0x0800_5013,
    "load_with_funct3_3_ld": 0x0000_3003,
    "load_with_funct3_6_lwu": 0x0000_6003,
    "store_with_funct3_3_sd": 0x0000_3023,
    "branch_with_funct3_2": 0x0000_2063,
    "jalr_with_funct3_1": 0x0000_1067,
    "amo_doubleword": 0x0000_302F,
    "amo_reserved_funct5": 0x2800_202F,
    "lr_with_nonzero_rs2": 0x1010_252F,
    "flw_without_f_extension": 0x0000_2007,
    "custom_opcode": 0x0000_000B,
    "ecall_with_nonzero_rd": 0x0000_00F3,
    "uret": 0x0020_0073,
}


@pytest.mark.parametrize("word", ILLEGAL_WORDS.values(), ids=ILLEGAL_WORDS.keys())
def test_illegal_encoding_traps_with_tval_the_instruction_bits(steps, word):
    hart, exit_ = run_asm(f"nop; .word {word:#x}; ecall", steps=steps)
    assert (exit_.cause, exit_.tval, exit_.epc, exit_.insn) == (ILLEGAL_INSN, word, RAM_BASE + 4, word)
    assert hart.pc == RAM_BASE + 4 and hart.icount == 1


def test_illegal_word_after_a_run_of_instructions_keeps_their_results(steps):
    hart, exit_ = run_asm("li a0, 1; li a1, 2; add a2, a0, a1; .word 0; li a2, 9; ecall", steps=steps)
    assert exit_.cause == ILLEGAL_INSN and exit_.epc == RAM_BASE + 12
    assert (reg(hart, "a0"), reg(hart, "a1"), reg(hart, "a2"), hart.icount) == (1, 2, 3, 3)


def test_illegal_word_as_branch_target(steps):
    hart, exit_ = run_asm("li a0, 1; beqz x0, 1f; li a0, 2; 1: .word 0xffffffff", steps=steps)
    assert (exit_.cause, exit_.epc, reg(hart, "a0")) == (ILLEGAL_INSN, RAM_BASE + 12, 1)
