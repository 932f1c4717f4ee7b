"""Main memory: one bytearray, with word and halfword views for fast aligned access."""

from __future__ import annotations

from collections.abc import Callable


class RamError(Exception):
    """A DMA or loader access outside RAM."""


class Ram:
    """RAM at [base, base+size).  `data` is the backing bytearray (offsets from base).

    Writers other than the hart (DMA from devices, the loader) must go through
    `write_bytes`, which tells `on_write` so the hart can drop translated code.
    """

    def __init__(self, base: int, size: int, fill: int = 0):
        if size <= 0 or size % 4096:
            raise ValueError("RAM size must be a positive multiple of 4 KiB")
        self.base = base
        self.size = size
        self.data = bytearray([fill]) * size
        view = memoryview(self.data)
        self.words = view.cast("I")
        self.halves = view.cast("H")
        self.on_write: Callable[[int, int], None] = lambda offset, length: None

    def contains(self, addr: int, length: int = 1) -> bool:
        return self.base <= addr and addr + length <= self.base + self.size

    def read_bytes(self, addr: int, length: int) -> bytes:
        if not self.contains(addr, length):
            raise RamError(f"read of {length} bytes at {addr:#010x} is outside RAM")
        off = addr - self.base
        return bytes(self.data[off : off + length])

    def write_bytes(self, addr: int, data: bytes) -> None:
        if not self.contains(addr, len(data)):
            raise RamError(f"write of {len(data)} bytes at {addr:#010x} is outside RAM")
        off = addr - self.base
        self.data[off : off + len(data)] = data
        self.on_write(off, len(data))

    def read_u32(self, addr: int) -> int:
        return int.from_bytes(self.read_bytes(addr, 4), "little")

    def write_u32(self, addr: int, value: int) -> None:
        self.write_bytes(addr, (value & 0xFFFF_FFFF).to_bytes(4, "little"))
