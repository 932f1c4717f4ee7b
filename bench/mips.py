"""Guest MIPS on the bare machine: million guest instructions per wall-clock second.

    python3 bench/mips.py [--insns N] [--repeat R] [--step]

Three workloads, written in assembly so no cross-compiler is needed:
  cpu     CRC-32 bit by bit plus multiply/divide mixing (ALU-bound, short loops)
  memory  sieve of Eratosthenes and insertion sort over RAM (loads, stores, branches)
  calls   recursive Fibonacci (call/return, stack frames)
Each runs on a fresh board; the figure is the best of R runs after a warm-up.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine.board import Board  # noqa: E402
from machine.cpu.asm import assemble  # noqa: E402

CPU = """
_start:
    li s0, 0            # crc
    li s1, 0x12345      # data word (xorshift state)
    li s2, 0xEDB88320   # reflected CRC-32 polynomial
outer:
    slli t0, s1, 13     # xorshift32
    xor s1, s1, t0
    srli t0, s1, 17
    xor s1, s1, t0
    slli t0, s1, 5
    xor s1, s1, t0
    xor s0, s0, s1
    li t1, 8
bit:
    andi t2, s0, 1
    srli s0, s0, 1
    beqz t2, skip
    xor s0, s0, s2
skip:
    addi t1, t1, -1
    bnez t1, bit
    mul t3, s0, s1      # mix in the M extension
    addi t4, s1, 7
    divu t5, t3, t4
    remu t6, t3, t4
    add s0, s0, t5
    xor s0, s0, t6
    j outer
"""

MEMORY = """
_start:
    la s0, sieve
    li s1, 8192         # sieve size
again:
    mv t0, s0           # mark all as prime
    add t1, s0, s1
fill:
    li t2, 1
    sb t2, 0(t0)
    addi t0, t0, 1
    bltu t0, t1, fill
    li t3, 2
outer:
    mul t4, t3, t3
    bgeu t4, s1, sort
    add t5, s0, t3
    lbu t6, 0(t5)
    beqz t6, next
    add t5, s0, t4
cross:
    sb zero, 0(t5)
    add t5, t5, t3
    add a0, s0, s1
    bltu t5, a0, cross
next:
    addi t3, t3, 1
    j outer
sort:                   # insertion sort of 256 words filled in descending order
    la a0, words
    li a1, 256
    li t0, 0
init:
    slli t1, t0, 2
    add t1, a0, t1
    sub t2, a1, t0
    sw t2, 0(t1)
    addi t0, t0, 1
    bltu t0, a1, init
    li t0, 1
isort:
    bgeu t0, a1, again
    slli t1, t0, 2
    add t1, a0, t1
    lw t2, 0(t1)
    mv t3, t1
shift:
    beq t3, a0, place
    lw t4, -4(t3)
    bgeu t2, t4, place
    sw t4, 0(t3)
    addi t3, t3, -4
    j shift
place:
    sw t2, 0(t3)
    addi t0, t0, 1
    j isort
.align 12               # data in its own pages, as a linker lays out .data
words: .space 1024
sieve: .space 8192
"""

CALLS = """
_start:
    li sp, 0x80100000
again:
    li a0, 20
    call fib
    j again
fib:                    # fib(n) = n < 2 ? n : fib(n-1) + fib(n-2)
    li t0, 2
    blt a0, t0, base
    addi sp, sp, -16
    sw ra, 12(sp)
    sw s0, 8(sp)
    sw s1, 4(sp)
    mv s0, a0
    addi a0, a0, -1
    call fib
    mv s1, a0
    addi a0, s0, -2
    call fib
    add a0, a0, s1
    lw ra, 12(sp)
    lw s0, 8(sp)
    lw s1, 4(sp)
    addi sp, sp, 16
base:
    ret
"""

WORKLOADS = {"cpu": CPU, "memory": MEMORY, "calls": CALLS}


def measure(source: str, insns: int, step: bool) -> float:
    board = Board(2 << 20)
    board.load_program(assemble(source).data)
    hart = board.hart
    hart.stepping = step
    hart.run(min(insns // 10, 200_000))  # warm-up: translate the hot code
    start_count = hart.icount
    start = time.perf_counter()
    hart.run(insns)
    elapsed = time.perf_counter() - start
    return (hart.icount - start_count) / elapsed / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--insns", type=int, default=5_000_000, help="instructions per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per workload (best is shown)")
    parser.add_argument("--step", action="store_true", help="single-step engine instead of translated blocks")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {args.insns:,} instructions per run, best of {args.repeat}, "
          f"engine: {'single-step' if args.step else 'translated blocks'}")  # fmt: skip
    for name, source in WORKLOADS.items():
        best = max(measure(source, args.insns, args.step) for _ in range(args.repeat))
        print(f"{name:8s} {best:6.2f} MIPS")


if __name__ == "__main__":
    main()
