"""The A extension: LR/SC reservations and the nine AMOs.

An AMO writes the old memory word to rd and op(old, rs2) to memory, reading rs1 and
rs2 before rd is written.  Misaligned AMOs and SCs raise store/AMO address misaligned,
misaligned LRs raise load address misaligned (unprivileged spec, A chapter): neither
memory nor rd changes.
"""

from __future__ import annotations

import pytest

from machine.cpu.csrs import LOAD_MISALIGNED, STORE_MISALIGNED

from .harness import DATA, ENGINES, reg, run_asm, run_to_ecall, word

pytestmark = pytest.mark.parametrize(**ENGINES)


def run(source: str, steps: bool, memory: int = 0x1111_1111):
    """Run `source` with the word at DATA (s0 points there) set to `memory`."""

    def setup(hart):
        hart.ram.write_u32(DATA, memory)

    return run_to_ecall("li s0, 0x80020000\n" + source + "\necall", steps=steps, setup=setup)


# --- lr.w / sc.w ----------------------------------------------------------------------------


def test_lr_loads_the_word(steps):
    assert reg(run("lr.w a0, (s0)", steps, 0x8000_0001), "a0") == 0x8000_0001


def test_sc_after_lr_to_the_same_address_succeeds_and_stores(steps):
    hart = run("lr.w a0, (s0); li a1, 42; sc.w a2, a1, (s0)", steps)
    assert reg(hart, "a2") == 0 and word(hart, DATA) == 42


def test_sc_without_reservation_fails_and_does_not_store(steps):
    hart = run("li a1, 42; sc.w a2, a1, (s0)", steps)
    assert reg(hart, "a2") == 1 and word(hart, DATA) == 0x1111_1111


def test_sc_to_another_address_than_the_lr_fails_and_does_not_store(steps):
    hart = run("lr.w a0, (s0); addi s1, s0, 4; sw x0, 0(s1); li a1, 42; sc.w a2, a1, (s1)", steps)
    assert reg(hart, "a2") == 1 and word(hart, DATA + 4) == 0 and word(hart, DATA) == 0x1111_1111


def test_sc_clears_the_reservation_so_a_second_sc_fails(steps):
    hart = run("lr.w a0, (s0); li a1, 42; sc.w a2, a1, (s0); li a1, 43; sc.w a3, a1, (s0)", steps)
    assert (reg(hart, "a2"), reg(hart, "a3"), word(hart, DATA)) == (0, 1, 42)


def test_failed_sc_also_clears_the_reservation(steps):
    source = """
        lr.w a0, (s0)
        addi s1, s0, 4
        sc.w a2, x0, (s1)
        li a1, 42
        sc.w a3, a1, (s0)
    """
    hart = run(source, steps)
    assert (reg(hart, "a2"), reg(hart, "a3"), word(hart, DATA)) == (1, 1, 0x1111_1111)


def test_later_lr_moves_the_reservation(steps):
    source = """
        addi s1, s0, 4
        lr.w a0, (s0)
        lr.w a1, (s1)
        sc.w a2, x0, (s0)
        sc.w a3, x0, (s1)
    """
    hart = run(source, steps)
    assert (reg(hart, "a2"), reg(hart, "a3")) == (1, 1)


def test_lr_sc_retry_loop_increments(steps):
    source = """
    1:  lr.w a0, (s0)
        addi a0, a0, 1
        sc.w a1, a0, (s0)
        bnez a1, 1b
    """
    hart = run(source, steps, 41)
    assert word(hart, DATA) == 42 and reg(hart, "a1") == 0


def test_sc_with_rd_equal_to_rs2_stores_the_old_register_value(steps):
    hart = run("lr.w a0, (s0); li a1, 42; sc.w a1, a1, (s0)", steps)
    assert reg(hart, "a1") == 0 and word(hart, DATA) == 42


def test_lr_into_x0_still_reserves(steps):
    hart = run("lr.w x0, (s0); li a1, 42; sc.w a2, a1, (s0)", steps)
    assert (hart.x[0], reg(hart, "a2"), word(hart, DATA)) == (0, 0, 42)


def test_misaligned_lr_raises_load_address_misaligned(steps):
    hart, exit_ = run_asm("li s0, 0x80020002; li a0, 7; lr.w a0, (s0); ecall", steps=steps)
    assert (exit_.cause, exit_.tval) == (LOAD_MISALIGNED, DATA + 2) and reg(hart, "a0") == 7


def test_misaligned_sc_raises_store_address_misaligned(steps):
    source = "li s0, 0x80020001; addi s1, s0, -1; lr.w a0, (s1); li a0, 7; sc.w a0, x0, (s0); ecall"
    hart, exit_ = run_asm(source, steps=steps)
    assert (exit_.cause, exit_.tval) == (STORE_MISALIGNED, DATA + 1)
    assert reg(hart, "a0") == 7 and hart.ram.read_bytes(DATA, 8) == b"\xaa" * 8


# --- AMOs: rd gets the old value, memory op(old, rs2) --------------------------------------

# (instruction, memory before, rs2, memory after)
AMO_CASES = [
    ("amoswap.w", 0x1234_5678, 0x8000_0000, 0x8000_0000),
    ("amoadd.w", 0xFFFF_FFFF, 2, 1),
    ("amoadd.w", 0x7FFF_FFFF, 1, 0x8000_0000),
    ("amoxor.w", 0xFF00_FF00, 0x0FF0_0FF0, 0xF0F0_F0F0),
    ("amoand.w", 0xFF00_FF00, 0x0FF0_0FF0, 0x0F00_0F00),
    ("amoor.w", 0xFF00_FF00, 0x0FF0_0FF0, 0xFFF0_FFF0),
    ("amomin.w", 0xFFFF_FFFF, 1, 0xFFFF_FFFF),  # -1 < 1
    ("amomin.w", 1, 0xFFFF_FFFF, 0xFFFF_FFFF),
    ("amomin.w", 0x8000_0000, 0x7FFF_FFFF, 0x8000_0000),  # INT_MIN < INT_MAX
    ("amomax.w", 0xFFFF_FFFF, 1, 1),
    ("amomax.w", 0x8000_0000, 0x7FFF_FFFF, 0x7FFF_FFFF),
    ("amomax.w", 0x8000_0000, 0x8000_0000, 0x8000_0000),
    ("amominu.w", 0xFFFF_FFFF, 1, 1),  # unsigned: 1 < 0xFFFFFFFF
    ("amominu.w", 0x7FFF_FFFF, 0x8000_0000, 0x7FFF_FFFF),
    ("amomaxu.w", 0xFFFF_FFFF, 1, 0xFFFF_FFFF),
    ("amomaxu.w", 0x7FFF_FFFF, 0x8000_0000, 0x8000_0000),
    ("amomaxu.w", 0, 0, 0),
]


@pytest.mark.parametrize(
    "insn, before, operand, after",
    AMO_CASES,
    ids=[f"{i}-mem={b:#x}-rs2={o:#x}" for i, b, o, _ in AMO_CASES],
)
def test_amo_returns_old_value_and_stores_the_result(steps, insn, before, operand, after):
    hart = run(f"li a1, {operand:#x}; {insn} a0, a1, (s0)", steps, before)
    assert (reg(hart, "a0"), word(hart, DATA), reg(hart, "a1")) == (before, after, operand)


def test_amoadd_with_rd_equal_to_rs2_uses_rs2_before_writing_rd(steps):
    hart = run("li a1, 5; amoadd.w a1, a1, (s0)", steps, 100)
    assert (reg(hart, "a1"), word(hart, DATA)) == (100, 105)


def test_amoswap_with_rd_equal_to_rs2_exchanges(steps):
    hart = run("li a1, 5; amoswap.w a1, a1, (s0)", steps, 100)
    assert (reg(hart, "a1"), word(hart, DATA)) == (100, 5)


def test_amomaxu_with_rd_equal_to_rs1_uses_the_address_before_writing_rd(steps):
    hart = run("mv a0, s0; li a1, 0x90000000; amomaxu.w a0, a1, (a0)", steps, 0x8000_0000)
    assert (reg(hart, "a0"), word(hart, DATA)) == (0x8000_0000, 0x9000_0000)


def test_amomin_with_rd_equal_to_rs1_and_rs2(steps):
    hart = run("mv a0, s0; amomin.w a0, a0, (a0)", steps, 0x7000_0000)
    # rs2 = DATA = 0x80020000 is negative, so it is the minimum
    assert (reg(hart, "a0"), word(hart, DATA)) == (0x7000_0000, DATA)


def test_amo_with_rd_x0_still_updates_memory(steps):
    hart = run("li a1, 3; amoadd.w x0, a1, (s0)", steps, 4)
    assert (hart.x[0], word(hart, DATA)) == (0, 7)


def test_amo_with_aq_rl_bits_behaves_the_same(steps):
    hart = run("li a1, 3; amoadd.w.aqrl a0, a1, (s0)", steps, 4)
    assert (reg(hart, "a0"), word(hart, DATA)) == (4, 7)


@pytest.mark.parametrize("insn", ["amoswap.w", "amoadd.w", "amoxor.w", "amoand.w", "amoor.w",
                                  "amomin.w", "amomax.w", "amominu.w", "amomaxu.w"])  # fmt: skip
def test_misaligned_amo_raises_store_address_misaligned_and_changes_nothing(steps, insn):
    hart, exit_ = run_asm(f"li s0, 0x80020002; li a0, 7; li a1, 1; {insn} a0, a1, (s0); ecall", steps=steps)
    assert (exit_.cause, exit_.tval, exit_.epc) == (STORE_MISALIGNED, DATA + 2, 0x8000_0010)
    assert reg(hart, "a0") == 7 and hart.ram.read_bytes(DATA, 8) == b"\xaa" * 8
