"""The explicit compressed mnemonics (`c.addi a0, -3`, `c.lw a4, 4(a2)`, `c.j label` ...),
as GNU as spells them.

Each is written as the 32-bit instruction the spec expands it to, assembled by the
ordinary forms, and then compressed: among the parcels of that c.* name, the one
whose expansion (`machine.cpu.rvc.expand`) is exactly that word.  So the assembler
and the decoder share one definition of every compressed instruction, and an operand
that does not fit (a register outside x8..x15, an immediate out of range or zero where
the spec forbids it) is an error rather than a quietly different instruction.
"""

from __future__ import annotations

import functools

from machine.cpu.asm_expr import AsmError
from machine.cpu.rvc import expand

# c.* mnemonic -> (32-bit mnemonic, how its operands are built from the c.* operands)
_SPELLING = {
    "c.addi4spn": ("addi", "{0},{1},{2}"),
    "c.lw": ("lw", "{0},{1}"),
    "c.sw": ("sw", "{0},{1}"),
    "c.nop": ("addi", "zero,zero,0"),
    "c.addi": ("addi", "{0},{0},{1}"),
    "c.jal": ("jal", "ra,{0}"),
    "c.li": ("addi", "{0},zero,{1}"),
    "c.addi16sp": ("addi", "{0},{0},{1}"),
    "c.lui": ("lui", "{0},{1}"),
    "c.srli": ("srli", "{0},{0},{1}"),
    "c.srai": ("srai", "{0},{0},{1}"),
    "c.andi": ("andi", "{0},{0},{1}"),
    "c.sub": ("sub", "{0},{0},{1}"),
    "c.xor": ("xor", "{0},{0},{1}"),
    "c.or": ("or", "{0},{0},{1}"),
    "c.and": ("and", "{0},{0},{1}"),
    "c.j": ("jal", "zero,{0}"),
    "c.beqz": ("beq", "{0},zero,{1}"),
    "c.bnez": ("bne", "{0},zero,{1}"),
    "c.slli": ("slli", "{0},{0},{1}"),
    "c.lwsp": ("lw", "{0},{1}"),
    "c.jr": ("jalr", "zero,0({0})"),
    "c.mv": ("add", "{0},zero,{1}"),
    "c.ebreak": ("ebreak", ""),
    "c.jalr": ("jalr", "ra,0({0})"),
    "c.add": ("add", "{0},{0},{1}"),
    "c.swsp": ("sw", "{0},{1}"),
}

MNEMONICS = frozenset(_SPELLING)


def spelled_out(mnemonic: str, operands: list[str]) -> tuple[str, str]:
    """The 32-bit mnemonic and operand text that c.* `mnemonic` stands for."""
    name, template = _SPELLING[mnemonic]
    wanted = template.count("{") and max(int(c) for c in template if c.isdigit()) + 1
    if len(operands) != wanted:
        raise AsmError(f"bad operands for {mnemonic}: expected {wanted}")
    return name, template.format(*operands)


def c_name(h: int) -> str:
    """The spec's c.* name of a legal 16-bit parcel (the caller knows it is legal)."""
    op, f3 = h & 3, h >> 13
    rd, rs2, bit12 = (h >> 7) & 31, (h >> 2) & 31, (h >> 12) & 1
    if op == 0:
        return ("c.addi4spn", "", "c.lw", "", "", "", "c.sw", "")[f3]
    if op == 1:
        if f3 == 0:  # c.nop is c.addi zero,0 (GNU as takes either spelling)
            return "c.addi"
        if f3 == 3:
            return "c.addi16sp" if rd == 2 else "c.lui"
        if f3 == 4:
            sub = (h >> 10) & 3
            if sub < 3:
                return ("c.srli", "c.srai", "c.andi")[sub]
            return ("c.sub", "c.xor", "c.or", "c.and")[(h >> 5) & 3]
        return ("", "c.jal", "c.li", "", "", "c.j", "c.beqz", "c.bnez")[f3]
    if f3 == 4:
        if not bit12:
            return "c.jr" if rs2 == 0 else "c.mv"
        if rs2 == 0:
            return "c.ebreak" if rd == 0 else "c.jalr"
        return "c.add"
    return ("c.slli", "", "c.lwsp", "", "", "", "c.swsp", "")[f3]


@functools.cache
def _parcels() -> dict[tuple[str, int], int]:
    """(c.* name, 32-bit expansion) -> parcel, for every legal parcel."""
    table = {}
    for h in range(0x1_0000):
        if h & 3 != 3:
            word = expand(h)
            if word is not None:
                table.setdefault((c_name(h), word), h)
    return table


def compress(mnemonic: str, word: int) -> int:
    """The parcel of `mnemonic` that expands to `word`, or AsmError."""
    parcel = _parcels().get(("c.addi" if mnemonic == "c.nop" else mnemonic, word))
    if parcel is None:
        raise AsmError(f"operands do not fit {mnemonic} (registers x8..x15, immediate range, nonzero)")
    return parcel
