"""The translated-block engine and the single-step engine run whole programs
identically: same console output, same registers, same trap sequence, same count."""

from machine.board import Board
from machine.runner import ConsoleRunner


def run_elf(path, stepping: bool):
    board = Board(8 << 20)
    board.load(path)
    board.hart.stepping = stepping
    traps = []
    board.hart.on_trap = lambda *t: traps.append(t)
    outcome = ConsoleRunner(board).run(20_000_000)
    return board, outcome, traps


def test_c_program_runs_the_same_in_blocks_and_in_single_steps(hello_elf):
    fast, fast_outcome, fast_traps = run_elf(hello_elf, stepping=False)
    slow, slow_outcome, slow_traps = run_elf(hello_elf, stepping=True)
    assert fast_outcome == slow_outcome
    assert fast_outcome.kind == "pass"
    assert fast.output == slow.output
    assert fast.hart.x == slow.hart.x
    assert fast.hart.pc == slow.hart.pc
    assert fast_traps == slow_traps
    assert fast.ram.data == slow.ram.data
