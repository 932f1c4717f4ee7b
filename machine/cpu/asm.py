"""A small two-pass assembler for RV32IMAC + Zicsr + Zifencei + privileged code.

Write tiny guests and test programs without a cross-compiler:

    program = assemble('''
    _start: li   a0, 0x10000000      # UART
            la   a1, message
    1:      lbu  a2, 0(a1)
            beqz a2, 2f
            sb   a2, 0(a0)
            addi a1, a1, 1
            j    1b
    2:      wfi
    message: .asciz "hi\\n"
    ''')

The syntax is a GNU as subset (same mnemonics, pseudo-instructions, expressions and
directives; output byte for byte equal to GNU as with `-mno-relax` for the same
source, as GNU as builds for rv32ima: 16-bit instructions come only from their `c.`
mnemonics, never from compressing ordinary ones, and `.option rvc` is ignored).
Everything goes into one flat section starting at `base`; `.text`, `.data`
and `.section` are accepted and only decide how `.align` pads (nops in code, zeros in
data). Pass 1 fixes every statement's size and defines the labels, pass 2 encodes; a
`li` whose value is not known on pass 1 always takes two instructions.

Errors raise `AsmError` with one line: `line N: what is wrong`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from machine.cpu.asm_expr import AsmError, Unknown, evaluate, parse_strings
from machine.cpu.asm_expr import split_operands, unquoted
from machine.cpu.asm_insn import assemble_instruction, planned_size

__all__ = ["AsmError", "Program", "assemble"]

_NOP = (0x0000_0013).to_bytes(4, "little")
_C_NOP = (0x0001).to_bytes(2, "little")  # what GNU as pads a 2-byte gap in code with
_SYMBOL = r"[A-Za-z_.$][\w.$]*"
_LABEL = re.compile(rf"\s*({_SYMBOL}|\d+)\s*:")
_ASSIGN = re.compile(rf"\s*({_SYMBOL})\s*=\s*(.*)")
_DATA_SIZES = {".byte": 1, ".half": 2, ".short": 2, ".2byte": 2, ".word": 4, ".long": 4,
               ".int": 4, ".4byte": 4, ".dword": 8, ".quad": 8, ".8byte": 8}  # fmt: skip
_IGNORED = {".globl", ".global", ".local", ".weak", ".type", ".size", ".file", ".ident",
            ".option", ".attribute", ".hidden", ".protected", ".internal", ".end"}  # fmt: skip


@dataclass(frozen=True)
class Program:
    """Assembled bytes, where they go, and the symbols they define."""

    data: bytes
    base: int
    symbols: dict[str, int]
    entry: int  # `_start` if defined, else `base`


@dataclass(frozen=True)
class _Statement:
    line: int
    labels: tuple[str, ...]
    name: str  # mnemonic, directive (with its dot), "=" for assignment, "" for none
    args: str


def _strip_comment(text: str) -> str:
    for i, ch in unquoted(text):
        if ch == "#" or text.startswith("//", i):
            return text[:i]
    return text


def _split_statements(text: str) -> list[str]:
    cuts = [i for i, ch in unquoted(text) if ch == ";"]
    bounds = zip([-1, *cuts], [*cuts, len(text)])
    return [text[a + 1 : b] for a, b in bounds]


def _parse(source: str) -> list[_Statement]:
    statements = []
    for number, raw in enumerate(source.splitlines(), start=1):
        for text in _split_statements(_strip_comment(raw)):
            labels = []
            while m := _LABEL.match(text):
                labels.append(m.group(1))
                text = text[m.end() :]
            if m := _ASSIGN.fullmatch(text):
                statements.append(_Statement(number, tuple(labels), "=", text))
                continue
            words = text.split(None, 1)
            name, args = (words + ["", ""])[:2] if words else ("", "")
            statements.append(_Statement(number, tuple(labels), name.lower(), args.strip()))
    return statements


class _Assembler:
    """State shared by both passes; also the expression scope and instruction site."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.symbols: dict[str, int] = {}
        self.numeric: dict[str, list[int]] = {}  # `1:` labels, addresses in order
        self.pcrel: dict[int, int] = {}  # auipc address -> its %pcrel_hi offset
        self.planned: dict[int, int] = {}  # statement index -> size from pass 1
        self.deferred: list[tuple[str, str, int, dict[str, int]]] = []
        self.first_pass = True
        self.reset()

    def reset(self) -> None:
        self.dot = self.base
        self.out = bytearray()
        self.code_fill = True
        self.numeric_seen: dict[str, int] = {}
        self.planned_size: int | None = None

    # --- scope -----------------------------------------------------------------------

    def symbol(self, name: str) -> int:
        if name in self.symbols:
            return self.symbols[name]
        if self.first_pass:
            raise Unknown(name)
        raise AsmError(f"undefined symbol '{name}'")

    def numeric_label(self, number: str, forward: bool) -> int:
        addresses = self.numeric.get(number, [])
        index = self.numeric_seen.get(number, 0) - (0 if forward else 1)
        if 0 <= index < len(addresses):
            return addresses[index]
        if forward and self.first_pass:
            raise Unknown(number)
        where = "after" if forward else "before"
        raise AsmError(f"no label '{number}:' {where} this line")

    def pcrel_offset(self, auipc_address: int) -> int:
        if auipc_address in self.pcrel:
            return self.pcrel[auipc_address]
        if self.first_pass:
            raise Unknown("%pcrel_lo")
        raise AsmError("%pcrel_lo must name the label of an auipc with %pcrel_hi")

    def note_pcrel(self, auipc_address: int, offset: int) -> None:
        self.pcrel[auipc_address] = offset

    def value(self, text: str) -> int:
        return evaluate(text, self)

    def known(self, text: str, what: str) -> int:
        try:
            return evaluate(text, self)
        except Unknown as unknown:
            raise AsmError(f"{what} uses '{unknown}', which is not defined yet") from None

    # --- passes ----------------------------------------------------------------------

    def run(self, statements: list[_Statement]) -> None:
        for index, stmt in enumerate(statements):
            try:
                for label in stmt.labels:
                    self.define_label(label)
                self.statement(index, stmt)
            except AsmError as err:
                raise AsmError(f"line {stmt.line}: {err}") from None

    def define_label(self, label: str) -> None:
        if label.isdigit():
            if self.first_pass:
                self.numeric.setdefault(label, []).append(self.dot)
            self.numeric_seen[label] = self.numeric_seen.get(label, 0) + 1
        elif self.first_pass:
            if label in self.symbols:
                raise AsmError(f"symbol '{label}' is already defined")
            self.symbols[label] = self.dot

    def statement(self, index: int, stmt: _Statement) -> None:
        if not stmt.name:
            return
        if stmt.name == "=":
            name, expr = _ASSIGN.fullmatch(stmt.args).groups()  # type: ignore[union-attr]
            if name == ".":
                self.org(expr)
            else:
                self.assign(name, expr)
        elif stmt.name.startswith("."):
            self.directive(stmt.name, stmt.args)
        elif self.first_pass:
            self.planned[index] = planned_size(stmt.name, stmt.args, self)
            self.emit(bytes(self.planned[index]))
        else:
            self.planned_size = self.planned[index]
            words = assemble_instruction(stmt.name, stmt.args, self)
            size = 2 if self.planned_size == 2 else 4  # a c.* mnemonic: one 16-bit parcel
            self.emit(b"".join(w.to_bytes(size, "little") for w in words))

    def emit(self, data: bytes) -> None:
        if not self.first_pass:
            self.out += data
        self.dot += len(data)

    # --- directives ------------------------------------------------------------------

    def directive(self, name: str, args: str) -> None:
        operands = split_operands(args)
        if name in _IGNORED or name.startswith(".cfi_"):
            return
        if name == ".text":
            self.code_fill = True
        elif name in (".data", ".bss", ".rodata"):
            self.code_fill = False
        elif name == ".section":
            self.code_fill = bool(operands) and operands[0].startswith(".text")
        elif name in _DATA_SIZES:
            for text in operands:
                self.data_value(text, _DATA_SIZES[name])
        elif name in (".ascii", ".asciz", ".string"):
            zero = b"" if name == ".ascii" else b"\0"
            for text in operands:
                self.emit(parse_strings(text) + zero)
        elif name in (".align", ".p2align", ".balign"):
            self.align(name, operands)
        elif name == ".org":
            if not 1 <= len(operands) <= 2:
                raise AsmError("expected '.org address[, fill]'")
            self.org(*operands)
        elif name in (".space", ".skip", ".zero"):
            count = self.known(operands[0], name) if operands else 0
            fill = self.known(operands[1], name) if len(operands) > 1 else 0
            if count < 0:
                raise AsmError(f"{name} size {count} is negative")
            self.emit(bytes([fill & 0xFF]) * count)
        elif name in (".equ", ".set", ".equiv"):
            if len(operands) != 2 or not re.fullmatch(_SYMBOL, operands[0]):
                raise AsmError(f"expected '{name} name, value'")
            self.assign(*operands)
        else:
            raise AsmError(f"unknown directive '{name}'")

    def data_value(self, text: str, size: int) -> None:
        if self.first_pass:
            self.emit(bytes(size))
            return
        value = self.value(text)
        if not -(1 << (8 * size - 1)) <= value < (1 << (8 * size)):
            raise AsmError(f"value {value:#x} does not fit in {size} byte(s)")
        self.emit((value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))

    def align(self, name: str, operands: list[str]) -> None:
        if not operands:
            raise AsmError(f"{name} needs an alignment")
        amount = self.known(operands[0], name)
        if name == ".balign":
            if amount <= 0 or amount & (amount - 1):
                raise AsmError(f".balign {amount} is not a power of two")
        elif not 0 <= amount <= 16:
            raise AsmError(f"{name} {amount} out of range 0..16")
        else:
            amount = 1 << amount  # GNU as on RISC-V: .align n means 2**n bytes
        pad = -self.dot % amount
        limit = self.known(operands[2], name) if len(operands) > 2 and operands[2] else None
        if limit is not None and pad > limit:
            return
        if len(operands) > 1 and operands[1]:
            self.emit(bytes([self.known(operands[1], name) & 0xFF]) * pad)
        elif self.code_fill:
            self.emit(self.code_padding(pad))
        else:
            self.emit(bytes(pad))

    def code_padding(self, pad: int) -> bytes:
        """GNU as's filler for code: zeros to an even address, a 2-byte nop, then nops."""
        odd = min(pad, self.dot % 2)
        out = bytes(odd)
        if pad - odd >= 2 and (self.dot + odd) % 4 == 2:
            out += _C_NOP
        out += _NOP * ((pad - len(out)) // 4)
        return out + bytes(pad - len(out))

    def org(self, target_text: str, fill_text: str = "0") -> None:
        target = self.known(target_text, ".org")
        if target < self.base:  # a number is an offset in the section, as in GNU as
            target += self.base
        if target < self.dot:
            raise AsmError(f".org {target:#x} would move backwards from {self.dot:#x}")
        self.emit(bytes([self.known(fill_text, ".org") & 0xFF]) * (target - self.dot))

    def assign(self, name: str, expr: str) -> None:
        try:
            self.symbols[name] = self.value(expr)
        except Unknown:  # settled after pass 1, once every label is known
            self.deferred.append((name, expr, self.dot, dict(self.numeric_seen)))

    def settle_deferred(self) -> None:
        """Give pass-1 assignments that used later labels their values."""
        pending, self.deferred = self.deferred, []
        while pending:
            left = []
            for name, expr, dot, seen in pending:
                self.dot, self.numeric_seen = dot, seen
                try:
                    self.symbols[name] = self.value(expr)
                except Unknown:
                    left.append((name, expr, dot, seen))
            if len(left) == len(pending):
                return  # circular or undefined: pass 2 says which
            pending = left


def assemble(source: str, base: int = 0x8000_0000) -> Program:
    """Assemble `source` to bytes placed at `base`."""
    statements = _parse(source)
    asm = _Assembler(base)
    asm.run(statements)
    asm.settle_deferred()
    asm.first_pass = False
    asm.reset()
    asm.run(statements)
    symbols = {name: value for name, value in asm.symbols.items() if name != "."}
    return Program(bytes(asm.out), base, symbols, symbols.get("_start", base))
