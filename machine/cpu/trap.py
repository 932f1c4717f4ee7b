"""Traps as Python exceptions, and the `Exit` that `Hart.run` returns.

A `Trap` carries the architectural cause and tval; the run loop owns the pc and hands
the faulting pc to `take_trap`.  `Resync` is not architectural: a store that reached a
device raises it after completing, so the run loop looks at interrupts and halt
requests before the next instruction (exactly where single-stepping would).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from machine.cpu.csrs import INTERRUPT_BIT, PRIV_NAMES, cause_name


class Unwind(Exception):
    """Leaves a translated block early.

    As it passes through a block, the block adds its own progress: `done` counts the
    instructions that completed (all passes of a self-loop), `index` is the position
    past the instruction that raised it (0: resume at it, 1: after it, it completed).
    """

    done = 0
    index = 0
    pc: int | None = None  # set by a translated block: where execution resumes


class Trap(Unwind):
    """An exception the instruction raised (spec 3.1.15 cause codes); `done` excludes it."""

    insn: int | None = None  # the instruction's bits, when whoever raised it has them at hand

    def __init__(self, cause: int, tval: int = 0):
        self.cause = cause
        self.tval = tval & 0xFFFF_FFFF
        self.done = self.index = 0

    def __str__(self) -> str:
        return f"{cause_name(self.cause)} (tval={self.tval:#010x})"


class Resync(Unwind):
    """The instruction completed but touched a device: re-check events before the next."""

    def __init__(self) -> None:
        self.done = self.index = 1


class Retry(Unwind):
    """A translated block reached a device.  Devices must see the exact instruction
    count (mtime is derived from it), which only the step path keeps, so the block
    stops before the access and the run loop re-executes that one instruction there."""


class ExitKind(enum.Enum):
    BUDGET = "budget"  # the instruction budget was used up
    WFI = "wfi"  # WFI with no interrupt pending: the hart would sleep
    HALT = "halt"  # power-off, reset or test result (finisher or HTIF)
    TRAP = "trap"  # host mode: a trap that would have entered M-mode
    HANDLED = "handled"  # host mode: the exit hook took care of a trap and asked `run` to return


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made
# building one (every exit a monitor takes) cost ~3 us; nobody changes one once built.
@dataclass(slots=True)
class Exit:
    """Why `Hart.run` returned.

    For TRAP: `cause`, `tval`, `epc` (the pc of the trapping instruction, or of the next
    one for an interrupt), `priv` (the privilege the hart was in) and `insn` (the raw
    instruction bits at epc, 0 when they could not be fetched or for interrupts).
    For HALT: `halt` is "pass", "fail" or "reset" and `code` the exit code.
    """

    kind: ExitKind
    cause: int = 0
    tval: int = 0
    epc: int = 0
    insn: int = 0
    priv: int = 0
    halt: str = ""
    code: int = 0

    @property
    def is_interrupt(self) -> bool:
        return bool(self.cause & INTERRUPT_BIT)

    def describe(self) -> str:
        if self.kind is ExitKind.TRAP:
            return (
                f"trap: {cause_name(self.cause)} at pc={self.epc:#010x} "
                f"({PRIV_NAMES.get(self.priv, '?')}-mode) tval={self.tval:#010x} insn={self.insn:#010x}"
            )
        if self.kind is ExitKind.HALT:
            return f"halt: {self.halt} (code {self.code})"
        return self.kind.value
