import struct

import pytest

from machine.devices.virtio_blk import VIRTIO_BLK_T_IN, VirtioBlk
from machine.devices.virtio_mmio import (
    ACKNOWLEDGE,
    DEVICE_NEEDS_RESET,
    DRIVER,
    DRIVER_OK,
    FAILED,
    FEATURES_OK,
    VIRTIO_F_VERSION_1,
    Reg,
    VirtioMmio,
)
from machine.devices.virtqueue import DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE

from .virtio_driver import MiniDriver

READY = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK


@pytest.fixture
def device(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(bytes(4096))
    blk = VirtioBlk(path)
    yield blk
    blk.close()


@pytest.fixture
def driver(device, ram, line):
    return MiniDriver(VirtioMmio(device, line, ram), ram)


@pytest.fixture
def running(driver):
    driver.initialize(queue_count=1)
    return driver


def read_request(driver):
    """A well-formed one-sector read, made available and notified."""
    submitted = driver.submit(0, [struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 0), 512, 1])
    driver.notify(0)
    return submitted


def test_identification_registers(driver):
    assert driver.reg(Reg.MAGIC_VALUE) == 0x74726976
    assert driver.reg(Reg.VERSION) == 2
    assert driver.reg(Reg.DEVICE_ID) == 2
    assert driver.reg(Reg.VENDOR_ID) == 0x554D4551


def test_version_1_is_offered_in_the_second_feature_word(driver):
    driver.set_reg(Reg.DEVICE_FEATURES_SEL, 1)
    assert driver.reg(Reg.DEVICE_FEATURES) & 1


def test_handshake_reaches_driver_ok(running):
    assert running.reg(Reg.STATUS) == READY


def test_features_ok_refused_for_a_feature_not_offered(driver):
    assert not driver.negotiate(features=VIRTIO_F_VERSION_1 | 1 << 7)
    assert not driver.reg(Reg.STATUS) & FEATURES_OK


def test_features_ok_refused_without_version_1(driver):
    assert not driver.negotiate(features=0)
    assert not driver.reg(Reg.STATUS) & FEATURES_OK


def test_status_that_skips_a_handshake_step_is_ignored(driver):
    driver.set_reg(Reg.STATUS, ACKNOWLEDGE)
    driver.set_reg(Reg.STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK)
    assert driver.reg(Reg.STATUS) == ACKNOWLEDGE


def test_failed_can_be_set_at_any_step(driver):
    driver.set_reg(Reg.STATUS, ACKNOWLEDGE)
    driver.set_reg(Reg.STATUS, ACKNOWLEDGE | FAILED)
    assert driver.reg(Reg.STATUS) & FAILED


def test_driver_features_are_frozen_after_features_ok(running):
    running.set_reg(Reg.DRIVER_FEATURES_SEL, 0)
    running.set_reg(Reg.DRIVER_FEATURES, 0xFFFF_FFFF)
    offered_low = running.device_features() & 0xFFFF_FFFF
    assert running.transport.driver_features == VIRTIO_F_VERSION_1 | offered_low


def test_queue_num_max_is_zero_for_a_queue_the_device_lacks(driver):
    driver.set_reg(Reg.QUEUE_SEL, 1)
    assert driver.reg(Reg.QUEUE_NUM_MAX) == 0


def test_writing_zero_to_status_resets_the_device(running, line):
    read_request(running)
    running.set_reg(Reg.STATUS, 0)
    assert running.reg(Reg.STATUS) == 0
    assert running.reg(Reg.INTERRUPT_STATUS) == 0
    assert not line.level
    running.set_reg(Reg.QUEUE_SEL, 0)
    assert running.reg(Reg.QUEUE_READY) == 0


def test_used_buffer_sets_interrupt_status_and_raises_the_line(running, line):
    read_request(running)
    assert running.reg(Reg.INTERRUPT_STATUS) == 1
    assert line.level


def test_interrupt_ack_lowers_the_line(running, line):
    read_request(running)
    running.set_reg(Reg.INTERRUPT_ACK, 1)
    assert running.reg(Reg.INTERRUPT_STATUS) == 0
    assert not line.level


def test_no_interrupt_flag_suppresses_the_used_buffer_interrupt(running, line):
    running.ram.write_bytes(running.queues[0].avail, struct.pack("<H", 1))
    read_request(running)
    assert len(running.collect_used(0)) == 1
    assert not line.level


def test_notify_before_driver_ok_does_nothing(driver, line):
    driver.negotiate()
    driver.setup_queue(0, 8)
    read_request(driver)
    assert driver.collect_used(0) == []
    assert not line.level


def test_control_registers_answer_only_32_bit_accesses(driver):
    assert driver.transport.read(Reg.MAGIC_VALUE, 1) == 0


def test_config_space_is_byte_addressable(running):
    assert running.transport.read(Reg.CONFIG, 1) == 8  # 4096-byte image: 8 sectors
    assert running.transport.read(Reg.CONFIG + 0x40, 4) == 0


def test_queue_with_size_not_a_power_of_two_needs_reset(driver):
    driver.negotiate()
    driver.set_reg(Reg.QUEUE_SEL, 0)
    driver.set_reg(Reg.QUEUE_NUM, 3)
    driver.set_reg(Reg.QUEUE_READY, 1)
    assert driver.reg(Reg.QUEUE_READY) == 0
    assert driver.reg(Reg.STATUS) & DEVICE_NEEDS_RESET


def test_queue_placed_outside_ram_needs_reset(driver):
    driver.negotiate()
    driver.set_reg(Reg.QUEUE_SEL, 0)
    driver.set_reg(Reg.QUEUE_NUM, 8)
    driver.set_reg(Reg.QUEUE_DESC_LOW, 0x1000)  # RAM starts at 0x8000_0000
    driver.set_reg(Reg.QUEUE_READY, 1)
    assert driver.reg(Reg.QUEUE_READY) == 0
    assert driver.reg(Reg.STATUS) & DEVICE_NEEDS_RESET


# --- malformed chains: the device reports DEVICE_NEEDS_RESET and never raises ---------


def make_available_raw(driver, descriptors, head=0):
    """Write descriptors (addr, len, flags, next) at slots 0.. and offer `head`."""
    for slot, descriptor in enumerate(descriptors):
        driver.write_descriptor(0, slot, *descriptor)
    driver.make_available(0, head)
    driver.notify(0)


def assert_needs_reset(driver, line):
    assert driver.reg(Reg.STATUS) & DEVICE_NEEDS_RESET
    assert driver.reg(Reg.INTERRUPT_STATUS) & 2  # configuration change notification
    assert line.level


def test_descriptor_loop_needs_reset(running, line):
    buffer = running.alloc(16)
    make_available_raw(running, [(buffer, 16, DESC_F_NEXT, 1), (buffer, 16, DESC_F_NEXT, 0)])
    assert_needs_reset(running, line)


def test_descriptor_pointing_outside_ram_needs_reset(running, line):
    make_available_raw(running, [(0x1000, 16, 0, 0)])
    assert_needs_reset(running, line)


def test_descriptor_running_off_the_end_of_ram_needs_reset(running, line):
    end = running.ram.base + running.ram.size
    make_available_raw(running, [(end - 8, 16, DESC_F_WRITE, 0)])
    assert_needs_reset(running, line)


def test_descriptor_with_64_bit_address_needs_reset(running, line):
    make_available_raw(running, [(running.ram.base | 1 << 40, 16, 0, 0)])
    assert_needs_reset(running, line)


def test_next_index_outside_the_queue_needs_reset(running, line):
    buffer = running.alloc(16)
    make_available_raw(running, [(buffer, 16, DESC_F_NEXT, 200)])
    assert_needs_reset(running, line)


def test_head_index_outside_the_queue_needs_reset(running, line):
    make_available_raw(running, [], head=0xFFFF)
    assert_needs_reset(running, line)


def test_readable_after_writable_needs_reset(running, line):
    buffer = running.alloc(16)
    make_available_raw(running, [(buffer, 16, DESC_F_WRITE | DESC_F_NEXT, 1), (buffer, 16, 0, 0)])
    assert_needs_reset(running, line)


def test_indirect_descriptor_needs_reset(running, line):
    buffer = running.alloc(16)
    make_available_raw(running, [(buffer, 16, DESC_F_INDIRECT, 0)])
    assert_needs_reset(running, line)


def test_available_index_far_ahead_needs_reset(running, line):
    running.ram.write_bytes(running.queues[0].avail + 2, struct.pack("<H", 500))
    running.notify(0)
    assert_needs_reset(running, line)


def test_broken_device_ignores_notifications_until_reset(running):
    make_available_raw(running, [(0x1000, 16, 0, 0)])
    running.collect_used(0)
    read_request(running)
    assert running.collect_used(0) == []


def test_reset_after_breakage_brings_the_device_back(running, line):
    make_available_raw(running, [(0x1000, 16, 0, 0)])
    running.initialize(queue_count=1)
    assert running.reg(Reg.STATUS) == READY
    read_request(running)
    assert len(running.collect_used(0)) == 1


def test_acknowledging_one_cause_keeps_the_line_up_for_the_other(running, line):
    read_request(running)
    running.transport.config_changed()
    running.set_reg(Reg.INTERRUPT_ACK, 1)
    assert running.reg(Reg.INTERRUPT_STATUS) == 2
    assert line.level


def test_config_change_bumps_the_generation(running):
    before = running.reg(Reg.CONFIG_GENERATION)
    running.transport.config_changed()
    assert running.reg(Reg.CONFIG_GENERATION) == before + 1
