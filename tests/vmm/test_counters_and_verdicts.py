"""Zeroing a guest's counters while it runs on, and the verdict a packaged guest gives
on its console (eret-escape's ESCAPED or PROTECTED), as the VMM reports them."""

from __future__ import annotations

import re

import pytest
from test_cli import tuivmm

from tuivmm.lineup.packaged import VERDICTS, resolve, verdict_rule
from tuivmm.vmm import GuestState, Vmm
from tuivmm.vmm import traplog as T
from tuivmm.vmm.traplog import RateMeter

# --- zeroing the counters -------------------------------------------------------------------


def counters(g) -> tuple:
    return (g.log.total, dict(g.log.counts), dict(g.log.actions), g.hidden_faults, g.true_faults,
            g.direct_instructions, g.emulated_instructions)  # fmt: skip


def test_zeroed_counters_start_from_zero_and_grow_while_the_guest_runs_on_as_it_was():
    vmm = Vmm()
    g = vmm.add_guest(resolve("trapstorm"), net=False)
    vmm.run_slice(g, 30_000)
    assert g.log.total > 0 and g.direct_instructions > 0 and g.hidden_faults > 0
    at = (g.instructions, g.vcpu.cycles, g.pc, len(g.output))
    kept = len(g.log.events)
    g.zero_counters("zeroed by the test")
    assert g.state is GuestState.RUNNING
    assert counters(g) == (0, dict.fromkeys(T.REASONS, 0), {}, 0, 0, 0, 0)
    # Not a reset: the machine is as it was, its clock and its instruction count too.
    assert (g.instructions, g.vcpu.cycles, g.pc, len(g.output)) == at
    # The log keeps its lines, and says where the counting started again.
    assert len(g.log.events) == kept + 1
    marker = g.log.events[-1]
    assert (marker.reason, marker.action) == (T.RESET, T.ZEROED) and marker.time == at[1]
    assert "counters zeroed by the test" in marker.describe() and "fresh machine" not in marker.describe()
    vmm.run_slice(g, 30_000)
    assert g.log.total > 0 and g.log.counts[T.CSR] > 0 and g.direct_instructions > 0
    assert g.log.total == sum(g.log.counts.values()) == len(g.log.events) - kept - 1


def test_zeroing_the_counters_changes_nothing_the_guest_does():
    def run(zero_at: int | None):
        vmm = Vmm()
        g = vmm.add_guest(resolve("compute"), net=False)
        if zero_at is not None:
            vmm.run_slice(g, zero_at)
            g.zero_counters()
        vmm.run()
        return g

    plain, zeroed = run(None), run(200_000)
    assert zeroed.state is plain.state is GuestState.HALTED
    assert zeroed.output == plain.output and zeroed.instructions == plain.instructions
    exits = [e for e in zeroed.log.sequence_of() if e[2] != T.RESET]
    assert exits == plain.log.sequence_of()
    assert 0 < zeroed.log.total < plain.log.total


def test_exit_rates_start_again_after_the_counters_are_zeroed():
    vmm = Vmm()
    g = vmm.add_guest(resolve("trapstorm"), net=False)
    meter = RateMeter()
    meter.sample(g.log, 0.0)
    vmm.run_slice(g, 20_000)
    assert sum(meter.sample(g.log, 1.0).values()) > 0 and meter.history
    g.zero_counters()
    assert all(rate == 0 for rate in meter.sample(g.log, 2.0).values()) and not meter.history
    vmm.run_slice(g, 20_000)
    rates = meter.sample(g.log, 3.0)
    # Rates from the zeroed counters, not negative ones from the counts before.
    assert rates[T.CSR] == g.log.counts[T.CSR] > 0 and list(meter.history) == [g.log.total]


# --- verdicts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flawed", "remedy", "name", "verdict"),
    [(True, "none", "eret-escape", "ESCAPED"), (True, "hw", "eret-escape", "PROTECTED"),
     (True, "bt", "eret-escape", "PROTECTED"), (True, "pv", "eret-escape-pv", "PROTECTED"),
     (False, "none", "eret-escape", "PROTECTED")],
)  # fmt: skip
def test_an_eret_escape_guest_s_verdict_is_what_it_printed_once_it_has_halted(flawed, remedy, name, verdict):
    vmm = Vmm(flawed_eret=flawed)
    g = vmm.add_guest(resolve(name), remedy=remedy, net=False)
    assert g.verdict_rule is VERDICTS[name] and g.verdict is None
    vmm.run()
    assert (g.state, g.halt) == (GuestState.HALTED, ("pass", 0))
    assert g.verdict == verdict
    assert f"ERET-ESCAPE: {verdict}" in g.output.decode().splitlines()[-1]


def test_a_reset_guest_has_no_verdict_until_it_gives_one_again():
    vmm = Vmm(flawed_eret=True)
    g = vmm.add_guest(resolve("eret-escape"), net=False)
    vmm.run()
    assert g.verdict == "ESCAPED"
    g.set_remedy("hw")
    g.reset()
    assert g.verdict is None  # the ESCAPED on its console is from before
    vmm.run_slice(g, 20_000)
    assert g.state is GuestState.RUNNING and g.verdict is None
    vmm.run()
    assert g.verdict == "PROTECTED"


def test_guests_that_give_no_verdict_have_none():
    vmm = Vmm()
    g = vmm.add_guest(resolve("hello"))
    vmm.run()
    assert g.state is GuestState.HALTED and g.verdict_rule is None and g.verdict is None
    assert verdict_rule("unix") is None and verdict_rule(resolve("eret-escape-pv")) is VERDICTS["eret-escape-pv"]


def test_run_stats_name_each_guest_s_verdict():
    result = tuivmm("run", "--flawed-eret", "--stats", "--remedy", "eret-escape-2=bt", "eret-escape", "eret-escape",
                    "hello")  # fmt: skip
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode()
    assert re.findall(r"^tuivmm: (\S+): verdict: (\w+)$", err, re.MULTILINE) == [
        ("eret-escape", "ESCAPED"), ("eret-escape-2", "PROTECTED")]  # fmt: skip
