"""Main memory: one byte buffer, with word and halfword views for fast aligned access."""

from __future__ import annotations

import mmap
from collections.abc import Callable


class RamError(Exception):
    """A DMA or loader access outside RAM."""


class Ram:
    """RAM at [base, base+size).  `data` is the backing buffer (offsets from base).

    Zero-filled RAM is an anonymous mapping, so pages the machine never touches cost
    the host nothing (a VMM's host RAM can be large); other fills are a bytearray.

    Writers other than the hart (DMA from devices, the loader) must go through
    `write_bytes`, which tells `on_write` so the hart can drop translated code.
    """

    def __init__(self, base: int, size: int, fill: int = 0):
        if size <= 0 or size % 4096:
            raise ValueError("RAM size must be a positive multiple of 4 KiB")
        self.base = base
        self.size = size
        self.data = mmap.mmap(-1, size) if fill == 0 else bytearray([fill]) * size
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


class RamWindow(Ram):
    """Part of another `Ram`, seen at an address of its own: how a VMM gives a guest
    its "physical" memory.  Bytes [host_offset, host_offset + size) of `host` appear
    at [base, base + size).  The views share the host's storage, so the guest's
    devices (DMA) and the VMM's loader write straight into host RAM, and every such
    write is reported to the host's `on_write` at its host offset (so a hart running
    translated code from host RAM drops what was overwritten)."""

    def __init__(self, host: Ram, host_offset: int, base: int, size: int):
        if size <= 0 or size % 4096 or host_offset % 4096 or host_offset + size > host.size:
            raise ValueError("a RAM window must be whole pages inside its host RAM")
        self.host = host
        self.host_offset = host_offset
        self.base = base
        self.size = size
        self.data = memoryview(host.data)[host_offset : host_offset + size]
        self.words = host.words[host_offset // 4 : (host_offset + size) // 4]
        self.halves = host.halves[host_offset // 2 : (host_offset + size) // 2]
        self.on_write = lambda offset, length: host.on_write(host_offset + offset, length)

    @property
    def host_base(self) -> int:
        """The host-physical address of this window's first byte."""
        return self.host.base + self.host_offset

    def fill(self, value: int = 0) -> None:
        """Set every byte (a guest reset).  Zeroing a window of an anonymous mapping
        hands its pages back to the host (MADV_REMOVE: the shared anonymous mapping
        reads as zeros there again) rather than writing zeros over every one."""
        backing = self.host.data
        if value == 0 and isinstance(backing, mmap.mmap) and hasattr(mmap, "MADV_REMOVE"):
            backing.madvise(mmap.MADV_REMOVE, self.host_offset, self.size)
        else:
            self.data[:] = bytes([value]) * self.size
        self.on_write(0, self.size)
