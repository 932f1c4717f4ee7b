"""virtio-blk on an image file (virtio spec 1.2, section 5.2 "Block Device").

A request is one descriptor chain (5.2.6):

    header   type u32, reserved u32, sector u64          device-readable
    data     sectors to write (OUT) / room to read into (IN, GET_ID)
    status   one byte the device writes last              device-writable

The image is opened once and changed only by the guest's writes: no truncation, no
growth.  Sectors are 512 bytes whatever the image's real block size.
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable

from machine.devices.virtio_mmio import VirtioDevice
from machine.devices.virtqueue import Chain, Virtqueue

SECTOR_SIZE = 512
QUEUE_SIZE = 256
ID_BYTES = 20  # VIRTIO_BLK_ID_BYTES

VIRTIO_BLK_F_RO = 1 << 5
VIRTIO_BLK_F_FLUSH = 1 << 9

VIRTIO_BLK_T_IN = 0
VIRTIO_BLK_T_OUT = 1
VIRTIO_BLK_T_FLUSH = 4
VIRTIO_BLK_T_GET_ID = 8

VIRTIO_BLK_S_OK = 0
VIRTIO_BLK_S_IOERR = 1
VIRTIO_BLK_S_UNSUPP = 2

HEADER = struct.Struct("<IIQ")


class VirtioBlk(VirtioDevice):
    device_id = 2
    queue_sizes = (QUEUE_SIZE,)

    def __init__(self, path: str | os.PathLike[str], read_only: bool = False):
        self.path = os.fspath(path)
        self.read_only = read_only
        try:
            # Unbuffered, so each guest write reaches the file before the request completes.
            self._image = open(self.path, "rb" if read_only else "r+b", buffering=0)
        except FileNotFoundError:
            message = "virtio-blk: no disk image at this path"
            raise FileNotFoundError(errno.ENOENT, message, self.path) from None
        self.capacity = os.fstat(self._image.fileno()).st_size // SECTOR_SIZE
        self.features = VIRTIO_BLK_F_FLUSH | (VIRTIO_BLK_F_RO if read_only else 0)
        # GET_ID answers with the image's file name, NUL-padded (or cut) to 20 bytes.
        self.serial = os.path.basename(self.path).encode()[:ID_BYTES].ljust(ID_BYTES, b"\0")
        self.requests = 0
        self.errors = 0

    def close(self) -> None:
        self._image.close()

    def save_state(self) -> dict:
        """The request counters (the image's contents are `read_image`'s)."""
        return {"requests": self.requests, "errors": self.errors}

    def load_state(self, state: dict) -> None:
        self.requests = state["requests"]
        self.errors = state["errors"]

    def read_image(self) -> bytes:
        """The whole image file as it is now, through the open file (which may be a
        throwaway copy whose name is already gone)."""
        size = os.fstat(self._image.fileno()).st_size
        chunks = []
        offset = 0
        while offset < size:
            chunk = os.pread(self._image.fileno(), min(size - offset, 1 << 20), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        return b"".join(chunks)

    def config(self) -> bytes:
        # struct virtio_blk_config: only `capacity` is meaningful with our features.
        return struct.pack("<Q", self.capacity)

    def queue_notify(self, index: int, queue: Virtqueue) -> None:
        while (chain := queue.pop()) is not None:
            queue.push(chain, self._serve_request(chain))

    def _serve_request(self, chain: Chain) -> int:
        """Carry out one request; returns the bytes written into the chain."""
        self.requests += 1
        room = chain.writable_length
        if room < 1:
            self.errors += 1
            return 0  # no status byte to answer in; the driver broke the protocol
        readable = chain.read()
        data_in: bytes = b""
        if len(readable) < HEADER.size:
            status = VIRTIO_BLK_S_IOERR
        else:
            kind, _, sector = HEADER.unpack_from(readable)
            status, data_in = self._execute(kind, sector, readable[HEADER.size :], room - 1)
        if status != VIRTIO_BLK_S_OK:
            self.errors += 1
        chain.write(data_in)
        # The status byte is the last writable byte, after any data area (5.2.6).
        chain.write(bytes([status]), offset=room - 1)
        return room

    def _execute(
        self, kind: int, sector: int, data_out: bytes, data_in_room: int
    ) -> tuple[int, bytes]:
        """(status, bytes for the guest) for one request."""
        if kind == VIRTIO_BLK_T_IN:
            if not self._in_range(sector, data_in_room):
                return VIRTIO_BLK_S_IOERR, b""
            return self._io(lambda: self._read_sectors(sector, data_in_room))
        if kind == VIRTIO_BLK_T_OUT:
            if self.read_only or not self._in_range(sector, len(data_out)):
                return VIRTIO_BLK_S_IOERR, b""
            return self._io(lambda: self._write_sectors(sector, data_out))
        if kind == VIRTIO_BLK_T_FLUSH:
            return self._io(self._flush)
        if kind == VIRTIO_BLK_T_GET_ID:
            return VIRTIO_BLK_S_OK, self.serial[:data_in_room]
        return VIRTIO_BLK_S_UNSUPP, b""

    def _in_range(self, sector: int, length: int) -> bool:
        # 5.2.6.1: data of IN and OUT requests is a whole number of sectors.
        return length % SECTOR_SIZE == 0 and sector + length // SECTOR_SIZE <= self.capacity

    def _read_sectors(self, sector: int, length: int) -> bytes:
        self._image.seek(sector * SECTOR_SIZE)
        data = self._image.read(length)
        return data.ljust(length, b"\0")

    def _write_sectors(self, sector: int, data: bytes) -> bytes:
        self._image.seek(sector * SECTOR_SIZE)
        view = memoryview(data)
        while view:  # a raw file may take fewer bytes than offered
            view = view[self._image.write(view) :]
        return b""

    def _flush(self) -> None:
        os.fsync(self._image.fileno())

    @staticmethod
    def _io(operation: Callable[[], bytes | None]) -> tuple[int, bytes]:
        """Run a host file operation; a host I/O failure becomes the guest's IOERR."""
        try:
            return VIRTIO_BLK_S_OK, operation() or b""
        except OSError:
            return VIRTIO_BLK_S_IOERR, b""
