"""The CLINT (core-local interruptor) of one hart, laid out as SiFive's and QEMU's.

    +0x0000  msip      bit 0 drives mip.MSIP
    +0x4000  mtimecmp  64 bits, two 32-bit halves (lo, hi)
    +0xBFF8  mtime     64 bits, two 32-bit halves; lives in the Clock

mip.MTIP is the level `mtime >= mtimecmp` (privileged spec 3.2.1).  Rather than
compare on every instruction, each write re-evaluates it and, when not yet due, asks
the clock for an alarm at mtimecmp.
"""

from __future__ import annotations

from collections.abc import Callable

from machine.clock import Clock
from machine.cpu.csrs import MSIP, MTIP

MSIP_OFFSET = 0x0000
MTIMECMP_OFFSET = 0x4000
MTIME_OFFSET = 0xBFF8
CLINT_SIZE = 0x10000
MASK64 = (1 << 64) - 1


def _read_part(register: int, offset: int, size: int) -> int:
    """Bytes [offset, offset+size) of a little-endian 64-bit register."""
    return (register >> (8 * offset)) & ((1 << (8 * size)) - 1)


def _write_part(register: int, offset: int, size: int, value: int) -> int:
    """The register with bytes [offset, offset+size) replaced by `value`."""
    mask = ((1 << (8 * size)) - 1) << (8 * offset)
    return ((register & ~mask) | ((value << (8 * offset)) & mask)) & MASK64


class Clint:
    def __init__(self, clock: Clock, set_pending: Callable[[int, bool], None]):
        self.clock = clock
        self.set_pending = set_pending
        self.msip = 0
        self.mtimecmp = MASK64  # reset value: all ones, so no timer interrupt

    def register_name(self, offset: int, write: bool) -> str:
        """The register at `offset` (write: unused, the names are the same)."""
        for base, name in ((MSIP_OFFSET, "msip"), (MTIMECMP_OFFSET, "mtimecmp"), (MTIME_OFFSET, "mtime")):
            size = 4 if name == "msip" else 8
            if base <= offset < base + size:
                return name + ("h" if offset - base >= 4 else "")
        return ""

    def reset(self) -> None:
        self.msip = 0
        self.set_pending(MSIP, False)
        self.mtimecmp = MASK64
        self._update_timer()

    def save_state(self) -> dict:
        """msip and mtimecmp as plain data (mtime and the alarm live in the clock)."""
        return {"msip": self.msip, "mtimecmp": self.mtimecmp}

    def load_state(self, state: dict) -> None:
        """Put back `save_state`'s registers.  The pins they drive are the hart's to
        restore (mip), and the alarm the clock's, so nothing is re-evaluated here."""
        self.msip = state["msip"] & 1
        self.mtimecmp = state["mtimecmp"] & MASK64

    def read(self, offset: int, size: int) -> int:
        if MSIP_OFFSET <= offset < MSIP_OFFSET + 4:
            return _read_part(self.msip, offset - MSIP_OFFSET, size)
        if MTIMECMP_OFFSET <= offset < MTIMECMP_OFFSET + 8:
            return _read_part(self.mtimecmp, offset - MTIMECMP_OFFSET, size)
        if MTIME_OFFSET <= offset < MTIME_OFFSET + 8:
            return _read_part(self.clock.mtime(), offset - MTIME_OFFSET, size)
        return 0  # msip/mtimecmp of harts this board does not have

    def write(self, offset: int, size: int, value: int) -> None:
        if MSIP_OFFSET <= offset < MSIP_OFFSET + 4:
            # Only bit 0 of msip is implemented; the rest is hardwired to zero.
            if offset == MSIP_OFFSET:
                self.msip = value & 1
                self.set_pending(MSIP, bool(self.msip))
        elif MTIMECMP_OFFSET <= offset < MTIMECMP_OFFSET + 8:
            self.mtimecmp = _write_part(self.mtimecmp, offset - MTIMECMP_OFFSET, size, value)
            self._update_timer()
        elif MTIME_OFFSET <= offset < MTIME_OFFSET + 8:
            mtime = _write_part(self.clock.mtime(), offset - MTIME_OFFSET, size, value)
            self.clock.set_mtime(mtime)
            self._update_timer()

    def _update_timer(self) -> None:
        """Raise MTIP if mtime has reached mtimecmp, else lower it and arm the alarm."""
        if self.clock.mtime() >= self.mtimecmp:
            self.clock.set_alarm(None, self._update_timer)
            self.set_pending(MTIP, True)
            return
        self.set_pending(MTIP, False)
        # All ones is the "no timer" value: no alarm, so an idle hart is not woken for it.
        alarm = None if self.mtimecmp == MASK64 else self.mtimecmp
        self.clock.set_alarm(alarm, self._update_timer)
