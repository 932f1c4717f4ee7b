"""Which ELF images get HTIF (issue 13, item 5): those whose `tohost` is in a `.tohost`
section, as riscv-tests lay it out.  A `tohost` anywhere else (OpenSBI's and bbl's
`.htif`, a C variable in .data) is stray: the image runs as on QEMU's virt, which
has no HTIF, its stores to `tohost` plain stores."""

import os
import subprocess
import sys

import pytest
from toolchain import QEMU, ROOT, cross_tool, find_tool, run_tool

from machine.board import Board
from machine.loader import load_elf

# Writes 1 to tohost (an HTIF "pass"), then, if it is still running, says so on the
# UART and powers off through the finisher with failure code 5.
PROGRAM = """
.globl _start
_start:
    la   t0, tohost
    li   t1, 1
    sw   t1, 0(t0)
    sw   zero, 4(t0)
    li   t0, 0x10000000
    li   t1, 'R'
    sb   t1, 0(t0)
    la   t2, tohost         # did our store stay?  '1' if it did
    lw   t1, 0(t2)
    addi t1, t1, '0'
    sb   t1, 0(t0)
    li   t0, 0x100000
    li   t1, (5 << 16) | 0x3333
    sw   t1, 0(t0)
1:  j    1b

.section {section}, "aw", @progbits
.align 6
.globl tohost
tohost: .dword 0
.align 6
.globl fromhost
fromhost: .dword 0
"""


def build(tmp_path, section: str):
    source = tmp_path / "prog.S"
    source.write_text(PROGRAM.replace("{section}", section))
    elf = tmp_path / f"prog{section.replace('.', '_')}.elf"
    run_tool(cross_tool("gcc"), "-march=rv32i", "-mabi=ilp32", "-nostdlib", "-Wl,-N", "-Ttext=0x80000000",
             source, "-o", elf)  # fmt: skip
    return elf


def bare(elf) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuivmm", "bare", str(elf)], check=False, capture_output=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)  # fmt: skip


def qemu(elf) -> subprocess.CompletedProcess:
    return subprocess.run([find_tool(QEMU), "-machine", "virt", "-bios", "none", "-m", "128M", "-smp", "1",
                           "-display", "none", "-monitor", "none", "-serial", "stdio", "-kernel", str(elf)],
                          check=False, capture_output=True, timeout=60)  # fmt: skip


def test_a_riscv_tests_style_image_with_tohost_in_its_own_section_passes_through_htif(tmp_path):
    elf = build(tmp_path, ".tohost")
    board = Board(8 << 20)
    board.load(elf)
    assert board.htif is not None and board.htif.tohost == load_elf(elf).symbols["tohost"]
    result = bare(elf)
    assert (result.returncode, result.stdout) == (0, b"")


@pytest.mark.parametrize("section", [".htif", ".data"])
def test_a_stray_tohost_changes_nothing_the_image_runs_as_on_qemus_virt(tmp_path, section):
    elf = build(tmp_path, section)
    board = Board(8 << 20)
    board.load(elf)
    assert board.htif is None
    ours, theirs = bare(elf), qemu(elf)
    assert ours.stdout == theirs.stdout == b"R1"  # still running, and its store stayed
    assert ours.returncode == theirs.returncode == 5
