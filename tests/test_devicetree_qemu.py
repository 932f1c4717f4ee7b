"""The board's device tree beside QEMU's own (issue 13, item 2): dtc reads ours, the
nodes we share with QEMU's virt say the same things, and an image finds it at the
address QEMU would hand it in a1."""

import os
import subprocess
import sys

import pytest
from toolchain import QEMU, ROOT, cross_tool, find_tool, run_tool

from machine.fdt import Node, unpack

# Where the two trees may differ, and why:
ALLOWED = {
    ("/", "model"),  # "riscv-virtio,qemu" there, "riscv-virtio,tuivmm" here
    ("/cpus/cpu@0", "riscv,isa"),  # QEMU's hart has F, D, H and more; ours is rv32imac
    ("/soc/plic@c000000", "reg"),  # QEMU maps room for 512 harts' contexts; we map 64 MiB
    # QEMU 7.2 says 96, counting the reserved id 0; QEMU 8.0 on say 95, as we do (QEMU's
    # "hw/riscv: virt: Fix the value of "riscv,ndev" in the dtb", Bin Meng, December 2022).
    ("/soc/plic@c000000", "riscv,ndev"),
}


def tuivmm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuivmm", *args], check=False, capture_output=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)  # fmt: skip


def our_dtb(tmp_path, *options: str, image: str = "hello") -> bytes:
    out = tmp_path / "ours.dtb"
    result = tuivmm("bare", "--dumpdtb", str(out), *options, image)
    assert result.returncode == 0, result.stderr
    return out.read_bytes()


def qemu_dtb(tmp_path, ram_mib: int = 128) -> bytes:
    out = tmp_path / "qemu.dtb"
    subprocess.run([find_tool(QEMU), "-machine", f"virt,dumpdtb={out}", "-bios", "none", "-m", f"{ram_mib}M",
                    "-smp", "1", "-display", "none"], capture_output=True, check=True, timeout=60)  # fmt: skip
    return out.read_bytes()


def walk(node: Node, path: str = ""):
    here = path + "/" + node.name if path not in ("", "/") else "/" + node.name
    here = here if node.name else "/"
    yield here, node
    for child in node.children:
        yield from walk(child, here)


def test_dtc_reads_our_tree_without_complaint_beyond_qemus_own(tmp_path):
    dtc = find_tool("dtc")
    (tmp_path / "ours.dtb").write_bytes(our_dtb(tmp_path))
    result = subprocess.run([dtc, "-I", "dtb", "-O", "dts", str(tmp_path / "ours.dtb")], check=False,
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert 'mmu-type = "riscv,sv32";' in result.stdout
    assert 'stdout-path = "/soc/serial@10000000";' in result.stdout
    # dtc's only warning is the one it gives QEMU's tree too (the cpu's interrupt controller).
    warnings = [line for line in result.stderr.splitlines() if "Warning" in line]
    assert all("interrupt_provider" in line for line in warnings), warnings


def test_every_node_we_share_with_qemus_virt_says_what_qemus_says(tmp_path):
    ours = dict(walk(unpack(our_dtb(tmp_path, "--ram", "64", image="unix"))))  # unix: a disk in slot 0
    theirs = dict(walk(unpack(qemu_dtb(tmp_path, 64))))
    assert "/soc/virtio_mmio@10001000" in ours and "/soc/virtio_mmio@10002000" not in ours
    missing = sorted(set(ours) - set(theirs))
    assert missing == [], f"nodes QEMU does not have: {missing}"
    differ = []
    for path, node in ours.items():
        for name, value in node.props.items():
            if (path, name) in ALLOWED or (path, name) == ("/chosen", "bootargs"):
                continue
            if theirs[path].props.get(name) != value:
                differ.append(f"{path} {name}: ours {value!r}, QEMU's {theirs[path].props.get(name)!r}")
    assert differ == []
    # What QEMU's nodes say that ours leave out, among the nodes we share: only the
    # random seed QEMU draws at each start (a run here is the same every time).
    left_out = [(p, n) for p in ours for n in theirs[p].props if n not in ours[p].props]
    assert left_out == [("/chosen", "rng-seed")]


A1_PROGRAM = """
.globl _start
_start:
    li   t0, 0x10000000     # print a1 in hex on the UART
    li   t2, 8
1:  srli t3, a1, 28
    slli a1, a1, 4
    addi t3, t3, 48
    li   t4, 58
    blt  t3, t4, 2f
    addi t3, t3, 39
2:  sb   t3, 0(t0)
    addi t2, t2, -1
    bnez t2, 1b
    li   t0, 0x100000       # power off
    li   t1, 0x5555
    sw   t1, 0(t0)
3:  j    3b
"""


@pytest.mark.parametrize("ram_mib", [128, 5, 3])
def test_an_image_finds_the_tree_at_the_address_qemu_hands_it_in_a1(tmp_path, ram_mib):
    source = tmp_path / "a1.S"
    source.write_text(A1_PROGRAM)
    elf = tmp_path / "a1.elf"
    run_tool(cross_tool("gcc"), "-march=rv32i", "-mabi=ilp32", "-nostdlib", "-Wl,-N", "-Ttext=0x80000000", source, "-o", elf)
    qemu = subprocess.run([find_tool(QEMU), "-machine", "virt", "-bios", "none", "-m", f"{ram_mib}M", "-smp", "1",
                           "-display", "none", "-monitor", "none", "-serial", "stdio", "-kernel", str(elf)],
                          check=False, capture_output=True, timeout=60)  # fmt: skip
    ours = tuivmm("bare", "--ram", str(ram_mib), str(elf))
    assert ours.stdout == qemu.stdout
    assert ours.stdout == {128: b"87e00000", 5: b"80400000", 3: b"80200000"}[ram_mib]
    assert tuivmm("bare", "--no-dtb", str(elf)).stdout == b"00000000"
