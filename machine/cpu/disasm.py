"""Disassembler: instruction words to the text GNU objdump prints.

The output matches `riscv64-unknown-elf-objdump -d` (binutils 2.40) for a file built
with `-march=rv32imac_zicsr_zifencei` (16-bit instructions as `machine.cpu.disasm_rvc`
says objdump prints them): the mnemonic, one tab, the operands, and the
` # address` comment objdump adds to loads, stores, jalr and addi whose base it can
resolve -- everything up to the ` <symbol>` suffix, which we leave out. `aliases=False`
gives the `-M no-aliases` text instead.

The instruction table in `isa` decides what a word is; this module only knows how
objdump *prints* it: the alias it prefers (`alias_rules`), and the few places where
objdump is stricter or looser than the machine (`_objdump_row`).

`disassemble` looks at one word alone. objdump also remembers the last `lui`/`auipc`
into each register and resolves a following `addi`/load/store/`jalr` through it; a
`Listing` carries that state from one word to the next, for whole-block listings.
"""

from __future__ import annotations

import re

from machine.cpu import disasm_rvc, isa
from machine.cpu.alias_rules import ALIASES
from machine.cpu.gnu_csrs import GNU_CSR_NAMES

# Words objdump still names although the machine (and the current specs) have no such
# instruction: retired privileged-spec encodings. The machine raises an illegal
# instruction exception for them; the trap log can still say what the guest meant.
_RETIRED = (
    isa.Insn("uret", 0x0020_0073, 0xFFFF_FFFF, "NONE", "retired"),
    isa.Insn("hret", 0x2020_0073, 0xFFFF_FFFF, "NONE", "retired"),
    isa.Insn("dret", 0x7B20_0073, 0xFFFF_FFFF, "NONE", "retired"),
    isa.Insn("sfence.vm", 0x1040_0073, 0xFFF0_7FFF, "SFENCE", "retired"),
)
_FENCE_TSO = 0x8330_000F
_SHAMT5 = 1 << 25  # objdump takes RV64's 6-bit shift amount even for RV32 files

_TP = 4  # objdump treats tp-relative addresses as absolute (thread pointer at 0)


def _objdump_row(word: int) -> isa.Insn | None:
    """The row objdump prints `word` as, or None when it prints `.4byte`."""
    row = isa.lookup(word)
    if row is None:
        if word & 0x7F == 0b0010011 and word & _SHAMT5:
            wide = isa.lookup(word & ~_SHAMT5)
            if wide is not None and wide.fmt == "SHIFT":
                return wide
        return next((r for r in _RETIRED if word & r.mask == r.match), None)
    # The machine ignores FENCE's fm/rs1/rd and FENCE.I's imm/rs1/rd fields
    # (reserved for future use, spec 2.7 and 3.1); objdump only names the
    # canonical encodings and fence.tso.
    if row.name == "fence" and word & 0xF00F_8F80 and word != _FENCE_TSO:
        return None
    if row.name == "fence.i" and word != row.match:
        return None
    return row


def _fence_set(bits: int) -> str:
    """objdump's spelling of a FENCE predecessor/successor set; 0 has no name."""
    return "".join(c for c, b in zip("iorw", (8, 4, 2, 1)) if bits & b) or "unknown"


def _target(offset: int, pc: int | None) -> str:
    if pc is None:
        return f".{offset:+d}"  # position-independent, and valid GNU as input
    return f"{(pc + offset) & 0xFFFF_FFFF:x}"


def _operand(name: str, word: int, pc: int | None) -> str:
    """Render one operand of `word` the way objdump does."""
    if name == "rd":
        return isa.ABI_NAMES[isa.rd(word)]
    if name == "rs1":
        return isa.ABI_NAMES[isa.rs1(word)]
    if name == "rs2":
        return isa.ABI_NAMES[isa.rs2(word)]
    if name == "imm":
        return str(isa.s_imm(word) if word & 0x7F == 0b0100011 else isa.i_imm(word))
    if name == "shamt":
        return f"0x{(word >> 20) & 0x3F:x}"
    if name == "imm20":
        return f"0x{word >> 12:x}"
    if name == "target":
        is_jal = word & 0x7F == 0b1101111
        return _target(isa.j_imm(word) if is_jal else isa.b_imm(word), pc)
    if name == "csr":
        return GNU_CSR_NAMES.get(word >> 20, f"0x{word >> 20:x}")
    if name == "uimm":
        return str(isa.rs1(word))
    if name == "pred":
        return _fence_set((word >> 24) & 0xF)
    if name == "succ":
        return _fence_set((word >> 20) & 0xF)
    raise ValueError(f"unknown operand field {name!r}")


def _amo_suffix(word: int) -> str:
    return {0: "", 1: ".rl", 2: ".aq", 3: ".aqrl"}[(word >> 25) & 3]


def _choose(row: isa.Insn, word: int, aliases: bool) -> tuple[str, str]:
    """The mnemonic and operand template objdump prints for `word`."""
    if word == _FENCE_TSO:
        return "fence.tso", ""
    if row.ext == "A":
        return row.name + _amo_suffix(word), isa.FORMATS[row.fmt]
    rules = ALIASES.get(row.name, ())
    for applies, mnemonic, template, is_alias in rules:
        if (aliases or not is_alias) and applies(word):
            return mnemonic, template
    return row.name, isa.FORMATS[row.fmt]


_FIELD = re.compile(r"[a-z][a-z0-9]*")


class Listing:
    """objdump's view of a stream of instructions, including what it remembers.

    objdump notes the value each `lui`/`auipc` leaves in its destination and, when a
    later `addi`, load, store or `jalr` uses that register as its base, prints the
    address they form as a ` # address` comment (and forgets the note). Feed words in
    address order to get objdump's listing line for line.
    """

    def __init__(self, *, aliases: bool = True) -> None:
        self.aliases = aliases
        self._hi: dict[int, int] = {}  # register -> value left by lui/auipc

    def line(self, word: int, pc: int | None = None) -> str:
        """The text objdump prints for `word` at `pc` (without the `<symbol>` part).
        When the low two bits of `word` are not 11, only its low 16 bits are read: a
        compressed instruction."""
        word &= 0xFFFF_FFFF
        if word & 3 != 3:
            return self._compressed(word & 0xFFFF, pc)
        row = _objdump_row(word)
        if row is None:
            return f".4byte\t0x{word:x}"
        mnemonic, template = _choose(row, word, self.aliases)
        operands = _FIELD.sub(lambda m: _operand(m.group(), word, pc), template)
        comment = self._address_comment(row, word, template)
        if row.fmt == "U":
            upper = word & 0xFFFF_F000
            if row.name == "lui":
                self._hi[isa.rd(word)] = upper
            elif pc is not None:
                self._hi[isa.rd(word)] = (pc + upper) & 0xFFFF_FFFF
            else:
                self._hi.pop(isa.rd(word), None)
        text = f"{mnemonic}\t{operands}" if operands else mnemonic
        return text if comment is None else f"{text} # {comment:x}"

    def _compressed(self, h: int, pc: int | None) -> str:
        # -M no-aliases is not modelled for 16-bit instructions: the same text either way.
        mnemonic, operands, base, note = disasm_rvc.render(h, pc)
        comment = None
        if base is not None:
            comment = self._resolve(base, _ci_offset(h), 1)
        if note is not None:
            self._hi[note[0]] = note[1]
        text = f"{mnemonic}\t{operands}" if operands else mnemonic
        return text if comment is None else f"{text} # {comment:x}"

    def _resolve(self, base: int, offset: int, lookups: int) -> int | None:
        address = None
        for _ in range(lookups):
            if base in self._hi:
                upper = self._hi.pop(base)
                address = (upper if base else 0) + offset
            elif base in (0, _TP):
                address = offset
        return None if address is None else address & 0xFFFF_FFFF

    def _address_comment(self, row: isa.Insn, word: int, template: str) -> int | None:
        """The address objdump resolves for this instruction's base register, if any."""
        base = isa.rs1(word)
        if row.fmt in ("LOAD", "STORE"):
            lookups = 1
        elif row.fmt == "JALR" and template:
            # objdump looks at the base once for `rs1` and twice more for `imm(rs1)`
            lookups = 3 if "imm" in template else 1
        elif row.name == "addi" and "imm" in template and base != 0:
            lookups = 1
        else:
            return None
        offset = isa.s_imm(word) if row.fmt == "STORE" else isa.i_imm(word)
        return self._resolve(base, offset, lookups)


def _ci_offset(h: int) -> int:
    return isa.sext(((h >> 12 & 1) << 5) | ((h >> 2) & 31), 6)


def disassemble(word: int, pc: int | None = None, *, aliases: bool = True) -> str:
    """objdump's text for one instruction word (`aliases=False`: `-M no-aliases`).

    With `pc`, branch and jump targets are absolute hex addresses as objdump prints
    them; without it they are written `.+offset`, which GNU as reads back.
    """
    return Listing(aliases=aliases).line(word, pc)


def disassemble_raw(word: int, pc: int | None = None) -> str:
    """objdump -M no-aliases text: every instruction under its own name."""
    return disassemble(word, pc, aliases=False)


def disassemble_block(
    data: bytes, base: int, *, aliases: bool = True
) -> list[tuple[int, int, str]]:
    """(address, bits, text) for each whole instruction of `data` at `base`, walked as
    objdump walks RV32C code: 16 bits where the low two bits are not 11, else 32."""
    listing = Listing(aliases=aliases)
    lines = []
    offset = 0
    while offset + 2 <= len(data):
        word = int.from_bytes(data[offset : offset + 2], "little")
        size = 2
        if word & 3 == 3:
            if offset + 4 > len(data):
                break
            word = int.from_bytes(data[offset : offset + 4], "little")
            size = 4
        pc = (base + offset) & 0xFFFF_FFFF
        lines.append((pc, word, listing.line(word, pc)))
        offset += size
    return lines
