import os
import struct

import pytest

from machine.devices.virtio_blk import (
    VIRTIO_BLK_F_FLUSH,
    VIRTIO_BLK_F_RO,
    VIRTIO_BLK_S_IOERR,
    VIRTIO_BLK_S_OK,
    VIRTIO_BLK_S_UNSUPP,
    VIRTIO_BLK_T_FLUSH,
    VIRTIO_BLK_T_GET_ID,
    VIRTIO_BLK_T_IN,
    VIRTIO_BLK_T_OUT,
    VirtioBlk,
)
from machine.devices.virtio_mmio import VIRTIO_F_VERSION_1, Reg, VirtioMmio

from .virtio_driver import MiniDriver

SECTORS = 8


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(b"".join(bytes([n]) * 512 for n in range(SECTORS)))
    return path


def attach(path, ram, line, read_only=False):
    blk = VirtioBlk(path, read_only=read_only)
    driver = MiniDriver(VirtioMmio(blk, line, ram), ram)
    driver.initialize(queue_count=1)
    return blk, driver


@pytest.fixture
def disk(image, ram, line):
    blk, driver = attach(image, ram, line)
    yield driver
    blk.close()


@pytest.fixture
def read_only_disk(image, ram, line):
    blk, driver = attach(image, ram, line, read_only=True)
    yield driver
    blk.close()


def request(driver, kind, sector=0, data_out=b"", data_in=0):
    """Submit one block request; returns (status, bytes read, used length)."""
    buffers = [struct.pack("<IIQ", kind, 0, sector)]
    if data_out:
        buffers.append(data_out)
    if data_in:
        buffers.append(data_in)
    buffers.append(1)
    submitted = driver.submit(0, buffers)
    driver.notify(0)
    [(head, written)] = driver.collect_used(0)
    assert head == submitted.head
    status = driver.ram.read_bytes(submitted.buffers[-1][0], 1)[0]
    data = driver.ram.read_bytes(*submitted.buffers[-2]) if data_in else b""
    return status, data, written


def test_device_id_is_block(disk):
    assert disk.reg(Reg.DEVICE_ID) == 2


def test_capacity_in_config_counts_512_byte_sectors(disk):
    assert disk.transport.read(Reg.CONFIG, 4) == SECTORS
    assert disk.transport.read(Reg.CONFIG + 4, 4) == 0


def test_flush_and_version_1_offered_but_not_read_only(disk):
    features = disk.device_features()
    assert features & VIRTIO_BLK_F_FLUSH
    assert features & VIRTIO_F_VERSION_1
    assert not features & VIRTIO_BLK_F_RO


def test_read_returns_the_image_sectors(disk):
    status, data, written = request(disk, VIRTIO_BLK_T_IN, sector=2, data_in=1024)
    assert status == VIRTIO_BLK_S_OK
    assert data == bytes([2]) * 512 + bytes([3]) * 512
    assert written == 1024 + 1


def test_write_reaches_the_image_file(disk, image):
    status, _, _ = request(disk, VIRTIO_BLK_T_OUT, sector=5, data_out=b"\x5A" * 512)
    assert status == VIRTIO_BLK_S_OK
    contents = image.read_bytes()
    assert contents[5 * 512 : 6 * 512] == b"\x5A" * 512
    assert contents[4 * 512 : 5 * 512] == bytes([4]) * 512
    assert len(contents) == SECTORS * 512


def test_written_data_reads_back(disk):
    request(disk, VIRTIO_BLK_T_OUT, sector=1, data_out=bytes(range(256)) * 2)
    _, data, _ = request(disk, VIRTIO_BLK_T_IN, sector=1, data_in=512)
    assert data == bytes(range(256)) * 2


def test_read_only_disk_offers_the_ro_feature(read_only_disk):
    assert read_only_disk.device_features() & VIRTIO_BLK_F_RO


def test_read_only_disk_refuses_writes(read_only_disk, image):
    before = image.read_bytes()
    status, _, _ = request(read_only_disk, VIRTIO_BLK_T_OUT, sector=0, data_out=b"\xFF" * 512)
    assert status == VIRTIO_BLK_S_IOERR
    assert image.read_bytes() == before


def test_read_only_disk_still_reads(read_only_disk):
    status, data, _ = request(read_only_disk, VIRTIO_BLK_T_IN, sector=7, data_in=512)
    assert status == VIRTIO_BLK_S_OK
    assert data == bytes([7]) * 512


def test_read_beyond_capacity_is_an_io_error(disk):
    status, _, _ = request(disk, VIRTIO_BLK_T_IN, sector=SECTORS - 1, data_in=1024)
    assert status == VIRTIO_BLK_S_IOERR


def test_write_beyond_capacity_is_an_io_error_and_does_not_grow_the_image(disk, image):
    status, _, _ = request(disk, VIRTIO_BLK_T_OUT, sector=SECTORS, data_out=b"\1" * 512)
    assert status == VIRTIO_BLK_S_IOERR
    assert image.stat().st_size == SECTORS * 512


def test_huge_sector_number_is_an_io_error(disk):
    status, _, _ = request(disk, VIRTIO_BLK_T_IN, sector=(1 << 64) - 1, data_in=512)
    assert status == VIRTIO_BLK_S_IOERR


def test_data_that_is_not_whole_sectors_is_an_io_error(disk):
    status, _, _ = request(disk, VIRTIO_BLK_T_IN, sector=0, data_in=100)
    assert status == VIRTIO_BLK_S_IOERR


def test_flush_syncs_the_image(disk, monkeypatch):
    synced = []
    monkeypatch.setattr(os, "fsync", synced.append)
    status, _, _ = request(disk, VIRTIO_BLK_T_FLUSH)
    assert status == VIRTIO_BLK_S_OK
    assert len(synced) == 1


def test_get_id_returns_twenty_bytes_naming_the_image(disk):
    status, data, _ = request(disk, VIRTIO_BLK_T_GET_ID, data_in=20)
    assert status == VIRTIO_BLK_S_OK
    assert data == b"disk.img".ljust(20, b"\0")


def test_unknown_request_type_is_unsupported(disk):
    status, _, _ = request(disk, 0x1234, data_in=512)
    assert status == VIRTIO_BLK_S_UNSUPP


def test_several_requests_in_one_notification_all_complete(disk):
    first = disk.submit(0, [struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 0), 512, 1])
    second = disk.submit(0, [struct.pack("<IIQ", VIRTIO_BLK_T_IN, 0, 6), 512, 1])
    disk.notify(0)
    assert [head for head, _ in disk.collect_used(0)] == [first.head, second.head]
    assert disk.ram.read_bytes(second.buffers[1][0], 512) == bytes([6]) * 512


def test_missing_image_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere.img"
    with pytest.raises(FileNotFoundError, match="nowhere.img"):
        VirtioBlk(missing)


def test_opening_does_not_change_the_image(image):
    before = image.read_bytes()
    VirtioBlk(image).close()
    assert image.read_bytes() == before
