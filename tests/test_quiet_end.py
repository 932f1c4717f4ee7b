"""Piped input used up, and a guest that sleeps with its UART's receive interrupt on but
keeps a timer armed — as an idle Linux does, ticking about once a second — waits for
more once it has printed nothing for QUIET_S seconds of its own time: `tuivmm bare` and
`tuivmm run` stop there (status 0) instead of running on for ever.  A guest that keeps
printing is not quiet, and runs on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from machine.board import Board
from machine.clock import TIMEBASE_HZ
from machine.cpu.asm import assemble
from machine.runner import QUIET_S, BytesInput, ConsoleRunner

ROOT = Path(__file__).resolve().parents[1]


def ticker(talk_every: int = 0) -> str:
    """The receive interrupt on, then for ever: arm the timer a second ahead, sleep; and
    every `talk_every` seconds (0: never) print a dot."""
    talk = "" if not talk_every else f"""
        addi s1, s1, 1
        li   t0, {talk_every}
        bne  s1, t0, loop
        li   s1, 0
        li   t0, 0x10000000
        li   t1, 46
        sb   t1, 0(t0)
"""
    return f"""
_start:
        li   t0, 0x10000000
        li   t1, 1
        sb   t1, 1(t0)          # IER: the receive interrupt on
        li   t0, 0x80
        csrs mie, t0            # MTIE: the timer wakes WFI (MIE stays off: no trap)
        li   s1, 0
loop:
        li   t0, 0x0200bff8
        lw   t1, 0(t0)          # mtime
        li   t2, {TIMEBASE_HZ}
        add  t1, t1, t2
        li   t0, 0x02004000
        li   t3, -1
        sw   t3, 4(t0)
        sw   t1, 0(t0)          # mtimecmp = now + 1 s
        sw   zero, 4(t0)
        wfi
{talk}        j    loop
"""


def board_of(source: str) -> Board:
    board = Board()
    program = assemble(source)
    board.load_program(program.data, program.entry)
    return board


def test_a_quiet_sleeper_with_a_timer_waits_for_more_after_quiet_s():
    board = board_of(ticker())
    outcome = ConsoleRunner(board, BytesInput(b"")).run(100_000)  # ~20 instructions a second of its time
    assert outcome.kind == "input" and outcome.exit_status == 0
    seconds = board.hart.cycles / board.hart.clock.cycles_per_tick / TIMEBASE_HZ
    assert QUIET_S <= seconds < QUIET_S + 2, seconds


def test_a_sleeper_that_keeps_printing_runs_on():
    board = board_of(ticker(talk_every=QUIET_S // 2))
    outcome = ConsoleRunner(board, BytesInput(b"")).run(300_000)
    assert outcome.kind == "budget"  # it never went quiet for QUIET_S
    assert board.output.count(b".") >= 4


def run(*args: str, source: str, tmp_path: Path) -> subprocess.CompletedProcess:
    (tmp_path / "ticker.S").write_text(source)
    return subprocess.run([sys.executable, "-m", "tuivmm", *args, str(tmp_path / "ticker.S")], input=b"",
                          capture_output=True, timeout=120, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip


def test_tuivmm_bare_and_run_stop_when_the_script_is_done_and_the_guest_is_quiet(tmp_path):
    bare = run("bare", source=ticker(), tmp_path=tmp_path)
    assert (bare.returncode, bare.stderr) == (0, b"tuivmm: the input has ended, and the guest waits for more; stopping\n")
    vmm = run("run", "--no-net", source=ticker(), tmp_path=tmp_path)
    assert vmm.returncode == 0, vmm.stderr
    assert vmm.stderr == b"tuivmm: the input has ended, and ticker waits for more; stopping\n"
    # One that prints a dot every 10 s is never quiet: it runs until its budget.
    talker = run("run", "--no-net", "--max-insns", "400000", source=ticker(talk_every=10), tmp_path=tmp_path)
    assert talker.returncode == 124, talker.stderr
