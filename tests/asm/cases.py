"""Instruction words and assembly lines that exercise the whole table.

Shared by the differential tests: random operands for every row, the edge values
that select each objdump alias, every CSR number, and random 32-bit words.
"""

from __future__ import annotations

import itertools
import random

from machine.cpu import isa

SPECIAL_REGS = (0, 1, 2, 4, 5)  # zero, ra, sp, tp (objdump's absolute base), t0
SPECIAL_IMMS = (0, 1, -1, 4, -4, 255, 2047, -2048)
SPECIAL_CSRS = (0xC00, 0xC01, 0xC02, 0xC80, 0xC81, 0xC82, 0x300, 0x7C0, 0x001)


def with_fields(row: isa.Insn, rd: int, rs1: int, rs2: int, imm12: int) -> int:
    """`row` with register fields and the I-type immediate bits set where free."""
    free = ~row.mask & 0xFFFF_FFFF
    word = rd << 7 | rs1 << 15 | rs2 << 20 | (imm12 & 0xFFF) << 20
    return row.match | (word & free)


def random_word(row: isa.Insn, rng: random.Random) -> int:
    """`row` with random operand bits, biased towards registers aliases look at."""
    free = ~row.mask & 0xFFFF_FFFF
    word = rng.getrandbits(32)
    for shift in (7, 15, 20):
        if rng.random() < 0.4:
            word = word & ~(31 << shift) | rng.choice(SPECIAL_REGS) << shift
    if rng.random() < 0.2:
        word = word & 0xFFFFF | (rng.choice(SPECIAL_IMMS) & 0xFFF) << 20
    return row.match | (word & free)


def row_words(rng: random.Random, per_row: int = 200) -> list[int]:
    return [random_word(row, rng) for row in isa.TABLE for _ in range(per_row)]


def edge_words() -> list[int]:
    """Every row with every combination of the special registers and immediates."""
    words = []
    for row in isa.TABLE:
        for rd, rs1, rs2 in itertools.product(SPECIAL_REGS, repeat=3):
            words.append(with_fields(row, rd, rs1, rs2, 0))
        for rd, rs1, imm in itertools.product(SPECIAL_REGS, SPECIAL_REGS, SPECIAL_IMMS):
            words.append(with_fields(row, rd, rs1, 0, imm))
        for rd, rs1, csr in itertools.product((0, 5), (0, 5), SPECIAL_CSRS):
            words.append(with_fields(row, rd, rs1, 0, csr))
    fence = isa.BY_NAME["fence"].match
    words += [fence | pred << 24 | succ << 20 for pred in range(16) for succ in range(16)]
    words += [fence | 0x8330_0000, fence | 0x8FF0_0000, fence | 1 << 7, fence | 1 << 15]
    words += [0x0000_100F, 0x0000_108F, 0x0010_100F]  # fence.i, with reserved bits
    words += [0x0020_0073, 0x2020_0073, 0x7B20_0073, 0x1040_0073, 0x1042_8073]  # retired
    words += [0x0200_1013 | n << 20 for n in range(32)]  # slli with RV64's shamt[5]
    return sorted(set(words))


def csr_words() -> list[int]:
    """csrrs with every CSR number, as csrrs and as the csrr alias."""
    csrrs = isa.BY_NAME["csrrs"].match
    return [csrrs | n << 20 | rs1 << 15 | 1 << 7 for n in range(4096) for rs1 in (0, 2)]


def random_words(rng: random.Random, count: int) -> list[int]:
    """Random words with a 32-bit length encoding: mostly illegal, some not."""
    words = []
    while len(words) < count:
        word = rng.getrandbits(32) | 0b11
        if word & 0b11100 != 0b11100:
            words.append(word)
    return words
