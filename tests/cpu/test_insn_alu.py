"""RV32I register-register and register-immediate arithmetic, lui and auipc, and x0.

One behaviour per test; the assembly is the test.  Every test runs on both engine paths.
"""

from __future__ import annotations

import pytest

from .harness import ENGINES, RAM_BASE, reg, run_to_ecall

pytestmark = pytest.mark.parametrize(**ENGINES)


def a0_after(source: str, steps: bool) -> int:
    return reg(run_to_ecall(source + "\necall", steps=steps), "a0")


# --- add, sub ---------------------------------------------------------------------


def test_add_of_small_values(steps):
    assert a0_after("li a1, 3; li a2, 4; add a0, a1, a2", steps) == 7


def test_add_wraps_at_2_pow_32(steps):
    assert a0_after("li a1, 0xFFFFFFFF; li a2, 2; add a0, a1, a2", steps) == 1


def test_add_int_max_plus_one_is_int_min(steps):
    assert a0_after("li a1, 0x7FFFFFFF; li a2, 1; add a0, a1, a2", steps) == 0x8000_0000


def test_add_with_rd_rs1_rs2_all_the_same_register_doubles_it(steps):
    assert a0_after("li a0, 0x40000001; add a0, a0, a0", steps) == 0x8000_0002


def test_sub_zero_minus_one_is_all_ones(steps):
    assert a0_after("li a1, 0; li a2, 1; sub a0, a1, a2", steps) == 0xFFFF_FFFF


def test_sub_int_min_minus_one_is_int_max(steps):
    assert a0_after("li a1, 0x80000000; li a2, 1; sub a0, a1, a2", steps) == 0x7FFF_FFFF


def test_sub_operand_order_is_rs1_minus_rs2(steps):
    assert a0_after("li a1, 10; li a2, 3; sub a0, a1, a2", steps) == 7


# --- logic --------------------------------------------------------------------------


def test_xor(steps):
    assert a0_after("li a1, 0xFF00FF00; li a2, 0x0FF00FF0; xor a0, a1, a2", steps) == 0xF0F0_F0F0


def test_or(steps):
    assert a0_after("li a1, 0xFF00FF00; li a2, 0x0FF00FF0; or a0, a1, a2", steps) == 0xFFF0_FFF0


def test_and(steps):
    assert a0_after("li a1, 0xFF00FF00; li a2, 0x0FF00FF0; and a0, a1, a2", steps) == 0x0F00_0F00


def test_xor_with_itself_is_zero(steps):
    assert a0_after("li a0, 0x12345678; xor a0, a0, a0", steps) == 0


# --- register shifts: only the low five bits of rs2 count ------------------------------


def test_sll_by_zero_leaves_value(steps):
    assert a0_after("li a1, 0x80000001; li a2, 0; sll a0, a1, a2", steps) == 0x8000_0001


def test_sll_by_31_keeps_only_bit_zero_moved_to_bit_31(steps):
    assert a0_after("li a1, 0xFFFFFFFF; li a2, 31; sll a0, a1, a2", steps) == 0x8000_0000


def test_sll_by_33_uses_low_five_bits_and_shifts_by_one(steps):
    assert a0_after("li a1, 0x80000003; li a2, 33; sll a0, a1, a2", steps) == 6


def test_sll_by_32_shifts_by_zero(steps):
    assert a0_after("li a1, 0x12345678; li a2, 32; sll a0, a1, a2", steps) == 0x1234_5678


def test_srl_int_min_by_31_is_one(steps):
    assert a0_after("li a1, 0x80000000; li a2, 31; srl a0, a1, a2", steps) == 1


def test_srl_fills_with_zeros(steps):
    assert a0_after("li a1, 0xF0000000; li a2, 4; srl a0, a1, a2", steps) == 0x0F00_0000


def test_srl_by_all_ones_register_shifts_by_31(steps):
    assert a0_after("li a1, 0x80000000; li a2, -1; srl a0, a1, a2", steps) == 1


def test_sra_int_min_by_31_is_all_ones(steps):
    assert a0_after("li a1, 0x80000000; li a2, 31; sra a0, a1, a2", steps) == 0xFFFF_FFFF


def test_sra_fills_with_sign_bit(steps):
    assert a0_after("li a1, 0xF0000000; li a2, 4; sra a0, a1, a2", steps) == 0xFF00_0000


def test_sra_of_positive_value_fills_with_zeros(steps):
    assert a0_after("li a1, 0x70000000; li a2, 4; sra a0, a1, a2", steps) == 0x0700_0000


def test_sra_by_0x3f_uses_low_five_bits(steps):
    assert a0_after("li a1, 0x80000000; li a2, 0x3F; sra a0, a1, a2", steps) == 0xFFFF_FFFF


def test_sra_by_32_shifts_by_zero(steps):
    assert a0_after("li a1, 0x80000000; li a2, 32; sra a0, a1, a2", steps) == 0x8000_0000


# --- slt, sltu: signed against unsigned --------------------------------------------------


def test_slt_minus_one_less_than_one(steps):
    assert a0_after("li a1, -1; li a2, 1; slt a0, a1, a2", steps) == 1


def test_slt_one_not_less_than_minus_one(steps):
    assert a0_after("li a1, 1; li a2, -1; slt a0, a1, a2", steps) == 0


def test_slt_int_min_less_than_int_max(steps):
    assert a0_after("li a1, 0x80000000; li a2, 0x7FFFFFFF; slt a0, a1, a2", steps) == 1


def test_slt_equal_values_is_zero(steps):
    assert a0_after("li a1, -5; li a2, -5; slt a0, a1, a2", steps) == 0


def test_sltu_one_less_than_all_ones(steps):
    assert a0_after("li a1, 1; li a2, -1; sltu a0, a1, a2", steps) == 1


def test_sltu_all_ones_not_less_than_one(steps):
    assert a0_after("li a1, -1; li a2, 1; sltu a0, a1, a2", steps) == 0


def test_sltu_int_max_less_than_int_min(steps):
    assert a0_after("li a1, 0x7FFFFFFF; li a2, 0x80000000; sltu a0, a1, a2", steps) == 1


def test_sltu_x0_less_than_nonzero_is_snez(steps):
    assert a0_after("li a2, 0x80000000; sltu a0, x0, a2", steps) == 1


# --- immediates are sign-extended 12-bit values ----------------------------------------


def test_addi_negative_immediate_minus_2048(steps):
    assert a0_after("li a1, 0; addi a0, a1, -2048", steps) == 0xFFFF_F800


def test_addi_largest_immediate_2047(steps):
    assert a0_after("li a1, 1; addi a0, a1, 2047", steps) == 0x800


def test_addi_wraps_at_2_pow_32(steps):
    assert a0_after("li a1, 0xFFFFFFFF; addi a0, a1, 1", steps) == 0


def test_addi_minus_one_from_zero_is_all_ones(steps):
    assert a0_after("li a1, 0; addi a0, a1, -1", steps) == 0xFFFF_FFFF


def test_slti_compares_against_sign_extended_immediate(steps):
    assert a0_after("li a1, -2; slti a0, a1, -1", steps) == 1


def test_slti_positive_not_less_than_negative_immediate(steps):
    assert a0_after("li a1, 5; slti a0, a1, -2048", steps) == 0


def test_slti_int_min_less_than_zero(steps):
    assert a0_after("li a1, 0x80000000; slti a0, a1, 0", steps) == 1


def test_sltiu_immediate_minus_one_is_all_ones_unsigned(steps):
    assert a0_after("li a1, 0xFFFFFFFE; sltiu a0, a1, -1", steps) == 1


def test_sltiu_all_ones_not_less_than_immediate_minus_one(steps):
    assert a0_after("li a1, 0xFFFFFFFF; sltiu a0, a1, -1", steps) == 0


def test_sltiu_with_one_is_seqz_of_zero(steps):
    assert a0_after("li a1, 0; sltiu a0, a1, 1", steps) == 1


def test_sltiu_with_one_is_seqz_of_nonzero(steps):
    assert a0_after("li a1, 0x80000000; sltiu a0, a1, 1", steps) == 0


def test_xori_minus_one_is_bitwise_not(steps):
    assert a0_after("li a1, 0x0F0F0F0F; xori a0, a1, -1", steps) == 0xF0F0_F0F0


def test_ori_negative_immediate_sets_upper_bits(steps):
    assert a0_after("li a1, 0; ori a0, a1, -2048", steps) == 0xFFFF_F800


def test_andi_negative_immediate_keeps_upper_bits(steps):
    assert a0_after("li a1, 0x12345FFF; andi a0, a1, -2048", steps) == 0x1234_5800


def test_andi_positive_immediate_clears_upper_bits(steps):
    assert a0_after("li a1, 0xFFFFFFFF; andi a0, a1, 0x7FF", steps) == 0x7FF


# --- immediate shifts --------------------------------------------------------------------


def test_slli_by_zero_leaves_value(steps):
    assert a0_after("li a1, 0xDEADBEEF; slli a0, a1, 0", steps) == 0xDEAD_BEEF


def test_slli_by_31(steps):
    assert a0_after("li a1, 3; slli a0, a1, 31", steps) == 0x8000_0000


def test_srli_by_zero_leaves_value(steps):
    assert a0_after("li a1, 0xDEADBEEF; srli a0, a1, 0", steps) == 0xDEAD_BEEF


def test_srli_by_31(steps):
    assert a0_after("li a1, 0xFFFFFFFF; srli a0, a1, 31", steps) == 1


def test_srai_by_zero_leaves_value(steps):
    assert a0_after("li a1, 0xDEADBEEF; srai a0, a1, 0", steps) == 0xDEAD_BEEF


def test_srai_by_31_of_negative_is_all_ones(steps):
    assert a0_after("li a1, 0x80000000; srai a0, a1, 31", steps) == 0xFFFF_FFFF


def test_srai_by_31_of_positive_is_zero(steps):
    assert a0_after("li a1, 0x7FFFFFFF; srai a0, a1, 31", steps) == 0


def test_srai_by_one_keeps_sign(steps):
    assert a0_after("li a1, -7; srai a0, a1, 1", steps) == 0xFFFF_FFFC


# --- lui, auipc ----------------------------------------------------------------------------


def test_lui_places_immediate_in_upper_20_bits_and_clears_low_12(steps):
    assert a0_after("li a0, -1; lui a0, 0x12345", steps) == 0x1234_5000


def test_lui_all_ones_immediate(steps):
    assert a0_after("lui a0, 0xFFFFF", steps) == 0xFFFF_F000


def test_auipc_adds_upper_immediate_to_its_own_pc(steps):
    # nop at RAM_BASE, so auipc is at RAM_BASE + 4
    assert a0_after("nop; auipc a0, 0x12", steps) == RAM_BASE + 4 + 0x12000


def test_auipc_zero_reads_pc(steps):
    assert a0_after("nop; nop; auipc a0, 0", steps) == RAM_BASE + 8


def test_auipc_wraps_at_2_pow_32(steps):
    assert a0_after("auipc a0, 0x80000", steps) == (RAM_BASE + 0x8000_0000) & 0xFFFF_FFFF


# --- x0 ------------------------------------------------------------------------------------


def test_addi_to_x0_is_dropped(steps):
    hart = run_to_ecall("addi x0, x0, 5; add a0, x0, x0; ecall", steps=steps)
    assert hart.x[0] == 0 and reg(hart, "a0") == 0


def test_lui_to_x0_is_dropped(steps):
    hart = run_to_ecall("lui x0, 0x12345; mv a0, x0; ecall", steps=steps)
    assert hart.x[0] == 0 and reg(hart, "a0") == 0


def test_auipc_to_x0_is_dropped(steps):
    hart = run_to_ecall("auipc x0, 1; mv a0, x0; ecall", steps=steps)
    assert hart.x[0] == 0 and reg(hart, "a0") == 0


def test_register_ops_to_x0_are_dropped(steps):
    source = """
        li a1, 7
        add x0, a1, a1
        sub x0, a1, x0
        sll x0, a1, a1
        slt x0, x0, a1
        sltu x0, x0, a1
        xor x0, a1, x0
        srl x0, a1, a1
        sra x0, a1, a1
        or x0, a1, a1
        and x0, a1, a1
        slli x0, a1, 3
        mul x0, a1, a1
        div x0, a1, x0
        sltu a0, x0, a1
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert hart.x[0] == 0 and reg(hart, "a0") == 1


def test_x0_as_source_reads_zero_in_every_operand_position(steps):
    source = """
        li a1, 9
        sub a0, x0, a1
        sub a2, a1, x0
        or  a3, x0, x0
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert (reg(hart, "a0"), reg(hart, "a2"), reg(hart, "a3")) == (0xFFFF_FFF7, 9, 0)


def test_li_to_x0_is_dropped(steps):
    hart = run_to_ecall("li x0, 0x55; addi a0, x0, 1; ecall", steps=steps)
    assert reg(hart, "a0") == 1
