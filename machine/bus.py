"""The system bus: devices attached at half-open address ranges.

A device sees offsets into its own range, never absolute addresses:
`read(offset, size) -> int` and `write(offset, size, value)`, with size 1, 2 or 4.
Overlapping ranges are refused when the board is built; an access that hits no
device raises `BusError`, which the hart turns into the architectural access fault.
"""

from __future__ import annotations

import bisect
from typing import Protocol


class Device(Protocol):
    def read(self, offset: int, size: int) -> int: ...

    def write(self, offset: int, size: int, value: int) -> None: ...


class BusError(Exception):
    """An access to an address where no device (and no RAM) answers."""

    def __init__(self, addr: int):
        super().__init__(f"no device at {addr:#010x}")
        self.addr = addr


class Bus:
    def __init__(self) -> None:
        self._bases: list[int] = []
        self._regions: list[tuple[int, int, str, Device]] = []  # (base, end, name, device)

    def attach(self, base: int, size: int, device: Device, name: str) -> None:
        """Map `device` at [base, base+size); refuse overlaps with what is already there."""
        end = base + size
        if size <= 0 or base < 0 or end > 1 << 32:
            raise ValueError(f"{name}: bad range {base:#x}+{size:#x}")
        for b, e, other, _ in self._regions:
            if base < e and b < end:
                raise ValueError(f"{name} at {base:#x}-{end:#x} overlaps {other} at {b:#x}-{e:#x}")
        i = bisect.bisect(self._bases, base)
        self._bases.insert(i, base)
        self._regions.insert(i, (base, end, name, device))

    def find(self, addr: int) -> tuple[Device, int] | None:
        """The device covering `addr` and the offset into it, or None."""
        i = bisect.bisect(self._bases, addr) - 1
        if i >= 0:
            base, end, _, device = self._regions[i]
            if addr < end:
                return device, addr - base
        return None

    def describe(self, addr: int, write: bool = False) -> str:
        """`addr` as a person reads it: "uart0+0x5 LSR" (the register's name when the
        device gives one), or the bare address if no device covers it."""
        i = bisect.bisect(self._bases, addr) - 1
        if i >= 0:
            base, end, name, device = self._regions[i]
            if addr < end:
                offset = addr - base
                namer = getattr(device, "register_name", None)
                register = namer(offset, write) if namer is not None else ""
                return f"{name}+{offset:#x}" + (f" {register}" if register else "")
        return f"{addr:#010x}"

    def regions(self) -> list[tuple[int, int, str]]:
        """(base, end, name) for every attached device, in address order."""
        return [(b, e, n) for b, e, n, _ in self._regions]

    def read(self, addr: int, size: int) -> int:
        hit = self.find(addr)
        if hit is None or hit[1] + size > self._end_of(addr):
            raise BusError(addr)
        return hit[0].read(hit[1], size)

    def write(self, addr: int, size: int, value: int) -> None:
        hit = self.find(addr)
        if hit is None or hit[1] + size > self._end_of(addr):
            raise BusError(addr)
        hit[0].write(hit[1], size, value)

    def _end_of(self, addr: int) -> int:
        base, end, _, _ = self._regions[bisect.bisect(self._bases, addr) - 1]
        return end - base
