import struct

import pytest

from machine.devices.netwire import NullBackend, Wire
from machine.devices.virtio_mmio import VIRTIO_F_VERSION_1, Reg, VirtioMmio
from machine.devices.virtio_net import VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VirtioNet
from machine.memory import Ram

from .conftest import RAM_BASE, RAM_SIZE, Line
from .virtio_driver import MiniDriver

MAC_A = bytes.fromhex("525400000001")
MAC_B = bytes.fromhex("525400000002")
HEADER = bytes(12)  # virtio_net_hdr with no offloads requested
RX, TX = 0, 1


def ethernet(dst, src, payload):
    return dst + src + b"\x88\xb5" + payload  # 0x88B5: the local experimental EtherType


class Machine:
    """One NIC with its own RAM, interrupt line and test driver."""

    def __init__(self, mac, backend=None, start=True):
        self.ram = Ram(RAM_BASE, RAM_SIZE, fill=0xAA)
        self.line = Line()
        self.nic = VirtioNet(mac, backend)
        self.driver = MiniDriver(VirtioMmio(self.nic, self.line, self.ram), self.ram)
        if start:
            self.driver.initialize(queue_count=2)

    def post_receive_buffers(self, count=1, size=1526):
        posted = [self.driver.submit(RX, [size]) for _ in range(count)]
        self.driver.notify(RX)
        return posted

    def send(self, frame):
        self.driver.submit(TX, [HEADER + frame])
        self.driver.notify(TX)

    def received(self):
        """Frames (without header) the device placed in receive buffers."""
        frames = []
        for head, written in self.driver.collect_used(RX):
            desc = self.driver.queues[RX].desc + 16 * head
            buffer, _, _, _ = struct.unpack("<QIHH", self.ram.read_bytes(desc, 16))
            frames.append(self.ram.read_bytes(buffer, written))
        return frames


@pytest.fixture
def pair():
    a_end, b_end = Wire.pair()
    a, b = Machine(MAC_A), Machine(MAC_B)
    a_end.attach(a.nic)
    b_end.attach(b.nic)
    return a, b


def test_device_id_is_network():
    assert Machine(MAC_A, start=False).driver.reg(Reg.DEVICE_ID) == 1


def test_mac_and_status_features_are_offered():
    features = Machine(MAC_A, start=False).driver.device_features()
    assert features == VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_F_VERSION_1


def test_config_holds_the_mac_and_link_up():
    transport = Machine(MAC_A).driver.transport
    assert bytes(transport.read(Reg.CONFIG + i, 1) for i in range(6)) == MAC_A
    assert transport.read(Reg.CONFIG + 6, 2) == 1


def test_mac_must_be_six_bytes():
    with pytest.raises(ValueError):
        VirtioNet(b"\1\2\3")


def test_frame_crosses_the_wire_from_a_to_b(pair):
    a, b = pair
    b.post_receive_buffers()
    frame = ethernet(MAC_B, MAC_A, b"hello b")
    a.send(frame)
    [packet] = b.received()
    assert packet[12:] == frame


def test_frame_crosses_the_wire_from_b_to_a(pair):
    a, b = pair
    a.post_receive_buffers()
    frame = ethernet(MAC_A, MAC_B, b"hello a")
    b.send(frame)
    assert [packet[12:] for packet in a.received()] == [frame]


def test_received_header_says_one_buffer_and_no_offloads(pair):
    a, b = pair
    b.post_receive_buffers()
    a.send(ethernet(MAC_B, MAC_A, b"x"))
    [packet] = b.received()
    assert struct.unpack("<BBHHHHH", packet[:12]) == (0, 0, 0, 0, 0, 0, 1)


def test_receive_raises_the_used_buffer_interrupt(pair):
    a, b = pair
    b.post_receive_buffers()
    a.send(ethernet(MAC_B, MAC_A, b"ping"))
    assert b.line.level
    assert b.driver.reg(Reg.INTERRUPT_STATUS) & 1


def test_transmitted_buffer_is_returned_to_the_driver(pair):
    a, _ = pair
    a.send(ethernet(MAC_B, MAC_A, b"bye"))
    assert len(a.driver.collect_used(TX)) == 1
    assert a.line.level


def test_frame_is_dropped_and_counted_without_a_receive_buffer(pair):
    a, b = pair
    a.send(ethernet(MAC_B, MAC_A, b"lost"))
    assert b.nic.rx_dropped == 1
    b.post_receive_buffers()
    assert b.received() == []


def test_frame_larger_than_the_receive_buffer_is_dropped(pair):
    a, b = pair
    b.post_receive_buffers(size=32)
    a.send(ethernet(MAC_B, MAC_A, bytes(100)))
    assert b.nic.rx_dropped == 1
    assert [written for _, written in b.driver.collect_used(RX)] == [0]


def test_frames_fill_receive_buffers_in_order(pair):
    a, b = pair
    b.post_receive_buffers(count=2)
    first, second = ethernet(MAC_B, MAC_A, b"1"), ethernet(MAC_B, MAC_A, b"2")
    a.send(first)
    a.send(second)
    assert [packet[12:] for packet in b.received()] == [first, second]


def test_frame_before_driver_ok_is_dropped():
    nic = Machine(MAC_A, start=False).nic
    nic.deliver(ethernet(MAC_A, MAC_B, b"early"))
    assert nic.rx_dropped == 1


class Recorder:
    def __init__(self):
        self.frames = []

    def send(self, frame):
        self.frames.append(frame)


def test_transmit_strips_the_header_before_the_backend():
    backend = Recorder()
    machine = Machine(MAC_A, backend=backend)
    frame = ethernet(MAC_B, MAC_A, b"payload")
    machine.send(frame)
    assert backend.frames == [frame]


def test_transmit_shorter_than_the_header_is_not_sent():
    backend = Recorder()
    machine = Machine(MAC_A, backend=backend)
    machine.driver.submit(TX, [b"\0" * 5])
    machine.driver.notify(TX)
    assert backend.frames == []
    assert machine.nic.tx_errors == 1


def test_null_backend_drops_transmitted_frames():
    backend = NullBackend()
    machine = Machine(MAC_A, backend=backend)
    machine.send(ethernet(MAC_B, MAC_A, b"void"))
    assert backend.dropped == 1


def test_wire_end_with_nothing_at_the_far_end_drops():
    near, _ = Wire.pair()
    machine = Machine(MAC_A)
    near.attach(machine.nic)
    machine.send(ethernet(MAC_B, MAC_A, b"nobody"))
    assert near.dropped == 1
