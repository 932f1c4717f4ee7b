"""How GNU objdump (binutils 2.40, -march=rv32imac) prints a 16-bit instruction.

objdump names most compressed instructions by the base instruction they expand to,
in the short spelling GNU as also accepts for them (`add a0,a0,-3` for c.addi, `sll`
for c.slli, `li`, `mv`, `ret`, `jr`, `j`, `beqz` ...), keeps a `c.` name for the HINT
forms with rd=x0 and for shifts by 0 (`c.slli64`), prints 6-bit shift amounts even for
RV32, and prints `.2byte` for what it does not know (C.F* without F/D, the reserved
code points).  Each rule below was checked against objdump on all 49152 parcels
(tests/asm/test_disasm_rvc.py).

objdump's address comments follow it too: a `c.lui` notes its value for a later
`addi`/load/store/`jalr` (as `lui` does), and a `c.addi` resolves its register through
that note; compressed loads, stores and jumps never do.
"""

from __future__ import annotations

from machine.cpu.isa import ABI_NAMES, sext
from machine.cpu.rvc import _bits, _cb_imm, _ci_imm, _cj_imm, _clw_imm


def _target(offset: int, pc: int | None) -> str:
    if pc is None:
        return f".{offset:+d}"
    return f"{(pc + offset) & 0xFFFF_FFFF:x}"


def render(h: int, pc: int | None) -> tuple[str, str, int | None, tuple[int, int] | None]:
    """(mnemonic, operands, base register objdump resolves an address through or None,
    (rd, value) objdump notes as an upper immediate or None).  The mnemonic `.2byte`
    means objdump knows no instruction here."""
    op, f3 = h & 3, h >> 13
    rd = _bits(h, 11, 7)
    rs2 = _bits(h, 6, 2)
    rdp, rs1p = ABI_NAMES[8 + _bits(h, 4, 2)], ABI_NAMES[8 + _bits(h, 9, 7)]
    r, r2 = ABI_NAMES[rd], ABI_NAMES[rs2]
    shamt = (_bits(h, 12, 12) << 5) | rs2
    unknown = (".2byte", f"0x{h:x}", None, None)
    if op == 0:
        if h == 0:
            return "unimp", "", None, None
        if f3 == 0:
            imm = (_bits(h, 12, 11) << 4) | (_bits(h, 10, 7) << 6) | (_bits(h, 6, 6) << 2) | (_bits(h, 5, 5) << 3)
            return ("add", f"{rdp},sp,{imm}", None, None) if imm else unknown
        if f3 == 2:
            return "lw", f"{rdp},{_clw_imm(h)}({rs1p})", None, None
        if f3 == 6:
            return "sw", f"{rdp},{_clw_imm(h)}({rs1p})", None, None
        return unknown
    if op == 1:
        if f3 == 0:
            imm = _ci_imm(h)
            if rd == 0:
                return ("nop", "", None, None) if imm == 0 else ("c.nop", str(imm), None, None)
            return "add", f"{r},{r},{imm}", rd, None
        if f3 == 1:
            return "jal", _target(_cj_imm(h), pc), None, None
        if f3 == 2:
            return ("c.li" if rd == 0 else "li"), f"{r},{_ci_imm(h)}", None, None
        if f3 == 3:
            # objdump notes every parcel of c.lui's shape, c.addi16sp's too.
            note = (rd, (_ci_imm(h) << 12) & 0xFFFF_FFFF)
            if rd == 2:
                imm = sext(
                    (_bits(h, 12, 12) << 9) | (_bits(h, 6, 6) << 4) | (_bits(h, 5, 5) << 6)
                    | (_bits(h, 4, 3) << 7) | (_bits(h, 2, 2) << 5),
                    10,
                )  # fmt: skip
                return "add", f"sp,sp,{imm}", None, note
            if _ci_imm(h) == 0:
                return unknown
            return ("c.lui" if rd == 0 else "lui"), f"{r},0x{_ci_imm(h) & 0xFFFFF:x}", None, note
        if f3 == 4:
            sub = _bits(h, 11, 10)
            if sub < 2:
                name = ("srl", "sra")[sub]
                if shamt == 0:
                    return f"c.{name}i64", rs1p, None, None
                return name, f"{rs1p},{rs1p},0x{shamt:x}", None, None
            if sub == 2:
                return "and", f"{rs1p},{rs1p},{_ci_imm(h)}", None, None
            if h >> 12 & 1:
                return unknown
            name = ("sub", "xor", "or", "and")[_bits(h, 6, 5)]
            return name, f"{rs1p},{rs1p},{rdp}", None, None
        if f3 == 5:
            return "j", _target(_cj_imm(h), pc), None, None
        return ("beqz" if f3 == 6 else "bnez"), f"{rs1p},{_target(_cb_imm(h), pc)}", None, None
    # op == 2
    if f3 == 0:
        if shamt == 0:
            return "c.slli64", r, None, None
        if rd == 0:
            return "c.slli", f"zero,0x{shamt:x}", None, None
        return "sll", f"{r},{r},0x{shamt:x}", None, None
    if f3 == 2:
        imm = (_bits(h, 12, 12) << 5) | (_bits(h, 6, 4) << 2) | (_bits(h, 3, 2) << 6)
        return ("lw", f"{r},{imm}(sp)", None, None) if rd else unknown
    if f3 == 4:
        if not h >> 12 & 1:
            if rs2 == 0:
                if rd == 0:
                    return unknown
                return ("ret", "", None, None) if rd == 1 else ("jr", r, None, None)
            return ("c.mv" if rd == 0 else "mv"), f"{r},{r2}", None, None
        if rs2 == 0:
            return ("ebreak", "", None, None) if rd == 0 else ("jalr", r, None, None)
        if rd == 0:
            return "c.add", f"zero,{r2}", None, None
        return "add", f"{r},{r},{r2}", None, None
    if f3 == 6:
        imm = (_bits(h, 12, 9) << 2) | (_bits(h, 8, 7) << 6)
        return "sw", f"{r2},{imm}(sp)", None, None
    return unknown
