"""Run one board to completion with a console: what `tuivmm bare` does.

Input is paced so that a run is deterministic.  Typed or piped bytes wait in a host
buffer and are handed to the UART a line at a time, only when the guest has drained
the previous line and is visibly waiting: asleep in WFI, or polling the UART's line
status register with the receive interrupt off (read twice with nothing sent in
between: a driver that reads it only to transmit, or drains the FIFO in its
interrupt handler, is not asking for input).  A guest that never asks — a runaway
program the script means to stop with Ctrl-C — gets the next line anyway once
PATIENCE instructions have passed since the last one: still a point fixed by the
guest's progress, not by host timing.  Keys typed on a terminal are not held back.
So `printf 'help\\n' | tuivmm bare IMAGE` gives the same run every time, and input
sent before the guest has set up its UART is not lost.

When the hart sleeps with a timer armed, time skips ahead to the alarm (virtual time
owes nothing to the wall clock); in interactive use the runner first waits, in real
time, for the keyboard up to how long that sleep would have lasted.  A hart asleep
with no timer armed at all (a tickless kernel at its prompt) waits for input; in
interactive use the time it waited on the wall clock passes for it too, so its
clock does not stand still while a person thinks.  Once scripted input is used up, a
hart asleep with its receive interrupt on that has printed nothing for QUIET_S of its
own time is done too, timer or no timer (an idle Linux keeps one armed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from machine.board import Board
from machine.clock import NEVER, TIMEBASE_HZ
from machine.cpu.trap import ExitKind

SLICE = 200_000  # instructions between looks at the console
PATIENCE = 5_000_000  # instructions a scripted line waits for the guest to ask for it
# Scripted input used up: a guest asleep with its receive interrupt on that prints
# nothing for this long of its own time waits for more, even with a timer armed (an
# idle Linux always has one, ticking about once a second).  Guest time: cheap to wait.
QUIET_S = 30


class Input(Protocol):
    interactive: bool

    def poll(self, timeout: float | None) -> bytes | None:
        """Bytes available within `timeout` seconds (None: wait as long as it takes);
        b"" if none yet; None at end of input."""


class BytesInput:
    """Fixed input, all of it available at once (tests, pipes read ahead)."""

    interactive = False

    def __init__(self, data: bytes = b""):
        self._data = data

    def poll(self, timeout: float | None) -> bytes | None:
        data, self._data = self._data, b""
        return data if data else None


@dataclass(frozen=True)
class Outcome:
    """How a run ended: "pass"/"fail" (the guest said so), "budget" (the instruction
    limit), "input" (the input has ended and the guest, asleep with its UART's
    receive interrupt on, waits for more: the script is done — with a timer
    armed, once it has printed nothing for QUIET_S of its time), "idle" (asleep
    forever: no timer, no receive interrupt, no more input), or "stuck" (traps
    forever without retiring an instruction; `code` is the last mcause)."""

    kind: str
    code: int
    instructions: int

    @property
    def exit_status(self) -> int:
        if self.kind == "pass":
            return 0
        if self.kind == "fail":
            return (self.code & 0xFF) or 1
        return {"input": 0, "budget": 124, "idle": 3, "stuck": 4}.get(self.kind, 1)


class QuietWatch:
    """Whether a guest has printed nothing for QUIET_S seconds of its own time: told
    its output's length and its cycle count whenever it is asked."""

    def __init__(self) -> None:
        self._mark: tuple[int, int] | None = None  # (output length, cycles) when it last printed

    def forget(self) -> None:
        self._mark = None

    def quiet(self, printed: int, cycles: int, cycles_per_tick: int) -> bool:
        if self._mark is None or self._mark[0] != printed:
            self._mark = (printed, cycles)
            return False
        return cycles - self._mark[1] >= QUIET_S * TIMEBASE_HZ * cycles_per_tick


class ConsoleRunner:
    def __init__(self, board: Board, console_input: Input | None = None, *, patience: int = PATIENCE):
        self.board = board
        self.patience = patience
        self.input = console_input if console_input is not None else BytesInput()
        self.pending = bytearray()
        self.input_closed = False
        self.on_wait = lambda: None  # called before waiting for input (flush the output)
        self._fed_at = board.hart.icount
        self._asked = False  # the guest has waited for input (asleep or polling) since power-on
        self._quiet = QuietWatch()

    def run(self, max_instructions: int | None = None) -> Outcome:
        hart = self.board.hart
        start = hart.icount
        limit = NEVER if max_instructions is None else max_instructions
        while True:
            left = limit - (hart.icount - start)
            if left <= 0:
                return Outcome("budget", 0, hart.icount - start)
            before = hart.icount
            exit_ = hart.run(min(SLICE, left))
            if exit_.kind is ExitKind.BUDGET and hart.icount == before:
                # A whole slice without one instruction retiring: every instruction
                # traps, including the handler's own (a broken mtvec, say).
                return Outcome("stuck", hart.mcause, hart.icount - start)
            if exit_.kind is ExitKind.HALT:
                if exit_.halt == "reset":
                    self.board.reset()
                    self._asked = False
                    continue
                return Outcome(exit_.halt, exit_.code, hart.icount - start)
            if exit_.kind is ExitKind.WFI:
                if not self._wake_from_wfi():
                    # Asleep for good: waiting for input that will not come, or for nothing.
                    kind = "input" if self.board.uart.rx_interrupt_on() else "idle"
                    return Outcome(kind, 0, hart.icount - start)
            elif exit_.kind is ExitKind.TRAP:  # only in host mode, which a bare board never sets
                raise RuntimeError(f"unexpected host-mode exit: {exit_.describe()}")
            else:
                self._offer_input()

    def _wake_from_wfi(self) -> bool:
        """The hart sleeps: give it input or time.  False if it would sleep forever."""
        hart = self.board.hart
        clock = hart.clock
        if self._offer_input():
            return True
        if clock.alarm_cycle < NEVER:
            if self._done_and_quiet():
                return False  # the script is done, and the guest sits waiting for more
            if self.input.interactive and not self.input_closed:
                # A person is watching: the sleep lasts as long on the wall clock as on
                # the guest's (`sleep 5` takes five seconds), and a key cuts it short.
                sleep = (clock.alarm_cycle - hart.cycles) / clock.cycles_per_tick / TIMEBASE_HZ
                started = time.monotonic()
                while (left := started + sleep - time.monotonic()) > 0 and not self.input_closed:
                    self._collect(min(left, 0.05))
                    if self._offer_input():
                        waited = time.monotonic() - started
                        hart.idle_cycles += min(int(waited * TIMEBASE_HZ) * clock.cycles_per_tick,
                                                clock.alarm_cycle - hart.cycles)  # fmt: skip
                        return True
            hart.skip_to_alarm()
            return True
        self.on_wait()
        started = time.monotonic()
        while not self.input_closed:
            self._collect(0.1)
            if self._offer_input():
                if self.input.interactive:
                    waited = time.monotonic() - started
                    hart.idle_cycles += int(waited * TIMEBASE_HZ) * clock.cycles_per_tick
                return True
        return False

    def _done_and_quiet(self) -> bool:
        """Scripted input is used up, the guest sleeps with its receive interrupt on,
        and it has printed nothing for QUIET_S seconds of its own time."""
        uart = self.board.uart
        if self.input.interactive or not self.input_closed or self.pending or not uart.rx_interrupt_on():
            return False
        hart = self.board.hart
        return self._quiet.quiet(len(self.board.output), hart.cycles, hart.clock.cycles_per_tick)

    def _collect(self, timeout: float | None) -> None:
        if self.input_closed:
            return
        data = self.input.poll(timeout)
        if data is None:
            self.input_closed = True
        else:
            self.pending += data

    def _offer_input(self) -> bool:
        """Feed the next line if the guest is ready for it; True if anything was fed.

        Scripted (non-interactive) input is waited for when the guest is ready, so the
        moment a line arrives is set by the guest's progress, never by host timing.
        """
        uart = self.board.uart
        if uart.rx_pending():
            return False
        hart = self.board.hart
        # Ready: asleep with the receive interrupt on (its interrupt will wake it), or
        # polling.  Once it has waited for input like that, also busy with the
        # interrupt on for PATIENCE instructions (a runaway program the script stops
        # with Ctrl-C).  Before that, a line waits: a kernel still booting has its
        # port open early, and a line handed over then is lost.
        hears = uart.rx_interrupt_on()
        asks = (hart.sleeping and hears) or uart.polled_for_input()
        self._asked |= asks
        waiting = (
            self.input.interactive
            or asks
            or (self._asked and hears and hart.icount - self._fed_at >= self.patience)
        )
        if not waiting:
            return False
        if not self.pending:
            if not self.input.interactive and not self.input_closed:
                self.on_wait()
            self._collect(0.0 if self.input.interactive else None)
        if not self.pending:
            return False
        end = self.pending.find(b"\n")
        if end < 0:
            end = self.pending.find(b"\r")
        line = bytes(self.pending if end < 0 else self.pending[: end + 1])
        del self.pending[: len(line)]
        uart.feed(line)
        self._fed_at = hart.icount
        return True


__all__ = ["BytesInput", "ConsoleRunner", "Outcome"]
