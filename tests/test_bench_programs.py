"""bench/mips.py's compiled C programs (guests/bench/): the right answers, worked out
here in Python, on QEMU, on our bare machine and under the VMM.

The committed full-size images are tens of millions of instructions each, seconds
on our machine: only QEMU runs those (a fraction of a second).  Ours run small
builds of the same sources (-DFIB_N=... and so on, the sizes below), built once for
the module with guests/Makefile's flags.
"""

import importlib.util
import zlib
from pathlib import Path

import pytest
from toolchain import cross_tool, find_tool, run_qemu, run_tool

from machine.board import Board
from machine.runner import BytesInput, ConsoleRunner
from tuivmm.lineup.packaged import DESCRIPTIONS, IMAGES
from tuivmm.vmm import GuestState, Vmm

ROOT = Path(__file__).resolve().parent.parent
BENCH_IMAGES = ROOT / "bench" / "images"
MASK = 0xFFFF_FFFF

FULL = {"fib": 30, "qsort": 100_000, "sieve": 400_000}  # the sources' defaults
SMALL = {"fib": 15, "qsort": 1_000, "sieve": 5_000}
DEFINE = {"fib": "FIB_N", "qsort": "SORT_N", "sieve": "SIEVE_N"}


# --- the answers, from the C sources' definitions ---------------------------------------


def xorshift32(x: int) -> int:
    x ^= (x << 13) & MASK
    x ^= x >> 17
    x ^= (x << 5) & MASK
    return x


def fib_line(n: int) -> bytes:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) & MASK
    return f"fib({n}) = {a}\n".encode()


def qsort_line(n: int) -> bytes:
    words, x = [], 2463534242
    for _ in range(n):
        x = xorshift32(x)
        words.append(x)
    checksum = 2166136261  # FNV-1a on whole words, in sorted order
    for word in sorted(words):
        checksum = ((checksum ^ word) * 16777619) & MASK
    return f"qsort: {n} words, sorted: yes, checksum 0x{checksum:08x}\n".encode()


def sieve_line(n: int) -> bytes:
    flags = bytearray(n)
    for i in range(2, n):
        flags[i] = all(i % p for p in range(2, int(i**0.5) + 1))
    return f"sieve: primes below {n}: {sum(flags)}, crc32 0x{zlib.crc32(flags):08x}\n".encode()


ANSWER = {"fib": fib_line, "qsort": qsort_line, "sieve": sieve_line}


# --- the images ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict[str, Path]:
    """The three programs built at SMALL sizes: name -> image."""
    cross_tool("gcc")
    out = tmp_path_factory.mktemp("bench-small")
    defs = " ".join(f"-D{DEFINE[name]}={n}" for name, n in SMALL.items())
    images = {name: out / f"{name}.elf" for name in SMALL}
    run_tool(find_tool("make"), "-s", "-C", ROOT / "guests", f"BENCH_OUT={out}", f"BUILD={out / 'build'}",
             f"BENCH_DEFS={defs}", *images.values())  # fmt: skip
    return images


def run_bare(image: Path) -> tuple[str, bytes, int]:
    board = Board(16 << 20)
    board.load(image)
    outcome = ConsoleRunner(board, BytesInput(b"")).run(50_000_000)
    output = bytes(board.output)
    board.close()
    return outcome.kind, output, outcome.instructions


def test_the_benchmark_programs_are_not_guests_of_the_catalogue():
    for name in FULL:
        assert (BENCH_IMAGES / f"{name}.elf").is_file()
        assert name not in DESCRIPTIONS and not (IMAGES / f"{name}.elf").exists()


@pytest.mark.parametrize("name", FULL)
def test_full_size_image_prints_its_answer_on_qemu(name):
    code, output = run_qemu(BENCH_IMAGES / f"{name}.elf")
    assert (code, output) == (0, ANSWER[name](FULL[name]))


def test_bench_mips_expects_the_full_size_answers():
    spec = importlib.util.spec_from_file_location("bench_mips", ROOT / "bench" / "mips.py")
    mips = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mips)
    assert mips.C_PROGRAMS == {name: ANSWER[name](n) for name, n in FULL.items()}
    assert mips.chosen("c") == list(FULL) and mips.chosen("sieve,cpu") == ["cpu", "sieve"]
    run = mips.Run([(0, 0.0), (3_000_000, 1.0), (4_000_000, 1.2), (8_000_000, 2.0)])
    assert run.whole_mips == pytest.approx(4.0) and run.steady_mips == pytest.approx(5.0)  # from 4 M of 8 M


@pytest.mark.parametrize("name", SMALL)
def test_small_build_prints_its_answer_on_the_bare_machine_and_on_qemu(name, small):
    expected = ANSWER[name](SMALL[name])
    assert run_bare(small[name])[:2] == ("pass", expected)
    assert run_qemu(small[name]) == (0, expected)


def test_small_builds_run_the_same_under_the_vmm(small):
    vmm = Vmm()
    guests = {name: vmm.add_guest(str(image), ram_size=16 << 20, disk=None, net=False) for name, image in small.items()}
    vmm.run()
    for name, guest in guests.items():
        _, output, instructions = run_bare(small[name])
        assert guest.state is GuestState.HALTED and guest.halt == ("pass", 0)
        assert bytes(guest.output) == output == ANSWER[name](SMALL[name])
        assert guest.instructions == instructions
    vmm.close()
