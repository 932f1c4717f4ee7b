"""The VMM's virtual Ethernet switch: every guest's virtio-net plugs into a port.

A learning switch, as a real one: it notes which port each source MAC came from,
sends a frame for a known MAC out of that port only, and floods broadcasts,
multicasts and frames for unknown MACs to every other port.  Frames are delivered
at once, into the receiving guest's device (its receive queue and interrupt), in the
order guests send them, so a run with several guests stays deterministic.
"""

from __future__ import annotations

from collections.abc import Callable


class SwitchPort:
    """One port: the backend of one guest's virtio-net (`send`), and where frames for
    that guest are delivered (`device.deliver`)."""

    def __init__(self, switch: VirtualSwitch, name: str):
        self.switch = switch
        self.name = name
        self.device = None
        self.frames_in = 0  # from the guest
        self.frames_out = 0  # to the guest
        self.on_delivery: Callable[[], None] = lambda: None  # the guest may wake up

    def attach(self, device) -> None:
        self.device = device
        device.backend = self

    def send(self, frame: bytes) -> None:
        self.frames_in += 1
        self.switch.forward(self, bytes(frame))

    def deliver(self, frame: bytes) -> None:
        if self.device is not None:
            self.frames_out += 1
            self.device.deliver(frame)
            self.on_delivery()


class VirtualSwitch:
    def __init__(self) -> None:
        self.ports: list[SwitchPort] = []
        self.macs: dict[bytes, SwitchPort] = {}  # learned: MAC -> the port it was seen on
        self.frames = 0
        self.flooded = 0
        self.on_frame: Callable[[SwitchPort, bytes], None] | None = None  # a capture hook

    def port(self, name: str) -> SwitchPort:
        port = SwitchPort(self, name)
        self.ports.append(port)
        return port

    def unplug(self, port: SwitchPort) -> None:
        if port in self.ports:
            self.ports.remove(port)
        for mac in [mac for mac, p in self.macs.items() if p is port]:
            del self.macs[mac]

    def forward(self, source: SwitchPort, frame: bytes) -> None:
        if len(frame) < 14:
            return
        self.frames += 1
        if self.on_frame is not None:
            self.on_frame(source, frame)
        dst, src = frame[0:6], frame[6:12]
        if not src[0] & 1:
            self.macs[src] = source
        target = None if dst[0] & 1 else self.macs.get(dst)
        if target is not None:
            if target is not source:
                target.deliver(frame)
            return
        self.flooded += 1
        for port in list(self.ports):
            if port is not source:
                port.deliver(frame)
