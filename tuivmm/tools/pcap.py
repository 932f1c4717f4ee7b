"""Packet capture of the virtual switch, in the classic pcap file format.

Every frame a guest sends into the `VirtualSwitch` is written once, as it enters the
switch (whether it is then delivered to one port, flooded, or dropped), so a capture
holds each frame exactly once, like a capture on a hub.  Readers: tcpdump, tshark,
Wireshark, scapy.

The file: a 24-byte global header (magic 0xa1b2c3d4 in little-endian order, version
2.4, microsecond timestamps, link type 1 = Ethernet), then per frame a 16-byte record
header (seconds, microseconds, captured length, original length) and the frame.

Timestamps are virtual: the sending guest's own virtual time (its timer's ticks,
10 MHz) since it booted, so a capture is the same on every run of the same session.
Each guest has its own clock, so frames of different guests need not be in time order.

The capture is written to a file beside FILE and renamed to FILE when it is closed,
so FILE is never a half-written capture.  (Each frame is flushed, so the temporary
file is readable while the run goes on.)
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from machine.clock import TIMEBASE_HZ

PCAP_MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
SNAPLEN = 65535
_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


class PcapError(Exception):
    """The capture file cannot be written; one line."""


def global_header() -> bytes:
    return _GLOBAL.pack(PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET)


def record(cycles: int, frame: bytes) -> bytes:
    """One frame's record: its timestamp from `cycles` of virtual time, then the frame
    (cut at SNAPLEN, with its original length kept)."""
    seconds, rest = divmod(cycles, TIMEBASE_HZ)
    micros = rest * 1_000_000 // TIMEBASE_HZ
    data = frame[:SNAPLEN]
    return _RECORD.pack(seconds & 0xFFFFFFFF, micros, len(data), len(frame)) + data


class PcapWriter:
    """Capture every frame entering `switch` into `path`.

    `clock(port)` gives the virtual time, in timer ticks, of the guest behind a switch
    port.  `close()` ends the capture and puts the file in place; PcapError if the file
    cannot be made or written."""

    def __init__(self, path: str | os.PathLike[str], switch, clock: Callable[[object], int]):
        self.path = Path(path)
        self.switch = switch
        self.clock = clock
        self.frames = 0
        self._tmp = self.path.with_name(f".{self.path.name}.tmp{os.getpid()}")
        try:
            self._file: BinaryIO | None = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()
            self._file.write(global_header())
            self._file.flush()
        except OSError as exc:
            raise PcapError(f"{path}: {exc.strerror or exc}") from None
        self._previous = switch.on_frame
        switch.on_frame = self._frame

    def _frame(self, port, frame: bytes) -> None:
        if self._previous is not None:
            self._previous(port, frame)
        if self._file is None:
            return
        try:
            self._file.write(record(self.clock(port), frame))
            self._file.flush()
        except OSError:
            # The disk filled up: stop capturing rather than stop the guests; close() says so.
            self._abandon()
            self._failed = True
            return
        self.frames += 1

    _failed = False

    def _abandon(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None
        self._tmp.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop capturing and move the capture into place (once; later calls do nothing)."""
        if self.switch.on_frame == self._frame:
            self.switch.on_frame = self._previous
        if self._failed:
            self._failed = False
            raise PcapError(f"{self.path}: the capture could not be written (disk full?); nothing was kept")
        if self._file is None:
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            os.replace(self._tmp, self.path)
        except OSError as exc:
            self._abandon()
            raise PcapError(f"{self.path}: {exc.strerror or exc}") from None


def capture(vmm, path: str | os.PathLike[str]) -> PcapWriter:
    """Capture `vmm`'s switch into `path`, stamping each frame with its sender's virtual time."""
    ports = {}

    def clock(port) -> int:
        guest = ports.get(port)
        if guest is None or guest not in vmm.guests:
            guest = next((g for g in vmm.guests if g.port is port), None)
            ports[port] = guest
        return guest.vcpu.cycles if guest is not None else 0

    return PcapWriter(path, vmm.switch, clock)
