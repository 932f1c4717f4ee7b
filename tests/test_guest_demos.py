"""The demo guests hello, trapstorm and compute: each prints the same bytes on our bare
machine as on QEMU, and what it prints is right by an oracle of its own: the fixed
line, the fixed counts, and checksums from the same kernels built for the host."""

import functools
import re
import zlib
from pathlib import Path

from test_cli import tuivmm
from toolchain import find_tool, run_qemu, run_tool

from tuivmm.lineup.packaged import IMAGES

ROOT = Path(__file__).resolve().parent.parent
COMPUTE_SRC = ROOT / "guests" / "compute"

# The driver that prints compute's kernels' results on the host, one per line.
HOST_DRIVER = r"""
#include <stdio.h>
#include "kernels.h"

int main(void)
{
    for (unsigned i = 0; i < nkernels; i++)
        printf("%s %u %08x\n", kernels[i].name, kernels[i].iterations,
               (unsigned)kernels[i].run(kernels[i].iterations));
    return 0;
}
"""


@functools.cache
def console(name: str) -> bytes:
    """What guest `name` prints on our bare machine, checked to be exactly what it
    prints on QEMU, with both powering off with success."""
    elf = IMAGES / f"{name}.elf"
    ours = tuivmm("bare", str(elf))
    qemu_code, qemu_out = run_qemu(elf)
    assert ours.stderr == b""
    assert ours.stdout.decode("latin-1") == qemu_out.decode("latin-1")
    assert (ours.returncode, qemu_code) == (0, 0)
    return ours.stdout


def compute_results(output: bytes) -> dict[str, tuple[int, int]]:
    """compute's lines as name -> (iterations, checksum)."""
    lines = re.findall(rb"compute: (\w+) +(\d+) iterations, checksum 0x([0-9a-f]{8})\n", output)
    return {name.decode(): (int(n), int(sum_, 16)) for name, n, sum_ in lines}


def test_hello_prints_its_line_and_powers_off_as_on_qemu():
    assert console("hello") == b"Hello from hello, a tuivmm guest!\n"


def test_trapstorm_counts_every_csr_op_ecall_and_timer_tick_as_on_qemu():
    assert console("trapstorm") == (
        b"trapstorm: in S-mode; every trap goes to M-mode\n"
        b"trapstorm: 10000 csr ops, 1000 ecalls, 5 timer interrupts\n"
    )


def test_compute_prints_one_line_per_kernel_then_done_as_on_qemu():
    output = console("compute")
    assert list(compute_results(output)) == ["crc32", "sort", "matmul", "sieve"]
    assert output.endswith(b"\ncompute: done\n")


def test_compute_checksums_equal_the_same_kernels_built_for_the_host(tmp_path):
    driver = tmp_path / "driver.c"
    driver.write_text(HOST_DRIVER)
    host = tmp_path / "kernels-host"
    run_tool(find_tool("cc"), "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{COMPUTE_SRC}",
             "-o", host, COMPUTE_SRC / "kernels.c", driver)  # fmt: skip
    expected = {}
    for line in run_tool(host).splitlines():
        name, iterations, checksum = line.split()
        expected[name] = (int(iterations), int(checksum, 16))
    assert compute_results(console("compute")) == expected


def test_compute_crc32_kernel_agrees_with_zlib():
    # kernels.c's CRC input: the low bytes of xorshift32 from seed 0x12345678,
    # 4096 of them, the buffer run through `iterations` times as one stream.
    state, data = 0x12345678, bytearray()
    for _ in range(4096):
        state ^= (state << 13) & 0xFFFF_FFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFF_FFFF
        data.append(state & 0xFF)
    iterations, checksum = compute_results(console("compute"))["crc32"]
    assert checksum == zlib.crc32(bytes(data) * iterations)
