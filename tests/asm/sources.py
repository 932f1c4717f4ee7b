"""Assembly source text with random operands, written independently of our encoder.

Each row's line is spelled from its operand format in `isa.FORMATS`, with registers
as ABI names or xN, immediates in decimal or hex, CSRs by name or number and branch
targets as `.`-relative expressions -- so GNU as and our assembler read the same text.
"""

from __future__ import annotations

import random

from machine.cpu import isa
from machine.cpu.gnu_csrs import GNU_CSR_NAMES

_CSR_NAMES = sorted(GNU_CSR_NAMES.values())


def register(rng: random.Random) -> str:
    n = rng.randrange(32)
    return rng.choice((isa.ABI_NAMES[n], f"x{n}", "fp" if n == 8 else isa.ABI_NAMES[n]))


def number(rng: random.Random, lo: int, hi: int) -> str:
    value = rng.choice((lo, hi, 0, rng.randint(lo, hi), rng.randint(lo, hi)))
    if rng.random() < 0.5:
        return str(value)
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


def _target(rng: random.Random, bits: int) -> str:
    limit = 1 << (bits - 1)
    offset = 4 * rng.randint(-limit // 4, limit // 4 - 1)
    return f".{offset:+d}" if offset else "."


def _fence_set(rng: random.Random) -> str:
    bits = rng.randrange(1, 16)
    return "".join(c for c, b in zip("iorw", (8, 4, 2, 1)) if bits & b)


def operand(token: str, row: isa.Insn, rng: random.Random) -> str:
    if token in ("rd", "rs1", "rs2"):
        return register(rng)
    if token == "imm(rs1)":
        return f"{number(rng, -2048, 2047)}({register(rng)})"
    if token == "(rs1)":
        return rng.choice(("({})", "0({})")).format(register(rng))
    if token == "imm":
        return number(rng, -2048, 2047)
    if token == "shamt":
        return number(rng, 0, 31)
    if token == "imm20":
        return number(rng, 0, 0xF_FFFF)
    if token == "uimm":
        return number(rng, 0, 31)
    if token == "csr":
        return rng.choice(_CSR_NAMES) if rng.random() < 0.6 else number(rng, 0, 0xFFF)
    if token == "target":
        return _target(rng, 13 if row.fmt == "BRANCH" else 21)
    if token in ("pred", "succ"):
        return _fence_set(rng)
    raise ValueError(token)


def row_line(row: isa.Insn, rng: random.Random) -> str:
    template = isa.FORMATS[row.fmt]
    name = row.name
    if row.ext == "A":
        name += rng.choice(("", ".aq", ".rl", ".aqrl"))
    operands = ", ".join(operand(t, row, rng) for t in template.split(",")) if template else ""
    return f"{name} {operands}".strip()


def row_lines(rng: random.Random, per_row: int) -> list[str]:
    return [row_line(row, rng) for row in isa.TABLE for _ in range(per_row)]


def li_lines(rng: random.Random, count: int) -> list[str]:
    edges = [0, 1, -1, 2047, 2048, -2048, -2049, 0x800, 0xFFF, 0x1000, 0x7FFFF800,
             0x7FFFFFFF, 0x80000000, -0x80000000, 0xFFFFFFFF, 0xFFFFF800, 0x12345678]  # fmt: skip
    values = edges + [rng.randint(-(1 << 31), (1 << 32) - 1) for _ in range(count)]
    values += [rng.randint(-5000, 5000) for _ in range(count // 4)]
    values += [rng.getrandbits(20) << 12 for _ in range(count // 4)]
    return [f"li {register(rng)}, {v:#x}" if v >= 0 else f"li {register(rng)}, {v}" for v in values]
