"""Which alias objdump prints for an instruction, and with which operands.

For each table row, the rules are tried in order; the first whose condition holds on
the instruction word gives the mnemonic and operand template (operand names as in
`isa.FORMATS`). A row with no matching rule prints under its own name and format.

The rules were found by experiment: disassembling every row with random and edge-case
operands through `riscv64-unknown-elf-objdump` 2.40, with and without `-M no-aliases`
(tests/asm checks them against objdump on every run). Some choices are surprising:
objdump prints `addi/xori/ori/andi/slli/srli/srai` under the register-register name
(`add a0,a1,5`, `sll a0,a1,0x3`) unless a more specific alias applies, and `csrrwi`
and friends as `csrrw rd,csr,5`.

A rule's last element says whether it is an alias (dropped by `-M no-aliases`); the few
that are not, like `unimp`, are names binutils gives the encoding itself.
"""

from __future__ import annotations

from collections.abc import Callable

from machine.cpu import isa

Rule = tuple[Callable[[int], bool], str, str, bool]


_rd, _rs1, _rs2, _imm = isa.rd, isa.rs1, isa.rs2, isa.i_imm


def _always(w: int) -> bool:
    return True


_COUNTER_READS = {
    0xC00: "rdcycle", 0xC01: "rdtime", 0xC02: "rdinstret",
    0xC80: "rdcycleh", 0xC81: "rdtimeh", 0xC82: "rdinstreth",
}  # fmt: skip

_UNIMP = 0xC000_1073  # csrrw zero, cycle, zero: reads a read-only CSR, always illegal


def _counter_read(name: str) -> Rule:
    number = next(n for n, m in _COUNTER_READS.items() if m == name)
    return (lambda w: _rs1(w) == 0 and isa.csr_num(w) == number, name, "rd", True)


def _register_form(name: str, template: str) -> tuple[Rule, ...]:
    """objdump's fallback for an immediate ALU op: the register-register mnemonic."""
    return ((_always, name, template, True),)


ALIASES: dict[str, tuple[Rule, ...]] = {
    "addi": (
        (lambda w: _rd(w) == 0 and _rs1(w) == 0 and _imm(w) == 0, "nop", "", True),
        (lambda w: _rs1(w) == 0, "li", "rd,imm", True),
        (lambda w: _imm(w) == 0, "mv", "rd,rs1", True),
        *_register_form("add", "rd,rs1,imm"),
    ),
    "xori": (
        (lambda w: _imm(w) == -1, "not", "rd,rs1", True),
        *_register_form("xor", "rd,rs1,imm"),
    ),
    "ori": _register_form("or", "rd,rs1,imm"),
    "andi": (
        (lambda w: _imm(w) == 255, "zext.b", "rd,rs1", True),
        *_register_form("and", "rd,rs1,imm"),
    ),
    "slli": _register_form("sll", "rd,rs1,shamt"),
    "srli": _register_form("srl", "rd,rs1,shamt"),
    "srai": _register_form("sra", "rd,rs1,shamt"),
    "sltiu": ((lambda w: _imm(w) == 1, "seqz", "rd,rs1", True),),
    "sub": ((lambda w: _rs1(w) == 0, "neg", "rd,rs2", True),),
    "sltu": ((lambda w: _rs1(w) == 0, "snez", "rd,rs2", True),),
    "slt": (
        (lambda w: _rs2(w) == 0, "sltz", "rd,rs1", True),
        (lambda w: _rs1(w) == 0, "sgtz", "rd,rs2", True),
    ),
    "beq": ((lambda w: _rs2(w) == 0, "beqz", "rs1,target", True),),
    "bne": ((lambda w: _rs2(w) == 0, "bnez", "rs1,target", True),),
    "bge": (
        (lambda w: _rs1(w) == 0, "blez", "rs2,target", True),
        (lambda w: _rs2(w) == 0, "bgez", "rs1,target", True),
    ),
    "blt": (
        (lambda w: _rs2(w) == 0, "bltz", "rs1,target", True),
        (lambda w: _rs1(w) == 0, "bgtz", "rs2,target", True),
    ),
    "jal": (
        (lambda w: _rd(w) == 0, "j", "target", True),
        (lambda w: _rd(w) == 1, "jal", "target", True),
    ),
    "jalr": (
        (lambda w: _rd(w) == 0 and _rs1(w) == 1 and _imm(w) == 0, "ret", "", True),
        (lambda w: _rd(w) == 0 and _imm(w) == 0, "jr", "rs1", True),
        (lambda w: _rd(w) == 0, "jr", "imm(rs1)", True),
        (lambda w: _rd(w) == 1 and _imm(w) == 0, "jalr", "rs1", True),
        (lambda w: _rd(w) == 1, "jalr", "imm(rs1)", True),
        (lambda w: _imm(w) == 0, "jalr", "rd,rs1", True),
    ),
    "csrrw": (
        (lambda w: w == _UNIMP, "unimp", "", False),
        (lambda w: _rd(w) == 0, "csrw", "csr,rs1", True),
    ),
    "csrrs": (
        *(_counter_read(name) for name in _COUNTER_READS.values()),
        (lambda w: _rs1(w) == 0, "csrr", "rd,csr", True),
        (lambda w: _rd(w) == 0, "csrs", "csr,rs1", True),
    ),
    "csrrc": ((lambda w: _rd(w) == 0, "csrc", "csr,rs1", True),),
    "csrrwi": (
        (lambda w: _rd(w) == 0, "csrw", "csr,uimm", True),
        (_always, "csrrw", "rd,csr,uimm", True),
    ),
    "csrrsi": (
        (lambda w: _rd(w) == 0, "csrs", "csr,uimm", True),
        (_always, "csrrs", "rd,csr,uimm", True),
    ),
    "csrrci": (
        (lambda w: _rd(w) == 0, "csrc", "csr,uimm", True),
        (_always, "csrrc", "rd,csr,uimm", True),
    ),
    "fence": ((lambda w: (w >> 20) & 0xFF == 0xFF, "fence", "", True),),
    "sfence.vma": (
        (lambda w: _rs1(w) == 0 and _rs2(w) == 0, "sfence.vma", "", True),
        (lambda w: _rs2(w) == 0, "sfence.vma", "rs1", True),
    ),
    "sfence.vm": (
        (lambda w: _rs1(w) == 0, "sfence.vm", "", False),
        (_always, "sfence.vm", "rs1", False),
    ),
}
