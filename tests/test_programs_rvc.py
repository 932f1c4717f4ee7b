"""The C test programs built with the C extension (-march=rv32imac) must run as QEMU
runs them: on our bare machine, and as guests of the VMM, the console bytes and the
exit status the same.  The rv32ima builds are test_system_vs_qemu's; these check that
compressed code (mixed 16/32-bit streams, halfword-aligned targets, instructions
straddling pages, c.lw/c.sw to devices) changes nothing a program can see."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from test_system_vs_qemu import SECTOR0_TEXT, assert_same_run, fresh_disk
from toolchain import RVC_ARCH, build_program, run_ours, run_qemu, run_under_vmm

EF_RISCV_RVC = 0x1
PLAIN = ["hello", "timer", "paging", "csrs", "plic"]  # no console input, no disk


def rvc_program(name: str) -> Path:
    elf = build_program(name, RVC_ARCH)
    with elf.open("rb") as f:
        assert ELFFile(f).header["e_flags"] & EF_RISCV_RVC, f"{elf} was not built with compressed code"
    return elf


@pytest.mark.parametrize("name", PLAIN)
def test_rvc_build_runs_on_the_bare_machine_as_on_qemu(name):
    elf = rvc_program(name)
    assert_same_run(run_ours(elf), run_qemu(elf))


@pytest.mark.parametrize("name", PLAIN)
def test_rvc_build_runs_under_the_vmm_as_on_qemu(name):
    elf = rvc_program(name)
    assert_same_run(run_under_vmm(elf), run_qemu(elf))


def test_rvc_echo_takes_uart_input_as_on_qemu():
    elf = rvc_program("echo")
    typed = b"hello\nworld\nquit\n"
    assert_same_run(run_ours(elf, stdin=typed), run_qemu(elf, stdin=typed))


def test_rvc_disk_driver_reads_and_writes_as_on_qemu(tmp_path):
    elf = rvc_program("disk")
    ours, theirs = tmp_path / "ours.img", tmp_path / "qemu.img"
    fresh_disk(ours)
    fresh_disk(theirs)
    qemu = run_qemu(elf, disk=theirs)
    assert_same_run(run_ours(elf, disk=ours), qemu)
    assert SECTOR0_TEXT[:32] in qemu[1]
    assert ours.read_bytes() == theirs.read_bytes()


def test_gdb_breaks_in_compressed_code_and_lists_it():
    from test_gdb import TuivmmRun, elf_symbols, gdb

    elf = rvc_program("hello")
    main = elf_symbols(elf)["main"]
    with TuivmmRun(str(elf), "--no-net", "--gdb", "0") as run:
        port = run.port(elf.stem)
        out = gdb(elf, port, "break main", "continue", "info registers pc", "x/6i $pc", "stepi", "stepi",
                  "info registers pc", "delete", "continue")  # fmt: skip
        status, console = run.finish(b"")
    assert f"pc             {main:#x}" in out, out
    listed = re.findall(r"^(?:=> )?\s*0x([0-9a-f]+) <main\+\d+>:", out, re.MULTILINE)
    steps = [int(a, 16) - int(b, 16) for a, b in zip(listed[1:], listed)]
    assert 2 in steps, out  # compressed instructions, listed two bytes apart
    assert status == 0 and console.endswith(b"[hello] bye\n"), console[-200:]
