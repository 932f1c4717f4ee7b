"""One assembly instruction to machine words, driven by the instruction table.

A *form* says how a mnemonic's operands map onto a table row: the row, an operand
template written with the field names of `isa.FORMATS` (`rd,imm(rs1)`, `csr,uimm` ...)
and fields fixed by the mnemonic. Every row is its own first form, so the table's
operand format is the assembler's syntax; pseudo-instructions are just more forms
(`mv` is `addi` with `rd,rs1` and imm 0). Encoding places the fields into the row's
match value by its format -- there is no second encoding table.

Forms are tried in order; the first whose operand *shapes* fit (register, `x(reg)`,
or value) is used. The few multi-instruction pseudos (`li`, `la`, `call`, `tail`,
`lw rd,symbol`) have their own functions.
"""

from __future__ import annotations

import re
from typing import Protocol

from machine.cpu import asm_rvc, isa
from machine.cpu.asm_expr import AsmError, Unknown, hi20, lo12, split_operands
from machine.cpu.gnu_csrs import GNU_CSR_NUMBERS

REGISTERS = {name: n for n, name in enumerate(isa.ABI_NAMES)}
REGISTERS.update({f"x{n}": n for n in range(32)}, fp=8)


class Site(Protocol):
    """Where an instruction is being assembled."""

    dot: int  # address of the instruction
    planned_size: int | None  # bytes pass 1 set aside (None during pass 1)

    def value(self, text: str) -> int: ...


Form = tuple[str, str, dict[str, int]]


def _row_form(name: str) -> Form:
    return (name, isa.FORMATS[isa.BY_NAME[name].fmt], {})


def _imm_form(row: str, last: str = "imm") -> Form:
    return (row, f"rd,rs1,{last}", {})


_BRANCH_ZERO = {"beqz": ("beq", "rs1"), "bnez": ("bne", "rs1"), "blez": ("bge", "rs2"),
                "bgez": ("bge", "rs1"), "bltz": ("blt", "rs1"), "bgtz": ("blt", "rs2")}  # fmt: skip
_COUNTERS = {"rdcycle": 0xC00, "rdtime": 0xC01, "rdinstret": 0xC02,
             "rdcycleh": 0xC80, "rdtimeh": 0xC81, "rdinstreth": 0xC82}  # fmt: skip

FORMS: dict[str, list[Form]] = {insn.name: [_row_form(insn.name)] for insn in isa.TABLE}
# Register-register mnemonics also take an immediate, as in GNU as.
for _reg, _imm in (("add", "addi"), ("xor", "xori"), ("or", "ori"), ("and", "andi"),
                   ("slt", "slti"), ("sltu", "sltiu")):  # fmt: skip
    FORMS[_reg].append(_imm_form(_imm))
for _reg, _imm in (("sll", "slli"), ("srl", "srli"), ("sra", "srai")):
    FORMS[_reg].append(_imm_form(_imm, "shamt"))
# A CSR instruction given an immediate uses its `i` row; csrw/csrwi ... drop rd.
for _reg, _imm, _short in (("csrrw", "csrrwi", "csrw"), ("csrrs", "csrrsi", "csrs"),
                           ("csrrc", "csrrci", "csrc")):  # fmt: skip
    FORMS[_reg].append((_imm, "rd,csr,uimm", {}))
    FORMS[_short] = [(_reg, "csr,rs1", {}), (_imm, "csr,uimm", {})]
    FORMS[_short + "i"] = [(_imm, "csr,uimm", {})]
FORMS["jal"].insert(0, ("jal", "target", {"rd": 1}))
FORMS["jalr"] += [("jalr", "rs1", {"rd": 1}), ("jalr", "imm(rs1)", {"rd": 1}),
                  ("jalr", "rd,rs1", {}), ("jalr", "rd,rs1,imm", {})]  # fmt: skip
FORMS["fence"].insert(0, ("fence", "", {"pred": 0xF, "succ": 0xF}))
FORMS["sfence.vma"] += [("sfence.vma", "", {}), ("sfence.vma", "rs1", {})]
FORMS.update(
    {
        "nop": [("addi", "", {})],
        "mv": [("addi", "rd,rs1", {})],
        "not": [("xori", "rd,rs1", {"imm": -1})],
        "neg": [("sub", "rd,rs2", {})],
        "seqz": [("sltiu", "rd,rs1", {"imm": 1})],
        "snez": [("sltu", "rd,rs2", {})],
        "sltz": [("slt", "rd,rs1", {})],
        "sgtz": [("slt", "rd,rs2", {})],
        "zext.b": [("andi", "rd,rs1", {"imm": 255})],
        "j": [("jal", "target", {})],
        "jr": [("jalr", "rs1", {}), ("jalr", "imm(rs1)", {}), ("jalr", "rs1,imm", {})],
        "ret": [("jalr", "", {"rs1": 1})],
        "bgt": [("blt", "rs2,rs1,target", {})],
        "ble": [("bge", "rs2,rs1,target", {})],
        "bgtu": [("bltu", "rs2,rs1,target", {})],
        "bleu": [("bgeu", "rs2,rs1,target", {})],
        "csrr": [("csrrs", "rd,csr", {})],
        "unimp": [("csrrw", "", {"csr": 0xC00})],
        "fence.tso": [("fence", "", {"fm": 0b1000, "pred": 0b0011, "succ": 0b0011})],
        **{name: [(row, f"{reg},target", {})] for name, (row, reg) in _BRANCH_ZERO.items()},
        **{name: [("csrrs", "rd", {"csr": csr})] for name, csr in _COUNTERS.items()},
    }
)

_AMO_ORDER = {"": (0, 0), ".aq": (1, 0), ".rl": (0, 1), ".aqrl": (1, 1)}
_REG_FIELDS = ("rd", "rs1", "rs2")


def encode(row: isa.Insn, fields: dict[str, int]) -> int:
    """Place named operand fields into `row`'s match value, by the row's format.

    `imm`, `shamt`, `imm20` and `target` (a pc-relative offset) all name the format's
    immediate; `uimm` travels in the rs1 field. Missing fields are zero.
    """
    f = dict.fromkeys(("rd", "rs1", "rs2", "csr", "pred", "succ", "fm", "aq", "rl"), 0)
    f.update(fields)
    f["imm"] = next((fields[k] for k in ("imm", "shamt", "imm20", "target") if k in fields), 0)
    if "uimm" in fields:
        f["rs1"] = fields["uimm"]
    imm, fmt = f["imm"], row.fmt
    word = row.match | f["rd"] << 7 | f["rs1"] << 15 | f["rs2"] << 20
    if fmt in ("I", "LOAD", "JALR", "SHIFT"):
        word |= (imm & 0xFFF) << 20
    elif fmt == "STORE":
        word |= ((imm >> 5) & 0x7F) << 25 | (imm & 0x1F) << 7
    elif fmt == "BRANCH":
        word |= ((imm >> 12) & 1) << 31 | ((imm >> 5) & 0x3F) << 25
        word |= ((imm >> 1) & 0xF) << 8 | ((imm >> 11) & 1) << 7
    elif fmt == "U":
        word |= (imm & 0xF_FFFF) << 12
    elif fmt == "JAL":
        word |= ((imm >> 20) & 1) << 31 | ((imm >> 1) & 0x3FF) << 21
        word |= ((imm >> 11) & 1) << 20 | ((imm >> 12) & 0xFF) << 12
    elif fmt in ("CSR", "CSRI"):
        word |= f["csr"] << 20
    elif fmt == "FENCE":
        word |= f["fm"] << 28 | f["pred"] << 24 | f["succ"] << 20
    word |= f["aq"] << 26 | f["rl"] << 25
    if word & row.mask != row.match:
        raise AsmError(f"operands do not fit {row.name}")
    return word


_NOT_A_REGISTER = re.compile(r"x\d+")  # x32 and up: a typo, never a symbol


def _is_register(text: str) -> bool:
    return text in REGISTERS


def _memory(text: str) -> tuple[str, str] | None:
    """Split `offset(reg)` into its parts, or None if `text` has another shape."""
    m = re.fullmatch(r"(.*)\(\s*([\w]+)\s*\)", text.strip(), re.DOTALL)
    if m is None or not _is_register(m.group(2)):
        return None
    return m.group(1).strip(), m.group(2)


def _fits(template: list[str], operands: list[str]) -> bool:
    if len(template) != len(operands):
        return False
    for token, text in zip(template, operands):
        if "(" in token:
            if _memory(text) is None:
                return False
        elif token in _REG_FIELDS:
            if not _is_register(text):
                return False
        elif _is_register(text) or _NOT_A_REGISTER.fullmatch(text):
            return False
    return True


def _checked(value: int, lo: int, hi: int, what: str) -> int:
    if not lo <= value <= hi:
        shown = (f"{value:#x}", f"{hi:#x}") if hi >= 0xFFF else (str(value), str(hi))
        raise AsmError(f"{what} {shown[0]} out of range {lo}..{shown[1]}")
    return value


def _fence_set(text: str) -> int:
    if not re.fullmatch(r"i?o?r?w?", text) or not text:
        raise AsmError(f"bad fence set {text!r} (use letters from 'iorw' in that order)")
    return sum(b for c, b in zip("iorw", (8, 4, 2, 1)) if c in text)


def _csr(text: str, site: Site) -> int:
    if text in GNU_CSR_NUMBERS:
        return GNU_CSR_NUMBERS[text]
    try:
        number = site.value(text)
    except AsmError as err:
        if re.fullmatch(r"[A-Za-z_][\w.]*", text) and "undefined" in str(err):
            raise AsmError(f"unknown CSR '{text}'") from None
        raise
    return _checked(number, 0, 0xFFF, "CSR number")


def _target(text: str, site: Site, bits: int) -> int:
    offset = site.value(text) - site.dot
    # The encoding counts halfwords (IALIGN=16 with the C extension), so only an
    # odd offset is unencodable.
    if offset % 2:
        raise AsmError(f"branch target misaligned: offset {offset:+d} is odd")
    limit = 1 << (bits - 1)
    if not -limit <= offset < limit:
        raise AsmError(f"branch target out of range: offset {offset:+d}, limit ±{limit}")
    return offset


def _field(token: str, text: str, row: isa.Insn, site: Site) -> dict[str, int]:
    if token in _REG_FIELDS:
        return {token: REGISTERS[text]}
    if "(" in token:
        offset, reg = _memory(text) or ("", "")
        value = site.value(offset) if offset else 0
        if token == "(rs1)" and value != 0:
            raise AsmError(f"{row.name} takes no offset, only (register)")
        return {"rs1": REGISTERS[reg], "imm": _checked(value, -2048, 2047, "offset")}
    if token == "imm":
        return {"imm": _checked(site.value(text), -2048, 2047, "immediate")}
    if token == "shamt":
        return {"shamt": _checked(site.value(text), 0, 31, "shift amount")}
    if token == "imm20":
        return {"imm20": _checked(site.value(text), 0, 0xF_FFFF, "immediate")}
    if token == "uimm":
        return {"uimm": _checked(site.value(text), 0, 31, "CSR immediate")}
    if token == "csr":
        return {"csr": _csr(text, site)}
    if token == "target":
        return {"target": _target(text, site, 13 if row.fmt == "BRANCH" else 21)}
    return {token: _fence_set(text)}  # pred, succ


def _split_mnemonic(mnemonic: str) -> tuple[str, dict[str, int]]:
    """`amoadd.w.aqrl` -> (`amoadd.w`, aq/rl bits); other names unchanged."""
    for suffix, (aq, rl) in _AMO_ORDER.items():
        base = mnemonic[: len(mnemonic) - len(suffix)] if suffix else mnemonic
        if suffix and not mnemonic.endswith(suffix):
            continue
        if base in isa.BY_NAME and isa.BY_NAME[base].ext == "A":
            return base, {"aq": aq, "rl": rl}
    return mnemonic, {}


def _assemble_form(mnemonic: str, operands: list[str], site: Site) -> list[int]:
    name, order = _split_mnemonic(mnemonic)
    if name not in FORMS:
        raise AsmError(f"unknown mnemonic '{mnemonic}'")
    forms = FORMS[name]
    for row_name, template, fixed in forms:
        tokens = template.split(",") if template else []
        if not _fits(tokens, operands):
            continue
        row = isa.BY_NAME[row_name]
        fields = {**fixed, **order}
        for token, text in zip(tokens, operands):
            fields.update(_field(token, text, row, site))
        return [encode(row, fields)]
    for token, text in zip(forms[0][1].split(","), operands):
        if token in _REG_FIELDS and not _is_register(text):
            raise AsmError(f"bad register '{text}' in {mnemonic}")
    shapes = " or ".join(f"'{mnemonic} {t}'" if t else f"'{mnemonic}'" for _, t, _ in forms)
    raise AsmError(f"bad operands for {mnemonic}: expected {shapes}")


# --- multi-instruction pseudo-instructions -------------------------------------------

_LOADS = {"lb", "lh", "lw", "lbu", "lhu"}


def _reg(text: str, mnemonic: str) -> int:
    if text not in REGISTERS:
        raise AsmError(f"bad register '{text}' in {mnemonic}")
    return REGISTERS[text]


def _li(operands: list[str], site: Site) -> list[int]:
    if len(operands) != 2:
        raise AsmError("bad operands for li: expected 'li rd, value'")
    rd = _reg(operands[0], "li")
    value = site.value(operands[1])
    if not -(1 << 31) <= value < (1 << 32):
        raise AsmError(f"li value {value:#x} does not fit in 32 bits")
    value = isa.sext(value, 32)
    addi, lui = isa.BY_NAME["addi"], isa.BY_NAME["lui"]
    if site.planned_size != 8 and -2048 <= value < 2048:
        return [encode(addi, {"rd": rd, "imm": value})]
    words = [encode(lui, {"rd": rd, "imm20": hi20(value)})]
    # GNU as adds the addi even when the low part is 0 if rd is zero; so do we.
    if lo12(value) or rd == 0 or site.planned_size == 8:
        words.append(encode(addi, {"rd": rd, "rs1": rd, "imm": lo12(value)}))
    return words


def _pcrel_pair(rd: int, second: isa.Insn, rs1_rd: tuple[int, int], text: str,
                site: Site) -> list[int]:  # fmt: skip
    """auipc + one instruction reaching `text` relative to the auipc."""
    offset = site.value(text) - site.dot
    if not -(1 << 31) <= offset < (1 << 31):
        raise AsmError(f"{text} is out of reach of auipc")
    auipc = encode(isa.BY_NAME["auipc"], {"rd": rd, "imm20": hi20(offset)})
    rs1, link = rs1_rd
    return [auipc, encode(second, {"rd": link, "rs1": rs1, "imm": lo12(offset)})]


def _multi(name: str, operands: list[str], site: Site) -> list[int] | None:
    """Expand a multi-instruction pseudo; None if `name` is not one (in this shape)."""
    if name == "li":
        return _li(operands, site)
    jalr, addi = isa.BY_NAME["jalr"], isa.BY_NAME["addi"]
    if name in ("la", "lla") and len(operands) == 2:
        rd = _reg(operands[0], name)
        return _pcrel_pair(rd, addi, (rd, rd), operands[1], site)
    if name == "call" and len(operands) == 1:
        return _pcrel_pair(1, jalr, (1, 1), operands[0], site)
    if name == "tail" and len(operands) == 1:
        return _pcrel_pair(6, jalr, (6, 0), operands[0], site)
    if name in _LOADS and len(operands) == 2 and _memory(operands[1]) is None:
        rd = _reg(operands[0], name)
        return _pcrel_pair(rd, isa.BY_NAME[name], (rd, rd), operands[1], site)
    if name in ("la", "lla", "call", "tail"):
        raise AsmError(f"bad operands for {name}")
    return None


def assemble_instruction(mnemonic: str, operand_text: str, site: Site) -> list[int]:
    """The words for one instruction statement (for a c.* mnemonic, one 16-bit parcel)."""
    operands = split_operands(operand_text)
    if mnemonic in asm_rvc.MNEMONICS:
        name, text = asm_rvc.spelled_out(mnemonic, operands)
        [word] = _assemble_form(name, split_operands(text), site)
        return [asm_rvc.compress(mnemonic, word)]
    return _multi(mnemonic, operands, site) or _assemble_form(mnemonic, operands, site)


def planned_size(mnemonic: str, operand_text: str, site: Site) -> int:
    """Bytes the statement will take, decided on the first pass."""
    operands = split_operands(operand_text)
    if mnemonic == "li":
        try:
            return 4 * len(_li(operands, site))
        except Unknown:
            return 8  # a value only known later always gets lui + addi
    if mnemonic in ("la", "lla", "call", "tail"):
        return 8
    if mnemonic in asm_rvc.MNEMONICS:
        return 2
    if mnemonic in _LOADS and len(operands) == 2 and _memory(operands[1]) is None:
        return 8
    if _split_mnemonic(mnemonic)[0] not in FORMS:
        raise AsmError(f"unknown mnemonic '{mnemonic}'")
    return 4
