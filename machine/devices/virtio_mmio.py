"""The virtio-mmio transport, version 2 (virtio spec 1.2, section 4.2 "Virtio Over MMIO").

The transport owns what every virtio device has in common: feature negotiation, the
device status handshake (section 3.1.1), the queues' registers and the interrupt
status.  A `VirtioDevice` supplies its id, features, configuration space and what
to do when the driver notifies a queue.  Work happens only on QueueNotify (or when a
backend delivers input); nothing runs in the background.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import TypeVar

from machine.devices.virtqueue import Virtqueue, VirtqueueError
from machine.memory import Ram

VIRTIO_MMIO_SIZE = 0x1000
MAGIC_VALUE = 0x74726976  # "virt"
VERSION = 2  # "modern" virtio-mmio; legacy devices report 1
VENDOR_ID = 0x554D4551  # "QEMU", as QEMU's devices report


class Reg(IntEnum):
    """Register offsets, table 4.1 "MMIO Device Register Layout"."""

    MAGIC_VALUE = 0x000
    VERSION = 0x004
    DEVICE_ID = 0x008
    VENDOR_ID = 0x00C
    DEVICE_FEATURES = 0x010
    DEVICE_FEATURES_SEL = 0x014
    DRIVER_FEATURES = 0x020
    DRIVER_FEATURES_SEL = 0x024
    QUEUE_SEL = 0x030
    QUEUE_NUM_MAX = 0x034
    QUEUE_NUM = 0x038
    QUEUE_READY = 0x044
    QUEUE_NOTIFY = 0x050
    INTERRUPT_STATUS = 0x060
    INTERRUPT_ACK = 0x064
    STATUS = 0x070
    QUEUE_DESC_LOW = 0x080
    QUEUE_DESC_HIGH = 0x084
    QUEUE_DRIVER_LOW = 0x090
    QUEUE_DRIVER_HIGH = 0x094
    QUEUE_DEVICE_LOW = 0x0A0
    QUEUE_DEVICE_HIGH = 0x0A4
    SHM_SEL = 0x0AC
    SHM_LEN_LOW = 0x0B0
    SHM_LEN_HIGH = 0x0B4
    SHM_BASE_LOW = 0x0B8
    SHM_BASE_HIGH = 0x0BC
    CONFIG_GENERATION = 0x0FC
    CONFIG = 0x100


# Device status bits, section 2.1.
ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK = 1, 2, 4, 8
DEVICE_NEEDS_RESET, FAILED = 0x40, 0x80

# The handshake of section 3.1.1, one step per write.  FAILED may be set at any time,
# and writing 0 resets from anywhere.
_NEXT_STATUS = {
    0: ACKNOWLEDGE,
    ACKNOWLEDGE: ACKNOWLEDGE | DRIVER,
    ACKNOWLEDGE | DRIVER: ACKNOWLEDGE | DRIVER | FEATURES_OK,
    ACKNOWLEDGE | DRIVER | FEATURES_OK: ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK,
}

# InterruptStatus bits.
INT_USED_BUFFER = 1
INT_CONFIG_CHANGE = 2

VIRTIO_F_VERSION_1 = 1 << 32  # section 6: this is a modern (non-legacy) device

T = TypeVar("T")


def register_name(offset: int) -> str:
    """The transport's register at `offset` as the virtio spec's table 4.1 names it."""
    if offset >= Reg.CONFIG:
        return f"Config+{offset - Reg.CONFIG:#x}"
    try:
        return "".join(part.title() for part in Reg(offset & ~3).name.split("_"))
    except ValueError:
        return ""


class VirtioDevice:
    """What a device type provides; the transport fills in `transport` when attached."""

    device_id = 0
    features = 0  # device-specific feature bits offered (the transport adds VERSION_1)
    queue_sizes: tuple[int, ...] = ()  # QueueNumMax of each queue

    transport: VirtioMmio | None = None

    def config(self) -> bytes:
        """The device-specific configuration space, little-endian (read at +0x100)."""
        return b""

    def write_config(self, offset: int, data: bytes) -> None:
        """The driver wrote to the configuration space; most fields are read-only."""

    def queue_notify(self, index: int, queue: Virtqueue) -> None:
        """The driver made buffers available in a live queue."""

    def reset(self) -> None:
        """Forget everything negotiated; called on a device reset."""

    def save_state(self) -> dict:
        """What the device keeps beyond the transport, as plain data (for snapshots)."""
        return {}

    def load_state(self, state: dict) -> None:
        """Put back what `save_state` returned."""


class VirtioMmio:
    def __init__(self, device: VirtioDevice, irq: Callable[[bool], None], ram: Ram):
        self.device = device
        self.irq = irq
        self.ram = ram
        self.queues = [Virtqueue(ram, size) for size in device.queue_sizes]
        self.config_generation = 0
        self.broken_reason = ""  # why the device last asked for a reset, for people
        device.transport = self
        self.reset()

    def register_name(self, offset: int, write: bool) -> str:
        return register_name(offset)

    @property
    def offered_features(self) -> int:
        return self.device.features | VIRTIO_F_VERSION_1

    def reset(self) -> None:
        """Section 2.4 "Device Reset": back to the state before the driver came."""
        self.status = 0
        self.device_features_sel = 0
        self.driver_features_sel = 0
        self.driver_features = 0
        self.queue_sel = 0
        for queue in self.queues:
            queue.reset()
        self.interrupt_status = 0
        self.irq(False)
        self.device.reset()

    def save_state(self) -> dict:
        """The transport (status, features, selectors, interrupt status), its queues
        and the device behind it, as plain data.  Devices serve every request when the
        driver notifies, so between two guest instructions nothing is in flight."""
        return {"device_id": self.device.device_id, "status": self.status,
                "device_features_sel": self.device_features_sel, "driver_features_sel": self.driver_features_sel,
                "driver_features": self.driver_features, "queue_sel": self.queue_sel,
                "interrupt_status": self.interrupt_status, "config_generation": self.config_generation,
                "broken_reason": self.broken_reason, "queues": [q.save_state() for q in self.queues],
                "device": self.device.save_state()}  # fmt: skip

    def load_state(self, state: dict) -> None:
        """Put back what `save_state` returned (guest RAM must already be back: ready
        queues are checked against it).  The interrupt line is left to the interrupt
        controller's own restored state."""
        if state["device_id"] != self.device.device_id or len(state["queues"]) != len(self.queues):
            raise ValueError(f"virtio state of device {state['device_id']} for device {self.device.device_id}")
        self.status = state["status"] & 0xFF
        self.device_features_sel = state["device_features_sel"]
        self.driver_features_sel = state["driver_features_sel"]
        self.driver_features = state["driver_features"]
        self.queue_sel = state["queue_sel"]
        self.interrupt_status = state["interrupt_status"]
        self.config_generation = state["config_generation"]
        self.broken_reason = state["broken_reason"]
        for queue, saved in zip(self.queues, state["queues"], strict=True):
            queue.load_state(saved)
        self.device.load_state(state["device"])

    # --- services for the device ----------------------------------------------------

    def live_queue(self, index: int) -> Virtqueue | None:
        """The queue, if the driver has finished setting up and nothing is broken."""
        if self.status & (DEVICE_NEEDS_RESET | FAILED) or not self.status & DRIVER_OK:
            return None
        if index >= len(self.queues) or not self.queues[index].ready:
            return None
        return self.queues[index]

    def serve(self, index: int, work: Callable[[Virtqueue], T]) -> T | None:
        """Run `work` on a live queue; notify the driver of used buffers; contain errors."""
        queue = self.live_queue(index)
        if queue is None:
            return None
        used_before = queue.used_idx
        try:
            result = work(queue)
            if queue.used_idx != used_before and queue.wants_interrupt():
                self._interrupt(INT_USED_BUFFER)
        except VirtqueueError as error:
            self.needs_reset(f"queue {index}: {error}")
            return None
        return result

    def needs_reset(self, reason: str) -> None:
        """Section 2.1.2: enter the error state and tell a running driver."""
        self.broken_reason = reason
        self.status |= DEVICE_NEEDS_RESET
        if self.status & DRIVER_OK:
            self._interrupt(INT_CONFIG_CHANGE)

    def config_changed(self) -> None:
        """The device changed its configuration space (section 2.5.1)."""
        self.config_generation = (self.config_generation + 1) & 0xFFFF_FFFF
        if self.status & DRIVER_OK:
            self._interrupt(INT_CONFIG_CHANGE)

    # --- the guest's view -----------------------------------------------------------

    def read(self, offset: int, size: int) -> int:
        if offset >= Reg.CONFIG:
            return self._read_config(offset - Reg.CONFIG, size)
        if size != 4 or offset % 4:
            return 0  # section 4.2.2.2: control registers are 32-bit only
        queue = self._selected_queue()
        match offset:
            case Reg.MAGIC_VALUE:
                return MAGIC_VALUE
            case Reg.VERSION:
                return VERSION
            case Reg.DEVICE_ID:
                return self.device.device_id
            case Reg.VENDOR_ID:
                return VENDOR_ID
            case Reg.DEVICE_FEATURES:
                if self.device_features_sel > 1:
                    return 0
                return (self.offered_features >> (32 * self.device_features_sel)) & 0xFFFF_FFFF
            case Reg.QUEUE_NUM_MAX:
                return queue.max_size if queue else 0
            case Reg.QUEUE_READY:
                return int(queue.ready) if queue else 0
            case Reg.INTERRUPT_STATUS:
                return self.interrupt_status
            case Reg.STATUS:
                return self.status
            case Reg.SHM_LEN_LOW | Reg.SHM_LEN_HIGH | Reg.SHM_BASE_LOW | Reg.SHM_BASE_HIGH:
                return 0xFFFF_FFFF  # no shared memory regions: length and base read as -1
            case Reg.CONFIG_GENERATION:
                return self.config_generation
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        if offset >= Reg.CONFIG:
            self._write_config(offset - Reg.CONFIG, size, value)
            return
        if size != 4 or offset % 4:
            return
        value &= 0xFFFF_FFFF
        match offset:
            case Reg.DEVICE_FEATURES_SEL:
                self.device_features_sel = value
            case Reg.DRIVER_FEATURES:
                self._write_driver_features(value)
            case Reg.DRIVER_FEATURES_SEL:
                self.driver_features_sel = value
            case Reg.QUEUE_SEL:
                self.queue_sel = value
            case (
                Reg.QUEUE_NUM | Reg.QUEUE_DESC_LOW | Reg.QUEUE_DESC_HIGH | Reg.QUEUE_DRIVER_LOW
                | Reg.QUEUE_DRIVER_HIGH | Reg.QUEUE_DEVICE_LOW | Reg.QUEUE_DEVICE_HIGH
            ):
                self._write_queue_setup(offset, value)
            case Reg.QUEUE_READY:
                self._write_queue_ready(value)
            case Reg.QUEUE_NOTIFY:
                self._notify(value & 0xFFFF)  # without NOTIFICATION_DATA: the queue index
            case Reg.INTERRUPT_ACK:
                if self.interrupt_status and not self.interrupt_status & ~value:
                    self.irq(False)
                self.interrupt_status &= ~value
            case Reg.STATUS:
                self._write_status(value & 0xFF)

    # --- internals ------------------------------------------------------------------

    def _selected_queue(self) -> Virtqueue | None:
        return self.queues[self.queue_sel] if self.queue_sel < len(self.queues) else None

    def _write_status(self, value: int) -> None:
        if value == 0:
            self.reset()
            return
        if value & FAILED:
            self.status |= FAILED  # the driver gave up; only a reset brings it back
            return
        current = self.status & ~DEVICE_NEEDS_RESET  # the device's bit, not the driver's
        wanted = value & ~DEVICE_NEEDS_RESET
        if wanted == current or self.status & FAILED:
            return
        if _NEXT_STATUS.get(current) != wanted:
            return  # not a step of the handshake: ignored, as Firecracker does
        if wanted & FEATURES_OK and not current & FEATURES_OK and not self._features_acceptable():
            return  # section 3.1.1 step 6: the driver reads back FEATURES_OK unset
        self.status = wanted | (self.status & DEVICE_NEEDS_RESET)

    def _features_acceptable(self) -> bool:
        accepted = self.driver_features
        return accepted & ~self.offered_features == 0 and bool(accepted & VIRTIO_F_VERSION_1)

    def _write_driver_features(self, value: int) -> None:
        # Features may change only between DRIVER and FEATURES_OK (section 3.1.1).
        if self.status != ACKNOWLEDGE | DRIVER or self.driver_features_sel > 1:
            return
        shift = 32 * self.driver_features_sel
        self.driver_features = (self.driver_features & ~(0xFFFF_FFFF << shift)) | (value << shift)

    def _setup_allowed(self, queue: Virtqueue) -> bool:
        """Section 4.2.3.2: queues are set up after FEATURES_OK, while not ready."""
        return bool(self.status & FEATURES_OK) and not queue.ready

    def _write_queue_setup(self, offset: int, value: int) -> None:
        queue = self._selected_queue()
        if queue is None or not self._setup_allowed(queue):
            return
        if offset == Reg.QUEUE_NUM:
            queue.size = value
        elif offset in (Reg.QUEUE_DESC_LOW, Reg.QUEUE_DESC_HIGH):
            queue.desc_addr = _set_half(queue.desc_addr, offset == Reg.QUEUE_DESC_HIGH, value)
        elif offset in (Reg.QUEUE_DRIVER_LOW, Reg.QUEUE_DRIVER_HIGH):
            queue.driver_addr = _set_half(queue.driver_addr, offset == Reg.QUEUE_DRIVER_HIGH, value)
        else:
            queue.device_addr = _set_half(queue.device_addr, offset == Reg.QUEUE_DEVICE_HIGH, value)

    def _write_queue_ready(self, value: int) -> None:
        queue = self._selected_queue()
        if queue is None or not self.status & FEATURES_OK:
            return
        if not value & 1:
            queue.ready = False
            return
        if queue.ready:
            return
        try:
            queue.check_layout()
        except VirtqueueError as error:
            self.needs_reset(f"queue {self.queue_sel}: {error}")
            return
        queue.ready = True
        queue.last_avail = queue.used_idx = 0

    def _notify(self, index: int) -> None:
        self.serve(index, lambda queue: self.device.queue_notify(index, queue))

    def _interrupt(self, cause: int) -> None:
        if not self.interrupt_status:
            self.irq(True)
        self.interrupt_status |= cause

    def _read_config(self, offset: int, size: int) -> int:
        data = self.device.config()[offset : offset + size]
        return int.from_bytes(data.ljust(size, b"\0"), "little")

    def _write_config(self, offset: int, size: int, value: int) -> None:
        if offset + size <= len(self.device.config()):
            data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
            self.device.write_config(offset, data)


def _set_half(address: int, high: bool, value: int) -> int:
    """Replace the low or high 32 bits of a 64-bit queue address."""
    if high:
        return (address & 0xFFFF_FFFF) | (value << 32)
    return (address & ~0xFFFF_FFFF) | value
