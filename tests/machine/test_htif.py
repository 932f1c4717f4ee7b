"""HTIF (tohost/fromhost), the riscv-tests and Spike convention, on the bare board."""

import pytest

from machine.board import Board
from machine.cpu.asm import assemble
from machine.runner import ConsoleRunner

DATA = """
.align 3
tohost: .word 0, 0
fromhost: .word 0, 0
magic: .word 0, 0, 0, 0, 0, 0, 0, 0
msg: .ascii "proxied write\\n"
"""


def run(body: str, *, max_insns: int = 10_000):
    prog = assemble(f"_start:\n{body}\nspin: j spin\n{DATA}")
    board = Board(1 << 20)
    board.load_program(prog.data, prog.entry)
    board.attach_htif(prog.symbols["tohost"], prog.symbols["fromhost"])
    outcome = ConsoleRunner(board).run(max_insns)
    return board, prog, outcome


def test_riscv_tests_pass_sequence_ends_the_run_with_code_0():
    # RVTEST_PASS: sw TESTNUM=1 to tohost, then zero to tohost+4
    _, _, outcome = run("li t0, 1\n la t1, tohost\n sw t0, 0(t1)\n sw zero, 4(t1)")
    assert (outcome.kind, outcome.code, outcome.exit_status) == ("pass", 0, 0)


def test_riscv_tests_fail_reports_the_failing_test_number():
    # test 3 failed: tohost = (3 << 1) | 1
    _, _, outcome = run("li t0, 7\n la t1, tohost\n sw t0, 0(t1)\n sw zero, 4(t1)")
    assert (outcome.kind, outcome.code, outcome.exit_status) == ("fail", 3, 3)


def test_halves_written_high_first_still_make_one_command():
    _, _, outcome = run("li t0, 1\n la t1, tohost\n sw zero, 4(t1)\n sw t0, 0(t1)")
    assert outcome.kind == "pass"


def test_one_half_alone_does_nothing_yet():
    board, _, outcome = run("li t0, 1\n la t1, tohost\n sw t0, 0(t1)", max_insns=200)
    assert outcome.kind == "budget"


@pytest.mark.parametrize("char", [b"A", b"a"])  # 'a' is odd: must not look like an exit
def test_console_device_prints_a_character(char):
    body = f"""
        la t1, tohost
        li t0, {char[0]}
        sw t0, 0(t1)
        li t0, 0x01010000      # device 1, command 1
        sw t0, 4(t1)
        li t0, 1
        sw t0, 0(t1)
        sw zero, 4(t1)
    """
    board, _, outcome = run(body)
    assert outcome.kind == "pass"
    assert bytes(board.output) == char


def test_proxied_write_syscall_prints_and_acknowledges_through_fromhost():
    body = """
        la t2, magic
        li t0, 64              # SYS_write
        sw t0, 0(t2)
        li t0, 1               # fd 1
        sw t0, 8(t2)
        la t0, msg
        sw t0, 16(t2)
        li t0, 14              # length
        sw t0, 24(t2)
        la t1, tohost
        sw t2, 0(t1)
        sw zero, 4(t1)
        la t3, fromhost
    wait: lw t4, 0(t3)
        beqz t4, wait
        lw a0, 0(t2)           # the syscall's return value
        li t0, 1
        sw t0, 0(t1)
        sw zero, 4(t1)
    """
    board, prog, outcome = run(body)
    assert outcome.kind == "pass"
    assert bytes(board.output) == b"proxied write\n"
    assert board.hart.x[10] == 14


def test_proxied_exit_syscall_ends_the_run_with_its_code():
    body = """
        la t2, magic
        li t0, 93              # SYS_exit
        sw t0, 0(t2)
        li t0, 5
        sw t0, 8(t2)
        la t1, tohost
        sw t2, 0(t1)
        sw zero, 4(t1)
    """
    _, _, outcome = run(body)
    assert (outcome.kind, outcome.code) == ("fail", 5)
