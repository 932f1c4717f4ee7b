"""Cost of the monitor: guest MIPS under the VMM against the bare machine, the price of
one exit, and how throughput scales with the number of guests.

    python3 bench/vmm.py [--quick] [--repeat R]

Figures, one a line, each with its unit (and its target, where it has one):

  1. Virtualization ratio = guest MIPS under the VMM / guest MIPS on the bare machine:
       compute    CPU-bound C kernels; the whole run (target >= 0.95)
       unix       `syscalls N` (N getpid calls, default 20000): only that command's
                  part, i.e. a session `syscalls N; shutdown` less a session
                  `syscalls 1; shutdown` (boot, shell and power-off cancel out);
                  128 MiB guest, as the kernel needs; no target
       trapstorm  CSR accesses, ecalls and timer interrupts in S-mode that all go to
                  M-mode; the whole run (target >= 0.5)
  2. Cost of one exit, in guest instructions: (host seconds per exit) x (compute's
     bare-machine MIPS), i.e. how many instructions the bare machine would have run
     in that time.  Measured with small assembly guests, each against a twin that
     differs only in not exiting, divided by the difference in exits counted by the
     trap log (or hidden faults):
       emulated trap      a loop of `csrr t0, mscratch` in virtual M-mode against the
                          same loop with `addi` (target <= 100)
       hidden page fault  in virtual S-mode under Sv32, one load from each of N fresh
                          4 KiB pages against N loads from one page (target <= 300).
                          The VMM's fault-around maps up to 64 neighbouring pages on
                          one fault, but only pages whose guest PTE already has A set;
                          the N pages' PTEs have A clear, so each costs its own hidden
                          fault (the VMM's walk sets A, as the machine's hardware does).
  3. Share of compute's instructions executed directly on the real hart
     (direct_instructions / instructions; target >= 99.9%).
  4. Scaling: 1, 2, 4, 8 and 16 compute guests at once (16 MiB each, no NIC), run to
     completion: total guest MIPS and MIPS per guest.

Times are host wall-clock (time.perf_counter) around the run only (board load and
guest creation excluded, and garbage earlier runs left collected first); each
figure is the best of R runs (default 3; unix's sessions and the scaling runs, the
dear ones, once, or R with --repeat), and runs that are compared (bare/VMM, a
program and its twin) are interleaved, so a busy host slows both alike.  The host
is shared: figures vary by 10-20% between runs.  --quick runs each once, `syscalls 5000`, smaller microbenchmarks and 1, 2, 4 guests.
--keep-states 2000 measures the VMM as the dashboard runs it, keeping each exit's
before and after for the trap inspector; whatever it says, one more figure compares
the emulated trap's cost with none kept and with 2000 (as the dashboard keeps).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine.board import Board
from machine.cpu.asm import assemble
from machine.runner import BytesInput, ConsoleRunner
from tuivmm.vmm import GuestState, Vmm

IMAGES = ROOT / "tuivmm" / "images"
MIB = 1024 * 1024
UNIX_RAM = 128 * MIB  # the unix kernel's PHYSTOP: it needs all of it
SMALL_RAM = 16 * MIB
KEEP_STATES = 0  # --keep-states
FINISHER = 0x0010_0000
PASS = 0x5555

# --- the microbenchmark guests ------------------------------------------------------

POWER_OFF = f"""
    li t0, {FINISHER:#x}
    li t1, {PASS:#x}
    sw t1, 0(t0)
hang:
    j hang
"""


def trap_loop(n: int, insn: str) -> str:
    """n times `insn` in a loop, in (virtual) M-mode, then power off."""
    return f"""
_start:
    li t1, {n}
loop:
    {insn}
    addi t1, t1, -1
    bnez t1, loop
{POWER_OFF}"""


FAULT_PAGES_PA = 0x8040_0000  # fresh pages, beyond the 4 MiB code megapage
FAULT_VA = 0xC000_0000


def fault_loop(n: int, fresh: bool) -> str:
    """Sv32 in S-mode (PMP open): megapages for the code (0x8000_0000) and the devices (0x0),
    n 4 KiB pages at FAULT_VA with A clear; then one load from each of the n pages
    (`fresh`), or n loads from the first one."""
    tables = -(-n // 1024)
    mega_code = (0x8000_0000 >> 12) << 10 | 0xCF  # V R W X A D
    mega_io = 0xC7  # V R W A D, ppn 0
    return f"""
_start:
    la t0, l0                # the leaves: V R W, A and D clear
    li t1, {FAULT_PAGES_PA >> 12:#x}
    li t2, {tables * 1024}
fill:
    slli t3, t1, 10
    ori t3, t3, 7
    sw t3, 0(t0)
    addi t0, t0, 4
    addi t1, t1, 1
    addi t2, t2, -1
    bnez t2, fill
    la a0, root
    li t1, {mega_io:#x}
    sw t1, 0(a0)
    li t0, {(0x8000_0000 >> 22) * 4}
    add t0, a0, t0
    li t1, {mega_code:#x}
    sw t1, 0(t0)
    li t0, {(FAULT_VA >> 22) * 4}
    add t0, a0, t0           # root entries for the leaf tables
    la t1, l0
    li t2, {tables}
link:
    srli t3, t1, 12
    slli t3, t3, 10
    ori t3, t3, 1
    sw t3, 0(t0)
    addi t0, t0, 4
    li t4, 4096
    add t1, t1, t4
    addi t2, t2, -1
    bnez t2, link
    srli t0, a0, 12
    li t1, 0x80000000
    or t0, t0, t1
    csrw satp, t0
    sfence.vma
    li t0, -1                # PMP: all of memory for S-mode (NAPOT, RWX)
    csrw pmpaddr0, t0
    li t0, 0x1f
    csrw pmpcfg0, t0
    li t0, 0x800             # mstatus.MPP = S
    csrw mstatus, t0
    la t0, supervisor
    csrw mepc, t0
    mret
supervisor:
    li t0, {FAULT_VA:#x}
    li t1, {n}
    li t2, {4096 if fresh else 0}
touch:
    lw t3, 0(t0)
    add t0, t0, t2
    addi t1, t1, -1
    bnez t1, touch
{POWER_OFF}
.align 12
root: .space 4096
l0: .space {tables * 4096}
"""


# --- measuring ------------------------------------------------------------------------


def bare_run(image: str, script: bytes = b"", ram: int = UNIX_RAM) -> tuple[int, float]:
    """(instructions, seconds) for one run of an image on the bare machine."""
    board = Board(ram)
    board.load(IMAGES / image)
    runner = ConsoleRunner(board, BytesInput(script))
    gc.collect()  # see vmm_run
    start = time.perf_counter()
    outcome = runner.run()
    elapsed = time.perf_counter() - start
    if outcome.kind != "pass":
        raise SystemExit(f"{image} on the bare machine ended {outcome.kind}: {bytes(board.output[-300:])!r}")
    board.close()
    return outcome.instructions, elapsed


def vmm_run(count: int = 1, image: str | None = None, script: bytes = b"", ram: int = UNIX_RAM,
            program=None, keep: int | None = None) -> tuple[list, float]:  # fmt: skip
    """(guests, seconds) for `count` guests run together to completion under a VMM
    (keeping `keep` exit states a guest; default: --keep-states)."""
    vmm = Vmm(flawed_eret=False)
    vmm.keep_exit_states(KEEP_STATES if keep is None else keep)
    guests = []
    for _ in range(count):
        if program is not None:
            g = vmm.add_guest(program=program, name="bench", ram_size=ram, disk=None, net=False)
        else:
            g = vmm.add_guest(str(IMAGES / image), ram_size=ram, disk=None, net=False)
        if script:
            g.send_input(script, interactive=False)
        guests.append(g)
    # What earlier runs left (a unix guest's block caches and TLBs, freed only by the
    # cycle collector) is collected now, not in the middle of this run: a collection
    # of it took ~40 ms, which landed in whichever run came next (4 us on each exit of
    # a 10,000-exit microbenchmark).
    gc.collect()
    start = time.perf_counter()
    vmm.run()
    elapsed = time.perf_counter() - start
    for g in guests:
        if g.state is not GuestState.HALTED or g.halt != ("pass", 0):
            raise SystemExit(f"{g.name} under the VMM ended {g.state.value} {g.halt} {g.reason}: "
                             f"{bytes(g.output[-300:])!r}")  # fmt: skip
    vmm.close()
    return guests, elapsed


def best(fn, repeat: int):
    """The run of `fn()` (returning (..., seconds)) with the least time."""
    return min((fn() for _ in range(repeat)), key=lambda r: r[-1])


def best_each(fns, repeat: int) -> list:
    """`best` of each of `fns`, their runs interleaved (so a busy host hurts all alike)."""
    runs = [[fn() for fn in fns] for _ in range(repeat)]
    return [min((r[i] for r in runs), key=lambda r: r[-1]) for i in range(len(fns))]


def verdict(ok: bool) -> str:
    return "met" if ok else "not met"


def line(label: str, value: str, target: str | None = None, ok: bool | None = None) -> None:
    text = f"{label:<44s} {value}"
    if target is not None:
        text += f"  (target {target}: {verdict(bool(ok))})"
    print(text, flush=True)


# --- the figures -----------------------------------------------------------------------


def ratio_whole(name: str, repeat: int, target: float | None) -> tuple[float, object]:
    (insns, bare_t), (guests, vmm_t) = best_each(
        [lambda: bare_run(f"{name}.elf", ram=UNIX_RAM), lambda: vmm_run(1, f"{name}.elf", ram=UNIX_RAM)], repeat
    )
    g = guests[0]
    bare_mips = insns / bare_t / 1e6
    vmm_mips = g.instructions / vmm_t / 1e6
    r = vmm_mips / bare_mips
    line(f"{name}: bare machine", f"{bare_mips:7.3f} MIPS ({insns:,} insns, whole run)")
    line(f"{name}: under the VMM", f"{vmm_mips:7.3f} MIPS ({g.log.total:,} exits)")
    line(f"{name}: virtualization ratio", f"{r:7.3f}", f">= {target}" if target else None,
         r >= target if target else None)  # fmt: skip
    return bare_mips, g


def ratio_unix(calls: int, repeat: int) -> None:
    long_script = f"syscalls {calls}\nshutdown\n".encode()
    short_script = b"syscalls 1\nshutdown\n"
    (bi_long, bt_long), (bi_short, bt_short), (gl, vt_long), (gs, vt_short) = best_each(
        [lambda: bare_run("unix.elf", long_script), lambda: bare_run("unix.elf", short_script),
         lambda: vmm_run(1, "unix.elf", long_script), lambda: vmm_run(1, "unix.elf", short_script)],
        repeat)  # fmt: skip
    bare_mips = (bi_long - bi_short) / (bt_long - bt_short) / 1e6
    vi = gl[0].instructions - gs[0].instructions
    vmm_mips = vi / (vt_long - vt_short) / 1e6
    exits = gl[0].log.total - gs[0].log.total
    what = f"`syscalls {calls}` less `syscalls 1`"
    line("unix: bare machine", f"{bare_mips:7.3f} MIPS ({bi_long - bi_short:,} insns of {what})")
    line("unix: under the VMM", f"{vmm_mips:7.3f} MIPS ({exits:,} exits, {exits / calls:.1f} per call)")
    line("unix: virtualization ratio", f"{vmm_mips / bare_mips:7.3f}")


def exit_cost(label: str, slow, fast, count, bare_mips: float, target: float, repeat: int) -> None:
    """Host time per exit from a program that exits and its twin that does not."""
    (gs, ts), (gf, tf) = best_each(
        [lambda: vmm_run(1, program=slow, ram=SMALL_RAM), lambda: vmm_run(1, program=fast, ram=SMALL_RAM)], repeat
    )
    exits = count(gs[0]) - count(gf[0])
    per_exit = (ts - tf) / exits
    in_insns = per_exit * bare_mips * 1e6
    line(f"{label}: host time", f"{per_exit * 1e6:7.2f} us per exit ({exits:,} exits)")
    line(f"{label}: cost", f"{in_insns:7.1f} guest instructions", f"<= {target:g}", in_insns <= target)


def keeping_cost(slow, fast, count, repeat: int) -> None:
    """What the trap inspector's states add to an exit: exit_cost with the VMM keeping
    none and keeping 2000 (as the dashboard does), the four runs interleaved."""
    runs = best_each([lambda k=k, p=p: vmm_run(1, program=p, ram=SMALL_RAM, keep=k)
                      for k in (0, 2000) for p in (slow, fast)], repeat)  # fmt: skip
    costs = []
    for (gs, ts), (gf, tf) in (runs[0:2], runs[2:4]):
        costs.append((ts - tf) / (count(gs[0]) - count(gf[0])))
    off, on = costs
    line("emulated trap, states kept: host time", f"{on * 1e6:7.2f} us per exit (none kept: {off * 1e6:.2f} us; "
         f"{(on - off) * 1e6:+.2f} us, {100 * (on - off) / off:+.0f}%)")  # fmt: skip


def scaling(counts: list[int], repeat: int) -> None:
    for n in counts:
        guests, t = best(lambda n=n: vmm_run(n, "compute.elf", ram=SMALL_RAM), repeat)
        total = sum(g.instructions for g in guests) / t / 1e6
        line(f"scaling: {n:2d} compute guests, total", f"{total:7.3f} MIPS ({t:.2f} s)")
        line(f"scaling: {n:2d} compute guests, per guest", f"{total / n:7.3f} MIPS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one run each, smaller workloads, up to 4 guests")
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure (best is shown); default 3")
    parser.add_argument("--keep-states", type=int, default=0, metavar="N",
                        help="keep what each guest's newest N exits did, as the dashboard does for its trap "
                             "inspector (it keeps 2000); default 0, as tuivmm run")  # fmt: skip
    args = parser.parse_args()
    global KEEP_STATES
    KEEP_STATES = args.keep_states
    repeat = args.repeat or (1 if args.quick else 3)
    dear = args.repeat or 1  # unix sessions and scaling runs
    calls = 5000 if args.quick else 20000
    traps = 10_000 if args.quick else 40_000
    pages = 1024 if args.quick else 2048
    counts = [1, 2, 4] if args.quick else [1, 2, 4, 8, 16]
    start = time.perf_counter()
    print(f"python {sys.version.split()[0]}, best of {repeat} ({dear} for unix and scaling)"
          f"{', quick' if args.quick else ''}{f', keeping {KEEP_STATES} exit states' if KEEP_STATES else ''}")  # fmt: skip

    bare_mips, compute = ratio_whole("compute", repeat, 0.95)
    ratio_unix(calls, dear)
    ratio_whole("trapstorm", repeat, 0.5)

    exit_cost("emulated trap (csrr mscratch)", assemble(trap_loop(traps, "csrr t0, mscratch")),
              assemble(trap_loop(traps, "addi t0, t0, 1")), lambda g: g.log.total, bare_mips, 100,
              repeat)  # fmt: skip
    exit_cost("hidden page fault", assemble(fault_loop(pages, True)), assemble(fault_loop(pages, False)),
              lambda g: g.hidden_faults, bare_mips, 300, repeat)  # fmt: skip

    keeping_cost(assemble(trap_loop(traps, "csrr t0, mscratch")), assemble(trap_loop(traps, "addi t0, t0, 1")),
                 lambda g: g.log.total, repeat)  # fmt: skip

    share = compute.direct_instructions / compute.instructions
    line("compute: executed directly", f"{share * 100:7.3f} %", ">= 99.9%", share >= 0.999)

    scaling(counts, dear)
    print(f"(took {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
