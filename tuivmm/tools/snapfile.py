"""The snapshot file: its layout, written whole or not at all, read back checked.

    magic         16 bytes  b"tuivmm-snapshot\\n"
    version       u32       FORMAT_VERSION; any other is refused
    header size   u32
    body size     u64       all sections together
    header        JSON (UTF-8); bytes in it are {"$bytes": base64}
    body          zlib-compressed sections, one after another; the header's
                  "sections" says where each lies: {name: [offset, length, raw length]}
    sha256        32 bytes, over everything before it

Integers are little-endian.  What goes in the header and the sections is
`tuivmm.tools.snapshot`'s business; this module only frames and checks it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import struct
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"tuivmm-snapshot\n"
FORMAT_VERSION = 1
PREFIX = struct.Struct("<16sIIQ")  # magic, version, header size, body size
DIGEST_SIZE = 32
HEADER_PARTS = ("machine", "guest", "counters", "vcpu", "devices", "ram", "image", "sections")


class SnapshotError(Exception):
    """A snapshot that cannot be written or restored; str() is one line for a person."""


@dataclass
class Snapshot:
    """A snapshot file read and checked (magic, version, size, checksum)."""

    path: str
    header: dict
    body: bytes

    @property
    def name(self) -> str:
        return self.header["guest"]["name"]

    @property
    def flawed_eret(self) -> bool:
        """Whether the hardware it was saved on had the ERET flaw."""
        return bool(self.header["machine"]["flawed_eret"])

    def section(self, name: str) -> bytes:
        """A section's bytes, decompressed (b"" if the snapshot has none of that name)."""
        where = self.header["sections"].get(name)
        if where is None:
            return b""
        offset, length, raw_length = where
        try:
            # No more than the header promises, so a doctored file cannot balloon.
            inflate = zlib.decompressobj()
            data = inflate.decompress(self.body[offset : offset + length], raw_length + 1)
        except (zlib.error, ValueError, TypeError) as exc:
            raise SnapshotError(f"{self.path}: corrupt snapshot: section {name}: {exc}") from None
        if len(data) != raw_length or not inflate.eof:
            raise SnapshotError(f"{self.path}: corrupt snapshot: section {name} has the wrong length")
        return data


def encode_file(header: dict, sections: dict[str, bytes]) -> Iterator[bytes]:
    """The file's bytes, piece by piece (sections compressed, checksum last)."""
    compressed: dict[str, bytes] = {}
    where: dict[str, list[int]] = {}
    offset = 0
    for name, raw in sections.items():
        packed = zlib.compress(raw, 6)
        compressed[name] = packed
        where[name] = [offset, len(packed), len(raw)]
        offset += len(packed)
    header = dict(header, sections=where)
    text = json.dumps(to_plain(header), separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for piece in (PREFIX.pack(MAGIC, FORMAT_VERSION, len(text), offset), text, *compressed.values()):
        digest.update(piece)
        yield piece
    yield digest.digest()


def write_aside(path: str, pieces: Iterable[bytes]) -> int:
    """Write `pieces` to a temporary file beside `path`, sync it and rename it over
    `path`: the file is whole or untouched.  Returns its size."""
    directory = os.path.dirname(path) or "."
    try:
        if os.path.isdir(path):
            raise SnapshotError(f"{path}: is a directory")
        fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    except FileNotFoundError:
        raise SnapshotError(f"{path}: cannot write there: no such directory {directory}") from None
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot write there: {exc.strerror or exc}") from None
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                out.write(piece)
                size += len(piece)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise SnapshotError(f"{path}: cannot write it: {exc.strerror or exc}") from None
        raise
    with contextlib.suppress(OSError):  # the rename itself, made durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return size


def read_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Read and check a snapshot file; SnapshotError (one line) if it is missing,
    not a snapshot, of another format version, truncated or corrupt."""
    path = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such snapshot file") from None
    except IsADirectoryError:
        raise SnapshotError(f"{path}: is a directory, not a snapshot") from None
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if len(data) < PREFIX.size:
        if data and MAGIC.startswith(data[: len(MAGIC)]):
            raise SnapshotError(f"{path}: truncated snapshot ({len(data)} bytes)")
        raise SnapshotError(f"{path}: not a tuivmm snapshot")
    magic, version, header_size, body_size = PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise SnapshotError(f"{path}: not a tuivmm snapshot")
    if version != FORMAT_VERSION:
        raise SnapshotError(f"{path}: snapshot format version {version}; this tuivmm reads version {FORMAT_VERSION}")
    expected = PREFIX.size + header_size + body_size + DIGEST_SIZE
    if len(data) < expected:
        raise SnapshotError(f"{path}: truncated snapshot ({len(data)} of {expected} bytes)")
    if len(data) > expected:
        raise SnapshotError(f"{path}: corrupt snapshot ({len(data) - expected} bytes after its end)")
    if hashlib.sha256(data[:-DIGEST_SIZE]).digest() != data[-DIGEST_SIZE:]:
        raise SnapshotError(f"{path}: corrupt snapshot (checksum mismatch)")
    start = PREFIX.size + header_size
    try:
        header = from_plain(json.loads(data[PREFIX.size : start]))
    except (ValueError, TypeError) as exc:  # a checksum that matches nonsense: made so on purpose
        raise SnapshotError(f"{path}: corrupt snapshot header: {exc}") from None
    if not isinstance(header, dict) or not all(isinstance(header.get(key), dict) for key in HEADER_PARTS):
        raise SnapshotError(f"{path}: corrupt snapshot header: parts are missing")
    if not isinstance(header["guest"].get("name"), str):
        raise SnapshotError(f"{path}: corrupt snapshot header: the guest has no name")
    return Snapshot(path, header, data[start:-DIGEST_SIZE])



def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    return digest.hexdigest()



# --- plain data <-> JSON ------------------------------------------------------------------


def to_plain(value):
    """JSON-able: bytes become {"$bytes": base64}, tuples and sets lists."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return [to_plain(item) for item in sorted(value)]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    raise TypeError(f"cannot save a {type(value).__name__} in a snapshot")


def from_plain(value):
    if isinstance(value, dict):
        if len(value) == 1 and "$bytes" in value:
            return base64.b64decode(value["$bytes"], validate=True)
        return {key: from_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_plain(item) for item in value]
    return value
