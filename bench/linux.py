"""Linux's boot to its shell prompt: on the bare machine, under the VMM alone, and under
the VMM beside unix and basic.

    python3 bench/linux.py [--skip-bare] [--skip-crowd]

From power-on (our SBI firmware's first instruction) to the shell's first `$ ` prompt
(tuivmm/images/linux.elf: firmware, Debian's Linux 6.1, our userland), it prints:

  1. bare        `tuivmm bare linux`'s machine (no NIC, no disk): guest instructions,
                 host seconds, MIPS, the blocks translated (each starts cold,
                 interpreted, and is compiled only once it has run 256 passes:
                 machine/cpu/interp.py); then a second boot in the same process, on a
                 fresh board, as after a reboot: the engine's cache of compiled
                 block code (machine/cpu/engine.py) is warm, so nothing is compiled
  2. vmm         `tuivmm run --no-net --no-disk linux`'s VMM, the same devices as bare:
                 instructions, seconds, MIPS; the VMM/bare ratio of the seconds and of
                 the MIPS; exits by reason, the hidden and true page faults and the
                 single-page shadow flushes during the boot
  3. storm       after that boot, N commands typed at once (`uname`, N = --storm,
                 default 10), each a fork and exec of a new process with its own
                 address space and ASID, until the Nth prompt: seconds, exits, hidden
                 page faults and shadow flushes (the VMM keeps each process's
                 shadow across satp writes; an SFENCE.VMA naming an ASID drops only
                 that process's)
  4. crowd       linux (with a NIC on the switch) beside unix and basic, as a
                 dashboard lineup runs them: seconds until Linux's prompt and every
                 guest's instructions by then (unix and basic boot quickly and then
                 sleep at their prompts, which costs next to nothing)

Each run but the second boot starts with the code cache empty, as a new tuivmm
process does.  Times are host wall-clock (time.perf_counter) around the runs only;
guest time is virtual, so the instruction counts are exact and the same every run;
the seconds vary with the host (10-20% on a shared machine).  Each run is done once: a boot
takes 20-60 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine.board import Board
from machine.clock import NEVER
from machine.cpu import engine
from machine.cpu.trap import ExitKind
from tuivmm.vmm import GuestState, Vmm
from tuivmm.vmm import traplog as T

IMAGES = ROOT / "tuivmm" / "images"
LINUX = IMAGES / "linux.elf"
PROMPT = b"\n$ "
SLICE = 100_000


def at_prompt(output: bytearray, seen: int) -> bool:
    """Whether the shell's prompt is in `output` past `seen` - 3 (a cheap look at the tail)."""
    return output.find(PROMPT, max(seen - 3, 0)) >= 0


def cold() -> None:
    """Forget the code compiled so far, as a new tuivmm process starts without it."""
    engine.forget_compiled()


def bare() -> tuple[int, float, object]:
    board = Board()
    board.load(LINUX)
    hart = board.hart
    start = time.perf_counter()
    seen = 0
    while not at_prompt(board.output, seen):
        seen = len(board.output)
        exit_ = hart.run(SLICE)
        if exit_.kind is ExitKind.WFI:
            if hart.clock.alarm_cycle >= NEVER:
                raise SystemExit("bench/linux.py: the bare machine fell asleep for good before the prompt")
            hart.skip_to_alarm()
        elif exit_.kind is ExitKind.HALT:
            raise SystemExit(f"bench/linux.py: the bare machine halted ({exit_.halt}) before the prompt")
    return hart.icount, time.perf_counter() - start, hart


def vmm(crowd: bool) -> tuple[Vmm, float]:
    """Boot linux under the VMM (beside unix and basic if `crowd`) until its prompt."""
    monitor = Vmm()
    linux = monitor.add_guest(LINUX, disk=None, net=crowd)
    if crowd:
        monitor.add_guest(IMAGES / "unix.elf", disk=None)
        monitor.add_guest(IMAGES / "basic.elf", disk=None)
    start = time.perf_counter()
    seen = 0
    while not at_prompt(linux.output, seen):
        seen = len(linux.output)
        if not monitor.run_round() or linux.state is not GuestState.RUNNING:
            raise SystemExit(f"bench/linux.py: linux stopped before its prompt ({linux.state}: {linux.reason})")
    return monitor, time.perf_counter() - start


def storm(monitor: Vmm, count: int) -> None:
    """Type `count` commands at once into the booted Linux guest; time them to the last prompt."""
    g = monitor.guests[0]

    def tally() -> tuple[int, int, int, int]:
        exits = sum(g.log.counts.values()) - g.log.counts[T.INTERRUPT]
        return exits, g.hidden_faults, g.flushes + g.page_flushes, g.instructions

    before = tally()
    seen = len(g.output)
    g.send_input(b"uname\n" * count)
    start = time.perf_counter()
    while g.output.count(PROMPT, max(seen - 3, 0)) < count:
        if not monitor.run_round() or g.state is not GuestState.RUNNING:
            raise SystemExit(f"bench/linux.py: linux stopped in the storm ({g.state}: {g.reason})")
    seconds = time.perf_counter() - start
    exits, hidden, flushes, insns = (b - a for a, b in zip(before, tally()))
    print(f"storm  {count} x uname  {seconds:7.2f} s  {insns:,} instructions; exits {exits:,}, "
          f"hidden page faults {hidden:,}, shadow flushes {flushes:,}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="Linux's boot to its shell prompt, bare and under the VMM")
    parser.add_argument("--skip-bare", action="store_true", help="leave out the bare machine")
    parser.add_argument("--skip-crowd", action="store_true", help="leave out the run beside unix and basic")
    parser.add_argument("--storm", type=int, default=10, metavar="N", help="commands in the exec storm (default 10)")
    args = parser.parse_args()

    bare_insns = bare_seconds = None
    if not args.skip_bare:
        cold()
        bare_insns, bare_seconds, hart = bare()
        print(f"bare   {bare_insns:>12,} instructions  {bare_seconds:7.1f} s  {bare_insns / bare_seconds / 1e6:5.2f} MIPS"
              f"  ({hart.blocks_interpreted:,} blocks started cold, {hart.blocks_translated:,} compiled)")  # fmt: skip
        again_insns, again_seconds, _ = bare()
        print(f"again  {again_insns:>12,} instructions  {again_seconds:7.1f} s  "
              f"{again_insns / again_seconds / 1e6:5.2f} MIPS  (a second boot: its code compiled already)")  # fmt: skip

    cold()
    monitor, seconds = vmm(crowd=False)
    g = monitor.guests[0]
    insns = g.instructions
    print(f"vmm    {insns:>12,} instructions  {seconds:7.1f} s  {insns / seconds / 1e6:5.2f} MIPS"
          f"  ({g.direct_instructions / insns:.2%} run directly on the real hart)")  # fmt: skip
    if bare_seconds is not None:
        print(f"vmm/bare  seconds {seconds / bare_seconds:.2f}x   MIPS {insns / seconds / (bare_insns / bare_seconds):.2f}")
    counts = g.log.counts
    total = sum(counts.values()) - counts[T.INTERRUPT]
    print(f"exits  {total:>12,} during the boot ({total / seconds:,.0f} a second); by reason:")
    for reason, count in sorted(counts.items(), key=lambda item: -item[1]):
        if count:
            print(f"         {reason:<12} {count:>9,}")
    print(f"         (hidden page faults {g.hidden_faults:,}, true {g.true_faults:,}; "
          f"single-page shadow flushes {g.page_flushes:,}; interrupts delivered are counted, not exits)")  # fmt: skip

    storm(monitor, args.storm)

    if not args.skip_crowd:
        cold()
        monitor, seconds = vmm(crowd=True)
        parts = ", ".join(f"{guest.name} {guest.instructions:,}" for guest in monitor.guests)
        print(f"crowd  {seconds:7.1f} s to linux's prompt beside unix and basic; instructions: {parts}")


if __name__ == "__main__":
    main()
