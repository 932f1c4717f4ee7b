"""The device tree the board hands its image in a1, as QEMU's virt does (issue 13, item 2),
and the board details firmware reads from it (item 5: the PLIC's 96 sources)."""

import struct

import pytest

from machine.board import RAM_BASE, Board
from machine.cpu.asm import assemble
from machine.devicetree import dtb_address
from machine.fdt import FdtError, Node, cells, pack, string, unpack
from machine.loader import LoadError

MIB = 1 << 20
A1 = 11

HALT = """
_start: li t0, 0x100000
        li t1, 0x5555
        sw t1, 0(t0)
1:      j 1b
"""


def booted(ram_mib: int = 128, **options) -> Board:
    board = Board(ram_mib * MIB, **options)
    board.load_program(assemble(HALT).data, with_dtb=True)
    return board


def tree_in_ram(board: Board) -> Node:
    at = board.hart.x[A1]
    (size,) = struct.unpack(">I", board.ram.read_bytes(at + 4, 4))
    return unpack(board.ram.read_bytes(at, size))


def reg(node: Node) -> tuple[int, ...]:
    raw = node.props["reg"]
    return struct.unpack(f">{len(raw) // 4}I", raw)


# --- the format --------------------------------------------------------------------


def test_a_packed_tree_reads_back_node_for_node():
    root = Node("", {"#address-cells": cells(2)})
    child = root.add("serial@10000000", compatible=string("ns16550a"), interrupt_controller=b"")
    child.add("deeper", value=cells(1, 2, 3))
    back = unpack(pack(root))
    assert back == root
    assert back.find("/serial@10000000").props["interrupt-controller"] == b""


@pytest.mark.parametrize(
    ("blob", "says"),
    [
        (b"junk\n", "too short"),
        (bytes(64), "not a device tree blob"),
        (pack(Node(""))[:-8], "the file has"),
        (struct.pack(">I", 0xD00DFEED) + struct.pack(">I", 48) + bytes(40), "version"),
    ],
)
def test_bytes_that_are_not_a_dtb_are_refused_in_one_line(blob, says):
    with pytest.raises(FdtError, match=says) as caught:
        unpack(blob)
    assert "\n" not in str(caught.value)


# --- where it goes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("ram_mib", "address"),
    # What QEMU 7.2 hands a -bios none -kernel image in a1 (tests/test_devicetree_qemu.py checks these).
    [(128, 0x87E0_0000), (64, 0x83E0_0000), (16, 0x80E0_0000), (5, 0x8040_0000), (3, 0x8020_0000)],
)
def test_the_tree_sits_where_qemus_virt_puts_it_and_a1_says_where(ram_mib, address):
    board = booted(ram_mib)
    assert board.dtb_address == board.hart.x[A1] == address
    assert board.hart.x[10] == 0  # a0: the hart id
    assert tree_in_ram(board) == unpack(board.dtb)


def test_in_too_little_ram_for_qemus_place_it_takes_the_highest_page_clear_of_the_image():
    board = booted(1)
    assert board.dtb_address == (RAM_BASE + MIB - len(board.dtb)) // 4096 * 4096
    assert dtb_address(RAM_BASE, MIB, 4000, [(RAM_BASE, RAM_BASE + MIB - 100)]) is None


def test_with_no_tree_a1_is_zero_and_the_top_of_ram_is_untouched():
    board = Board(128 * MIB, dtb=False, ram_fill=0xAA)
    board.load_program(assemble(HALT).data, with_dtb=True)
    assert board.hart.x[A1] == 0 and board.dtb_address is None
    assert board.ram.read_bytes(0x87E0_0000, 64) == b"\xaa" * 64


def test_raw_code_gets_no_tree_unless_asked():
    board = Board(128 * MIB)
    board.load_program(assemble(HALT).data)
    assert board.hart.x[A1] == 0 and board.dtb_address is None


def test_a_users_tree_is_handed_over_as_it_is():
    mine = pack(Node("", {"model": string("mine")}))
    board = booted(dtb=mine)
    assert board.ram.read_bytes(board.hart.x[A1], len(mine)) == mine


def test_a_users_tree_too_big_for_ram_beside_the_image_is_a_load_error():
    board = Board(MIB, dtb=bytes(MIB))
    with pytest.raises(LoadError, match="does not fit"):
        board.load_program(assemble(HALT).data, with_dtb=True)


def test_a_reset_puts_the_tree_back_after_the_guest_wrote_over_it():
    board = Board(8 * MIB)
    board.load("tuivmm/images/hello.elf")
    at = board.dtb_address
    board.ram.write_bytes(at, bytes(16))
    board.reset()
    assert board.hart.x[A1] == at and tree_in_ram(board) == unpack(board.dtb)


# --- what it says ------------------------------------------------------------------


def test_the_tree_describes_the_hart_ram_and_devices_of_this_board(tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(4096))
    board = Board(64 * MIB, disk=str(disk), bootargs="console=ttyS0")
    tree = unpack(board.dtb)
    cpu = tree.find("/cpus/cpu@0")
    assert cpu.props["riscv,isa"] == string("rv32imac_zicsr_zifencei")
    assert cpu.props["mmu-type"] == string("riscv,sv32")
    assert tree.find("/cpus").props["timebase-frequency"] == cells(10_000_000)
    assert reg(tree.find("/memory@80000000")) == (0, RAM_BASE, 0, 64 * MIB)
    assert tree.find("/chosen").props["bootargs"] == string("console=ttyS0")
    assert tree.find("/chosen").props["stdout-path"] == string("/soc/serial@10000000")
    assert tree.find("/soc/serial@10000000").props["interrupts"] == cells(10)
    # Only the populated slot: the disk in slot 0, IRQ 1 (no NIC on this board).
    slots = [node.name for node in tree.find("/soc").children if node.name.startswith("virtio_mmio")]
    assert slots == ["virtio_mmio@10001000"]
    assert tree.find("/soc/virtio_mmio@10001000").props["interrupts"] == cells(1)
    assert tree.find("/poweroff").props["value"] == cells(0x5555)
    assert tree.find("/reboot").props["value"] == cells(0x7777)
    assert not any(node.name.startswith("htif") for node in tree.children)
    board.close()


def test_the_plic_has_qemus_96_sources_and_the_tree_says_so():
    board = Board(MIB)
    assert board.plic.sources == 96
    assert unpack(board.dtb).find("/soc/plic@c000000").props["riscv,ndev"] == cells(95)
    board.plic.write(4 * 95, 4, 7)  # priority[95]: the last source a device may use
    assert board.plic.read(4 * 95, 4) == 7
    board.plic.write(0x2000 + 8, 4, 0xFFFF_FFFF)  # enable word 2 (sources 64..95), context 0
    assert board.plic.enable[0] >> 64 == 0xFFFF_FFFF


def test_a_plic_state_saved_with_32_sources_loads_into_the_96_source_plic():
    board = Board(MIB)
    old = board.plic.save_state() | {"sources": 32, "priority": [0] + [1] * 31}
    board.plic.load_state(old)
    assert board.plic.priority[:32] == [0] + [1] * 31 and board.plic.priority[32:] == [0] * 64
