"""What an idle machine costs the host: the CPU time of a tuivmm process whose guests
all wait at their prompts, over a wall-clock window.

    python3 bench/idle.py [--boot 15] [--window 20] [--size 160x50] [--linux]

Each case starts tuivmm on a pseudo-terminal of its own (as a person runs it, at
--size), lets the guests boot for --boot seconds, then reads the process's user and
system CPU time (/proc/PID/stat) at the start and the end of a --window of wall time
and prints the share of one core it used, and its resident memory (VmRSS) then:

  dashboard         `tuivmm`: the default lineup (two unix, basic, eret-escape) in the
                    dashboard, nothing typed
  dashboard 80x24   the same on an 80 x 24 terminal
  run unix          `tuivmm run unix` on a terminal, idle at its prompt

and with --linux (Linux takes a minute or more to boot under the VMM: these cases
get LINUX_BOOT seconds, or --boot if it is longer):

  run linux         `tuivmm run linux`, idle at its `$ ` prompt (an idle Linux still
                    arms its timer: about one wake-up a second)
  dashboard linux   `tuivmm dash --config linux`: two Linux guests, unix and basic

The issue's aim: under 5% of one core for the dashboard with its default lineup idle.
The host is shared and small: expect a point or two of noise.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

CASES = [
    ("dashboard", [], None),
    ("dashboard 80x24", [], (80, 24)),
    ("run unix", ["run", "unix"], None),
]
LINUX_BOOT = 240.0  # seconds: two Linux guests share the CPU as they boot in the dashboard
LINUX_CASES = [
    ("run linux", ["run", "linux"], None),
    ("dashboard linux", ["dash", "--config", "linux"], None),
]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15)


def drain(fd: int, seconds: float) -> None:
    """Read (and drop) what the program writes for `seconds`, as a terminal would."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if select.select([fd], [], [], min(left, 0.2))[0]:
            try:
                os.read(fd, 65536)
            except OSError:
                return


def resident_mib(pid: int) -> float:
    """The process's resident set (VmRSS), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(args: list[str], size: tuple[int, int], boot: float, window: float) -> tuple[float, float]:
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["PYTHONPATH"] = str(ROOT)
        os.environ["TERM"] = "xterm-256color"
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "tuivmm", *args])
    columns, lines = size
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    try:
        drain(fd, boot)
        start_cpu, start = cpu_seconds(pid), time.monotonic()
        drain(fd, window)
        used, took = cpu_seconds(pid) - start_cpu, time.monotonic() - start
        return 100 * used / took, resident_mib(pid)
    finally:
        os.kill(pid, signal.SIGTERM)
        drain(fd, 1)
        os.waitpid(pid, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boot", type=float, default=15.0, help="seconds to let the guests boot (default 15)")
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured (default 20)")
    parser.add_argument("--size", default="160x50", help="the terminal's size, COLUMNSxLINES (default 160x50)")
    parser.add_argument("--linux", action="store_true", help="also idle Linux guests (slow: each boots for minutes)")
    options = parser.parse_args()
    default = tuple(int(n) for n in options.size.lower().split("x"))
    print(f"idle CPU share of one core, {options.window:.0f} s window after {options.boot:.0f} s of boot; "
          "resident memory at the window's end")  # fmt: skip
    cases = [(case, options.boot) for case in CASES]
    if options.linux:
        cases += [(case, max(options.boot, LINUX_BOOT)) for case in LINUX_CASES]
    for (name, args, size), boot in cases:
        share, rss = measure(args, size or default, boot, options.window)
        print(f"  {name:<18} {share:5.1f}%  {rss:6.1f} MiB", flush=True)


if __name__ == "__main__":
    main()
