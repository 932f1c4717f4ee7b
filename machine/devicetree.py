"""The device tree the board gives its firmware, written from the board itself.

As QEMU's `virt` does (hw/riscv/virt.c, create_fdt_*), the tree is made from the
same addresses, sizes and interrupt numbers the board maps its devices at, so
nothing is said twice; the nodes we share with QEMU have QEMU's names, compatible
strings and phandles, so firmware written for QEMU's tree reads ours:

    /cpus/cpu@0              riscv,isa, mmu-type riscv,sv32, its interrupt controller;
                             timebase-frequency on /cpus
    /memory@80000000         this board's RAM (a guest's own size, on the VMM)
    /soc/clint@2000000       machine software and timer interrupts of hart 0
    /soc/plic@c000000        riscv,ndev sources; context 0 = M-mode, 1 = S-mode
    /soc/serial@10000000     the NS16550A, PLIC interrupt 10
    /soc/virtio_mmio@...     each slot that has a device behind it (QEMU lists all 8)
    /soc/test@100000         the sifive_test finisher, a syscon for
    /poweroff, /reboot       syscon-poweroff (0x5555) and syscon-reboot (0x7777)
    /chosen                  bootargs, stdout-path = the UART

HTIF is never named: QEMU's virt has none, and firmware that finds HTIF through
the device tree (OpenSBI, bbl) must not start using it here (machine/htif.py).
What QEMU has and we do not (PCI, flash, fw-cfg, RTC, the PMU) is left out.

Where the blob goes is QEMU's rule (hw/riscv/boot.c, riscv_compute_fdt_addr): as
high in RAM as it fits, rounded down to 2 MiB — 0x87e0_0000 for 128 MiB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from machine.clock import TIMEBASE_HZ
from machine.devices.clint import CLINT_SIZE
from machine.devices.uart import UART_SIZE
from machine.devices.virtio_mmio import VIRTIO_MMIO_SIZE
from machine.fdt import Node, cells, pack, string

if TYPE_CHECKING:  # board.py imports this module
    from machine.board import Board

ISA = "rv32imac_zicsr_zifencei"
UART_CLOCK_HZ = 3_686_400  # what QEMU's tree says of its NS16550A
FDT_ALIGN = 2 * 1024 * 1024  # QEMU: the blob starts on a 2 MiB boundary
PAGE = 4096

# QEMU's phandles, so a tree read beside QEMU's matches it number for number.
CPU_PHANDLE, INTC_PHANDLE, PLIC_PHANDLE, TEST_PHANDLE = 1, 2, 3, 4
IRQ_M_SOFT, IRQ_S_EXT, IRQ_M_TIMER, IRQ_M_EXT = 3, 9, 7, 11  # mcause interrupt numbers


def board_tree(board: Board, bootargs: str = "") -> Node:
    """The tree that describes `board`: its RAM, its devices, its populated slots."""
    from machine import board as B

    root = Node("", {"#address-cells": cells(2), "#size-cells": cells(2),
                     "compatible": string("riscv-virtio"), "model": string("riscv-virtio,tuivmm")})  # fmt: skip

    root.add("chosen", bootargs=string(bootargs), stdout_path=string(f"/soc/serial@{B.UART0_BASE:x}"))

    memory = root.add(f"memory@{board.ram.base:x}")
    memory.set("device_type", string("memory")).set("reg", _reg(board.ram.base, board.ram.size))

    cpus = root.add("cpus", timebase_frequency=cells(TIMEBASE_HZ))
    cpus.set("#address-cells", cells(1)).set("#size-cells", cells(0))
    cpu = cpus.add("cpu@0", phandle=cells(CPU_PHANDLE), reg=cells(0), status=string("okay"),
                   compatible=string("riscv"))  # fmt: skip
    cpu.set("device_type", string("cpu")).set("riscv,isa", string(ISA)).set("mmu-type", string("riscv,sv32"))
    intc = cpu.add("interrupt-controller", interrupt_controller=b"",
                   compatible=string("riscv,cpu-intc"), phandle=cells(INTC_PHANDLE))  # fmt: skip
    intc.set("#interrupt-cells", cells(1))
    cpus.add("cpu-map").add("cluster0").add("core0", cpu=cells(CPU_PHANDLE))

    soc = root.add("soc", compatible=string("simple-bus"), ranges=b"")
    soc.set("#address-cells", cells(2)).set("#size-cells", cells(2))
    soc.add(f"clint@{B.CLINT_BASE:x}", reg=_reg(B.CLINT_BASE, CLINT_SIZE),
            compatible=string("sifive,clint0", "riscv,clint0"),
            interrupts_extended=cells(INTC_PHANDLE, IRQ_M_SOFT, INTC_PHANDLE, IRQ_M_TIMER))  # fmt: skip
    plic = soc.add(f"plic@{B.PLIC_BASE:x}", phandle=cells(PLIC_PHANDLE), reg=_reg(B.PLIC_BASE, B.PLIC_SIZE),
                   interrupts_extended=cells(INTC_PHANDLE, IRQ_M_EXT, INTC_PHANDLE, IRQ_S_EXT),
                   interrupt_controller=b"", compatible=string("sifive,plic-1.0.0", "riscv,plic0"))  # fmt: skip
    # riscv,ndev counts the sources a device can use: ids 1 .. sources-1 (id 0 is none).
    plic.set("riscv,ndev", cells(board.plic.sources - 1))
    plic.set("#address-cells", cells(0)).set("#interrupt-cells", cells(1))
    soc.add(f"serial@{B.UART0_BASE:x}", interrupts=cells(B.UART0_IRQ), interrupt_parent=cells(PLIC_PHANDLE),
            clock_frequency=cells(UART_CLOCK_HZ), reg=_reg(B.UART0_BASE, UART_SIZE),
            compatible=string("ns16550a"))  # fmt: skip
    for slot in sorted(board.virtio):
        base = B.VIRTIO_BASE + slot * B.VIRTIO_STRIDE
        soc.add(f"virtio_mmio@{base:x}", interrupts=cells(B.VIRTIO_IRQ_BASE + slot),
                interrupt_parent=cells(PLIC_PHANDLE), reg=_reg(base, VIRTIO_MMIO_SIZE),
                compatible=string("virtio,mmio"))  # fmt: skip
    soc.add(f"test@{B.FINISHER_BASE:x}", phandle=cells(TEST_PHANDLE), reg=_reg(B.FINISHER_BASE, B.FINISHER_SIZE),
            compatible=string("sifive,test1", "sifive,test0", "syscon"))  # fmt: skip

    for name, compatible, value in (("poweroff", "syscon-poweroff", 0x5555), ("reboot", "syscon-reboot", 0x7777)):
        root.add(name, value=cells(value), offset=cells(0), regmap=cells(TEST_PHANDLE), compatible=string(compatible))
    return root


def board_dtb(board: Board, bootargs: str = "") -> bytes:
    """`board_tree` as a DTB."""
    return pack(board_tree(board, bootargs))


def dtb_address(ram_base: int, ram_size: int, dtb_size: int, taken: list[tuple[int, int]] = ()) -> int | None:
    """Where a blob of `dtb_size` bytes goes in RAM: QEMU's place (the highest 2 MiB
    boundary it fits below the end of RAM); if that is below RAM or overlaps a range
    in `taken` (the image's segments, as (start, end)), the highest page it fits in
    instead; None if neither fits (too little RAM)."""
    end = ram_base + ram_size
    for align in (FDT_ALIGN, PAGE):
        at = (end - dtb_size) // align * align
        if at >= ram_base and not any(start < at + dtb_size and at < stop for start, stop in taken):
            return at
    return None


def _reg(base: int, size: int) -> bytes:
    """A `reg` of one range with two address and two size cells, as QEMU writes it."""
    return cells(base >> 32, base & 0xFFFF_FFFF, size >> 32, size & 0xFFFF_FFFF)
