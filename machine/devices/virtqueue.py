"""Split virtqueues (virtio spec 1.2, section 2.7 "Split Virtqueues"), read from guest RAM.

Three areas the driver places in its memory:

    descriptor table  16 bytes each: addr u64, len u32, flags u16, next u16   (2.7.5)
    available ring    flags u16, idx u16, ring[size] u16                      (2.7.6)
    used ring         flags u16, idx u16, ring[size] of (id u32, len u32)     (2.7.8)

Everything here is written by a guest that may be hostile: indexes, lengths, loops and
addresses are checked, and any nonsense raises `VirtqueueError`, which the transport
turns into DEVICE_NEEDS_RESET.  DMA goes only through `Ram.read_bytes`/`write_bytes`.
"""

from __future__ import annotations

import struct

from machine.memory import Ram, RamError

DESC_F_NEXT = 1
DESC_F_WRITE = 2
DESC_F_INDIRECT = 4
AVAIL_F_NO_INTERRUPT = 1
DESCRIPTOR = struct.Struct("<QIHH")
MAX_QUEUE_SIZE = 32768  # spec 2.7: a split queue has at most 32768 entries


class VirtqueueError(Exception):
    """The driver put something in the queue that cannot be honoured."""


class Chain:
    """One descriptor chain: device-readable buffers, then device-writable ones."""

    def __init__(
        self, ram: Ram, head: int, readable: list[tuple[int, int]], writable: list[tuple[int, int]]
    ):
        self.ram = ram
        self.head = head
        self.readable = readable  # (guest-physical address, length) in chain order
        self.writable = writable

    @property
    def readable_length(self) -> int:
        return sum(length for _, length in self.readable)

    @property
    def writable_length(self) -> int:
        return sum(length for _, length in self.writable)

    def read(self) -> bytes:
        """All device-readable bytes of the chain, concatenated."""
        return b"".join(self.ram.read_bytes(addr, length) for addr, length in self.readable)

    def write(self, data: bytes, offset: int = 0) -> int:
        """Scatter `data` over the writable buffers from byte `offset`; returns bytes placed."""
        placed = 0
        for addr, length in self.writable:
            if offset >= length:
                offset -= length
                continue
            piece = data[placed : placed + length - offset]
            if not piece:
                break
            self.ram.write_bytes(addr + offset, piece)
            placed += len(piece)
            offset = 0
        return placed


class Virtqueue:
    """One split virtqueue as the device sees it: where the driver put it, how far we got."""

    def __init__(self, ram: Ram, max_size: int):
        if not 0 < max_size <= MAX_QUEUE_SIZE or max_size & (max_size - 1):
            raise ValueError(f"queue size {max_size} is not a power of 2 up to {MAX_QUEUE_SIZE}")
        self.ram = ram
        self.max_size = max_size
        self.reset()

    def reset(self) -> None:
        self.size = self.max_size  # QueueNum; the driver normally writes it
        self.ready = False
        self.desc_addr = 0
        self.driver_addr = 0  # the available ring
        self.device_addr = 0  # the used ring
        self.last_avail = 0  # next available-ring entry the device will take
        self.used_idx = 0  # the device's copy of used->idx

    def save_state(self) -> list[int]:
        """Where the driver put the queue and how far the device got, as plain data:
        [size, ready, desc_addr, driver_addr, device_addr, last_avail, used_idx]."""
        return [self.size, int(self.ready), self.desc_addr, self.driver_addr, self.device_addr,
                self.last_avail, self.used_idx]  # fmt: skip

    def load_state(self, state: list[int]) -> None:
        """Put back what `save_state` returned.  A ready queue must pass `check_layout`
        (the guest's RAM comes back first), so a doctored snapshot cannot point the
        device outside RAM."""
        size, ready, self.desc_addr, self.driver_addr, self.device_addr, last_avail, used_idx = state
        self.size = size
        self.last_avail, self.used_idx = last_avail & 0xFFFF, used_idx & 0xFFFF
        self.ready = False
        if ready:
            self.check_layout()
            self.ready = True

    def check_layout(self) -> None:
        """Spec 2.7 alignment and size rules, and that every area lies in RAM."""
        size = self.size
        if not 0 < size <= self.max_size or size & (size - 1):
            raise VirtqueueError(f"queue size {size} is not a power of 2 up to {self.max_size}")
        areas = (
            ("descriptor table", self.desc_addr, 16, 16 * size),
            ("available ring", self.driver_addr, 2, 6 + 2 * size),
            ("used ring", self.device_addr, 4, 6 + 8 * size),
        )
        for name, addr, align, length in areas:
            if addr % align:
                raise VirtqueueError(f"{name} at {addr:#x} is not {align}-byte aligned")
            if not self.ram.contains(addr, length):
                raise VirtqueueError(f"{name} at {addr:#x} is outside RAM")

    def pop(self) -> Chain | None:
        """The next chain the driver made available, or None if there is none."""
        avail_idx = self._u16(self.driver_addr + 2)
        waiting = (avail_idx - self.last_avail) & 0xFFFF
        if waiting == 0:
            return None
        if waiting > self.size:
            raise VirtqueueError(f"available index moved {waiting} entries, queue holds {self.size}")
        slot = self.last_avail % self.size
        head = self._u16(self.driver_addr + 4 + 2 * slot)
        self.last_avail = (self.last_avail + 1) & 0xFFFF
        return self._walk(head)

    def push(self, chain: Chain, written: int) -> None:
        """Return a chain to the driver through the used ring (spec 2.7.8)."""
        slot = self.used_idx % self.size
        self._store(self.device_addr + 4 + 8 * slot, struct.pack("<II", chain.head, written))
        self.used_idx = (self.used_idx + 1) & 0xFFFF
        self._store(self.device_addr + 2, struct.pack("<H", self.used_idx))

    def wants_interrupt(self) -> bool:
        """False when the driver set VIRTQ_AVAIL_F_NO_INTERRUPT (spec 2.7.7)."""
        return not self._u16(self.driver_addr) & AVAIL_F_NO_INTERRUPT

    def _walk(self, head: int) -> Chain:
        readable: list[tuple[int, int]] = []
        writable: list[tuple[int, int]] = []
        total = 0
        index = head
        # A chain visits each descriptor at most once, so more than `size` steps is a loop.
        for _ in range(self.size):
            if index >= self.size:
                raise VirtqueueError(f"descriptor index {index} is outside a queue of {self.size}")
            raw = self._load(self.desc_addr + 16 * index, 16)
            addr, length, flags, following = DESCRIPTOR.unpack(raw)
            if flags & DESC_F_INDIRECT:
                raise VirtqueueError("indirect descriptor, but INDIRECT_DESC was not offered")
            if not self.ram.contains(addr, length):
                raise VirtqueueError(f"descriptor {index} is outside RAM ({addr:#x}+{length:#x})")
            total += length
            if total > self.ram.size:
                raise VirtqueueError(f"chain from descriptor {head} is larger than RAM")
            if flags & DESC_F_WRITE:
                writable.append((addr, length))
            elif writable:
                # Spec 2.7.4.2: device-readable descriptors come before device-writable ones.
                raise VirtqueueError(f"descriptor {index} is readable after a writable one")
            else:
                readable.append((addr, length))
            if not flags & DESC_F_NEXT:
                return Chain(self.ram, head, readable, writable)
            index = following
        raise VirtqueueError(f"chain from descriptor {head} is longer than the queue (a loop?)")

    def _load(self, addr: int, length: int) -> bytes:
        try:
            return self.ram.read_bytes(addr, length)
        except RamError as error:
            raise VirtqueueError(str(error)) from None

    def _store(self, addr: int, data: bytes) -> None:
        try:
            self.ram.write_bytes(addr, data)
        except RamError as error:
            raise VirtqueueError(str(error)) from None

    def _u16(self, addr: int) -> int:
        return int.from_bytes(self._load(addr, 2), "little")
