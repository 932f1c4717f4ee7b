"""Expressions and literals for the assembler, read the way GNU as reads them.

Numbers are decimal, `0x` hex, `0b` binary or `0`-prefixed octal; `'c'` is a character
code. Operators follow GNU as precedence, which is not C's: unary `- ~ +` bind
tightest, then `* / % << >>`, then `| & ^`, then `+ -`; so `1+2|4` is 7 and `1<<3+1`
is 9. `.` is the address of the current statement, `1b`/`1f` the nearest numeric
label `1:` backwards/forwards. `%hi`, `%lo`, `%pcrel_hi` and `%pcrel_lo` split a
32-bit value for `lui`/`auipc` plus a 12-bit signed part.
"""

from __future__ import annotations

import re
from typing import Protocol


class AsmError(Exception):
    """Bad assembly input; the message is one line naming the line and the problem."""


class Unknown(Exception):
    """A symbol not defined yet -- only possible on the first pass."""


class Scope(Protocol):
    """What an expression can refer to."""

    dot: int

    def symbol(self, name: str) -> int: ...

    def numeric_label(self, number: str, forward: bool) -> int: ...

    def pcrel_offset(self, auipc_address: int) -> int: ...

    def note_pcrel(self, auipc_address: int, offset: int) -> None: ...


def hi20(value: int) -> int:
    """The `lui`/`auipc` immediate that, plus `lo12(value)`, makes `value`."""
    return ((value + 0x800) >> 12) & 0xF_FFFF


def lo12(value: int) -> int:
    low = value & 0xFFF
    return low - 0x1000 if low & 0x800 else low


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<hex>0[xX][0-9a-fA-F]+)
    | (?P<local>\d+[bf])(?![\w.$])
    | (?P<bin>0[bB][01]+)
    | (?P<dec>\d+)
    | (?P<char>'(?:\\(?:x[0-9a-fA-F]+|[0-7]{1,3}|.)|[^\\])'?)
    | (?P<reloc>%(?:pcrel_hi|pcrel_lo|hi|lo)\b)
    | (?P<sym>[A-Za-z_.$][\w.$]*)
    | (?P<op><<|>>|[-+*/%&|^~()!])
    )""",
    re.VERBOSE,
)

_CHAR = re.compile(r"'(?:\\(?:x[0-9a-fA-F]+|[0-7]{1,3}|.)|[^\\])'?")

_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34, "b": 8,
            "f": 12, "v": 11, "a": 7, "e": 27}  # fmt: skip


def _escape_value(text: str) -> int:
    """The code of one character or backslash escape (without quotes)."""
    if not text.startswith("\\"):
        return ord(text)
    body = text[1:]
    if body[0] in "xX":
        return int(body[1:], 16) & 0xFF
    if body[0] in "01234567":
        return int(body, 8) & 0xFF
    return _ESCAPES.get(body, ord(body))


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise AsmError(f"cannot read expression {text.strip()!r}")
        out.append((m.lastgroup or "", m.group(m.lastgroup or 0)))
        pos = m.end()
    return out


def _c_div(a: int, b: int) -> int:
    if b == 0:
        raise AsmError("division by zero")
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


class _Parser:
    def __init__(self, text: str, scope: Scope) -> None:
        self.text = text.strip()
        self.toks = _tokens(text)
        self.pos = 0
        self.scope = scope

    def peek(self) -> str | None:
        return self.toks[self.pos][1] if self.pos < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.toks):
            raise AsmError(f"expression {self.text!r} ends too early")
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def expect(self, op: str) -> None:
        if self.take()[1] != op:
            raise AsmError(f"expected {op!r} in expression {self.text!r}")

    def parse(self) -> int:
        if not self.toks:
            raise AsmError("missing expression")
        value = self.additive()
        if self.pos != len(self.toks):
            raise AsmError(f"unexpected {self.peek()!r} in expression {self.text!r}")
        return value

    def additive(self) -> int:
        value = self.bitwise()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            rhs = self.bitwise()
            value = value + rhs if op == "+" else value - rhs
        return value

    def bitwise(self) -> int:
        value = self.multiplicative()
        while self.peek() in ("|", "&", "^"):
            op = self.take()[1]
            rhs = self.multiplicative()
            value = value | rhs if op == "|" else value & rhs if op == "&" else value ^ rhs
        return value

    def multiplicative(self) -> int:
        value = self.unary()
        while self.peek() in ("*", "/", "%", "<<", ">>"):
            op = self.take()[1]
            rhs = self.unary()
            if op == "*":
                value *= rhs
            elif op == "/":
                value = _c_div(value, rhs)
            elif op == "%":
                value -= _c_div(value, rhs) * rhs
            elif rhs < 0:
                raise AsmError("negative shift count")
            else:
                value = value << rhs if op == "<<" else value >> rhs
        return value

    def unary(self) -> int:
        if self.peek() in ("-", "~", "+", "!"):
            op = self.take()[1]
            value = self.unary()
            return {"-": -value, "~": ~value, "+": value, "!": int(not value)}[op]
        return self.primary()

    def primary(self) -> int:
        kind, text = self.take()
        if kind == "hex":
            return int(text, 16)
        if kind == "bin":
            return int(text[2:], 2)
        if kind == "dec":
            if len(text) > 1 and text.startswith("0"):
                if not set(text) <= set("01234567"):
                    raise AsmError(f"bad octal number {text!r}")
                return int(text, 8)
            return int(text)
        if kind == "char":
            body = text[1:-1] if text.endswith("'") and len(text) > 2 else text[1:]
            return _escape_value(body)
        if kind == "local":
            return self.scope.numeric_label(text[:-1], text[-1] == "f")
        if kind == "sym":
            return self.scope.dot if text == "." else self.scope.symbol(text)
        if kind == "reloc":
            return self.relocation(text[1:])
        if text == "(":
            value = self.additive()
            self.expect(")")
            return value
        raise AsmError(f"unexpected {text!r} in expression {self.text!r}")

    def relocation(self, name: str) -> int:
        self.expect("(")
        value = self.additive()
        self.expect(")")
        if name == "hi":
            return hi20(value)
        if name == "lo":
            return lo12(value)
        if name == "pcrel_hi":
            offset = value - self.scope.dot
            self.scope.note_pcrel(self.scope.dot, offset)
            return hi20(offset)
        # %pcrel_lo names the auipc (by its label) whose %pcrel_hi it completes.
        return lo12(self.scope.pcrel_offset(value))


def evaluate(text: str, scope: Scope) -> int:
    """The value of expression `text`; raises Unknown for a not-yet-defined symbol."""
    return _Parser(text, scope).parse()


def parse_strings(text: str) -> bytes:
    """The bytes of one or more comma-separated C-style string literals."""
    out = bytearray()
    rest = text.strip()
    while rest:
        m = re.match(r'"((?:\\.|[^"\\])*)"\s*(?:,\s*|$)', rest)
        if m is None:
            raise AsmError(f"expected a string in quotes, got {rest!r}")
        for esc in re.finditer(r"\\(?:x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)|.", m.group(1)):
            out.append(_escape_value(esc.group()) & 0xFF)
        rest = rest[m.end() :]
    return bytes(out)


def _literal_end(text: str, i: int) -> int:
    """Index just past the string or character literal starting at text[i]."""
    if text[i] == '"':
        j = i + 1
        while j < len(text) and text[j] != '"':
            j += 2 if text[j] == "\\" else 1
        return j + 1
    m = _CHAR.match(text, i)
    return m.end() if m else i + 1


def unquoted(text: str):
    """(index, character) for each character of `text` outside literals."""
    i = 0
    while i < len(text):
        if text[i] in "\"'":
            i = _literal_end(text, i)
            continue
        yield i, text[i]
        i += 1


def split_operands(text: str) -> list[str]:
    """Split on commas outside parentheses and literals."""
    parts, depth, start = [], 0, 0
    for i, ch in unquoted(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    last = text[start:].strip()
    if last or parts:
        parts.append(last)
    return parts
