"""Guest MIPS: million guest instructions per wall-clock second, on the bare machine
and, for compiled C programs, under the VMM too.

    python3 bench/mips.py [--only WHAT] [--insns N] [--repeat R] [--step]

Three assembly workloads, written here so no cross-compiler is needed (bare machine):
  cpu     CRC-32 bit by bit plus multiply/divide mixing (ALU-bound, short loops)
  memory  sieve of Eratosthenes and insertion sort over RAM (loads, stores, branches)
  calls   recursive Fibonacci (call/return, stack frames)
Each loops for ever on a fresh board: the figure is the MIPS over N instructions
(--insns, default 5,000,000) after a warm-up that translates the hot code.

Three compiled C programs (sources in guests/bench/, built by `make -C guests` with
the guests' flags, RV32IMA -O2, and committed as bench/images/NAME.elf):
  fib     recursive Fibonacci, fib(30) = 832040 (calls, returns, stack frames)
  qsort   quicksort of 100,000 words from xorshift32, then an order check and a
          checksum (loads, stores, unpredictable branches)
  sieve   sieve of Eratosthenes below 400,000, then table-driven CRC-32 over its
          400,000 flag bytes (byte stores in strides; table loads and shifts)
Each runs from power-on to power-off on a fresh 16 MiB board (the bare machine) and
as the one guest of a fresh VMM (tuivmm.vmm.Vmm, no disk, no NIC), and prints, one
figure a line:
  instructions   the run's exact count, the same every run (time is virtual: one
                 tick per instruction) and the same bare and under the VMM
  whole run      instructions / seconds, power-on to power-off: translating the
                 code, first touches of memory (and, under the VMM, its exits) count
  steady state   the MIPS over the run's second half: from the first checkpoint at
                 or past half the instructions to power-off (checkpoints every
                 250,000 instructions), when the hot code has long been translated
  VMM / bare     the two ratios, whole run and steady state
Seconds are host wall-clock (time.perf_counter) around the run only: loading the
board or creating the guest is left out.  The printed answer is checked against the
program's expected line.

Each figure is the best of R runs (--repeat; default 3 for the assembly workloads
and 1 for the C programs, whose runs are long; a given R applies to both).  The C
programs' bare and VMM runs are interleaved, so a busy host slows both alike; the
host is shared, so figures vary by 10-20% between runs.  --only picks workloads: a
comma-separated list of names, or `asm` (the three assembly ones) or `c` (the three
C programs).  --step runs the single-step engine instead of translated blocks (the
bare machine's hart, and the real hart under the VMM).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine.board import Board
from machine.cpu.asm import assemble
from machine.runner import BytesInput, ConsoleRunner
from tuivmm.vmm import GuestState, Vmm

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

# The compiled C programs (guests/bench/NAME.c): each one's image and what it prints.
C_IMAGES = ROOT / "bench" / "images"
C_PROGRAMS = {
    "fib": b"fib(30) = 832040\n",
    "qsort": b"qsort: 100000 words, sorted: yes, checksum 0x965eade4\n",
    "sieve": b"sieve: primes below 400000: 33860, crc32 0x9ae75502\n",
}
C_RAM = 16 << 20
CHECKPOINT = 250_000  # instructions between the C runs' looks at the clock


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


# --- the C programs: whole runs, with checkpoints for the steady state ----------------


class Run:
    """One run of a C program, power-on to power-off: its instruction count, its
    checkpoints (instructions, seconds since power-on) and the two figures."""

    def __init__(self, checkpoints: list[tuple[int, float]]):
        self.checkpoints = checkpoints
        self.instructions, self.seconds = checkpoints[-1]

    @property
    def whole_mips(self) -> float:
        return self.instructions / self.seconds / 1e6

    @property
    def steady_mips(self) -> float:
        """The MIPS from the first checkpoint at or past half the instructions to the end."""
        half = next(c for c in self.checkpoints if 2 * c[0] >= self.instructions)
        if half == self.checkpoints[-1]:  # a run shorter than two checkpoints
            half = self.checkpoints[0]
        return (self.instructions - half[0]) / (self.seconds - half[1]) / 1e6


def check_output(name: str, where: str, how: str, output: bytes) -> None:
    if how != "pass" or output != C_PROGRAMS[name]:
        raise SystemExit(f"{name} {where} ended {how}, printing {output[-300:]!r}, not {C_PROGRAMS[name]!r}")


def bare_c(name: str, step: bool) -> Run:
    """A run of bench/images/NAME.elf on the bare machine."""
    board = Board(C_RAM)
    board.load(C_IMAGES / f"{name}.elf")
    board.hart.stepping = step
    runner = ConsoleRunner(board, BytesInput(b""))
    checkpoints = [(0, 0.0)]
    start = time.perf_counter()
    while True:
        outcome = runner.run(CHECKPOINT)
        checkpoints.append((board.hart.icount, time.perf_counter() - start))
        if outcome.kind != "budget":
            break
    check_output(name, "on the bare machine", outcome.kind, bytes(board.output))
    board.close()
    return Run(checkpoints)


def vmm_c(name: str, step: bool) -> tuple[Run, int]:
    """A run of bench/images/NAME.elf as the one guest of a VMM; and its exits."""
    vmm = Vmm()
    vmm.hart.stepping = step  # the real hart the guests run on
    guest = vmm.add_guest(str(C_IMAGES / f"{name}.elf"), ram_size=C_RAM, disk=None, net=False)
    rounds = max(1, CHECKPOINT // vmm.slice_cycles)  # one slice a round: the one guest's
    checkpoints = [(0, 0.0)]
    start = time.perf_counter()
    while guest.state is GuestState.RUNNING:
        vmm.run(max_rounds=rounds)
        checkpoints.append((guest.instructions, time.perf_counter() - start))
    how = guest.halt[0] if guest.state is GuestState.HALTED and guest.halt else guest.state.value
    check_output(name, "under the VMM", how, bytes(guest.output))
    exits = guest.log.total
    vmm.close()
    return Run(checkpoints), exits


def report_c(name: str, repeat: int, step: bool) -> None:
    runs = [(bare_c(name, step), vmm_c(name, step)) for _ in range(repeat)]  # interleaved
    bare = [b for b, _ in runs]
    vmm = [v for _, (v, _) in runs]
    exits = runs[0][1][1]
    bare_whole, bare_steady = max(r.whole_mips for r in bare), max(r.steady_mips for r in bare)
    vmm_whole, vmm_steady = max(r.whole_mips for r in vmm), max(r.steady_mips for r in vmm)
    line = f"{name:8s} {{:<28s}} {{}}".format
    print(line("instructions", f"{bare[0].instructions:,} ({C_PROGRAMS[name].decode().strip()})"))
    if vmm[0].instructions != bare[0].instructions:
        print(line("instructions under the VMM", f"{vmm[0].instructions:,} (differ from the bare machine's!)"))
    print(line("bare machine, whole run", f"{bare_whole:7.3f} MIPS ({min(r.seconds for r in bare):.2f} s)"))
    print(line("bare machine, steady state", f"{bare_steady:7.3f} MIPS"))
    print(line("under the VMM, whole run", f"{vmm_whole:7.3f} MIPS ({min(r.seconds for r in vmm):.2f} s, "
                                           f"{exits:,} exits)"))  # fmt: skip
    print(line("under the VMM, steady state", f"{vmm_steady:7.3f} MIPS"))
    print(line("VMM / bare", f"{vmm_whole / bare_whole:7.3f} whole run, {vmm_steady / bare_steady:.3f} steady state"))
    sys.stdout.flush()


def chosen(only: str | None) -> list[str]:
    """The workloads --only names, in the order they run."""
    every = [*WORKLOADS, *C_PROGRAMS]
    if only is None:
        return every
    names: list[str] = []
    for word in only.split(","):
        word = word.strip()
        picked = list(WORKLOADS) if word == "asm" else list(C_PROGRAMS) if word == "c" else [word]
        for name in picked:
            if name not in every:
                raise SystemExit(f"--only: no workload {name!r} (there are {', '.join(every)}, asm and c)")
            names.append(name)
    return [name for name in every if name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--insns", type=int, default=5_000_000, help="instructions per measurement (assembly)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per workload, the best shown (default 3 assembly, 1 C)")  # fmt: skip
    parser.add_argument("--step", action="store_true", help="single-step engine instead of translated blocks")
    parser.add_argument("--only", metavar="WHAT", help="workloads to run: names, asm or c, comma-separated")
    args = parser.parse_args()
    names = chosen(args.only)
    engine = "single-step" if args.step else "translated blocks"
    print(f"python {sys.version.split()[0]}, engine: {engine}")
    asm = [name for name in names if name in WORKLOADS]
    if asm:
        repeat = args.repeat or 3
        print(f"assembly, bare machine: {args.insns:,} instructions per run, best of {repeat}")
        for name in asm:
            best = max(measure(WORKLOADS[name], args.insns, args.step) for _ in range(repeat))
            print(f"{name:8s} {best:6.2f} MIPS", flush=True)
    c = [name for name in names if name in C_PROGRAMS]
    if c:
        repeat = args.repeat or 1
        print(f"compiled C, power-on to power-off, bare machine and under the VMM: best of {repeat}; "
              f"steady state = the second half")  # fmt: skip
        for name in c:
            report_c(name, repeat, args.step)


if __name__ == "__main__":
    main()
