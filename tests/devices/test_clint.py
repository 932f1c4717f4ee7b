from machine.cpu.csrs import MSIP, MTIP
from machine.devices.clint import MSIP_OFFSET, MTIME_OFFSET, MTIMECMP_OFFSET, Clint


def write_mtimecmp(clint, value):
    # The RV32 sequence (privileged spec 3.2.1): no transient value below both old and new.
    clint.write(MTIMECMP_OFFSET, 4, 0xFFFF_FFFF)
    clint.write(MTIMECMP_OFFSET + 4, 4, value >> 32)
    clint.write(MTIMECMP_OFFSET, 4, value & 0xFFFF_FFFF)


def read64(clint, offset):
    return clint.read(offset, 4) | clint.read(offset + 4, 4) << 32


def test_mtimecmp_resets_to_all_ones(counter, pins):
    clint = Clint(counter.clock, pins)
    assert read64(clint, MTIMECMP_OFFSET) == 0xFFFF_FFFF_FFFF_FFFF


def test_mtime_reads_the_clock_in_halves(counter, pins):
    clint = Clint(counter.clock, pins)
    counter.advance_to(0x1_2345_6789)
    assert clint.read(MTIME_OFFSET, 4) == 0x2345_6789
    assert clint.read(MTIME_OFFSET + 4, 4) == 1


def test_timer_interrupt_fires_when_mtime_reaches_mtimecmp(counter, pins):
    clint = Clint(counter.clock, pins)
    write_mtimecmp(clint, 1000)
    counter.advance_to(999)
    assert not pins.is_set(MTIP)
    counter.advance_to(1000)
    assert pins.is_set(MTIP)


def test_mtimecmp_already_passed_raises_mtip_at_once(counter, pins):
    clint = Clint(counter.clock, pins)
    counter.advance_to(500)
    write_mtimecmp(clint, 100)
    assert pins.is_set(MTIP)


def test_writing_a_future_mtimecmp_clears_mtip(counter, pins):
    clint = Clint(counter.clock, pins)
    write_mtimecmp(clint, 10)
    counter.advance_to(10)
    assert pins.is_set(MTIP)
    write_mtimecmp(clint, 2000)
    assert not pins.is_set(MTIP)
    counter.advance_to(2000)
    assert pins.is_set(MTIP)


def test_mtimecmp_above_four_billion_is_compared_as_64_bits(counter, pins):
    clint = Clint(counter.clock, pins)
    write_mtimecmp(clint, 0x1_0000_0010)
    counter.advance_to(0x0_FFFF_FFFF + 0x10)
    assert not pins.is_set(MTIP)
    counter.advance_to(0x1_0000_0010)
    assert pins.is_set(MTIP)


def test_writing_mtime_moves_the_timer(counter, pins):
    clint = Clint(counter.clock, pins)
    write_mtimecmp(clint, 1000)
    clint.write(MTIME_OFFSET, 4, 995)
    assert not pins.is_set(MTIP)
    assert read64(clint, MTIME_OFFSET) == 995
    counter.advance_to(5)
    assert pins.is_set(MTIP)


def test_writing_mtime_past_mtimecmp_raises_mtip(counter, pins):
    clint = Clint(counter.clock, pins)
    write_mtimecmp(clint, 1000)
    clint.write(MTIME_OFFSET + 4, 4, 1)
    assert pins.is_set(MTIP)


def test_all_ones_mtimecmp_arms_no_alarm(counter, pins):
    clint = Clint(counter.clock, pins)
    write_mtimecmp(clint, 1000)
    write_mtimecmp(clint, 0xFFFF_FFFF_FFFF_FFFF)
    assert counter.clock.alarm_cycle >= 1 << 64


def test_msip_bit_0_drives_machine_software_interrupt(counter, pins):
    clint = Clint(counter.clock, pins)
    clint.write(MSIP_OFFSET, 4, 1)
    assert pins.is_set(MSIP)
    assert clint.read(MSIP_OFFSET, 4) == 1
    clint.write(MSIP_OFFSET, 4, 0)
    assert not pins.is_set(MSIP)


def test_msip_upper_bits_are_hardwired_to_zero(counter, pins):
    clint = Clint(counter.clock, pins)
    clint.write(MSIP_OFFSET, 4, 0xFFFF_FFFE)
    assert clint.read(MSIP_OFFSET, 4) == 0
    assert not pins.is_set(MSIP)


def test_reset_lowers_both_pins_and_restores_mtimecmp(counter, pins):
    clint = Clint(counter.clock, pins)
    clint.write(MSIP_OFFSET, 4, 1)
    write_mtimecmp(clint, 0)
    clint.reset()
    assert not pins.is_set(MSIP)
    assert not pins.is_set(MTIP)
    assert read64(clint, MTIMECMP_OFFSET) == 0xFFFF_FFFF_FFFF_FFFF
