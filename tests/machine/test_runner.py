"""`tuivmm bare`'s runner (machine/runner.py) and time: with a person at the keyboard a
sleep lasts as long on the wall clock as on the guest's; with scripted input time
skips ahead at once.  The wall clock here is a fake one the input's waits move."""

from __future__ import annotations

import pytest

from machine import runner as R
from machine.board import Board
from machine.cpu.asm import assemble

SLEEPER = """
_start: li   t0, 0x0200bff8      # mtime
        lw   t1, 0(t0)
        li   t2, 20000000        # two seconds of the 10 MHz timebase
        add  t1, t1, t2
        li   t0, 0x02004000      # mtimecmp
        li   t3, -1
        sw   t3, 4(t0)
        sw   t1, 0(t0)
        sw   zero, 4(t0)
        li   t0, 0x80            # MTIE
        csrs mie, t0
        wfi                      # interrupts off (MIE clear): WFI ends, no trap taken
        li   t6, 0x100000
        li   t5, 0x5555
        sw   t5, 0(t6)
"""


class Clock:
    def __init__(self):
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


class Keyboard:
    """An interactive input that nobody types on: each poll waits its whole timeout."""

    interactive = True

    def __init__(self, clock: Clock):
        self.clock = clock

    def poll(self, timeout):
        self.clock.now += timeout
        return b""


@pytest.mark.parametrize("interactive", [True, False])
def test_a_sleep_takes_its_time_on_the_wall_clock_only_with_a_person_watching(monkeypatch, interactive):
    clock = Clock()
    monkeypatch.setattr(R.time, "monotonic", clock.monotonic)
    board = Board(1 << 20)
    prog = assemble(SLEEPER, 0x8000_0000)
    board.load_program(prog.data, prog.entry)
    outcome = R.ConsoleRunner(board, Keyboard(clock) if interactive else R.BytesInput()).run(1_000_000)
    assert outcome.kind == "pass"
    waited = clock.now - 100.0
    assert waited == pytest.approx(2.0, abs=0.01) if interactive else waited == 0
    assert board.hart.clock.mtime() >= 20_000_000  # the guest's two seconds passed either way
