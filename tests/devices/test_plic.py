import pytest

from machine.cpu.csrs import MEIP, SEIP
from machine.devices.plic import Plic

M, S = 0, 1  # contexts: hart 0 M-mode, hart 0 S-mode


def priority(plic, source, value):
    plic.write(4 * source, 4, value)


def enable(plic, context, *sources):
    plic.write(0x2000 + 0x80 * context, 4, sum(1 << s for s in sources))


def threshold(plic, context, value):
    plic.write(0x20_0000 + 0x1000 * context, 4, value)


def claim(plic, context):
    return plic.read(0x20_0004 + 0x1000 * context, 4)


def complete(plic, context, source):
    plic.write(0x20_0004 + 0x1000 * context, 4, source)


def pending_word(plic):
    return plic.read(0x1000, 4)


def test_enabled_source_with_priority_raises_meip(pins):
    plic = Plic(pins)
    priority(plic, 10, 1)
    enable(plic, M, 10)
    plic.irq_line(10)(True)
    assert pins.is_set(MEIP)
    assert not pins.is_set(SEIP)


def test_s_context_drives_seip(pins):
    plic = Plic(pins)
    priority(plic, 3, 1)
    enable(plic, S, 3)
    plic.irq_line(3)(True)
    assert pins.is_set(SEIP)
    assert not pins.is_set(MEIP)


def test_disabled_source_does_not_interrupt_but_is_pending(pins):
    plic = Plic(pins)
    priority(plic, 10, 1)
    plic.irq_line(10)(True)
    assert not pins.is_set(MEIP)
    assert pending_word(plic) == 1 << 10


def test_priority_zero_never_interrupts(pins):
    plic = Plic(pins)
    enable(plic, M, 5)
    plic.irq_line(5)(True)
    assert not pins.is_set(MEIP)
    assert claim(plic, M) == 0


def test_source_must_exceed_threshold(pins):
    plic = Plic(pins)
    priority(plic, 5, 3)
    enable(plic, M, 5)
    threshold(plic, M, 3)
    plic.irq_line(5)(True)
    assert not pins.is_set(MEIP)
    threshold(plic, M, 2)
    assert pins.is_set(MEIP)


def test_claim_returns_highest_priority_source(pins):
    plic = Plic(pins)
    priority(plic, 1, 2)
    priority(plic, 7, 5)
    enable(plic, M, 1, 7)
    plic.irq_line(1)(True)
    plic.irq_line(7)(True)
    assert claim(plic, M) == 7


def test_claim_breaks_priority_ties_by_lowest_id(pins):
    plic = Plic(pins)
    for source in (4, 9, 2):
        priority(plic, source, 1)
        plic.irq_line(source)(True)
    enable(plic, M, 4, 9, 2)
    assert claim(plic, M) == 2


def test_claim_with_nothing_pending_returns_zero(pins):
    plic = Plic(pins)
    assert claim(plic, M) == 0


def test_claim_clears_pending_and_lowers_meip(pins):
    plic = Plic(pins)
    priority(plic, 10, 1)
    enable(plic, M, 10)
    plic.irq_line(10)(True)
    assert claim(plic, M) == 10
    assert pending_word(plic) == 0
    assert not pins.is_set(MEIP)


def test_claimed_source_is_not_claimed_again_before_complete(pins):
    plic = Plic(pins)
    priority(plic, 10, 1)
    enable(plic, M, 10)
    plic.irq_line(10)(True)
    claim(plic, M)
    assert claim(plic, M) == 0


def test_complete_with_line_still_high_makes_source_pending_again(pins):
    plic = Plic(pins)
    priority(plic, 10, 1)
    enable(plic, M, 10)
    plic.irq_line(10)(True)
    complete(plic, M, claim(plic, M))
    assert pins.is_set(MEIP)
    assert claim(plic, M) == 10


def test_complete_after_line_dropped_leaves_nothing_pending(pins):
    plic = Plic(pins)
    line = plic.irq_line(10)
    priority(plic, 10, 1)
    enable(plic, M, 10)
    line(True)
    source = claim(plic, M)
    line(False)
    complete(plic, M, source)
    assert not pins.is_set(MEIP)
    assert pending_word(plic) == 0


def test_complete_of_source_not_enabled_for_context_is_ignored(pins):
    plic = Plic(pins)
    priority(plic, 10, 1)
    enable(plic, M, 10)
    plic.irq_line(10)(True)
    claim(plic, M)
    complete(plic, S, 10)
    assert claim(plic, M) == 0


def test_request_stays_pending_after_the_line_drops_until_claimed(pins):
    # PLIC spec 1.0.0 "Interrupt Gateways": the request remains in the IP bit until claimed.
    plic = Plic(pins)
    line = plic.irq_line(10)
    priority(plic, 10, 1)
    enable(plic, M, 10)
    line(True)
    line(False)
    assert pins.is_set(MEIP)
    assert claim(plic, M) == 10
    assert not pins.is_set(MEIP)
    assert plic.pending == 0


def test_enables_are_per_context(pins):
    plic = Plic(pins)
    priority(plic, 1, 1)
    priority(plic, 2, 1)
    enable(plic, M, 1)
    enable(plic, S, 2)
    plic.irq_line(1)(True)
    plic.irq_line(2)(True)
    assert claim(plic, S) == 2
    assert claim(plic, M) == 1


def test_registers_read_back(pins):
    plic = Plic(pins)
    priority(plic, 10, 6)
    enable(plic, S, 10)
    threshold(plic, S, 4)
    assert plic.read(4 * 10, 4) == 6
    assert plic.read(0x2080, 4) == 1 << 10
    assert plic.read(0x20_1000, 4) == 4


def test_source_zero_cannot_be_enabled_or_prioritised(pins):
    plic = Plic(pins)
    priority(plic, 0, 7)
    enable(plic, M, 0)
    assert plic.read(0, 4) == 0
    assert plic.read(0x2000, 4) == 0


def test_irq_line_refuses_a_source_the_plic_lacks(pins):
    plic = Plic(pins, sources=32)
    with pytest.raises(ValueError):
        plic.irq_line(32)
