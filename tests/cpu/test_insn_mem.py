"""Loads and stores: widths, sign extension, offsets, misaligned accesses in RAM.

The scratch data lives at 0x8002_0000 (harness.DATA), poisoned with 0xAA like all RAM.
Misaligned loads and stores to RAM are performed (the spec lets an execution
environment do that; ours does it byte by byte).
"""

from __future__ import annotations

import pytest

from .harness import DATA, ENGINES, reg, run_to_ecall

pytestmark = pytest.mark.parametrize(**ENGINES)


def data(contents: bytes, at: int = DATA):
    """A `setup` that writes `contents` into RAM at `at` before the program runs."""
    return lambda hart: hart.ram.write_bytes(at, contents)


def run(source: str, steps: bool, contents: bytes = b""):
    return run_to_ecall(source + "\necall", steps=steps, setup=data(contents) if contents else None)


# --- loads: width and sign extension --------------------------------------------------


def test_lb_of_0x80_sign_extends(steps):
    hart = run("li s0, 0x80020000; lb a0, 0(s0)", steps, b"\x80")
    assert reg(hart, "a0") == 0xFFFF_FF80


def test_lb_of_0x7f_is_positive(steps):
    assert reg(run("li s0, 0x80020000; lb a0, 0(s0)", steps, b"\x7f"), "a0") == 0x7F


def test_lbu_of_0x80_zero_extends(steps):
    assert reg(run("li s0, 0x80020000; lbu a0, 0(s0)", steps, b"\x80"), "a0") == 0x80


def test_lh_of_0x8000_sign_extends(steps):
    hart = run("li s0, 0x80020000; lh a0, 0(s0)", steps, b"\x00\x80")
    assert reg(hart, "a0") == 0xFFFF_8000


def test_lh_of_0x7fff_is_positive(steps):
    assert reg(run("li s0, 0x80020000; lh a0, 0(s0)", steps, b"\xff\x7f"), "a0") == 0x7FFF


def test_lhu_of_0x8000_zero_extends(steps):
    assert reg(run("li s0, 0x80020000; lhu a0, 0(s0)", steps, b"\x00\x80"), "a0") == 0x8000


def test_lw_reads_little_endian(steps):
    hart = run("li s0, 0x80020000; lw a0, 0(s0)", steps, bytes.fromhex("78563412"))
    assert reg(hart, "a0") == 0x1234_5678


def test_lw_of_untouched_ram_reads_the_poison(steps):
    assert reg(run("li s0, 0x80020000; lw a0, 64(s0)", steps), "a0") == 0xAAAA_AAAA


def test_lb_of_untouched_ram_sign_extends_the_poison(steps):
    assert reg(run("li s0, 0x80020000; lb a0, 64(s0)", steps), "a0") == 0xFFFF_FFAA


def test_load_with_positive_offset_2047(steps):
    hart = run("li s0, 0x80020000; lbu a0, 2047(s0)", steps, b"\x5a" + bytes(2046) + b"\x33")
    assert reg(hart, "a0") == 0x33


def test_load_with_negative_offset(steps):
    hart = run("li s0, 0x80020010; lw a0, -16(s0)", steps, bytes.fromhex("efbeadde"))
    assert reg(hart, "a0") == 0xDEAD_BEEF


def test_load_with_offset_minus_2048(steps):
    hart = run("li s0, 0x80020800; lbu a0, -2048(s0)", steps, b"\x42")
    assert reg(hart, "a0") == 0x42


def test_load_with_rd_equal_to_base_register(steps):
    assert reg(run("li a0, 0x80020000; lw a0, 0(a0)", steps, bytes.fromhex("04030201")), "a0") == 0x0102_0304


def test_load_into_x0_is_dropped(steps):
    hart = run("li s0, 0x80020000; lw x0, 0(s0); mv a0, x0", steps, bytes.fromhex("04030201"))
    assert hart.x[0] == 0 and reg(hart, "a0") == 0


def test_lb_into_x0_is_dropped(steps):
    hart = run("li s0, 0x80020000; lb x0, 0(s0); mv a0, x0", steps, b"\x80")
    assert hart.x[0] == 0 and reg(hart, "a0") == 0


# --- stores: width and neighbours ---------------------------------------------------------


def test_sb_stores_only_the_low_byte(steps):
    hart = run("li s0, 0x80020000; li a1, 0x12345678; sb a1, 1(s0)", steps)
    assert hart.ram.read_bytes(DATA, 4) == bytes.fromhex("aa78aaaa")


def test_sh_stores_only_the_low_halfword(steps):
    hart = run("li s0, 0x80020000; li a1, 0x12345678; sh a1, 2(s0)", steps)
    assert hart.ram.read_bytes(DATA, 6) == bytes.fromhex("aaaa7856aaaa")


def test_sw_stores_little_endian(steps):
    hart = run("li s0, 0x80020000; li a1, 0x12345678; sw a1, 4(s0)", steps)
    assert hart.ram.read_bytes(DATA, 12) == bytes.fromhex("aaaaaaaa 78563412 aaaaaaaa")


def test_store_with_negative_offset(steps):
    hart = run("li s0, 0x80020008; li a1, 0x11223344; sw a1, -8(s0)", steps)
    assert hart.ram.read_u32(DATA) == 0x1122_3344


def test_store_of_x0_writes_zero(steps):
    hart = run("li s0, 0x80020000; sw x0, 0(s0); sb x0, 4(s0)", steps)
    assert hart.ram.read_bytes(DATA, 6) == bytes.fromhex("00000000 00aa")


def test_store_then_load_in_the_same_block_sees_the_store(steps):
    hart = run("li s0, 0x80020000; li a1, -2; sh a1, 0(s0); lh a0, 0(s0); lhu a2, 0(s0)", steps)
    assert (reg(hart, "a0"), reg(hart, "a2")) == (0xFFFF_FFFE, 0xFFFE)


def test_sb_then_lw_merges_into_the_word(steps):
    hart = run("li s0, 0x80020000; sw x0, 0(s0); li a1, 0xFF; sb a1, 3(s0); lw a0, 0(s0)", steps)
    assert reg(hart, "a0") == 0xFF00_0000


# --- misaligned accesses in RAM are performed ---------------------------------------------

WORDS = bytes(range(0x10, 0x20))  # 10 11 12 ... 1f


def test_lw_misaligned_by_one(steps):
    assert reg(run("li s0, 0x80020000; lw a0, 1(s0)", steps, WORDS), "a0") == 0x1413_1211


def test_lw_misaligned_by_two(steps):
    assert reg(run("li s0, 0x80020000; lw a0, 2(s0)", steps, WORDS), "a0") == 0x1514_1312


def test_lw_misaligned_by_three(steps):
    assert reg(run("li s0, 0x80020000; lw a0, 3(s0)", steps, WORDS), "a0") == 0x1615_1413


def test_lh_misaligned_sign_extends(steps):
    hart = run("li s0, 0x80020000; lh a0, 1(s0)", steps, b"\x00\x34\x92")
    assert reg(hart, "a0") == 0xFFFF_9234


def test_lhu_misaligned_zero_extends(steps):
    hart = run("li s0, 0x80020000; lhu a0, 3(s0)", steps, b"\x00\x00\x00\x34\x92")
    assert reg(hart, "a0") == 0x9234


def test_lw_misaligned_across_a_page_boundary(steps):
    hart = run_to_ecall(
        "li s0, 0x80020FFE; lw a0, 0(s0); ecall", steps=steps, setup=data(bytes.fromhex("11223344"), DATA + 0xFFE)
    )
    assert reg(hart, "a0") == 0x4433_2211


def test_sw_misaligned_by_one(steps):
    hart = run("li s0, 0x80020000; li a1, 0x12345678; sw a1, 1(s0)", steps)
    assert hart.ram.read_bytes(DATA, 6) == bytes.fromhex("aa78563412aa")


def test_sh_misaligned_by_one(steps):
    hart = run("li s0, 0x80020000; li a1, 0x12345678; sh a1, 3(s0)", steps)
    assert hart.ram.read_bytes(DATA, 6) == bytes.fromhex("aaaaaa7856aa")


def test_sw_misaligned_across_a_page_boundary(steps):
    hart = run("li s0, 0x80020FFD; li a1, 0x12345678; sw a1, 0(s0)", steps)
    assert hart.ram.read_bytes(DATA + 0xFFC, 6) == bytes.fromhex("aa78563412aa")


def test_misaligned_store_then_misaligned_load_round_trips(steps):
    hart = run("li s0, 0x80020000; li a1, 0x89ABCDEF; sw a1, 3(s0); lw a0, 3(s0); lh a2, 5(s0)", steps)
    assert (reg(hart, "a0"), reg(hart, "a2")) == (0x89AB_CDEF, 0xFFFF_89AB)


def test_misaligned_load_into_x0_is_dropped(steps):
    hart = run("li s0, 0x80020000; lw x0, 1(s0); mv a0, x0", steps, WORDS)
    assert hart.x[0] == 0 and reg(hart, "a0") == 0
