"""The translated-block engine and the single-step engine run whole programs
identically: same console output, same registers, same trap sequence (cause, tval,
epc), same instruction count — including programs driven by timer and UART
interrupts, where any difference in when an interrupt is taken would show."""

import pytest

from machine.board import Board
from machine.runner import BytesInput, ConsoleRunner
from toolchain import RVC_ARCH, build_program


def run_elf(path, stepping: bool, stdin: bytes = b""):
    board = Board(8 << 20)
    board.load(path)
    board.hart.stepping = stepping
    traps = []
    board.hart.on_trap = lambda *t: traps.append((board.hart.icount, *t))
    outcome = ConsoleRunner(board, BytesInput(stdin)).run(20_000_000)
    return board, outcome, traps


@pytest.mark.parametrize(
    "program, stdin",
    [("hello", b""), ("timer", b""), ("paging", b""), ("echo", b"hello\nworld\nquit\n")],
)
@pytest.mark.parametrize("arch", [None, RVC_ARCH], ids=["rv32ima", "rv32imac"])
def test_program_runs_the_same_in_blocks_and_in_single_steps(program, stdin, arch):
    elf = build_program(program, arch)
    fast, fast_outcome, fast_traps = run_elf(elf, stepping=False, stdin=stdin)
    slow, slow_outcome, slow_traps = run_elf(elf, stepping=True, stdin=stdin)
    assert fast_outcome.kind == "pass"
    assert fast_outcome == slow_outcome
    assert fast.output == slow.output
    assert fast.hart.x == slow.hart.x
    assert fast.hart.pc == slow.hart.pc
    assert fast_traps == slow_traps
    assert memoryview(fast.ram.data) == memoryview(slow.ram.data)
    if program != "hello":
        assert fast_traps, "the program should have taken traps"
