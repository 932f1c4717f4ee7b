"""RV32C: each 16-bit instruction as the 32-bit instruction it stands for.

The unprivileged spec (chapter 16, "C" Standard Extension) defines every compressed
instruction by its expansion into a base instruction, so the machine decodes a 16-bit
parcel by building that 32-bit word and decoding it as usual; only the length (2)
and the raw parcel (for mtval) are remembered.  Without F/D, the C.F* load/store
encodings are illegal here, as are the reserved and RV64/RV128-only code points.
HINTs (rd=x0 forms, c.nop with an immediate, shifts by 0) are legal and execute as
their expansion, which changes nothing.
"""

from __future__ import annotations


def _bits(h: int, hi: int, lo: int) -> int:
    return (h >> lo) & ((1 << (hi - lo + 1)) - 1)


def _sext(value: int, bits: int) -> int:
    sign = 1 << (bits - 1)
    return (value & (sign - 1)) - (value & sign)


# --- 32-bit encoders ----------------------------------------------------------------


def _r(f7: int, rs2: int, rs1: int, f3: int, rd: int, opc: int) -> int:
    return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc


def _i(imm: int, rs1: int, f3: int, rd: int, opc: int) -> int:
    return ((imm & 0xFFF) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc


def _s(imm: int, rs2: int, rs1: int, f3: int, opc: int) -> int:
    imm &= 0xFFF
    return ((imm >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1F) << 7) | opc


def _b(imm: int, rs2: int, rs1: int, f3: int) -> int:
    imm &= 0x1FFF
    return (
        (((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3F) << 25) | (rs2 << 20) | (rs1 << 15)
        | (f3 << 12) | (((imm >> 1) & 0xF) << 8) | (((imm >> 11) & 1) << 7) | 0b1100011
    )  # fmt: skip


def _j(imm: int, rd: int) -> int:
    imm &= 0x1F_FFFF
    return (
        (((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3FF) << 21) | (((imm >> 11) & 1) << 20)
        | (((imm >> 12) & 0xFF) << 12) | (rd << 7) | 0b1101111
    )  # fmt: skip


OP_IMM, OP, LOAD, STORE, LUI, JALR = 0b0010011, 0b0110011, 0b0000011, 0b0100011, 0b0110111, 0b1100111
EBREAK = 0x0010_0073


# --- immediates of the compressed formats (spec table 16.x, field by field) ----------


def _ci_imm(h: int) -> int:
    """imm[5] at bit 12, imm[4:0] at bits 6:2, signed (c.addi, c.li, c.andi, shamt)."""
    return _sext((_bits(h, 12, 12) << 5) | _bits(h, 6, 2), 6)


def _cj_imm(h: int) -> int:
    """offset[11|4|9:8|10|6|7|3:1|5] at bits 12:2 (c.j, c.jal)."""
    return _sext(
        (_bits(h, 12, 12) << 11) | (_bits(h, 11, 11) << 4) | (_bits(h, 10, 9) << 8) | (_bits(h, 8, 8) << 10)
        | (_bits(h, 7, 7) << 6) | (_bits(h, 6, 6) << 7) | (_bits(h, 5, 3) << 1) | (_bits(h, 2, 2) << 5),
        12,
    )  # fmt: skip


def _cb_imm(h: int) -> int:
    """offset[8|4:3] at bits 12:10, offset[7:6|2:1|5] at bits 6:2 (c.beqz, c.bnez)."""
    return _sext(
        (_bits(h, 12, 12) << 8) | (_bits(h, 11, 10) << 3) | (_bits(h, 6, 5) << 6) | (_bits(h, 4, 3) << 1)
        | (_bits(h, 2, 2) << 5),
        9,
    )  # fmt: skip


def _clw_imm(h: int) -> int:
    """uimm[5:3] at bits 12:10, uimm[2|6] at bits 6:5 (c.lw, c.sw)."""
    return (_bits(h, 12, 10) << 3) | (_bits(h, 6, 6) << 2) | (_bits(h, 5, 5) << 6)


def expand(h: int) -> int | None:
    """The 32-bit instruction that 16-bit parcel `h` stands for; None if illegal."""
    op, f3 = h & 3, h >> 13
    rd = _bits(h, 11, 7)  # also rs1 in the CI/CR formats
    rs2 = _bits(h, 6, 2)
    rdp, rs1p = 8 + _bits(h, 4, 2), 8 + _bits(h, 9, 7)  # the rd'/rs2' and rs1' fields
    if op == 0:
        if f3 == 0:  # c.addi4spn: nzuimm[5:4|9:6|2|3] at bits 12:5
            imm = (_bits(h, 12, 11) << 4) | (_bits(h, 10, 7) << 6) | (_bits(h, 6, 6) << 2) | (_bits(h, 5, 5) << 3)
            return _i(imm, 2, 0, rdp, OP_IMM) if imm else None  # imm 0 (and 0x0000) reserved
        if f3 == 2:  # c.lw
            return _i(_clw_imm(h), rs1p, 2, rdp, LOAD)
        if f3 == 6:  # c.sw
            return _s(_clw_imm(h), rdp, rs1p, 2, STORE)
        return None  # c.fld, c.flw, c.fsd, c.fsw, and the reserved funct3=100
    if op == 1:
        if f3 == 0:  # c.addi (c.nop when rd=0)
            return _i(_ci_imm(h), rd, 0, rd, OP_IMM)
        if f3 == 1:  # c.jal (RV32 only)
            return _j(_cj_imm(h), 1)
        if f3 == 2:  # c.li
            return _i(_ci_imm(h), 0, 0, rd, OP_IMM)
        if f3 == 3:
            if rd == 2:  # c.addi16sp: nzimm[9] at bit 12, nzimm[4|6|8:7|5] at bits 6:2
                imm = _sext(
                    (_bits(h, 12, 12) << 9) | (_bits(h, 6, 6) << 4) | (_bits(h, 5, 5) << 6)
                    | (_bits(h, 4, 3) << 7) | (_bits(h, 2, 2) << 5),
                    10,
                )  # fmt: skip
                return _i(imm, 2, 0, 2, OP_IMM) if imm else None
            imm = _ci_imm(h)  # c.lui: nzimm[17:12]
            return ((imm & 0xFFFFF) << 12) | (rd << 7) | LUI if imm else None
        if f3 == 4:
            sub = _bits(h, 11, 10)
            rd = rs1p
            if sub < 2:  # c.srli, c.srai: shamt[5] must be 0 on RV32
                if h >> 12 & 1:
                    return None
                return _r(0x20 if sub else 0, rs2, rd, 5, rd, OP_IMM)
            if sub == 2:  # c.andi
                return _i(_ci_imm(h), rd, 7, rd, OP_IMM)
            if h >> 12 & 1:
                return None  # c.subw, c.addw: RV64 only
            f7, f3_ = ((0x20, 0), (0, 4), (0, 6), (0, 7))[_bits(h, 6, 5)]  # sub xor or and
            return _r(f7, rdp, rd, f3_, rd, OP)
        if f3 == 5:  # c.j
            return _j(_cj_imm(h), 0)
        return _b(_cb_imm(h), 0, rs1p, 0 if f3 == 6 else 1)  # c.beqz, c.bnez
    if op == 2:
        if f3 == 0:  # c.slli
            if h >> 12 & 1:
                return None
            return _r(0, rs2, rd, 1, rd, OP_IMM)
        if f3 == 2:  # c.lwsp: uimm[5] at bit 12, uimm[4:2|7:6] at bits 6:2; rd=0 reserved
            imm = (_bits(h, 12, 12) << 5) | (_bits(h, 6, 4) << 2) | (_bits(h, 3, 2) << 6)
            return _i(imm, 2, 2, rd, LOAD) if rd else None
        if f3 == 4:
            if not h >> 12 & 1:
                if rs2 == 0:  # c.jr; rs1=0 reserved
                    return _i(0, rd, 0, 0, JALR) if rd else None
                return _r(0, rs2, 0, 0, rd, OP)  # c.mv
            if rs2 == 0:
                if rd == 0:
                    return EBREAK  # c.ebreak
                return _i(0, rd, 0, 1, JALR)  # c.jalr
            return _r(0, rs2, rd, 0, rd, OP)  # c.add
        if f3 == 6:  # c.swsp: uimm[5:2|7:6] at bits 12:7
            imm = (_bits(h, 12, 9) << 2) | (_bits(h, 8, 7) << 6)
            return _s(imm, rs2, 2, 2, STORE)
        return None  # c.fldsp, c.flwsp, c.fsdsp, c.fswsp
    return None  # op == 3 is a 32-bit instruction, not a parcel
