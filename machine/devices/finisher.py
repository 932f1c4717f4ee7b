"""QEMU's sifive_test "finisher": one register that powers the board off or resets it.

The low 16 bits of a write say what to do; for a failure the high 16 bits carry the
exit code (QEMU hw/misc/sifive_test.c).  Reads return 0.
"""

from __future__ import annotations

from collections.abc import Callable

FINISHER_FAIL = 0x3333
FINISHER_PASS = 0x5555
FINISHER_RESET = 0x7777


class Finisher:
    def __init__(self, on_halt: Callable[[str, int], None]):
        self.on_halt = on_halt  # ("pass", 0), ("fail", code) or ("reset", 0)

    def register_name(self, offset: int, write: bool) -> str:
        return "finisher" if offset < 4 else ""

    def read(self, offset: int, size: int) -> int:
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        # QEMU accepts 16- and 32-bit writes to the register at offset 0.
        if offset != 0 or size < 2:
            return
        command, code = value & 0xFFFF, (value >> 16) & 0xFFFF
        if command == FINISHER_PASS:
            self.on_halt("pass", 0)
        elif command == FINISHER_FAIL:
            self.on_halt("fail", code)
        elif command == FINISHER_RESET:
            self.on_halt("reset", 0)
