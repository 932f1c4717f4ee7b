"""Whole guests under the VMM: every packaged guest prints what it prints on the bare
board; several guests of different kinds at once (two unix guests pinging each other
through the virtual switch); the same session twice is the same run, trap for trap;
the ERET gotcha matrix, through the API; and the tickless guests, idle at their
prompts with no timer armed."""

from __future__ import annotations

import itertools
import re
import time

import pytest
from test_guests import SCRIPTS

from machine.board import Board
from machine.clock import NEVER, TIMEBASE_HZ
from machine.runner import BytesInput, ConsoleRunner
from tuivmm.lineup.packaged import DESCRIPTIONS, IMAGES
from tuivmm.vmm import GuestState, Vmm
from tuivmm.vmm import traplog as T

PING = b"ping 10.0.0.2 2\n"


def bare_console(name: str, script: bytes) -> tuple[str, bytes]:
    board = Board()
    board.load(IMAGES / f"{name}.elf")
    outcome = ConsoleRunner(board, BytesInput(script)).run(300_000_000)
    return outcome.kind, bytes(board.output)


def vmm_guest(vmm: Vmm, name: str, **options):
    return vmm.add_guest(IMAGES / f"{name}.elf", disk=None, **options)


# linux needs a session that ends in poweroff: tests/test_linux_guest.py runs one on
# each machine and compares what its commands print.
@pytest.mark.parametrize("name", [name for name in DESCRIPTIONS if name != "linux"])
def test_packaged_guest_prints_byte_for_byte_what_it_prints_on_the_bare_board(name):
    script = SCRIPTS.get(name, b"")
    kind, expected = bare_console(name, script)
    assert kind == "pass"
    vmm = Vmm()
    g = vmm_guest(vmm, name, net=False)  # the bare board has no network card either
    if script:
        g.send_input(script, interactive=False)
    vmm.run(max_rounds=20_000)
    assert (g.state, g.halt) == (GuestState.HALTED, ("pass", 0)), g.reason
    assert bytes(g.output) == expected
    assert g.log.total > 0 and g.direct_instructions > 0


def test_four_guests_of_three_kinds_at_once_with_two_unix_guests_pinging():
    vmm = Vmm()
    one = vmm_guest(vmm, "unix")
    two = vmm_guest(vmm, "unix")
    basic = vmm_guest(vmm, "basic")
    escape = vmm_guest(vmm, "eret-escape")
    one.send_input(PING + b"shutdown\n", interactive=False)
    basic.send_input(SCRIPTS["basic"], interactive=False)
    rounds = 0
    while vmm.run_round():
        rounds += 1
        assert rounds < 5_000, [(g.name, g.state) for g in vmm.guests]
        # The second unix guest answers while its shell waits; it powers off after.
        if b"packets transmitted" in one.output and b"$ shutdown" not in two.output and not two.input:
            two.send_input(b"shutdown\n", interactive=False)
    for g in (one, two, basic, escape):
        assert (g.state, g.halt) == (GuestState.HALTED, ("pass", 0)), (g.name, g.reason, bytes(g.output)[-300:])
    a, b = one.output.decode(), two.output.decode()
    assert "unix: net 10.0.0.1 mac 52:54:00:00:00:01\n" in a
    assert "unix: net 10.0.0.2 mac 52:54:00:00:00:02\n" in b
    assert ("$ ping 10.0.0.2 2\n64 bytes from 10.0.0.2: icmp_seq=1\n64 bytes from 10.0.0.2: icmp_seq=2\n"
            "2 packets transmitted, 2 received\n$ shutdown\nunix: power off\n") in a  # fmt: skip
    assert b.endswith("$ shutdown\nunix: power off\n")
    assert "HI42" in basic.output.decode()
    assert escape.output.decode().splitlines()[-1] == "ERET-ESCAPE: PROTECTED"
    assert vmm.switch.frames >= 4 and one.port.frames_in >= 3 and two.port.frames_in >= 3
    # Each guest's RAM stays its own: four windows, disjoint, none over the shadow pool.
    spans = sorted((g.window.host_base, g.window.host_base + g.window.size) for g in vmm.guests)
    assert all(hi <= lo for (_, hi), (lo, _) in itertools.pairwise(spans))
    assert not vmm.pool.contains(spans[0][0])


def unix_session(script: bytes):
    vmm = Vmm()
    g = vmm_guest(vmm, "unix")
    g.send_input(script, interactive=False)
    vmm.run(max_rounds=20_000)
    return g


def test_the_same_session_twice_is_the_same_run_exit_for_exit():
    script = b"echo hi\nps\nbench 2\nfault\nmem\nshutdown\n"
    first, second = unix_session(script), unix_session(script)
    assert first.halt == second.halt == ("pass", 0)
    assert bytes(first.output) == bytes(second.output)
    assert b"killed: store page fault" in first.output
    seq = [(e.pc, e.cause, e.reason, e.action) for e in first.log.events]
    assert seq == [(e.pc, e.cause, e.reason, e.action) for e in second.log.events]
    assert len(seq) > 1000
    assert first.log.counts == second.log.counts
    assert first.instructions == second.instructions


# --- the ERET gotcha, through the API ---------------------------------------------------------------

MATRIX = [
    # (hardware with the flaw?, remedy, guest, verdict)
    (False, "none", "eret-escape", "PROTECTED"),
    (True, "none", "eret-escape", "ESCAPED"),
    (True, "bt", "eret-escape", "PROTECTED"),
    (True, "hw", "eret-escape", "PROTECTED"),
    (True, "pv", "eret-escape-pv", "PROTECTED"),
]


def run_escape(flawed: bool, remedy: str, name: str):
    vmm = Vmm(flawed_eret=flawed)
    g = vmm_guest(vmm, name, remedy=remedy, net=False)
    vmm.run(max_rounds=2_000)
    assert (g.state, g.halt) == (GuestState.HALTED, ("pass", 0)), g.reason
    return g


@pytest.fixture(scope="module")
def matrix() -> dict:
    return {(flawed, remedy): run_escape(flawed, remedy, name) for flawed, remedy, name, _ in MATRIX}


@pytest.mark.parametrize(("flawed", "remedy", "name", "verdict"), MATRIX,
                         ids=[f"{'flawed' if f else 'correct'}-{r}" for f, r, _, _ in MATRIX])  # fmt: skip
def test_eret_escape_verdict(matrix, flawed, remedy, name, verdict):
    g = matrix[(flawed, remedy)]
    last = g.output.decode().splitlines()[-1]
    assert last.startswith(f"ERET-ESCAPE: {verdict}")


def test_each_remedy_leaves_its_own_mark_in_the_trap_log(matrix):
    correct, naive = matrix[(False, "none")], matrix[(True, "none")]
    bt, hw, pv = matrix[(True, "bt")], matrix[(True, "hw")], matrix[(True, "pv")]
    xrets = lambda g: [e for e in g.log.events if e.reason == T.XRET and e.action == T.EMULATED]
    # Correct hardware and hw assist: every SRET of the kernel traps and is emulated.
    assert len(xrets(hw)) == len(xrets(correct)) > len(xrets(naive))
    assert [e.insn for e in xrets(hw)] == [e.insn for e in xrets(correct)]
    assert any(e.insn == 0x1020_0073 for e in xrets(hw))
    # The naive VMM never saw the kernel's SRET to user mode.
    assert not any(e.insn == 0x1020_0073 for e in xrets(naive))
    # bt: it scanned code pages before they ran, then emulated what it patched.
    assert bt.log.actions.get("bt scan", 0) >= 1 and bt.bt.patches >= 1
    assert any(e.insn == 0x1020_0073 for e in xrets(bt))
    for g in (correct, naive, hw, pv):
        assert g.log.actions.get("bt scan", 0) == 0
    # pv: the kernel's returns to user mode are HV_SRET hypercalls, served.
    served = [e for e in pv.log.events if e.reason == T.HYPERCALL]
    assert served and all(e.action == T.SERVED and "HV_SRET" in e.detail for e in served)
    assert not any(e.insn == 0x1020_0073 for e in xrets(pv))
    for g in (correct, naive, bt, hw):
        assert g.log.counts[T.HYPERCALL] == 0


# --- the tickless guests: asleep at their prompts, they cost the monitor nothing ---------------------

NO_TIMER = (1 << 64) - 1  # mtimecmp all ones: the CLINT's "never"


def assert_idle_with_no_timer(g) -> None:
    assert g.state is GuestState.IDLE, (g.name, g.state, g.reason)
    assert g.board.clint.mtimecmp == NO_TIMER
    assert g.vcpu.clock.alarm_cycle >= NEVER


def test_unix_idles_at_its_prompt_with_its_timer_disarmed_and_still_answers_a_ping():
    vmm = Vmm()
    one, two = vmm_guest(vmm, "unix"), vmm_guest(vmm, "unix")
    vmm.run(max_rounds=20_000)  # both boot, then wait at their prompts
    for g in (one, two):
        assert g.output.endswith(b"unix shell: type help\n$ ")
        assert_idle_with_no_timer(g)
    assert not vmm.run_round()  # nothing to run at all
    asleep_exits, asleep_output = two.log.total, bytes(two.output)
    one.send_input(PING, interactive=False)
    vmm.run(max_rounds=20_000)
    assert one.output.endswith(b"2 packets transmitted, 2 received\n$ "), bytes(one.output)[-300:]
    # Two answered ARP and both echo requests from its card's interrupt, with no input
    # and no clock tick to wake it, then went back to sleep the same way.
    assert two.board.net.frames_received >= 3 and two.board.net.frames_sent >= 3
    assert two.log.total > asleep_exits and bytes(two.output) == asleep_output
    for g in (one, two):
        assert_idle_with_no_timer(g)


def test_a_realtime_unix_idle_for_a_second_counts_that_second_in_its_uptime():
    vmm = Vmm(realtime=True)  # as the dashboard runs guests
    g = vmm_guest(vmm, "unix", net=False)

    def uptime() -> int:
        g.send_input(b"uptime\n", interactive=False)
        before = len(re.findall(rb"up \d+ ticks", bytes(g.output)))
        deadline = time.monotonic() + 60
        while g.state is not GuestState.IDLE or len(re.findall(rb"up \d+ ticks", bytes(g.output))) == before:
            assert time.monotonic() < deadline, bytes(g.output)[-300:]
            vmm.run_round()
        return int(re.findall(rb"up (\d+) ticks", bytes(g.output))[-1])

    first = uptime()
    assert_idle_with_no_timer(g)
    exits, clock = g.log.total, g.clock_now()
    time.sleep(1.0)
    assert not vmm.run_round() and g.log.total == exits  # asleep, no tick: nothing ran
    # What the dashboard shows as its uptime goes on meanwhile, as `uptime` will say.
    assert g.clock_now() - clock >= TIMEBASE_HZ
    second = uptime()
    assert 100 <= second - first < 1000, (first, second)


def test_basic_idles_at_its_prompt_and_again_after_a_pause_cut_short_by_ctrl_c():
    vmm = Vmm()
    g = vmm_guest(vmm, "basic", net=False)
    vmm.run(max_rounds=2_000)
    assert g.output.endswith(b"READY.\n")
    assert_idle_with_no_timer(g)
    g.send_input(b"PAUSE 100000\n", interactive=False)
    vmm.run(max_rounds=50)
    assert g.state is GuestState.RUNNING and g.vcpu.sleeping  # in PAUSE: its alarm armed, 1000 s away
    assert g.board.clint.mtimecmp != NO_TIMER
    g.send_input(b"\x03PRINT TICKS<100\n", interactive=False)
    vmm.run(max_rounds=2_000)
    assert g.output.endswith(b"PAUSE 100000\nBREAK\nREADY.\nPRINT TICKS<100\n1\nREADY.\n"), bytes(g.output)
    assert_idle_with_no_timer(g)


def test_a_realtime_guest_asleep_with_its_timer_far_ahead_naps_until_it_not_slice_by_slice():
    """An idle Linux kernel always has a timer armed, often a second or more away.  As
    the dashboard runs guests (realtime), a sleeping guest's task naps until its timer
    (looking again every MAX_NAP_S), not at the end of every slice's few milliseconds
    of guest time: that cost the host hundreds of empty slices a second per guest.
    Input still cuts the nap short."""
    import asyncio

    from tuivmm.vmm.monitor import MAX_NAP_S

    vmm = Vmm(realtime=True)
    g = vmm_guest(vmm, "basic", net=False)
    while not g.output.endswith(b"READY.\n"):
        vmm.run_round()
    g.send_input(b"PAUSE 100000\n", interactive=False)  # its timer: 1000 s away
    while not (g.vcpu.sleeping and g.board.clint.mtimecmp != NO_TIMER):
        vmm.run_round()

    seen = {}

    async def serve() -> None:
        task = asyncio.create_task(vmm.serve(g))
        slices, exits = vmm.slices_run, g.log.total
        await asyncio.sleep(1.1)  # mid-nap: naps of MAX_NAP_S began about 0, 0.25, ... 1.0 s in
        seen["slices"], seen["exits"] = vmm.slices_run - slices, g.log.total - exits
        g.send_input(b"\x03", interactive=False)  # Ctrl-C: the nap ends at once, PAUSE breaks
        await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(serve())
    assert seen["slices"] <= 2 + 1.1 / MAX_NAP_S, seen  # 550 slices, before
    assert seen["exits"] == 0
    assert g.output.endswith(b"BREAK\nREADY.\n"), bytes(g.output)[-100:]  # within 0.05 s, not at the nap's end
