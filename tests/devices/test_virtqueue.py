import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from machine.devices.virtio_blk import VirtioBlk
from machine.devices.virtio_mmio import DEVICE_NEEDS_RESET, Reg, VirtioMmio
from machine.devices.virtqueue import Chain, Virtqueue
from machine.memory import Ram

from .conftest import RAM_BASE, RAM_SIZE, Line
from .virtio_driver import MiniDriver


def test_chain_write_scatters_across_writable_buffers(ram):
    chain = Chain(ram, 0, [], [(RAM_BASE, 3), (RAM_BASE + 100, 4)])
    assert chain.write(b"abcdefgh") == 7
    assert ram.read_bytes(RAM_BASE, 3) == b"abc"
    assert ram.read_bytes(RAM_BASE + 100, 5) == b"defg\xAA"


def test_chain_write_at_an_offset_skips_into_later_buffers(ram):
    chain = Chain(ram, 0, [], [(RAM_BASE, 3), (RAM_BASE + 100, 4)])
    chain.write(b"Z", offset=6)
    assert ram.read_bytes(RAM_BASE + 103, 1) == b"Z"
    assert ram.read_bytes(RAM_BASE, 3) == b"\xAA" * 3


def test_chain_read_concatenates_readable_buffers(ram):
    ram.write_bytes(RAM_BASE, b"12")
    ram.write_bytes(RAM_BASE + 50, b"345")
    assert Chain(ram, 0, [(RAM_BASE, 2), (RAM_BASE + 50, 3)], []).read() == b"12345"


def test_pop_on_an_empty_ring_returns_none(ram):
    queue = Virtqueue(ram, 8)
    queue.driver_addr = RAM_BASE
    ram.write_bytes(RAM_BASE, bytes(6))
    assert queue.pop() is None


# Mostly plausible descriptors (in RAM, small, chained within the queue), some wild ones.
descriptor = st.tuples(
    st.one_of(st.integers(RAM_BASE, RAM_BASE + RAM_SIZE - 1), st.integers(0, (1 << 64) - 1)),
    st.one_of(st.integers(0, 2048), st.integers(0, (1 << 32) - 1)),
    st.integers(0, 7),
    st.integers(0, 9),
).map(lambda fields: struct.pack("<QIHH", *fields))


@settings(max_examples=200, deadline=None)
@given(
    descriptors=st.lists(descriptor, min_size=8, max_size=8).map(b"".join),
    ring=st.lists(st.integers(0, 9), min_size=8, max_size=8).map(lambda h: struct.pack("<8H", *h)),
    avail_idx=st.one_of(st.integers(0, 8), st.integers(0, 0xFFFF)),
)
def test_random_queue_contents_never_raise_out_of_the_device(
    tmp_path_factory, descriptors, ring, avail_idx
):
    path = tmp_path_factory.mktemp("fuzz") / "disk.img"
    path.write_bytes(bytes(4096))
    ram = Ram(RAM_BASE, RAM_SIZE, fill=0xAA)
    blk = VirtioBlk(path)
    driver = MiniDriver(VirtioMmio(blk, Line(), ram), ram)
    driver.initialize(queue_count=1)
    queue = driver.queues[0]
    ram.write_bytes(queue.desc, descriptors)
    ram.write_bytes(queue.avail + 2, struct.pack("<H", avail_idx) + ring)
    driver.notify(0)  # must not raise, whatever the queue holds
    status = driver.reg(Reg.STATUS)
    assert status & DEVICE_NEEDS_RESET or driver.transport.queues[0].last_avail == avail_idx
    blk.close()
