"""Two whole machines in one process joined by a wire: a frame sent by one board's
virtio-net arrives in the other's receive queue and raises its PLIC interrupt line."""

from machine.board import VIRTIO_BASE, VIRTIO_IRQ_BASE, VIRTIO_NET_SLOT, VIRTIO_STRIDE, Board
from machine.devices.netwire import Wire
from tests.devices.virtio_driver import MiniDriver

HEADER = bytes(12)  # virtio_net_hdr, version 1 layout


def test_frame_sent_on_one_board_arrives_on_the_other():
    end_a, end_b = Wire.pair()
    a = Board(1 << 20, net=end_a, mac=bytes.fromhex("525400000001"))
    b = Board(1 << 20, net=end_b, mac=bytes.fromhex("525400000002"))
    tx = MiniDriver(a.virtio[VIRTIO_NET_SLOT], a.ram)
    rx = MiniDriver(b.virtio[VIRTIO_NET_SLOT], b.ram)
    tx.initialize(queue_count=2)
    rx.initialize(queue_count=2)
    request = rx.submit(0, [1526])  # one receive buffer on b
    rx.notify(0)

    frame = bytes.fromhex("525400000002" "525400000001" "88b5") + b"hello over the wire"
    # The guest driver on a writes QueueNotify through the bus, as its CPU would.
    tx.submit(1, [HEADER + frame])
    a.bus.write(VIRTIO_BASE + VIRTIO_NET_SLOT * VIRTIO_STRIDE + 0x050, 4, 1)

    (head, written), = rx.collect_used(0)
    addr, _ = request.buffers[0]
    assert head == request.head
    assert written == len(HEADER) + len(frame)
    assert b.ram.read_bytes(addr + len(HEADER), len(frame)) == frame
    assert b.plic.pending >> (VIRTIO_IRQ_BASE + VIRTIO_NET_SLOT) & 1
    assert len(tx.collect_used(1)) == 1  # a got its transmit buffer back
