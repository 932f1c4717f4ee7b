"""The board: QEMU's `virt` machine layout, so one image runs here and on QEMU.

    0x0000_0000 +----------------------+
                |      (nothing)       |   accesses raise access faults
    0x0010_0000 | sifive_test finisher |   0x5555 pass, (code<<16)|0x3333 fail, 0x7777 reset
    0x0200_0000 | CLINT                |   msip +0, mtimecmp +0x4000, mtime +0xBFF8
    0x0C00_0000 | PLIC                 |   context 0 = hart 0 M-mode, 1 = S-mode
    0x1000_0000 | UART0 NS16550A       |   IRQ 10
    0x1000_1000 | virtio-mmio slot 0   |   IRQ 1   (slot n at +n*0x1000, IRQ 1+n, n = 0..7)
                | ...                  |   slot 0: block device, slot 1: network device
    0x8000_0000 | RAM                  |   size configurable; images are linked here
                +----------------------+

guests/include/memlayout.h mirrors these numbers; a test checks they agree.
HTIF needs no address of its own: it lives wherever the loaded ELF puts `tohost`,
for the images `machine.htif.wants_htif` names (riscv-tests style ones).

At reset, as on QEMU's virt, the board writes a device tree describing itself
(machine/devicetree.py) high in RAM (0x87e0_0000 with 128 MiB) and hands its
address to the image in a1 (a0 = hart id 0); or a tree of the user's, or none.
"""

from __future__ import annotations

import os

from machine.bus import Bus
from machine.cpu.hart import Hart
from machine.devices.clint import CLINT_SIZE, Clint
from machine.devices.finisher import Finisher
from machine.devices.plic import PLIC_SIZE, Plic
from machine.devices.uart import UART_SIZE, Uart16550
from machine.devices.virtio_blk import VirtioBlk
from machine.devices.virtio_mmio import MAGIC_VALUE, VENDOR_ID, VERSION, VIRTIO_MMIO_SIZE, VirtioMmio
from machine.devices.virtio_mmio import register_name as virtio_register_name
from machine.devices.virtio_net import VirtioNet
from machine.devicetree import board_dtb, dtb_address
from machine.htif import Htif, wants_htif
from machine.loader import Image, LoadError, load_elf, place
from machine.memory import Ram

FINISHER_BASE = 0x0010_0000
FINISHER_SIZE = 0x1000
CLINT_BASE = 0x0200_0000
PLIC_BASE = 0x0C00_0000
PLIC_SOURCES = 96  # as QEMU's virt (VIRT_IRQCHIP_NUM_SOURCES): ids 1..95 for devices
UART0_BASE = 0x1000_0000
UART0_IRQ = 10
VIRTIO_BASE = 0x1000_1000
VIRTIO_STRIDE = 0x1000
VIRTIO_SLOTS = 8
VIRTIO_IRQ_BASE = 1
VIRTIO_BLK_SLOT = 0
VIRTIO_NET_SLOT = 1
RAM_BASE = 0x8000_0000
DEFAULT_RAM_SIZE = 128 * 1024 * 1024
DEFAULT_MAC = bytes.fromhex("525400123456")  # QEMU's default locally administered prefix


class EmptyVirtioSlot:
    """A virtio-mmio transport with no device behind it (DeviceID 0), as QEMU shows
    its unused slots, so drivers that probe every slot find nothing there."""

    def read(self, offset: int, size: int) -> int:
        return {0x000: MAGIC_VALUE, 0x004: VERSION, 0x008: 0, 0x00C: VENDOR_ID}.get(offset, 0)

    def write(self, offset: int, size: int, value: int) -> None:
        pass

    def register_name(self, offset: int, write: bool) -> str:
        return virtio_register_name(offset)


class Board:
    """One hart, RAM and the virt devices, wired together.

    `cpu` replaces the hart: anything with the `ArchState` interface (its `ram`,
    `bus`, `clock`, `set_pending`, `request_halt`, `reset`) — the VMM passes a
    virtual hart, so each guest gets the same devices as the bare board.

    `net` is a backend for the network device (anything with `send(frame)`, e.g. one
    end of `machine.devices.netwire.Wire`); without one the board has no NIC.

    `dtb` is the device tree a reset puts in RAM for an ELF image (its address in a1):
    True, the board's own (with `bootargs` in /chosen); bytes, a blob of the user's;
    False, none (a1 = 0).
    """

    def __init__(
        self,
        ram_size: int = DEFAULT_RAM_SIZE,
        *,
        disk: str | os.PathLike[str] | None = None,
        disk_read_only: bool = False,
        net=None,
        mac: bytes = DEFAULT_MAC,
        flawed_eret: bool = False,
        cycles_per_tick: int = 1,
        ram_fill: int = 0,
        cpu=None,
        dtb: bool | bytes = True,
        bootargs: str = "",
    ):
        if cpu is None:
            self.ram = Ram(RAM_BASE, ram_size, fill=ram_fill)
            self.bus = Bus()
            cpu = Hart(self.ram, self.bus, cycles_per_tick=cycles_per_tick)
            cpu.flawed_eret = flawed_eret
        else:
            # A virtual hart from a VMM: it brings its own RAM (a window on the host's)
            # and bus; the devices below are built around it exactly as around a Hart.
            self.ram, self.bus = cpu.ram, cpu.bus
        self.hart = hart = cpu
        self.image: Image | None = None
        self.htif: Htif | None = None
        self.dtb_choice = dtb
        self.bootargs = bootargs
        self.dtb_address: int | None = None  # where the last reset put the device tree
        self._own_dtb: bytes | None = None  # the board's own tree, made when first asked for
        self.output = bytearray()  # everything the guest printed (UART and HTIF)
        self.on_output = lambda data: None

        self.finisher = Finisher(hart.request_halt)
        self.clint = Clint(hart.clock, hart.set_pending)
        self.plic = Plic(hart.set_pending, PLIC_SOURCES)
        self.uart = Uart16550(self.plic.irq_line(UART0_IRQ))
        self.uart.on_output = self._console_output
        self.bus.attach(FINISHER_BASE, FINISHER_SIZE, self.finisher, "finisher")
        self.bus.attach(CLINT_BASE, CLINT_SIZE, self.clint, "clint")
        self.bus.attach(PLIC_BASE, PLIC_SIZE, self.plic, "plic")
        self.bus.attach(UART0_BASE, UART_SIZE, self.uart, "uart0")

        self.blk = VirtioBlk(disk, read_only=disk_read_only) if disk is not None else None
        self.net = VirtioNet(mac, net) if net is not None else None
        if net is not None and hasattr(net, "attach"):
            net.attach(self.net)
        self.virtio: dict[int, VirtioMmio] = {}
        for slot in range(VIRTIO_SLOTS):
            device = {VIRTIO_BLK_SLOT: self.blk, VIRTIO_NET_SLOT: self.net}.get(slot)
            base = VIRTIO_BASE + slot * VIRTIO_STRIDE
            if device is None:
                self.bus.attach(base, VIRTIO_MMIO_SIZE, EmptyVirtioSlot(), f"virtio{slot}")
            else:
                transport = VirtioMmio(device, self.plic.irq_line(VIRTIO_IRQ_BASE + slot), self.ram)
                self.virtio[slot] = transport
                self.bus.attach(base, VIRTIO_MMIO_SIZE, transport, f"virtio{slot}")

    def _console_output(self, data: bytes) -> None:
        self.output += data
        self.on_output(data)

    def load(self, path: str | os.PathLike[str]) -> Image:
        """Load an ELF image into RAM and point the hart at its entry (a0 = hartid 0)."""
        image = load_elf(path)
        self.load_image(image)
        return image

    def load_image(self, image: Image) -> None:
        """Place an image already read (its segments, entry and symbols) in RAM and
        point the hart at its entry: what `load` does after reading the file, and what
        a reset does again, so a reset boots what was loaded (not whatever the file
        holds by then), and a restored snapshot, which carries its image, can reset
        without the file."""
        place(image, self.ram)
        self.image = image
        self.hart.reset(image.entry)
        self._place_dtb([(s.paddr, s.paddr + s.memsz) for s in image.segments], str(image.path))
        if wants_htif(image):
            self.attach_htif(image.symbols["tohost"], image.symbols.get("fromhost"))

    def load_program(self, data: bytes, entry: int | None = None, *, with_dtb: bool = False) -> None:
        """Put raw code (e.g. from `machine.cpu.asm.assemble`) at the start of RAM.
        Raw code gets no device tree (a1 = 0) unless `with_dtb`: the tests' programs
        and assembly files start from a clean slate; ELF images (`load`) get one."""
        self.ram.write_bytes(RAM_BASE, data)
        self.hart.reset(RAM_BASE if entry is None else entry)
        self.dtb_address = None
        if with_dtb:
            self._place_dtb([(RAM_BASE, RAM_BASE + len(data))], "the program")

    @property
    def dtb(self) -> bytes | None:
        """The device tree a reset hands the image: the board's own, the user's, or None."""
        if self.dtb_choice is True:
            if self._own_dtb is None:
                self._own_dtb = board_dtb(self, self.bootargs)  # the devices never change
            return self._own_dtb
        return self.dtb_choice or None

    def _place_dtb(self, taken: list[tuple[int, int]], what: str) -> None:
        """Write the device tree where QEMU's virt would, clear of `taken` (the image),
        and put its address in a1.  LoadError if a tree of the user's does not fit;
        the board's own is left out (a1 = 0) when RAM is too small for it."""
        self.dtb_address = None
        blob = self.dtb
        if blob is None:
            return
        at = dtb_address(self.ram.base, self.ram.size, len(blob), taken)
        if at is None:
            if self.dtb_choice is True:
                return
            raise LoadError(f"the device tree ({len(blob)} bytes) does not fit in RAM beside {what}")
        self.ram.write_bytes(at, blob)
        self.hart.x[11] = at
        self.dtb_address = at

    def attach_htif(self, tohost: int, fromhost: int | None = None) -> Htif:
        self.htif = Htif(self.hart, self.ram, tohost, fromhost)
        self.htif.on_output = self._console_output
        return self.htif

    def reset(self) -> None:
        """What the finisher's reset command does: devices and hart back to power-on,
        the image reloaded (guest RAM writes are forgotten, the disk keeps its data)."""
        for device in (self.clint, self.plic, self.uart, *self.virtio.values()):
            device.reset()
        if self.image is not None:
            self.load_image(self.image)
        else:
            self.hart.reset()

    def close(self) -> None:
        if self.blk is not None:
            self.blk.close()

    # --- snapshots -----------------------------------------------------------------------

    def save_state(self) -> dict:
        """Every device's state and the console so far, as plain data: the clock (its
        alarm belongs to the CLINT), CLINT, PLIC, UART, HTIF (or None), and each
        virtio transport by slot.  The hart, RAM, the disk's contents and the loaded
        image are saved by whoever owns them (`tuivmm.tools.snapshot`)."""
        return {
            "clock": self.hart.clock.save_state(),
            "clint": self.clint.save_state(),
            "plic": self.plic.save_state(),
            "uart": self.uart.save_state(),
            "htif": self.htif.save_state() if self.htif is not None else None,
            "virtio": {str(slot): transport.save_state() for slot, transport in self.virtio.items()},
            "output": bytes(self.output),
        }

    def load_state(self, state: dict) -> None:
        """Put back what `save_state` returned, on a board built alike (the same
        virtio devices in the same slots) whose hart and RAM are back already.
        ValueError if the board is not alike."""
        slots = {str(slot) for slot in self.virtio}
        if set(state["virtio"]) != slots:
            raise ValueError(f"virtio devices in slots {sorted(state['virtio'])}, this board has {sorted(slots)}")
        self.hart.clock.load_state(state["clock"], self.clint._update_timer)
        self.clint.load_state(state["clint"])
        self.plic.load_state(state["plic"])
        self.uart.load_state(state["uart"])
        htif = state["htif"]
        if htif is not None:
            self.attach_htif(htif["tohost"], htif["fromhost"]).load_state(htif)
        for slot, transport in self.virtio.items():
            transport.load_state(state["virtio"][str(slot)])
        self.output[:] = state["output"]

