"""Who serves Linux's SBI calls, and what it costs: linux booted to its `$ ` prompt
under the VMM, with its own firmware in virtual M-mode (`--sbi firmware`) and with
the VMM serving the calls itself (`--sbi vmm`, tuivmm/vmm/sbi_server.py).

    python3 bench/sbi.py [--runs N]

Each boot runs in this process with the Vmm API as `tuivmm run` runs a guest
(virtual time, no NIC, no disk), slice by slice, until the console shows init's
prompt; the two ways take turns, N times each.  For each way: wall seconds (the
fastest run, and the median), guest instructions retired (the same every run: time
is virtual), exits in all and by reason, and the kernel's SBI calls (ECALLs from
virtual S-mode); then the ratios, and the exits the VMM saves per call by serving it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from machine.cpu import csrs as C
from tuivmm.vmm import Vmm
from tuivmm.vmm import traplog as T

IMAGE = Path(__file__).resolve().parents[1] / "tuivmm" / "images" / "linux.elf"
PROMPT = b"init: no disk\r\n$ "  # init's last line and its prompt, as the terminal writes them
LIMIT_S = 600


def boot(sbi: str) -> tuple[float, dict]:
    """Boot to the prompt: (wall seconds, the figures)."""
    vmm = Vmm()
    g = vmm.add_guest(IMAGE, net=False, sbi=sbi)
    calls = [0]
    g.log.on_event = lambda e: calls.__setitem__(0, calls[0] + 1) if e.reason == T.ECALL and e.priv == C.S else None
    start = time.perf_counter()
    while PROMPT not in g.output:
        vmm.run_slice(g)
        if g.state.finished or time.perf_counter() - start > LIMIT_S:
            raise SystemExit(f"linux ({sbi}) did not reach its prompt: {g.state.value} {g.reason}")
    wall = time.perf_counter() - start
    figures = {"instructions": g.retired_total, "exits": g.log.total, "by reason": dict(g.log.counts),
               "sbi calls": calls[0]}  # fmt: skip
    vmm.close()
    return wall, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="boots of each way (default 1)")
    args = parser.parse_args()
    walls: dict[str, list[float]] = {"firmware": [], "vmm": []}
    figures: dict[str, dict] = {}
    for _ in range(args.runs):
        for sbi, times in walls.items():
            wall, figures[sbi] = boot(sbi)
            times.append(wall)
    for sbi, f in figures.items():
        reasons = ", ".join(f"{reason} {count}" for reason, count in f["by reason"].items() if count)
        print(f"--sbi {sbi}: {min(walls[sbi]):.1f} s (median {statistics.median(walls[sbi]):.1f} s of "
              f"{len(walls[sbi])}), {f['instructions']} instructions, {f['exits']} exits ({reasons}); "
              f"{f['sbi calls']} SBI calls")  # fmt: skip
    fw, vm = figures["firmware"], figures["vmm"]
    saved = (fw["exits"] - vm["exits"]) / max(vm["sbi calls"], 1)
    print(f"vmm / firmware: exits {vm['exits'] / fw['exits']:.2f}, instructions "
          f"{vm['instructions'] / fw['instructions']:.3f}, wall {min(walls['vmm']) / min(walls['firmware']):.2f}; "
          f"{saved:.1f} exits fewer per SBI call")  # fmt: skip


if __name__ == "__main__":
    main()
