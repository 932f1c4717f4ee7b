"""Each guest on the VMM is handed a device tree of its own (issue 13, item 2): in its
own RAM, where QEMU's virt would put it for a machine of that size, describing its
RAM and the devices it has (its disk and NIC slots), its address in the guest's a1."""

from __future__ import annotations

import struct
from pathlib import Path

from machine.board import RAM_BASE
from machine.fdt import cells, unpack
from tuivmm.vmm import Vmm

from .vmmharness import MIB

IMAGES = Path(__file__).resolve().parents[2] / "tuivmm" / "images"


def tree_of(guest):
    at = guest.vcpu.x[11]
    (size,) = struct.unpack(">I", guest.window.read_bytes(at + 4, 4))
    return at, unpack(guest.window.read_bytes(at, size))


def slots(tree) -> list[str]:
    return [node.name for node in tree.find("/soc").children if node.name.startswith("virtio_mmio")]


def test_each_guest_gets_a_tree_of_its_own_ram_and_devices_in_its_own_ram(tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))
    vmm = Vmm()
    small = vmm.add_guest(IMAGES / "hello.elf", name="small", ram_size=8 * MIB, net=False)
    big = vmm.add_guest(IMAGES / "hello.elf", name="big", ram_size=32 * MIB, disk=str(disk), net=True)
    at_small, tree_small = tree_of(small)
    at_big, tree_big = tree_of(big)
    assert (at_small, at_big) == (0x8060_0000, 0x81E0_0000)  # QEMU's place for 8 and 32 MiB
    assert tree_small.find("/memory@80000000").props["reg"] == cells(0, RAM_BASE, 0, 8 * MIB)
    assert tree_big.find("/memory@80000000").props["reg"] == cells(0, RAM_BASE, 0, 32 * MIB)
    assert slots(tree_small) == []
    assert slots(tree_big) == ["virtio_mmio@10001000", "virtio_mmio@10002000"]
    # Each tree lies inside its own guest's RAM (so inside its window of host RAM).
    assert at_small + len(small.board.dtb) <= RAM_BASE + 8 * MIB
    assert small.board.dtb != big.board.dtb
    small.board.close()
    big.board.close()


def test_a_guest_reset_hands_it_the_tree_again():
    vmm = Vmm()
    g = vmm.add_guest(IMAGES / "hello.elf", name="g", ram_size=8 * MIB, net=False)
    at, tree = tree_of(g)
    g.window.write_bytes(at, bytes(64))
    g.reset()
    assert tree_of(g) == (at, tree)
