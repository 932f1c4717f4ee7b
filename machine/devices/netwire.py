"""Network backends for virtio-net: where transmitted frames go, where received ones come from.

The protocol is two calls: a backend has `send(frame)`, and the NIC it serves has
`deliver(frame)`.  A virtual switch can implement the same `send` and fan frames out.
"""

from __future__ import annotations

from typing import Protocol


class Backend(Protocol):
    """Where a NIC's transmitted frames go."""

    def send(self, frame: bytes) -> None: ...


class Nic(Protocol):
    """What a backend hands received frames to, such as `VirtioNet`."""

    backend: Backend

    def deliver(self, frame: bytes) -> None: ...


class NullBackend:
    """A NIC with no cable: every transmitted frame is dropped (and counted)."""

    def __init__(self) -> None:
        self.dropped = 0

    def send(self, frame: bytes) -> None:
        self.dropped += 1


class WireEnd:
    """One end of a `Wire`: frames sent here come out of the other end's device."""

    def __init__(self) -> None:
        self.peer: WireEnd | None = None
        self.device: Nic | None = None
        self.dropped = 0  # frames sent while nothing was plugged in at the far end

    def attach(self, device: Nic) -> None:
        """Plug `device` in here: it receives what the far end sends, and sends through us."""
        self.device = device
        device.backend = self

    def send(self, frame: bytes) -> None:
        far = self.peer.device if self.peer else None
        if far is None:
            self.dropped += 1
            return
        far.deliver(bytes(frame))


class Wire:
    """A crossover cable: exactly two ends, each delivering to the other's device."""

    @staticmethod
    def pair() -> tuple[WireEnd, WireEnd]:
        a, b = WireEnd(), WireEnd()
        a.peer, b.peer = b, a
        return a, b
