"""Illegal and reserved encodings raise illegal-instruction with tval = the bits.

The machine is RV32IMAC without F or D: RV64-only widths and reserved funct7/funct3
values are illegal, and so are the compressed encodings that are reserved or need F/D
(unprivileged 2.2 and 16.x, privileged 3.1.16: mtval gets the faulting instruction
bits, only 16 of them for a compressed one).
"""

from __future__ import annotations

import pytest

from machine.cpu.csrs import ILLEGAL_INSN

from .harness import ENGINES, RAM_BASE, reg, run_asm

pytestmark = pytest.mark.parametrize(**ENGINES)

ILLEGAL_WORDS = {
    "all_zeros": 0x0000_0000,
    "all_ones": 0xFFFF_FFFF,
    "all_zeros_upper_half_ones": 0xFFFF_0000,  # 0x0000 is the defined-illegal parcel
    "c_addi4spn_with_zero_immediate": 0x0000_0004,
    "c_fld": 0x0000_2000,
    "c_flw": 0x0000_6000,
    "c_fsw": 0x0000_E000,
    "c_reserved_quadrant_0": 0x0000_8000,
    "c_lui_with_zero_immediate": 0x0000_6081,
    "c_addi16sp_with_zero_immediate": 0x0000_6101,
    "c_srli_shamt_bit_5": 0x0000_9001,
    "c_subw_rv64_only": 0x0000_9C01,
    "c_lwsp_rd_zero": 0x0000_4002,
    "c_jr_rs1_zero": 0x0000_8002,
    "c_flwsp": 0x0000_6002,
    "c_fswsp": 0x0000_E002,
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
    bits = word if word & 3 == 3 else word & 0xFFFF  # a compressed parcel is 16 bits
    assert (exit_.cause, exit_.tval, exit_.epc, exit_.insn) == (ILLEGAL_INSN, bits, RAM_BASE + 4, bits)
    assert hart.pc == RAM_BASE + 4 and hart.icount == 1


def test_illegal_word_after_a_run_of_instructions_keeps_their_results(steps):
    hart, exit_ = run_asm("li a0, 1; li a1, 2; add a2, a0, a1; .word 0; li a2, 9; ecall", steps=steps)
    assert exit_.cause == ILLEGAL_INSN and exit_.epc == RAM_BASE + 12
    assert (reg(hart, "a0"), reg(hart, "a1"), reg(hart, "a2"), hart.icount) == (1, 2, 3, 3)


def test_illegal_word_as_branch_target(steps):
    hart, exit_ = run_asm("li a0, 1; beqz x0, 1f; li a0, 2; 1: .word 0xffffffff", steps=steps)
    assert (exit_.cause, exit_.epc, reg(hart, "a0")) == (ILLEGAL_INSN, RAM_BASE + 12, 1)
