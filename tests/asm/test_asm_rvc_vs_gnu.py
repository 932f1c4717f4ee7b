"""The explicit compressed mnemonics against GNU as (-march=rv32imac): every legal
parcel, written as `objdump -M no-aliases` writes it, assembles back to itself with
ours and to the same bytes with GNU as; jumps and branches to labels too.  What is
illegal on RV32 without F/D (shift amounts of 32 and more, c.*64, C.F*, zero
immediates the spec reserves) is an error here."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from machine.cpu.asm import assemble
from machine.cpu.asm_expr import AsmError

from .gnu import _run, _tool

RVC = ["-march=rv32imac", "-mabi=ilp32"]


def gnu_bytes(source: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        src, obj, binary = Path(tmp) / "in.s", Path(tmp) / "in.o", Path(tmp) / "out.bin"
        src.write_text(".option norelax\n" + source + "\n")
        _run([_tool("as"), *RVC, "-mno-relax", str(src), "-o", str(obj)], "GNU as")
        _run([_tool("objcopy"), "-O", "binary", "-j", ".text", str(obj), str(binary)], "objcopy")
        return binary.read_bytes()


def objdump_no_aliases_lines() -> list[tuple[int, str]]:
    """(parcel, text) for every parcel objdump names with a c.* mnemonic, branches and
    jumps left out (their operands are absolute addresses)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, obj = Path(tmp) / "in.s", Path(tmp) / "in.o"
        src.write_text("".join(f".insn 2, {h:#x}\n" for h in range(0x1_0000) if h & 3 != 3))
        _run([_tool("as"), *RVC, str(src), "-o", str(obj)], "GNU as")
        out = subprocess.run([_tool("objdump"), "-d", "-M", "no-aliases", str(obj)], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    found = []
    for line in out.splitlines():
        m = re.match(r" *[0-9a-f]+:\t([0-9a-f]{4}) +\t(c\.[a-z0-9]+)\t?(.*)", line)
        if m and m.group(2) not in ("c.j", "c.jal", "c.beqz", "c.bnez"):
            found.append((int(m.group(1), 16), f"{m.group(2)} {m.group(3)}".strip()))
    return found


RV32_ILLEGAL = re.compile(r"^c\.(s[lr][la]i64|unimp)|^c\.s(ll|rl|ra)i .*,0x[23][0-9a-f]$|^c\.addi16sp sp,0$")


def test_every_compressed_instruction_assembles_as_gnu_as_assembles_it():
    lines = objdump_no_aliases_lines()
    legal = [(h, text) for h, text in lines if not RV32_ILLEGAL.search(text)]
    assert len(legal) > 20_000
    ours = [int.from_bytes(assemble(text, base=0).data, "little") for _, text in legal]
    assert ours == [h for h, _ in legal]
    gnu = gnu_bytes("\n".join(text for _, text in legal))
    assert gnu == b"".join(h.to_bytes(2, "little") for h, _ in legal)


def test_rv32_illegal_compressed_forms_are_errors():
    for text in ("c.slli a0,0x20", "c.srli64 a5", "c.addi16sp sp,0", "c.lw t0,0(a0)", "c.addi4spn a0,sp,0",
                 "c.lui a0,0", "c.jr zero", "c.lwsp zero,0(sp)", "c.sw a0,2(a1)"):  # fmt: skip
        with pytest.raises(AsmError):
            assemble(text, base=0)


def test_compressed_jumps_and_branches_to_labels_match_gnu_as():
    source = """
    top:
        c.addi a0, 1
        c.beqz a1, top
        c.bnez s0, ahead
        c.j top
        c.jal ahead
        .option rvc
        addi a0, a0, 1      # 32-bit: ours never compresses on its own
        c.j ahead
    ahead:
        c.jr ra
    """
    gnu = gnu_bytes(source.replace("addi a0, a0, 1      #", ".insn 4, 0x00150513 #"))
    assert assemble(source, base=0).data == gnu
