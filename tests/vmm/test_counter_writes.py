"""A guest's counter writes are emulated exactly as its hardware does them (issue 13,
item 3): the write is done instead of the writing instruction's increment, and the
emulated instruction is still one retired instruction of the guest.

tests/cpu/test_counters.py holds the whole set of boundaries, and the differential
test runs each of its programs under the VMM too; these say the values outright.
"""

from __future__ import annotations

import pytest

from .vmmharness import HALT, side_by_side

A0 = 10

# (program, a0.. a0+n) for each counter pair: issue 13's case first.
CASES = {
    "all-ones-then-wraps": ("li t0, -1; csrw {lo}, t0; csrw {hi}, t0; nop; csrr a0, {lo}; csrr a1, {hi}", [0, 0]),
    "low-write-no-carry": ("li t0, -1; csrw {lo}, t0; csrw {lo}, t0; csrr a0, {hi}; csrr a1, {hi}; csrr a2, {lo}",
                           [0, 1, 1]),
    "high-write-keeps-low": ("li t0, -1; csrw {lo}, t0; csrw {hi}, zero; csrr a0, {lo}; csrr a1, {hi}",
                             [0xFFFF_FFFF, 1]),
}  # fmt: skip


@pytest.mark.parametrize(("lo", "hi"), [("minstret", "minstreth"), ("mcycle", "mcycleh")])
@pytest.mark.parametrize("case", list(CASES))
def test_guest_counter_write_reads_back_as_on_the_bare_machine(case, lo, hi):
    body, want = CASES[case]
    board, g = side_by_side(f"_start: {body.format(lo=lo, hi=hi)}\n{HALT}")
    assert g.vcpu.x[A0 : A0 + len(want)] == want
    assert board.hart.x[A0 : A0 + len(want)] == want
