"""The GNU cross toolchain as an oracle: assemble with GNU as, disassemble with objdump.

These tests need Debian's binutils-riscv64-unknown-elf (2.40); `.ci/run` installs it.
When it is missing the tests fail and say so -- they never skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PREFIX = "riscv64-unknown-elf-"
ARCH = ["-march=rv32ima_zicsr_zifencei", "-mabi=ilp32"]
_SUFFIX = re.compile(r"\s*<[^<>]*>$")  # objdump's ` <symbol+offset>`, which we omit


def _tool(name: str) -> str:
    path = shutil.which(PREFIX + name)
    if path is None:
        pytest.fail(
            f"{PREFIX}{name} not found: install binutils-riscv64-unknown-elf "
            "(apt-get install binutils-riscv64-unknown-elf); these tests need it"
        )
    return path


def _run(args: list[str], what: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr}")
    return done.stdout


def assemble_object(source: str, directory: Path) -> Path:
    """GNU as with linker relaxation off; returns the object file."""
    src, obj = directory / "in.s", directory / "in.o"
    src.write_text(".option norelax\n" + source + "\n")
    _run([_tool("as"), *ARCH, "-mno-relax", str(src), "-o", str(obj)], "GNU as")
    return obj


def assemble_with_gnu(source: str, base: int = 0x8000_0000) -> bytes:
    """The bytes GNU as + ld produce for `source` linked at `base` (one .text section)."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        # __end marks where the source stops: GNU pads a section to its alignment.
        obj = assemble_object(f".text\n{source}\n__end:", directory)
        elf, binary = directory / "out.elf", directory / "out.bin"
        _run([_tool("ld"), "-m", "elf32lriscv", "--no-relax", "-nostdlib", "-e", str(base),
              f"-Ttext={base:#x}", str(obj), "-o", str(elf)], "GNU ld")  # fmt: skip
        _run([_tool("objcopy"), "-O", "binary", "-j", ".text", str(elf), str(binary)], "objcopy")
        symbols = _run([_tool("nm"), str(elf)], "nm").split()
        end = int(symbols[symbols.index("__end") - 2], 16)
        return binary.read_bytes()[: end - base]


def objdump_words(words: list[int], *, no_aliases: bool = False) -> list[str]:
    """objdump's text for each word, placed at address 0 in one code section.

    Only words of 32-bit length encoding (low bits 11, not xxx11111) can be given.
    """
    with tempfile.TemporaryDirectory() as tmp:
        lines = "".join(f".insn 4, {w:#010x}\n" for w in words)
        obj = assemble_object(lines, Path(tmp))
        args = [_tool("objdump"), "-d", *(["-M", "no-aliases"] if no_aliases else []), str(obj)]
        out = _run(args, "objdump")
    listed = [line for line in out.splitlines() if re.match(r" *[0-9a-f]+:\t", line)]
    texts = [line.split("\t", 2)[2] for line in listed]
    if len(texts) != len(words):
        raise RuntimeError(f"objdump printed {len(texts)} lines for {len(words)} words")
    return [_SUFFIX.sub("", text) for text in texts]


def is_32bit_encoding(word: int) -> bool:
    """True for words objdump reads as one 4-byte instruction."""
    return word & 0b11 == 0b11 and word & 0b11100 != 0b11100


def objdump_stream(items: list[tuple[int, int]]) -> list[str]:
    """objdump's text for a stream of (size, bits) instructions, 2- and 4-byte mixed,
    in one code section at address 0, built for -march=rv32imac."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        src, obj = directory / "in.s", directory / "in.o"
        src.write_text(".option norelax\n" + "".join(f".insn {n}, {w:#x}\n" for n, w in items))
        _run([_tool("as"), "-march=rv32imac_zicsr_zifencei", "-mabi=ilp32", "-mno-relax", str(src), "-o", str(obj)],
             "GNU as")  # fmt: skip
        out = _run([_tool("objdump"), "-d", str(obj)], "objdump")
    listed = [line for line in out.splitlines() if re.match(r" *[0-9a-f]+:\t", line)]
    texts = [line.split("\t", 2)[2] for line in listed]
    if len(texts) != len(items):
        raise RuntimeError(f"objdump printed {len(texts)} lines for {len(items)} instructions")
    return [_SUFFIX.sub("", text) for text in texts]
