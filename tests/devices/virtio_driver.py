"""A small virtio-mmio driver for tests: the spec's handshake and split-queue bookkeeping.

It talks to a `VirtioMmio` only through its registers and to the queues only through
RAM, as a guest driver would (virtio spec 1.2, 3.1.1 "Driver Requirements: Device
Initialization" and 4.2.3 "MMIO-specific Initialization And Device Operation").
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from machine.devices.virtio_mmio import (
    ACKNOWLEDGE,
    DRIVER,
    DRIVER_OK,
    FAILED,
    FEATURES_OK,
    Reg,
    VirtioMmio,
)
from machine.devices.virtqueue import DESC_F_NEXT, DESC_F_WRITE
from machine.memory import Ram


@dataclass
class DriverQueue:
    index: int
    size: int
    desc: int
    avail: int
    used: int
    free: list[int] = field(default_factory=list)
    avail_idx: int = 0
    last_used: int = 0


@dataclass
class Request:
    head: int
    buffers: list[tuple[int, int]]  # (address, length) of each buffer, in chain order


class MiniDriver:
    def __init__(self, transport: VirtioMmio, ram: Ram):
        self.transport = transport
        self.ram = ram
        self.queues: dict[int, DriverQueue] = {}
        self._next_free = ram.base + 0x1000  # bump allocator over RAM

    # --- registers ----------------------------------------------------------------

    def reg(self, offset: int) -> int:
        return self.transport.read(offset, 4)

    def set_reg(self, offset: int, value: int) -> None:
        self.transport.write(offset, 4, value)

    def add_status(self, bits: int) -> None:
        self.set_reg(Reg.STATUS, self.reg(Reg.STATUS) | bits)

    def device_features(self) -> int:
        features = 0
        for select in (0, 1):
            self.set_reg(Reg.DEVICE_FEATURES_SEL, select)
            features |= self.reg(Reg.DEVICE_FEATURES) << (32 * select)
        return features

    def write_driver_features(self, features: int) -> None:
        for select in (0, 1):
            self.set_reg(Reg.DRIVER_FEATURES_SEL, select)
            self.set_reg(Reg.DRIVER_FEATURES, (features >> (32 * select)) & 0xFFFF_FFFF)

    # --- initialisation -------------------------------------------------------------

    def negotiate(self, features: int | None = None) -> bool:
        """Steps 1-6 of 3.1.1; accepts `features` (default: all offered). True if accepted."""
        self.set_reg(Reg.STATUS, 0)
        self.add_status(ACKNOWLEDGE)
        self.add_status(DRIVER)
        offered = self.device_features()
        self.write_driver_features(offered if features is None else features)
        self.add_status(FEATURES_OK)
        if not self.reg(Reg.STATUS) & FEATURES_OK:
            self.add_status(FAILED)
            return False
        return True

    def initialize(
        self, queue_count: int, queue_size: int = 8, features: int | None = None
    ) -> None:
        """The whole handshake: negotiate, set up `queue_count` queues, DRIVER_OK."""
        if not self.negotiate(features):
            raise RuntimeError("device refused the features")
        for index in range(queue_count):
            self.setup_queue(index, queue_size)
        self.add_status(DRIVER_OK)

    def setup_queue(self, index: int, size: int) -> DriverQueue:
        """4.2.3.2 "Virtqueue Configuration"."""
        self.set_reg(Reg.QUEUE_SEL, index)
        if self.reg(Reg.QUEUE_READY) or self.reg(Reg.QUEUE_NUM_MAX) < size:
            raise RuntimeError(f"queue {index} cannot be set up with {size} entries")
        queue = DriverQueue(
            index,
            size,
            desc=self.alloc(16 * size, 16),
            avail=self.alloc(6 + 2 * size, 2),
            used=self.alloc(6 + 8 * size, 4),
            free=list(range(size)),
        )
        areas = ((queue.desc, 16 * size), (queue.avail, 6 + 2 * size), (queue.used, 6 + 8 * size))
        for addr, length in areas:
            self.ram.write_bytes(addr, bytes(length))
        self.set_reg(Reg.QUEUE_NUM, size)
        registers = (
            (Reg.QUEUE_DESC_LOW, queue.desc),
            (Reg.QUEUE_DRIVER_LOW, queue.avail),
            (Reg.QUEUE_DEVICE_LOW, queue.used),
        )
        for low, addr in registers:
            self.set_reg(low, addr & 0xFFFF_FFFF)
            self.set_reg(low + 4, addr >> 32)
        self.set_reg(Reg.QUEUE_READY, 1)
        self.queues[index] = queue
        return queue

    # --- requests ---------------------------------------------------------------------

    def alloc(self, length: int, align: int = 16) -> int:
        addr = -(-self._next_free // align) * align
        self._next_free = addr + max(length, 1)
        if not self.ram.contains(addr, length):
            raise RuntimeError("test driver ran out of RAM")
        return addr

    def submit(self, index: int, buffers: list[bytes | int]) -> Request:
        """Chain buffers and make them available: bytes are device-readable, an int is
        the length of a device-writable buffer.  Readable ones must come first."""
        queue = self.queues[index]
        if len(buffers) > len(queue.free):
            raise RuntimeError("no free descriptors")
        descriptors = [queue.free.pop(0) for _ in buffers]
        placed = []
        for position, (slot, buffer) in enumerate(zip(descriptors, buffers)):
            if isinstance(buffer, int):
                addr, length, flags = self.alloc(buffer), buffer, DESC_F_WRITE
            else:
                addr, length, flags = self.alloc(len(buffer)), len(buffer), 0
                self.ram.write_bytes(addr, buffer)
            following = 0
            if position + 1 < len(descriptors):
                flags |= DESC_F_NEXT
                following = descriptors[position + 1]
            self.write_descriptor(index, slot, addr, length, flags, following)
            placed.append((addr, length))
        self.make_available(index, descriptors[0])
        return Request(descriptors[0], placed)

    def write_descriptor(
        self, index: int, slot: int, addr: int, length: int, flags: int, following: int
    ) -> None:
        descriptor = struct.pack("<QIHH", addr, length, flags, following)
        self.ram.write_bytes(self.queues[index].desc + 16 * slot, descriptor)

    def make_available(self, index: int, head: int) -> None:
        queue = self.queues[index]
        slot = queue.avail_idx % queue.size
        self.ram.write_bytes(queue.avail + 4 + 2 * slot, struct.pack("<H", head))
        queue.avail_idx = (queue.avail_idx + 1) & 0xFFFF
        self.ram.write_bytes(queue.avail + 2, struct.pack("<H", queue.avail_idx))

    def notify(self, index: int) -> None:
        self.set_reg(Reg.QUEUE_NOTIFY, index)

    def collect_used(self, index: int) -> list[tuple[int, int]]:
        """(head, bytes written) of each chain the device returned since the last call."""
        queue = self.queues[index]
        used_idx = struct.unpack("<H", self.ram.read_bytes(queue.used + 2, 2))[0]
        done = []
        while queue.last_used != used_idx:
            slot = queue.last_used % queue.size
            head, written = struct.unpack("<II", self.ram.read_bytes(queue.used + 4 + 8 * slot, 8))
            done.append((head, written))
            queue.free.extend(self._chain_slots(queue, head))
            queue.last_used = (queue.last_used + 1) & 0xFFFF
        return done

    def acknowledge_interrupt(self) -> int:
        status = self.reg(Reg.INTERRUPT_STATUS)
        self.set_reg(Reg.INTERRUPT_ACK, status)
        return status

    def _chain_slots(self, queue: DriverQueue, head: int) -> list[int]:
        slots, slot = [], head
        while True:
            slots.append(slot)
            raw = self.ram.read_bytes(queue.desc + 16 * slot, 16)
            _, _, flags, following = struct.unpack("<QIHH", raw)
            if not flags & DESC_F_NEXT:
                return slots
            slot = following
