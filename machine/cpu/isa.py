"""The instruction table: one row per RV32IMA + Zicsr + Zifencei + privileged instruction.

The C extension has no rows of its own: a 16-bit instruction is decoded as the 32-bit
instruction it expands to (`machine.cpu.rvc`), with its length and raw parcel kept.

This table is the single source of truth for three consumers:

* the decoder (`decode`), which the execution engine uses to translate code;
* the disassembler (`machine.cpu.disasm`), which prints objdump-style text;
* the assembler (`machine.cpu.asm`), which encodes text back into words.

Each row names the instruction as GNU objdump spells it, gives its MATCH/MASK pair
(an instruction word `w` is this instruction when `w & mask == match`), and an operand
format that says which fields carry meaning and how they are written in assembly.
"""

from __future__ import annotations

from dataclasses import dataclass

from machine.cpu.rvc import expand

# Operand formats.  The string is the assembly syntax with field names:
#   rd rs1 rs2   integer registers        imm        sign-extended immediate
#   shamt        5-bit shift amount        csr        12-bit CSR number
#   uimm         5-bit CSR immediate       pred/succ  fence sets
FORMATS = {
    "R": "rd,rs1,rs2",
    "I": "rd,rs1,imm",
    "SHIFT": "rd,rs1,shamt",
    "LOAD": "rd,imm(rs1)",
    "STORE": "rs2,imm(rs1)",
    "BRANCH": "rs1,rs2,target",
    "U": "rd,imm20",
    "JAL": "rd,target",
    "JALR": "rd,imm(rs1)",
    "CSR": "rd,csr,rs1",
    "CSRI": "rd,csr,uimm",
    "LR": "rd,(rs1)",
    "AMO": "rd,rs2,(rs1)",
    "FENCE": "pred,succ",
    "SFENCE": "rs1,rs2",
    "NONE": "",
}


@dataclass(frozen=True)
class Insn:
    """One instruction: its objdump name, encoding and operand format."""

    name: str
    match: int
    mask: int
    fmt: str
    ext: str

    @property
    def opcode(self) -> int:
        return self.match & 0x7F


# Masks for the common encoding shapes.
_OPC = 0x7F
_F3 = 0x7000 | _OPC
_F7F3 = 0xFE00_0000 | _F3
_AMO = 0xF800_7000 | _OPC  # funct5 + funct3 + opcode; aq/rl are free
_LR = _AMO | 0x01F0_0000  # rs2 must be zero


def _r(f7: int, f3: int, opc: int) -> int:
    return (f7 << 25) | (f3 << 12) | opc


def _i(f3: int, opc: int) -> int:
    return (f3 << 12) | opc


def _amo(f5: int) -> int:
    return (f5 << 27) | (0b010 << 12) | 0b0101111


TABLE: tuple[Insn, ...] = (
    # RV32I
    Insn("lui", 0b0110111, _OPC, "U", "I"),
    Insn("auipc", 0b0010111, _OPC, "U", "I"),
    Insn("jal", 0b1101111, _OPC, "JAL", "I"),
    Insn("jalr", _i(0, 0b1100111), _F3, "JALR", "I"),
    Insn("beq", _i(0, 0b1100011), _F3, "BRANCH", "I"),
    Insn("bne", _i(1, 0b1100011), _F3, "BRANCH", "I"),
    Insn("blt", _i(4, 0b1100011), _F3, "BRANCH", "I"),
    Insn("bge", _i(5, 0b1100011), _F3, "BRANCH", "I"),
    Insn("bltu", _i(6, 0b1100011), _F3, "BRANCH", "I"),
    Insn("bgeu", _i(7, 0b1100011), _F3, "BRANCH", "I"),
    Insn("lb", _i(0, 0b0000011), _F3, "LOAD", "I"),
    Insn("lh", _i(1, 0b0000011), _F3, "LOAD", "I"),
    Insn("lw", _i(2, 0b0000011), _F3, "LOAD", "I"),
    Insn("lbu", _i(4, 0b0000011), _F3, "LOAD", "I"),
    Insn("lhu", _i(5, 0b0000011), _F3, "LOAD", "I"),
    Insn("sb", _i(0, 0b0100011), _F3, "STORE", "I"),
    Insn("sh", _i(1, 0b0100011), _F3, "STORE", "I"),
    Insn("sw", _i(2, 0b0100011), _F3, "STORE", "I"),
    Insn("addi", _i(0, 0b0010011), _F3, "I", "I"),
    Insn("slti", _i(2, 0b0010011), _F3, "I", "I"),
    Insn("sltiu", _i(3, 0b0010011), _F3, "I", "I"),
    Insn("xori", _i(4, 0b0010011), _F3, "I", "I"),
    Insn("ori", _i(6, 0b0010011), _F3, "I", "I"),
    Insn("andi", _i(7, 0b0010011), _F3, "I", "I"),
    Insn("slli", _r(0, 1, 0b0010011), _F7F3, "SHIFT", "I"),
    Insn("srli", _r(0, 5, 0b0010011), _F7F3, "SHIFT", "I"),
    Insn("srai", _r(0x20, 5, 0b0010011), _F7F3, "SHIFT", "I"),
    Insn("add", _r(0, 0, 0b0110011), _F7F3, "R", "I"),
    Insn("sub", _r(0x20, 0, 0b0110011), _F7F3, "R", "I"),
    Insn("sll", _r(0, 1, 0b0110011), _F7F3, "R", "I"),
    Insn("slt", _r(0, 2, 0b0110011), _F7F3, "R", "I"),
    Insn("sltu", _r(0, 3, 0b0110011), _F7F3, "R", "I"),
    Insn("xor", _r(0, 4, 0b0110011), _F7F3, "R", "I"),
    Insn("srl", _r(0, 5, 0b0110011), _F7F3, "R", "I"),
    Insn("sra", _r(0x20, 5, 0b0110011), _F7F3, "R", "I"),
    Insn("or", _r(0, 6, 0b0110011), _F7F3, "R", "I"),
    Insn("and", _r(0, 7, 0b0110011), _F7F3, "R", "I"),
    # FENCE: fm and the register fields are ignored by implementations (spec 2.7).
    Insn("fence", _i(0, 0b0001111), _F3, "FENCE", "I"),
    Insn("ecall", 0x0000_0073, 0xFFFF_FFFF, "NONE", "I"),
    Insn("ebreak", 0x0010_0073, 0xFFFF_FFFF, "NONE", "I"),
    # Zifencei
    Insn("fence.i", _i(1, 0b0001111), _F3, "NONE", "Zifencei"),
    # Zicsr
    Insn("csrrw", _i(1, 0b1110011), _F3, "CSR", "Zicsr"),
    Insn("csrrs", _i(2, 0b1110011), _F3, "CSR", "Zicsr"),
    Insn("csrrc", _i(3, 0b1110011), _F3, "CSR", "Zicsr"),
    Insn("csrrwi", _i(5, 0b1110011), _F3, "CSRI", "Zicsr"),
    Insn("csrrsi", _i(6, 0b1110011), _F3, "CSRI", "Zicsr"),
    Insn("csrrci", _i(7, 0b1110011), _F3, "CSRI", "Zicsr"),
    # Privileged
    Insn("sret", 0x1020_0073, 0xFFFF_FFFF, "NONE", "priv"),
    Insn("mret", 0x3020_0073, 0xFFFF_FFFF, "NONE", "priv"),
    Insn("wfi", 0x1050_0073, 0xFFFF_FFFF, "NONE", "priv"),
    Insn("sfence.vma", 0x1200_0073, 0xFE00_7FFF, "SFENCE", "priv"),
    # RV32M
    Insn("mul", _r(1, 0, 0b0110011), _F7F3, "R", "M"),
    Insn("mulh", _r(1, 1, 0b0110011), _F7F3, "R", "M"),
    Insn("mulhsu", _r(1, 2, 0b0110011), _F7F3, "R", "M"),
    Insn("mulhu", _r(1, 3, 0b0110011), _F7F3, "R", "M"),
    Insn("div", _r(1, 4, 0b0110011), _F7F3, "R", "M"),
    Insn("divu", _r(1, 5, 0b0110011), _F7F3, "R", "M"),
    Insn("rem", _r(1, 6, 0b0110011), _F7F3, "R", "M"),
    Insn("remu", _r(1, 7, 0b0110011), _F7F3, "R", "M"),
    # RV32A
    Insn("lr.w", _amo(0b00010), _LR, "LR", "A"),
    Insn("sc.w", _amo(0b00011), _AMO, "AMO", "A"),
    Insn("amoswap.w", _amo(0b00001), _AMO, "AMO", "A"),
    Insn("amoadd.w", _amo(0b00000), _AMO, "AMO", "A"),
    Insn("amoxor.w", _amo(0b00100), _AMO, "AMO", "A"),
    Insn("amoand.w", _amo(0b01100), _AMO, "AMO", "A"),
    Insn("amoor.w", _amo(0b01000), _AMO, "AMO", "A"),
    Insn("amomin.w", _amo(0b10000), _AMO, "AMO", "A"),
    Insn("amomax.w", _amo(0b10100), _AMO, "AMO", "A"),
    Insn("amominu.w", _amo(0b11000), _AMO, "AMO", "A"),
    Insn("amomaxu.w", _amo(0b11100), _AMO, "AMO", "A"),
)

BY_NAME: dict[str, Insn] = {insn.name: insn for insn in TABLE}

# Decoding is by major opcode first, then a short linear scan of that opcode's rows.
_BY_OPCODE: dict[int, tuple[Insn, ...]] = {}
for _insn in TABLE:
    _BY_OPCODE[_insn.opcode] = _BY_OPCODE.get(_insn.opcode, ()) + (_insn,)

ABI_NAMES = (
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2",
    "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
    "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
    "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
)  # fmt: skip


# --- field extraction (spec volume I, chapter 2.3 "Immediate Encoding Variants") ---


def sext(value: int, bits: int) -> int:
    """Sign-extend the low `bits` bits of `value` to a Python int."""
    sign = 1 << (bits - 1)
    return (value & (sign - 1)) - (value & sign)


def rd(w: int) -> int:
    return (w >> 7) & 31


def rs1(w: int) -> int:
    return (w >> 15) & 31


def rs2(w: int) -> int:
    return (w >> 20) & 31


def i_imm(w: int) -> int:
    return sext(w >> 20, 12)


def s_imm(w: int) -> int:
    return sext(((w >> 25) << 5) | ((w >> 7) & 0x1F), 12)


def b_imm(w: int) -> int:
    return sext(
        (((w >> 31) & 1) << 12)
        | (((w >> 7) & 1) << 11)
        | (((w >> 25) & 0x3F) << 5)
        | (((w >> 8) & 0xF) << 1),
        13,
    )


def u_imm(w: int) -> int:
    """The U-type immediate as the value placed in the register (low 12 bits zero)."""
    return w & 0xFFFF_F000


def j_imm(w: int) -> int:
    return sext(
        (((w >> 31) & 1) << 20)
        | (((w >> 12) & 0xFF) << 12)
        | (((w >> 20) & 1) << 11)
        | (((w >> 21) & 0x3FF) << 1),
        21,
    )


def csr_num(w: int) -> int:
    return w >> 20


def shamt(w: int) -> int:
    return (w >> 20) & 31


def aq(w: int) -> int:
    return (w >> 26) & 1


def rl(w: int) -> int:
    return (w >> 25) & 1


def lookup(w: int) -> Insn | None:
    """Return the table row for instruction word `w`, or None for an illegal encoding.

    Only 32-bit encodings (low two bits 11) are looked up here; `decode` expands a
    16-bit parcel first.
    """
    if w & 3 != 3:
        return None
    for insn in _BY_OPCODE.get(w & 0x7F, ()):
        if w & insn.mask == insn.match:
            return insn
    return None


@dataclass(frozen=True)
class Decoded:
    """An instruction word with its fields pulled out by name.  For a compressed
    instruction `word` is the 16-bit parcel and `length` 2; the fields are those of
    its 32-bit expansion."""

    insn: Insn
    word: int
    rd: int
    rs1: int
    rs2: int
    imm: int
    length: int = 4

    @property
    def name(self) -> str:
        return self.insn.name


def is_compressed(w: int) -> bool:
    """True when the parcel in the low 16 bits of `w` is a whole 16-bit instruction."""
    return w & 3 != 3


# Decoded words, by word: a Decoded is immutable, and a kernel's boot translates the
# same words again and again (overlapping traces, blocks translated anew).
_DECODED: dict[int, Decoded | None] = {}
_DECODED_MAX = 1 << 16


def decode(w: int) -> Decoded | None:
    """Decode `w` into named fields; None when the encoding is illegal.  When the low
    two bits are not 11, only the low 16 bits are an instruction (RV32C)."""
    if w & 3 != 3:
        w &= 0xFFFF
    try:
        return _DECODED[w]
    except KeyError:
        pass
    if len(_DECODED) >= _DECODED_MAX:
        _DECODED.clear()
    d = _DECODED[w] = _decode(w)
    return d


def _decode(w: int) -> Decoded | None:
    if w & 3 != 3:
        h = w & 0xFFFF
        e = expand(h)
        if e is None:
            return None
        d = _decode32(e)
        return None if d is None else Decoded(d.insn, h, d.rd, d.rs1, d.rs2, d.imm, 2)
    return _decode32(w)


def _decode32(w: int) -> Decoded | None:
    insn = lookup(w)
    if insn is None:
        return None
    fmt = insn.fmt
    if fmt in ("I", "LOAD", "JALR"):
        imm = i_imm(w)
    elif fmt == "STORE":
        imm = s_imm(w)
    elif fmt == "BRANCH":
        imm = b_imm(w)
    elif fmt == "U":
        imm = u_imm(w)
    elif fmt == "JAL":
        imm = j_imm(w)
    elif fmt == "SHIFT":
        imm = shamt(w)
    elif fmt in ("CSR", "CSRI"):
        imm = csr_num(w)
    else:
        imm = 0
    return Decoded(insn, w, rd(w), rs1(w), rs2(w), imm)
