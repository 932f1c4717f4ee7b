"""The M extension: multiplication halves, division and remainder edge cases.

Division by zero and the one signed overflow, INT_MIN / -1, do not trap: they give
the results in the table of the M chapter's "Division Operations" section.  Signed
division rounds toward zero and the remainder takes the dividend's sign.
"""

from __future__ import annotations

import pytest

from .harness import ENGINES, reg, run_to_ecall

pytestmark = pytest.mark.parametrize(**ENGINES)


def a0_after(source: str, steps: bool) -> int:
    return reg(run_to_ecall(source + "\necall", steps=steps), "a0")


# --- mul ------------------------------------------------------------------------------


def test_mul_small_values(steps):
    assert a0_after("li a1, 7; li a2, -6; mul a0, a1, a2", steps) == (-42) & 0xFFFF_FFFF


def test_mul_keeps_the_low_32_bits(steps):
    assert a0_after("li a1, 0x12345678; li a2, 0x9ABCDEF0; mul a0, a1, a2", steps) == (0x12345678 * 0x9ABCDEF0) & 0xFFFF_FFFF


def test_mul_int_min_by_minus_one_is_int_min(steps):
    assert a0_after("li a1, 0x80000000; li a2, -1; mul a0, a1, a2", steps) == 0x8000_0000


def test_mul_with_rd_equal_to_both_sources_squares(steps):
    assert a0_after("li a0, 0x10001; mul a0, a0, a0", steps) == 0x0002_0001


# --- mulh, mulhsu, mulhu: the high word of the 64-bit product -------------------------------


def test_mulh_minus_one_squared_is_zero(steps):
    assert a0_after("li a1, -1; li a2, -1; mulh a0, a1, a2", steps) == 0


def test_mulh_int_min_squared_is_0x40000000(steps):
    assert a0_after("li a1, 0x80000000; li a2, 0x80000000; mulh a0, a1, a2", steps) == 0x4000_0000


def test_mulh_negative_by_positive_is_all_ones(steps):
    assert a0_after("li a1, -1; li a2, 1; mulh a0, a1, a2", steps) == 0xFFFF_FFFF


def test_mulh_int_min_by_int_max(steps):
    assert a0_after("li a1, 0x80000000; li a2, 0x7FFFFFFF; mulh a0, a1, a2", steps) == 0xC000_0000


def test_mulhu_all_ones_squared(steps):
    assert a0_after("li a1, -1; li a2, -1; mulhu a0, a1, a2", steps) == 0xFFFF_FFFE


def test_mulhu_int_min_squared(steps):
    assert a0_after("li a1, 0x80000000; li a2, 0x80000000; mulhu a0, a1, a2", steps) == 0x4000_0000


def test_mulhsu_minus_one_by_unsigned_all_ones(steps):
    # -1 * (2**32 - 1) = -(2**32) + 1: high word all ones
    assert a0_after("li a1, -1; li a2, -1; mulhsu a0, a1, a2", steps) == 0xFFFF_FFFF


def test_mulhsu_int_min_by_unsigned_all_ones(steps):
    # -(2**31) * (2**32 - 1) = -(2**63) + 2**31: high word 0x80000000
    assert a0_after("li a1, 0x80000000; li a2, -1; mulhsu a0, a1, a2", steps) == 0x8000_0000


def test_mulhsu_positive_by_unsigned_int_min(steps):
    assert a0_after("li a1, 2; li a2, 0x80000000; mulhsu a0, a1, a2", steps) == 1


def test_mulhsu_treats_rs2_as_unsigned_and_rs1_as_signed(steps):
    # rs1 = 1 (positive), rs2 = 0xFFFFFFFF read unsigned: product fits in the low word
    assert a0_after("li a1, 1; li a2, -1; mulhsu a0, a1, a2", steps) == 0


def test_mulhsu_minus_two_by_three(steps):
    assert a0_after("li a1, -2; li a2, 3; mulhsu a0, a1, a2", steps) == 0xFFFF_FFFF


# --- division by zero ---------------------------------------------------------------------


def test_div_by_zero_is_minus_one(steps):
    assert a0_after("li a1, 1234; li a2, 0; div a0, a1, a2", steps) == 0xFFFF_FFFF


def test_div_negative_by_zero_is_minus_one(steps):
    assert a0_after("li a1, -1234; div a0, a1, x0", steps) == 0xFFFF_FFFF


def test_divu_by_zero_is_all_ones(steps):
    assert a0_after("li a1, 1234; li a2, 0; divu a0, a1, a2", steps) == 0xFFFF_FFFF


def test_rem_by_zero_is_the_dividend(steps):
    assert a0_after("li a1, -1234; li a2, 0; rem a0, a1, a2", steps) == (-1234) & 0xFFFF_FFFF


def test_remu_by_zero_is_the_dividend(steps):
    assert a0_after("li a1, 0x80000001; li a2, 0; remu a0, a1, a2", steps) == 0x8000_0001


def test_remu_by_x0_is_the_dividend(steps):
    assert a0_after("li a1, 77; remu a0, a1, x0", steps) == 77


# --- signed overflow ------------------------------------------------------------------------


def test_div_int_min_by_minus_one_is_int_min(steps):
    assert a0_after("li a1, 0x80000000; li a2, -1; div a0, a1, a2", steps) == 0x8000_0000


def test_rem_int_min_by_minus_one_is_zero(steps):
    assert a0_after("li a1, 0x80000000; li a2, -1; rem a0, a1, a2", steps) == 0


def test_divu_int_min_by_all_ones_is_zero(steps):
    assert a0_after("li a1, 0x80000000; li a2, -1; divu a0, a1, a2", steps) == 0


def test_remu_int_min_by_all_ones_is_int_min(steps):
    assert a0_after("li a1, 0x80000000; li a2, -1; remu a0, a1, a2", steps) == 0x8000_0000


# --- rounding toward zero ---------------------------------------------------------------------


def test_div_negative_dividend_rounds_toward_zero(steps):
    assert a0_after("li a1, -7; li a2, 2; div a0, a1, a2", steps) == (-3) & 0xFFFF_FFFF


def test_rem_negative_dividend_is_negative(steps):
    assert a0_after("li a1, -7; li a2, 2; rem a0, a1, a2", steps) == (-1) & 0xFFFF_FFFF


def test_div_negative_divisor_rounds_toward_zero(steps):
    assert a0_after("li a1, 7; li a2, -2; div a0, a1, a2", steps) == (-3) & 0xFFFF_FFFF


def test_rem_negative_divisor_is_positive(steps):
    assert a0_after("li a1, 7; li a2, -2; rem a0, a1, a2", steps) == 1


def test_div_both_negative_is_positive(steps):
    assert a0_after("li a1, -7; li a2, -2; div a0, a1, a2", steps) == 3


def test_rem_both_negative_is_negative(steps):
    assert a0_after("li a1, -7; li a2, -2; rem a0, a1, a2", steps) == (-1) & 0xFFFF_FFFF


def test_div_int_min_by_two(steps):
    assert a0_after("li a1, 0x80000000; li a2, 2; div a0, a1, a2", steps) == 0xC000_0000


def test_divu_treats_operands_as_unsigned(steps):
    assert a0_after("li a1, -7; li a2, 2; divu a0, a1, a2", steps) == 0x7FFF_FFFC


def test_remu_treats_operands_as_unsigned(steps):
    assert a0_after("li a1, -7; li a2, 2; remu a0, a1, a2", steps) == 1


def test_divu_by_larger_value_is_zero(steps):
    assert a0_after("li a1, 5; li a2, 0x80000000; divu a0, a1, a2", steps) == 0


def test_div_with_rd_equal_to_rs2(steps):
    assert a0_after("li a1, 100; li a0, -7; div a0, a1, a0", steps) == (-14) & 0xFFFF_FFFF


def test_rem_with_rd_equal_to_rs1(steps):
    assert a0_after("li a0, 100; li a2, 7; rem a0, a0, a2", steps) == 2
