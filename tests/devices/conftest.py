"""Fakes shared by the device tests: interrupt pins, interrupt lines, RAM and a clock."""

from __future__ import annotations

import pytest

from machine.clock import Clock
from machine.memory import Ram

RAM_BASE = 0x8000_0000
RAM_SIZE = 1 << 20


class Pins:
    """Stands in for the hart's `set_pending(bit, level)`: remembers each mip bit."""

    def __init__(self) -> None:
        self.mip = 0
        self.calls: list[tuple[int, bool]] = []

    def __call__(self, bit: int, level: bool) -> None:
        self.calls.append((bit, level))
        if level:
            self.mip |= 1 << bit
        else:
            self.mip &= ~(1 << bit)

    def is_set(self, bit: int) -> bool:
        return bool(self.mip >> bit & 1)


class Line:
    """Stands in for a PLIC input `irq(level)`: remembers the level and every change."""

    def __init__(self) -> None:
        self.level = False
        self.changes: list[bool] = []

    def __call__(self, level: bool) -> None:
        self.level = level
        self.changes.append(level)


class Counter:
    """A cycle counter the test advances by hand, driving a `Clock`."""

    def __init__(self) -> None:
        self.cycles = 0
        self.clock = Clock(cycles=lambda: self.cycles)

    def advance_to(self, cycles: int) -> None:
        self.cycles = cycles
        self.clock.fire_due()


@pytest.fixture
def pins() -> Pins:
    return Pins()


@pytest.fixture
def line() -> Line:
    return Line()


@pytest.fixture
def counter() -> Counter:
    return Counter()


@pytest.fixture
def ram() -> Ram:
    # Poisoned with 0xAA so that a device reading memory nobody wrote shows up.
    return Ram(RAM_BASE, RAM_SIZE, fill=0xAA)
