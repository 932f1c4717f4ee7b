"""virtio-net (virtio spec 1.2, section 5.1 "Network Device"), without offloads.

Queue 0 receives, queue 1 transmits (5.1.2).  Each buffer starts with a 12-byte
`virtio_net_hdr` (5.1.6): flags u8, gso_type u8, hdr_len, gso_size, csum_start,
csum_offset and num_buffers u16 -- the VERSION_1 layout, which always has num_buffers.
We offer no checksum or segmentation offloads, so the header carries nothing on
transmit and is all zeros (num_buffers = 1) on receive.

Frames leave through `backend.send(frame)` and arrive through `deliver(frame)`.  A
frame that arrives when the driver has no receive buffer posted is dropped, as a real
NIC with a full ring would.
"""

from __future__ import annotations

import struct

from machine.devices.netwire import Backend, NullBackend
from machine.devices.virtio_mmio import VirtioDevice
from machine.devices.virtqueue import Virtqueue

VIRTIO_NET_F_MAC = 1 << 5
VIRTIO_NET_F_STATUS = 1 << 16
VIRTIO_NET_S_LINK_UP = 1

RECEIVE_QUEUE = 0
TRANSMIT_QUEUE = 1
QUEUE_SIZE = 256

NET_HEADER = struct.Struct("<BBHHHHH")  # struct virtio_net_hdr, 12 bytes
RECEIVE_HEADER = NET_HEADER.pack(0, 0, 0, 0, 0, 0, 1)  # no flags, GSO_NONE, one buffer


class VirtioNet(VirtioDevice):
    device_id = 1
    features = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS
    queue_sizes = (QUEUE_SIZE, QUEUE_SIZE)

    def __init__(self, mac: bytes, backend: Backend | None = None):
        if len(mac) != 6:
            raise ValueError(f"a MAC address is 6 bytes, not {len(mac)}")
        self.mac = bytes(mac)
        self.backend: Backend = backend if backend is not None else NullBackend()
        self.frames_sent = 0
        self.frames_received = 0
        self.rx_dropped = 0  # no receive buffer was posted, or it was too small
        self.tx_errors = 0  # transmit buffers shorter than the header

    def save_state(self) -> dict:
        """The MAC and the counters.  Frames are delivered into the receive queue the
        moment they arrive (or dropped), so none wait in the device."""
        return {"mac": self.mac, "frames_sent": self.frames_sent, "frames_received": self.frames_received,
                "rx_dropped": self.rx_dropped, "tx_errors": self.tx_errors}  # fmt: skip

    def load_state(self, state: dict) -> None:
        mac = bytes(state["mac"])
        if len(mac) != 6:
            raise ValueError(f"a MAC address is 6 bytes, not {len(mac)}")
        self.mac = mac
        self.frames_sent = state["frames_sent"]
        self.frames_received = state["frames_received"]
        self.rx_dropped = state["rx_dropped"]
        self.tx_errors = state["tx_errors"]

    def config(self) -> bytes:
        # struct virtio_net_config: mac[6], status u16 (5.1.4).
        return self.mac + struct.pack("<H", VIRTIO_NET_S_LINK_UP)

    def queue_notify(self, index: int, queue: Virtqueue) -> None:
        # New receive buffers need no action: they wait until a frame is delivered.
        if index == TRANSMIT_QUEUE:
            self._transmit(queue)

    def deliver(self, frame: bytes) -> None:
        """A frame from the backend for the guest."""
        placed = None
        if self.transport is not None:
            placed = self.transport.serve(RECEIVE_QUEUE, lambda queue: self._receive(queue, frame))
        if not placed:
            self.rx_dropped += 1

    def _transmit(self, queue: Virtqueue) -> None:
        while (chain := queue.pop()) is not None:
            packet = chain.read()
            queue.push(chain, 0)
            if len(packet) < NET_HEADER.size:
                self.tx_errors += 1
                continue
            self.frames_sent += 1
            self.backend.send(packet[NET_HEADER.size :])

    def _receive(self, queue: Virtqueue, frame: bytes) -> bool:
        """Place the frame in the next receive buffer; False if it was dropped."""
        chain = queue.pop()
        if chain is None:
            return False
        packet = RECEIVE_HEADER + frame
        if chain.writable_length < len(packet):
            # Without VIRTIO_NET_F_MRG_RXBUF every buffer must hold a whole frame
            # (5.1.6.3.1); hand this one back empty rather than deliver half a frame.
            queue.push(chain, 0)
            return False
        queue.push(chain, chain.write(packet))
        self.frames_received += 1
        return True
